import assert from 'node:assert/strict';
import { allocate } from '../src/matching/allocation.js';
import { allocateOffThread } from '../src/matching/allocate-off-thread.js';
import { buildInstance } from '../src/matching/allocation-instance.js';
import { SCARCE } from '../src/matching/candidates.js';
import { generateScene } from '../bench/suites/matching-instance.js';

describe('allocation in a worker thread', () => {
  it('gives the same answer as in-process and leaves the event loop free meanwhile', async function () {
    this.timeout(120_000);
    const { pilots, offers } = generateScene(7, 400, 1000);
    const instance = buildInstance(pilots, offers, SCARCE);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const off = await allocateOffThread(instance, { method: 'optimal', timeLimitSeconds: 30 });
    const elapsed = performance.now() - started;
    clearInterval(timer);
    // A solver on this thread would have let the interval fire at most once or twice in the whole run.
    assert.ok(ticks >= Math.min(20, elapsed / 20), `${ticks} ticks in ${elapsed.toFixed(0)} ms`);
    const inProcess = await allocate(instance, { method: 'optimal', timeLimitSeconds: 30 });
    assert.deepEqual(off.assignments, inProcess.assignments);
    assert.equal(off.summary.objective, inProcess.summary.objective);
  });
});
