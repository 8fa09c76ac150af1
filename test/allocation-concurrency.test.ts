/** Allocation runs that overlap in time: they skip each other's pilots, and a process bounds how many it runs. */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp } from '../src/app.js';
import { RunGate } from '../src/matching/run-gate.js';
import { ctx } from './support/context.js';
import { createTestbed, operator, signup } from './support/factories.js';
import { at, slotOn, submittedPilot } from './support/matching-factories.js';

const api = () => ctx().api();

async function scene() {
  const [op, partner, startup] = [await operator(), await signup('partner'), await signup()];
  const pilots = [];
  for (let i = 0; i < 4; i++) pilots.push(await submittedPilot(startup, { title: `pilot ${i}` }));
  const tb = await createTestbed(partner, { capacity: 4 });
  for (let d = 1; d <= 4; d++) await slotOn(partner, tb.id, d, 4);
  return { op, pilots };
}

const RUN = { domain: 'transport-safety', from: at(-1), to: at(40) };

async function livePerPilot(): Promise<number[]> {
  const { rows } = await ctx().db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM matches WHERE status IN ('requested', 'proposed', 'accepted') GROUP BY pilot_id`,
  );
  return rows.map((r) => r.n);
}

async function until(_what: string, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20)); // a polling interval; the condition decides, not the delay
  }
}

describe('concurrent allocation runs', function () {
  this.timeout(120_000);

  it('two runs over the same pilots never answer 5xx and never leave a pilot with two live proposals', async () => {
    const { op, pilots } = await scene();
    let runs: Promise<supertest.Response>[] = [];
    if (ctx().db.engine === 'postgres') {
      // Both runs read and solve first, then meet at the pilots' row locks, held here until both wait for them:
      // the run that goes second must see what the first one committed.
      await ctx().db.transaction(async (tx) => {
        await tx.query('SELECT id FROM pilots WHERE id = ANY($1::uuid[]) FOR UPDATE', [pilots.map((p) => p.id)]);
        runs = [0, 1].map(() =>
          api()
            .post('/v1/allocation-runs')
            .set(op.auth)
            .send(RUN)
            .then((r) => r),
        );
        await until('two runs waiting on the pilot locks', async () => {
          const { rows } = await ctx().db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'`,
          );
          return rows[0]!.n >= 2;
        });
      });
    } else {
      runs = [0, 1].map(() =>
        api()
          .post('/v1/allocation-runs')
          .set(op.auth)
          .send(RUN)
          .then((r) => r),
      );
    }
    const answers = await Promise.all(runs);
    for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body));
    const proposed = answers.map((a) => a.body.summary.proposed as number);
    assert.equal(
      proposed.reduce((x, y) => x + y, 0),
      pilots.length,
      `proposed ${proposed.join(' + ')}`,
    );
    const live = await livePerPilot();
    assert.equal(live.length, pilots.length);
    assert.ok(
      live.every((n) => n === 1),
      `live proposals per pilot: ${live.join(',')}`,
    );
  });

  it('refuses a run past ALLOCATION_MAX_RUNS in flight with 429 allocation-runs-busy and Retry-After', async () => {
    const { op } = await scene();
    const gate = new RunGate(1);
    const app = createApp({
      db: ctx().db,
      config: ctx().config,
      logger: pino({ level: 'silent' }),
      allocationRuns: gate,
    });
    let release!: () => void;
    const held = gate.run(() => new Promise<void>((r) => (release = r)));
    assert.equal(gate.running, 1);
    const busy = await supertest(app).post('/v1/allocation-runs').set(op.auth).send(RUN);
    assert.equal(busy.status, 429);
    assert.equal(busy.body.code, 'allocation-runs-busy');
    assert.equal(busy.headers['retry-after'], '5');
    assert.equal((await ctx().db.query('SELECT 1 FROM allocation_runs')).rows.length, 0);
    release();
    await held;
    const ok = await supertest(app).post('/v1/allocation-runs').set(op.auth).send(RUN);
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(gate.running, 0);
  });
});
