/**
 * A lane that has sent its batch records the last successes and, in the same statement, leases its endpoint's
 * next due deliveries (see src/webhooks/worker.ts). These cases change the database while a delivery is being
 * answered, so what the lane finds when it goes on is fixed before it looks; none depends on speed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { recordEvent } from '../src/events/outbox.js';
import { disableEndpoint } from '../src/webhooks/service.js';
import { DUE_ORDER } from '../src/webhooks/worker.js';
import { ctx } from './support/context.js';
import { signup } from './support/factories.js';
import { WebhookReceiver, waitFor } from './support/webhook-receiver.js';
import { subscribe, testWorker } from './support/webhooks.js';

const count = async (sql: string, params: unknown[] = []) =>
  (await ctx().db.query<{ n: number }>(sql, params)).rows[0]!.n;

/** A public event delivered to every endpoint that subscribes to all types; its id. */
async function event(name: string): Promise<string> {
  const e = await ctx().db.transaction((tx) =>
    recordEvent(tx, { type: 'testbed.updated', data: { id: randomUUID(), name }, visibility: 'public' }),
  );
  return e.id;
}

describe('webhook lanes going on with their endpoint', function () {
  this.timeout(60_000);
  let receiver: WebhookReceiver;

  beforeEach(async () => {
    receiver = await new WebhookReceiver().start();
  });
  afterEach(async () => {
    await receiver.stop();
  });

  it("the worker's named statements answer as query() does; a failing one leaves the database usable", async () => {
    const db = ctx().db;
    const sql = `SELECT $1::uuid[] AS ids, $2::timestamptz[] AS at, $3::int AS n, $4::text AS t, $5::bool AS b,
                        NULL::text AS none`;
    const params = [[randomUUID(), randomUUID()], [new Date('2026-01-02T03:04:05.678Z')], 7, "it's", true];
    for (let i = 0; i < 2; i++) assert.deepEqual(await db.queryNamed(sql, params), await db.query(sql, params));
    const update = `UPDATE organizations SET name = name WHERE id = $1`;
    const partner = await signup('partner');
    assert.equal((await db.queryNamed(update, [partner.orgId])).rowCount, 1);
    await assert.rejects(db.queryNamed(`SELECT 1 / $1::int AS n`, [0]));
    assert.deepEqual((await db.queryNamed(`SELECT 1 / $1::int AS n`, [1])).rows, [{ n: 1 }]);
  });

  it('take what was committed while they sent, oldest first, and never a delivery another lane holds', async () => {
    const partner = await signup('partner');
    await subscribe(partner, receiver);
    const first = await event('first');
    const made: string[] = [];
    receiver.beforeAnswer = async (n) => {
      if (n !== 0) return;
      for (const name of ['second', 'held', 'fourth']) made.push(await event(name));
      // Another lane (another worker) holds the third.
      await ctx().db.query(
        `UPDATE webhook_deliveries SET locked_until = now() + interval '1 hour', claim_token = $2 WHERE event_id = $1`,
        [made[1], randomUUID()],
      );
    };
    // Two lanes may serve the endpoint, so the held delivery does not keep this worker off it.
    const attempts = await testWorker({ endpointConcurrency: 2 }).runOnce();
    assert.deepEqual(receiver.ids(), [first, made[0], made[2]], 'in event order, the held one left alone');
    assert.equal(attempts, 3);
    const held = [made[1]];
    const attemptsOfHeld = `SELECT count(*)::int AS n FROM webhook_attempts a
                             JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.event_id = $1`;
    assert.equal(await count(attemptsOfHeld, held), 0);
    const stillHeld = `SELECT count(*)::int AS n FROM webhook_deliveries
                        WHERE event_id = $1 AND status = 'pending' AND claim_token IS NOT NULL`;
    assert.equal(await count(stillHeld, held), 1);
    const succeeded = `SELECT count(*)::int AS n FROM webhook_deliveries
                        WHERE status = 'succeeded' AND attempt_count = 1`;
    assert.equal(await count(succeeded), 3);
  });

  it('go on after a batch whose last success came while earlier ones were being recorded', async () => {
    const partner = await signup('partner');
    const ep = await subscribe(partner, receiver);
    const ids: string[] = [];
    // One claim's batch (20) and more.
    for (let i = 0; i < 25; i++) ids.push(await event(`e${i}`));
    const claimedAt = async () =>
      (
        await ctx().db.query<{ at: string }>(`SELECT claimed_at::text AS at FROM webhook_endpoints WHERE id = $1`, [
          ep.id,
        ])
      ).rows[0]!.at;
    let claimed: string | undefined;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held: Promise<void> | undefined;
    receiver.beforeAnswer = async (n) => {
      if (n === 0) {
        claimed = await claimedAt();
        // Recording the first success waits behind this transaction until the batch's last answer has gone out.
        let locked!: () => void;
        const isLocked = new Promise<void>((resolve) => (locked = resolve));
        held = ctx().db.transaction(async (tx) => {
          await tx.query(`SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1 FOR UPDATE`, [ep.id]);
          locked();
          await gate;
        });
        await isLocked;
      }
      if (n === 19) setTimeout(release, 100);
    };
    const attempts = await testWorker().runOnce();
    await held;
    assert.deepEqual(receiver.ids(), ids, 'each once, in event order');
    assert.equal(attempts, 25);
    assert.equal(await claimedAt(), claimed, 'the lane went on: no second claim');
  });

  it("go on with what was committed while a short batch's last request was out: its success is held for that", async () => {
    const partner = await signup('partner');
    const ep = await subscribe(partner, receiver);
    const state = async () =>
      (
        await ctx().db.query<{ at: string; lanes: number }>(
          `SELECT claimed_at::text AS at, (SELECT count(*)::int FROM webhook_lanes) AS lanes
             FROM webhook_endpoints WHERE id = $1`,
          [ep.id],
        )
      ).rows[0]!;
    const first = await event('first');
    let second = '';
    let claimed: string | undefined;
    let whileSecond: { at: string; lanes: number } | undefined;
    receiver.beforeAnswer = async (n) => {
      if (n === 0) {
        claimed = (await state()).at;
        second = await event('second');
      } else whileSecond = await state();
    };
    assert.equal(await testWorker().runOnce(), 2);
    assert.deepEqual(receiver.ids(), [first, second]);
    assert.equal(whileSecond?.at, claimed, 'the lane went on: no second claim');
    assert.equal(whileSecond?.lanes, 1, 'one lane, open while it sends');
    assert.equal((await state()).lanes, 0, 'closed by the statement that found it nothing more');
  });

  it('write their row again with the next batch, should a claim have removed it while they sent', async () => {
    const partner = await signup('partner');
    await subscribe(partner, receiver);
    const first = await event('first');
    let second = '';
    let whileSecond = -1;
    receiver.beforeAnswer = async (n) => {
      if (n === 0) {
        second = await event('second');
        // As a claim does with the row of a lane whose lease ran out (its worker stalled).
        await ctx().db.query(`DELETE FROM webhook_lanes`);
      } else whileSecond = await count(`SELECT count(*)::int AS n FROM webhook_lanes`);
    };
    assert.equal(await testWorker().runOnce(), 2);
    assert.deepEqual(receiver.ids(), [first, second]);
    assert.equal(whileSecond, 1, 'the lane holding the second delivery counts toward the bound again');
    assert.equal(await count(`SELECT count(*)::int AS n FROM webhook_lanes`), 0);
  });

  it('under a backlog, lease the next batch while the last requests of this one are still out', async () => {
    const partner = await signup('partner');
    const ep = await subscribe(partner, receiver);
    const ids: string[] = [];
    // One claim's batch (20), full, so the lane is under a backlog, and 10 more.
    for (let i = 0; i < 30; i++) ids.push(await event(`e${i}`));
    const leasedAfterBatch = `SELECT count(*)::int AS n FROM webhook_deliveries
                               WHERE endpoint_id = $1 AND event_id = ANY($2::uuid[]) AND status = 'pending'
                                 AND claim_token = (SELECT claim_token FROM webhook_deliveries WHERE event_id = $3
                                                       AND endpoint_id = $1)`;
    let leasedBeforeLastAnswer = false;
    receiver.beforeAnswer = async (n) => {
      // The first batch's last request: the next ten are already the same lane's, before it is answered.
      if (n === 19)
        leasedBeforeLastAnswer = await waitFor(
          async () => (await count(leasedAfterBatch, [ep.id, ids.slice(20), ids[19]])) === 10,
          10_000,
        );
    };
    const attempts = await testWorker().runOnce();
    assert.ok(leasedBeforeLastAnswer, 'the next batch was taken while the batch was being sent');
    assert.deepEqual(receiver.ids(), ids, 'each once, in event order');
    assert.equal(attempts, 30);
    const succeeded = `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'succeeded' AND attempt_count = 1
                          AND claim_token IS NULL AND locked_until IS NULL`;
    assert.equal(await count(succeeded), 30, 'every success recorded, no lease left behind');
  });

  it('lease in the order of the due index: a batch is read and locked, not the whole backlog sorted', async () => {
    const partner = await signup('partner');
    const ep = await subscribe(partner, receiver);
    for (let i = 0; i < 30; i++) await event(`e${i}`);
    // With sorting and other paths priced out, a plan still sorts only if the index cannot give the order.
    const plan = await ctx().db.transaction(async (tx) => {
      await tx.exec('SET LOCAL enable_sort = off; SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off');
      const { rows } = await tx.query<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (FORMAT JSON) SELECT d.id FROM webhook_deliveries d WHERE d.endpoint_id = $1 AND d.status = 'pending'
          ORDER BY ${DUE_ORDER} LIMIT 20 FOR UPDATE SKIP LOCKED`,
        [ep.id],
      );
      return JSON.stringify(rows[0]!['QUERY PLAN']);
    });
    assert.ok(!/"Node Type":\s*"[A-Za-z ]*Sort"/.test(plan), plan);
    assert.match(plan, /"Index Name":\s*"webhook_deliveries_due_idx"/);
  });

  it('lease without index writes: no index of the deliveries covers the lease, and pages keep room for it', async () => {
    // A lease changes locked_until, claim_token and updated_at; an index on any of them (key, INCLUDE or predicate)
    // would make every lease a non-HOT update, written into every index of the table.
    const { rows } = await ctx().db.query<{ def: string }>(
      `SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = 'webhook_deliveries'::regclass`,
    );
    assert.ok(rows.length >= 4, JSON.stringify(rows));
    for (const { def } of rows) assert.doesNotMatch(def, /locked_until|claim_token|updated_at/, def);
    const { rows: options } = await ctx().db.query<{ options: string[] | null }>(
      `SELECT reloptions AS options FROM pg_class WHERE oid = 'webhook_deliveries'::regclass`,
    );
    assert.deepEqual(options[0]!.options, ['fillfactor=70']);
  });

  it("close their row when they end; another worker's live lane counts toward the bound until its lease runs out", async () => {
    const partner = await signup('partner');
    const ep = await subscribe(partner, receiver);
    const lanes = `SELECT count(*)::int AS n FROM webhook_lanes`;
    await event('first');
    await event('second');
    assert.equal(await testWorker().runOnce(), 2);
    assert.equal(await count(lanes), 0, 'the lane closed its row');
    // A lane of a worker that is still sending to the endpoint: with a bound of one, nobody else may open one.
    const token = randomUUID();
    await ctx().db.query(
      `INSERT INTO webhook_lanes (token, endpoint_id, locked_until) VALUES ($1, $2, now() + interval '1 hour')`,
      [token, ep.id],
    );
    await event('third');
    assert.equal(await testWorker({ endpointConcurrency: 1 }).runOnce(), 0, 'the bound is taken');
    assert.equal(await testWorker({ endpointConcurrency: 2 }).runOnce(), 1, 'a second lane may open');
    // That worker died: once the lease of its lane runs out, the lane no longer counts, and the claim removes it.
    await ctx().db.query(`UPDATE webhook_lanes SET locked_until = now() - interval '1 second' WHERE token = $1`, [
      token,
    ]);
    await event('fourth');
    assert.equal(await testWorker({ endpointConcurrency: 1 }).runOnce(), 1);
    assert.equal(await count(lanes), 0);
    assert.equal(receiver.received.length, 4);
  });

  it('stop once their endpoint is disabled: nothing more is sent', async () => {
    const partner = await signup('partner');
    const ep = await subscribe(partner, receiver);
    const first = await event('first');
    receiver.beforeAnswer = async (n) => {
      if (n !== 0) return;
      await event('second');
      const endpoint = { id: ep.id, organization_id: partner.orgId, url: ep.url };
      await ctx().db.transaction((tx) => disableEndpoint(tx, endpoint, 'test', { notify: false }));
    };
    await testWorker().runOnce();
    assert.deepEqual(receiver.ids(), [first]);
    const failed = `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'failed'`;
    assert.equal(await count(failed), 2, 'both ended by the disabling');
    assert.equal(await count(`SELECT count(*)::int AS n FROM webhook_attempts`), 1, 'the attempt is logged');
  });

  it('two running workers deliver batch after batch exactly once, in event order, one request at a time', async () => {
    const partner = await signup('partner');
    receiver.delayMs = 2;
    await subscribe(partner, receiver);
    const second = await new WebhookReceiver().start();
    const workers = [testWorker({ pollMs: 600_000 }), testWorker({ pollMs: 600_000 })];
    try {
      await subscribe(partner, second);
      for (const w of workers) {
        const idle = w.whenIdle();
        w.start();
        await idle;
      }
      // More than two batches per endpoint, committed while the workers deliver.
      const ids: string[] = [];
      for (let i = 0; i < 50; i++) ids.push(await event(`e${i}`));
      assert.ok(await waitFor(() => receiver.received.length >= 50 && second.received.length >= 50, 45_000));
      await Promise.all(workers.map((w) => w.stop(100)));
      for (const r of [receiver, second]) {
        assert.deepEqual(r.ids(), ids, 'each once, in event order');
        assert.equal(r.peakInFlight, 1);
      }
      assert.equal(await count(`SELECT count(*)::int AS n FROM webhook_attempts`), 100);
    } finally {
      await Promise.all(workers.map((w) => w.stop(100)));
      await second.stop();
    }
  });
  it("on the embedded database's terms, write one event's successes to several endpoints in one statement", async () => {
    // gatherMs as on the embedded database, long enough that only the answers, not the clock, end the wait.
    const partner = await signup('partner');
    for (let i = 0; i < 3; i++) await subscribe(partner, receiver);
    await event('fan-out');
    const settled = `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'succeeded'`;
    // The first answer goes out at once; the others wait until a success is written (or a while), so a write that
    // does not wait for the requests still in flight settles the first on its own.
    receiver.beforeAnswer = async (n) => {
      if (n > 0) await waitFor(async () => (await count(settled)) > 0, 1000);
    };
    assert.equal(await testWorker({ gatherMs: 60_000, timeoutMs: 10_000, leaseSeconds: 60 }).runOnce(), 3);
    const { rows } = await ctx().db.query<{ completed_at: Date }>(
      `SELECT DISTINCT d.completed_at FROM webhook_deliveries d WHERE d.status = 'succeeded'`,
    );
    assert.equal(await count(settled), 3);
    assert.equal(rows.length, 1, 'settled by one statement (one transaction time)');
  });
});
