import assert from 'node:assert/strict';
import { allocate, greedy, isFeasible, type AllocationInstance } from '../src/matching/allocation.js';
import { Rng } from './support/fuzz.js';

const DOMAINS = ['transport-safety', 'health', 'culture'];

/** A random instance: pilots wanting 1–3 units, slots with 1–4 free, each pilot suitable for a few slots. */
function generate(seed: number, pilots: number, slots: number, perPilot = 6): AllocationInstance {
  const rng = new Rng(seed);
  const inst: AllocationInstance = {
    pilots: Array.from({ length: pilots }, (_, i) => ({
      id: `p${i}`,
      domain: rng.pick(DOMAINS),
      units: 1 + rng.int(3),
      order: rng.int(1000),
    })),
    slots: Array.from({ length: slots }, (_, i) => ({ id: `s${i}`, available: 1 + rng.int(4) })),
    edges: [],
  };
  for (let p = 0; p < pilots; p++) {
    const chosen = new Set<number>();
    for (let k = 0; k < perPilot; k++) chosen.add(rng.int(slots));
    for (const s of chosen) inst.edges.push({ pilot: p, slot: s, score: Math.round(rng.next() * 1e6) / 1e6 });
  }
  return inst;
}

describe('allocation (pure, HiGHS)', () => {
  it('beats greedy strictly on a constructed instance where first-come/best-score blocks a later pilot', async () => {
    // Pilot A comes first and prefers slot 1 (0.9) to slot 2 (0.8); pilot B fits only slot 1 (0.7).
    const inst: AllocationInstance = {
      pilots: [
        { id: 'A', domain: 'health', units: 1, order: 0 },
        { id: 'B', domain: 'health', units: 1, order: 1 },
      ],
      slots: [
        { id: 's1', available: 1 },
        { id: 's2', available: 1 },
      ],
      edges: [
        { pilot: 0, slot: 0, score: 0.9 },
        { pilot: 0, slot: 1, score: 0.8 },
        { pilot: 1, slot: 0, score: 0.7 },
      ],
    };
    assert.deepEqual(greedy(inst), [{ pilot: 0, slot: 0, score: 0.9 }]);
    const r = await allocate(inst, { method: 'optimal', timeLimitSeconds: 5 });
    assert.equal(r.summary.objective, 1.5);
    assert.equal(r.summary.greedyObjective, 0.9);
    assert.equal(r.summary.gainOverGreedy, 0.6);
    assert.equal(r.summary.upperBound, 1.5);
    assert.equal(r.summary.solver.status, 'optimal');
    assert.deepEqual(
      r.assignments.map((a) => [a.pilot, a.slot]),
      [
        [0, 1],
        [1, 0],
      ],
    );
  });

  it('on every generated instance: optimal ≥ greedy, ≤ the LP bound, and no capacity exceeded', async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const inst = generate(seed, 10 + (seed % 7) * 8, 5 + (seed % 5) * 6);
      const r = await allocate(inst, { method: 'optimal', timeLimitSeconds: 5 });
      assert.ok(isFeasible(inst, r.assignments), `seed ${seed}: infeasible`);
      assert.ok(isFeasible(inst, greedy(inst)), `seed ${seed}: greedy infeasible`);
      assert.ok(
        r.summary.objective >= r.summary.greedyObjective - 1e-9,
        `seed ${seed}: ${r.summary.objective} < ${r.summary.greedyObjective}`,
      );
      assert.ok(r.summary.upperBound! >= r.summary.objective - 1e-6, `seed ${seed}: bound below objective`);
      const used = new Map<number, number>();
      for (const a of r.assignments) used.set(a.slot, (used.get(a.slot) ?? 0) + inst.pilots[a.pilot]!.units);
      for (const [s, u] of used) assert.ok(u <= inst.slots[s]!.available);
      assert.equal(new Set(r.assignments.map((a) => a.pilot)).size, r.assignments.length, 'one slot per pilot');
    }
  });

  it('gives the same proposals for the same instance, whatever the order of its edges', async () => {
    const inst = generate(99, 60, 30);
    const a = await allocate(inst, { method: 'optimal', timeLimitSeconds: 5 });
    const b = await allocate({ ...inst, edges: [...inst.edges].reverse() }, { method: 'optimal', timeLimitSeconds: 5 });
    assert.deepEqual(b.assignments, a.assignments);
    assert.equal(b.summary.objective, a.summary.objective);
  });

  it('meets a per-domain minimum share when feasible, at some cost in score', async () => {
    // Three transport pilots score high on one slot of capacity 2; one health pilot scores low on it.
    const inst: AllocationInstance = {
      pilots: [
        { id: 't1', domain: 'transport-safety', units: 1, order: 0 },
        { id: 't2', domain: 'transport-safety', units: 1, order: 1 },
        { id: 'h1', domain: 'health', units: 1, order: 2 },
      ],
      slots: [{ id: 's', available: 2 }],
      edges: [
        { pilot: 0, slot: 0, score: 0.9 },
        { pilot: 1, slot: 0, score: 0.9 },
        { pilot: 2, slot: 0, score: 0.2 },
      ],
    };
    const plain = await allocate(inst, { method: 'optimal', timeLimitSeconds: 5 });
    assert.deepEqual(
      plain.assignments.map((a) => a.pilot),
      [0, 1],
    );
    const fair = await allocate({ ...inst, minShare: { health: 1 } }, { method: 'optimal', timeLimitSeconds: 5 });
    assert.ok(fair.assignments.some((a) => a.pilot === 2));
    assert.deepEqual(fair.summary.minShare, [{ domain: 'health', pilots: 1, required: 1, matched: 1, met: true }]);
    assert.ok(fair.summary.upperBound! >= fair.summary.objective);
  });

  it('reports a share it cannot meet instead of failing', async () => {
    const inst: AllocationInstance = {
      pilots: [{ id: 'h', domain: 'health', units: 5, order: 0 }],
      slots: [{ id: 's', available: 1 }],
      edges: [{ pilot: 0, slot: 0, score: 0.5 }],
      minShare: { health: 1 },
    };
    const r = await allocate(inst, { method: 'optimal', timeLimitSeconds: 5 });
    assert.equal(r.assignments.length, 0);
    assert.deepEqual(r.summary.minShare, [{ domain: 'health', pilots: 1, required: 1, matched: 0, met: false }]);
  });

  it('answers the greedy baseline with the LP bound when greedy is asked for', async () => {
    const inst = generate(7, 40, 20);
    const r = await allocate(inst, { method: 'greedy', timeLimitSeconds: 5 });
    assert.deepEqual(r.assignments, greedy(inst));
    assert.equal(r.summary.solver.status, 'not-run');
    assert.ok(r.summary.upperBound! >= r.summary.objective);
  });

  it('stays feasible and explains itself when the time limit is tiny', async () => {
    const inst = generate(5, 400, 150, 10);
    const r = await allocate(inst, { method: 'optimal', timeLimitSeconds: 0.05 });
    assert.ok(isFeasible(inst, r.assignments));
    assert.ok(r.summary.objective >= r.summary.greedyObjective - 1e-9);
    if (r.summary.solver.timedOut || r.summary.solver.fallback) assert.ok(r.summary.solver.note);
  });

  it('handles an instance without any suitable pair', async () => {
    const r = await allocate(
      { pilots: [{ id: 'p', domain: 'health', units: 1, order: 0 }], slots: [{ id: 's', available: 1 }], edges: [] },
      { method: 'optimal', timeLimitSeconds: 1 },
    );
    assert.equal(r.summary.matched, 0);
    assert.equal(r.summary.objective, 0);
    assert.equal(r.summary.upperBound, 0);
  });
});
