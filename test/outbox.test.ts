/**
 * Guarantee 2, the transactional outbox: an event and its deliveries exist exactly when the change committed;
 * what an organisation sees (feed and deliveries) follows the rules of the resource; deliveries survive
 * crashes and are delivered once per endpoint by concurrent workers. The worker-process cases need the
 * PostgreSQL server (processes cannot share an embedded database); the same logic runs in-process on both.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { recordEvent } from '../src/events/outbox.js';
import { ctx } from './support/context.js';
import { createPilot, createTestbed, operator, signup, type Actor } from './support/factories.js';
import { WebhookReceiver, waitFor } from './support/webhook-receiver.js';
import { LOOPBACK, hooksApi, subscribe, testWorker } from './support/webhooks.js';
import { requested, submittedPilot, testbedWithSlot } from './support/matching-factories.js';

const count = async (sql: string, params: unknown[] = []) =>
  (await ctx().db.query<{ n: number }>(sql, params)).rows[0]!.n;

/**
 * The feed hides events of transactions newer than the oldest one still running, and that horizon is
 * cluster-wide: on a server shared with other databases it can lag. Unless told not to (a test holding a
 * transaction open on purpose), wait until every event committed here is behind it before reading.
 */
async function feed(actor: Actor, query = '', settle = true) {
  if (settle && ctx().db.engine === 'postgres') {
    const settled = async () =>
      (
        await ctx().db.query<{ ok: boolean }>(
          'SELECT COALESCE(bool_and(txid < pg_snapshot_xmin(pg_current_snapshot())), true) AS ok FROM events',
        )
      ).rows[0]!.ok;
    await waitFor(settled, 20_000);
  }
  const res = await hooksApi().get(`/v1/events${query}`).set(actor.auth);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as {
    data: { id: string; type: string; data: { id: string } }[];
    nextCursor: string | null;
    hasMore: boolean;
  };
}

describe('transactional outbox', () => {
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    receiver = await new WebhookReceiver().start();
  });
  afterEach(() => receiver.stop());

  it('writes no event and no delivery when the transaction rolls back', async () => {
    const partner = await signup('partner');
    await subscribe(partner, receiver);
    await assert.rejects(
      ctx().db.transaction(async (tx) => {
        const e = await recordEvent(tx, { type: 'testbed.updated', data: { id: randomUUID() }, visibility: 'public' });
        assert.equal(e.deliveries, 1);
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    assert.equal(await count('SELECT count(*)::int AS n FROM events'), 0);
    assert.equal(await count('SELECT count(*)::int AS n FROM webhook_deliveries'), 0);
    // A refused request (slot over capacity) leaves nothing either.
    const tb = await createTestbed(partner, { capacity: 1 });
    const before = await count('SELECT count(*)::int AS n FROM events');
    const res = await ctx()
      .api()
      .post(`/v1/testbeds/${tb.id}/slots`)
      .set(partner.auth)
      .send({ start: '2027-03-02T00:00:00Z', end: '2027-03-02T01:00:00Z', capacity: 5 });
    assert.ok(res.status >= 400);
    assert.equal(await count('SELECT count(*)::int AS n FROM events'), before);
  });

  it('records testbed.created, testbed.updated and slot.created in the same transaction as the change', async () => {
    const partner = await signup('partner');
    const tb = await createTestbed(partner);
    await ctx()
      .api()
      .post(`/v1/testbeds/${tb.id}/slots`)
      .set(partner.auth)
      .send({ start: '2027-03-02T00:00:00Z', end: '2027-03-02T01:00:00Z', capacity: 1 });
    const types = (
      await ctx().db.query<{ type: string; testbed_id: string }>('SELECT type, testbed_id FROM events ORDER BY seq')
    ).rows;
    assert.deepEqual(
      types.map((t) => t.type),
      ['testbed.created', 'slot.created'],
    );
    assert.ok(types.every((t) => t.testbed_id === tb.id));
  });

  it('gives events, deliveries and attempts time-ordered ids (UUID version 7) from the database clock', async () => {
    const partner = await signup('partner');
    await subscribe(partner, receiver);
    const clock = async () =>
      (await ctx().db.query<{ ms: string }>('SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::text AS ms'))
        .rows[0]!.ms;
    const before = Number(await clock());
    for (const name of ['first', 'second'])
      await ctx().db.transaction((tx) =>
        recordEvent(tx, { type: 'testbed.updated', data: { id: randomUUID(), name }, visibility: 'public' }),
      );
    assert.equal(await testWorker().runOnce(), 2);
    const after = Number(await clock());
    const { rows } = await ctx().db.query<{ event: string; delivery: string; attempt: string }>(
      `SELECT ev.id AS event, d.id AS delivery, a.id AS attempt FROM events ev
         JOIN webhook_deliveries d ON d.event_id = ev.id JOIN webhook_attempts a ON a.delivery_id = d.id
        ORDER BY ev.seq`,
    );
    assert.equal(rows.length, 2);
    let last = 0;
    // In the order they were written: each event with its deliveries, then the attempts.
    for (const id of [...rows.flatMap((r) => [r.event, r.delivery]), ...rows.map((r) => r.attempt)]) {
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, id);
      const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
      assert.ok(ms >= before && ms <= after, `${id}: ${ms} outside ${before}..${after}`);
      assert.ok(ms >= last, `${id} is older than the id written before it`);
      last = ms;
    }
    assert.notEqual(rows[0]!.event, rows[1]!.event);
  });

  describe('tenant isolation', () => {
    it("an organisation's feed and endpoints carry only what it may see", async () => {
      const a = await signup('startup');
      const b = await signup('startup');
      const partner = await signup('partner');
      const op = await operator();
      const receivers = {
        a: receiver,
        b: await new WebhookReceiver().start(),
        op: await new WebhookReceiver().start(),
      };
      try {
        const epA = await subscribe(a, receivers.a);
        await subscribe(b, receivers.b);
        await subscribe(op, receivers.op);
        const pilotA = await createPilot(a);
        await createTestbed(partner);
        // A test ping is private to its organisation: operators do not see it either.
        await hooksApi().post(`/v1/webhook-endpoints/${epA.id}/test`).set(a.auth).expect(202);
        await testWorker().runOnce();
        const types = (r: WebhookReceiver) => r.received.map((x) => x.body.type).sort();
        assert.deepEqual(types(receivers.a), ['pilot.created', 'testbed.created', 'webhook.test']);
        assert.deepEqual(types(receivers.b), ['testbed.created']);
        assert.deepEqual(types(receivers.op), ['pilot.created', 'testbed.created']);
        assert.deepEqual(
          (await feed(b)).data.map((e) => e.type),
          ['testbed.created'],
        );
        assert.deepEqual(
          (await feed(partner)).data.map((e) => e.type),
          ['testbed.created'],
        );
        assert.deepEqual(
          (await feed(op)).data.map((e) => e.type),
          ['pilot.created', 'testbed.created'],
        );
        assert.deepEqual(
          (await feed(a)).data.map((e) => e.type),
          ['pilot.created', 'testbed.created', 'webhook.test'],
        );
        assert.equal((await feed(a, '?type=pilot.created')).data[0]!.data.id, pilotA.id);
      } finally {
        await receivers.b.stop();
        await receivers.op.stop();
      }
    });
  });

  describe('a partner related to a pilot through a match', () => {
    it('hears about the pilot while the match lives, and nothing more once it is rejected', async () => {
      const startup = await signup('startup');
      const partner = await signup('partner');
      const pilot = await submittedPilot(startup);
      const { slot } = await testbedWithSlot(partner);
      await subscribe(partner, receiver, {
        eventTypes: ['pilot.updated', 'pilot.submitted', 'pilot.withdrawn', 'match.requested', 'match.rejected'],
      });
      const match = await requested(startup, pilot.id, slot.id);
      await testWorker().runOnce();
      // pilot.submitted came before any relation: the partner never saw it.
      assert.deepEqual(
        receiver.received.map((r) => r.body.type),
        ['match.requested'],
      );
      assert.ok(
        (await feed(partner)).data.some((e) => e.type === 'pilot.submitted'),
        'while related, the feed shows the pilot history',
      );

      // The partner rejects the match: the relation, and with it the view of the pilot, is gone.
      await hooksApi().post(`/v1/matches/${match.id}/reject`).set(partner.auth).expect(200);
      await testWorker().runOnce();
      await hooksApi().post(`/v1/pilots/${pilot.id}/withdraw`).set(startup.auth).expect(200);
      await testWorker().runOnce();
      const types = receiver.received.map((r) => r.body.type);
      assert.ok(types.includes('match.rejected'), 'the match itself stays visible to its parties');
      assert.ok(
        !types.includes('pilot.withdrawn'),
        `a partner that lost access gets nothing more about the pilot: ${types.join(', ')}`,
      );
      assert.ok(!(await feed(partner)).data.some((e) => e.type.startsWith('pilot.')), 'nor in the feed');
    });
  });

  describe('GET /v1/events', () => {
    it('pages oldest first and hands a cursor to resume polling from, even at the end', async () => {
      const partner = await signup('partner');
      for (let i = 0; i < 5; i++) await createTestbed(partner, { name: `Feed testbed ${i}` });
      const first = await feed(partner, '?limit=3');
      assert.equal(first.data.length, 3);
      assert.equal(first.hasMore, true);
      const second = await feed(partner, `?limit=3&cursor=${first.nextCursor}`);
      assert.equal(second.data.length, 2);
      assert.equal(second.hasMore, false);
      assert.ok(second.nextCursor);
      const empty = await feed(partner, `?cursor=${second.nextCursor}`);
      assert.deepEqual(empty.data, []);
      assert.equal(empty.nextCursor, second.nextCursor);
      await createTestbed(partner, { name: 'Feed testbed late' });
      const next = await feed(partner, `?cursor=${empty.nextCursor}`);
      assert.deepEqual(
        next.data.map((e) => (e.data as unknown as { name: string }).name),
        ['Feed testbed late'],
      );
      const names = [...first.data, ...second.data].map((e) => (e.data as unknown as { name: string }).name);
      assert.deepEqual(
        names,
        [0, 1, 2, 3, 4].map((i) => `Feed testbed ${i}`),
      );
    });

    it('refuses a forged cursor and an unknown type › 400', async () => {
      const partner = await signup('partner');
      const forged = Buffer.from(JSON.stringify({ l: 'events', k: ['1; DROP TABLE events', 1] })).toString('base64url');
      assert.equal((await hooksApi().get(`/v1/events?cursor=${forged}`).set(partner.auth)).body.code, 'invalid-cursor');
      assert.equal((await hooksApi().get('/v1/events?type=pilot.exploded').set(partner.auth)).status, 400);
    });

    it('does not show events of transactions still running, so a cursor never skips a late commit', async function () {
      if (ctx().db.engine !== 'postgres') {
        // One connection on the embedded engine: no transaction can be open beside the read. The ordering
        // rule still holds (events are ordered by the writer's transaction id); check it is in place.
        const partner = await signup('partner');
        await createTestbed(partner);
        const { rows } = await ctx().db.query<{ ok: boolean }>(
          'SELECT txid < pg_snapshot_xmin(pg_current_snapshot()) AS ok FROM events',
        );
        assert.deepEqual(
          rows.map((r) => r.ok),
          [true],
        );
        assert.equal((await feed(partner)).data.length, 1);
        return;
      }
      const partner = await signup('partner');
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let recorded!: () => void;
      const inTx = new Promise<void>((r) => (recorded = r));
      const slow = ctx().db.transaction(async (tx) => {
        await recordEvent(tx, {
          type: 'testbed.updated',
          data: { id: randomUUID(), name: 'slow' },
          visibility: 'public',
        });
        recorded();
        await held;
      });
      await inTx;
      await createTestbed(partner, { name: 'fast' });
      const page = await feed(partner, '', false);
      assert.deepEqual(page.data, [], 'the fast event waits behind the running transaction');
      release();
      await slow;
      const after = await feed(partner, page.nextCursor ? `?cursor=${page.nextCursor}` : '');
      assert.equal(after.data.length, 2);
    });
  });

  describe('concurrent workers in one process', () => {
    it('deliver each event exactly once', async () => {
      const partner = await signup('partner');
      await subscribe(partner, receiver);
      const second = await new WebhookReceiver().start();
      try {
        await subscribe(partner, second);
        for (let i = 0; i < 15; i++) await createTestbed(partner);
        const workers = [
          testWorker({ endpointConcurrency: 2 }),
          testWorker({ endpointConcurrency: 2 }),
          testWorker({ endpointConcurrency: 2 }),
        ];
        workers.forEach((w) => w.start());
        assert.ok(await waitFor(() => receiver.received.length >= 15 && second.received.length >= 15));
        await new Promise((r) => setTimeout(r, 100));
        await Promise.all(workers.map((w) => w.stop(100)));
        for (const r of [receiver, second]) {
          assert.equal(r.received.length, 15);
          assert.equal(new Set(r.ids()).size, 15);
        }
        assert.equal(await count(`SELECT count(*)::int AS n FROM webhook_attempts`), 30);
      } finally {
        await second.stop();
      }
    });

    it('a delivery leased by a worker that died falls due again when the lease runs out', async () => {
      const partner = await signup('partner');
      await subscribe(partner, receiver);
      await createTestbed(partner);
      // A worker claimed it and vanished: lease held, nothing sent.
      await ctx().db.query(
        `UPDATE webhook_deliveries SET locked_until = now() + interval '300 milliseconds', claim_token = $1`,
        [randomUUID()],
      );
      const w = testWorker();
      assert.equal(await w.runOnce(), 0, 'not while the lease lasts');
      await new Promise((r) => setTimeout(r, 350));
      assert.equal(await w.runOnce(), 1);
      assert.equal(receiver.received.length, 1);
    });

    it('keeps at most the per-endpoint bound in flight, across workers', async () => {
      const partner = await signup('partner');
      receiver.delayMs = 30;
      await subscribe(partner, receiver);
      for (let i = 0; i < 6; i++) await createTestbed(partner);
      const workers = [testWorker(), testWorker()];
      await Promise.all(workers.map((w) => w.runOnce()));
      assert.equal(receiver.received.length, 6);
      assert.equal(receiver.peakInFlight, 1);
    });
  });

  // Worker processes need the PostgreSQL server: an embedded database belongs to one process.
  if (process.env.DATABASE_URL) {
    describe('worker processes on the PostgreSQL server', function () {
      this.timeout(60_000);
      const children: ChildProcess[] = [];
      const startWorker = (extra: Record<string, string> = {}) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
          env: {
            ...process.env,
            DATABASE_URL: ctx().config.databaseUrl,
            LOG_LEVEL: 'silent',
            WEBHOOK_ALLOW_NETWORKS: LOOPBACK,
            WEBHOOK_POLL_MS: '20',
            WEBHOOK_TIMEOUT_MS: '1000',
            WEBHOOK_LEASE_SECONDS: '2',
            WEBHOOK_RETRY_SCHEDULE: '0,0.1,0.1,0.1',
            WEBHOOK_CONCURRENCY: '4',
            ...extra,
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        children.push(child);
        return child;
      };
      const exited = (c: ChildProcess) =>
        c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r));
      afterEach(async () => {
        for (const c of children.splice(0)) {
          if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
          await exited(c);
        }
      });

      it('runs only on the server engine', () => assert.equal(ctx().db.engine, 'postgres'));

      it('two worker processes deliver each event exactly once', async () => {
        const partner = await signup('partner');
        const second = await new WebhookReceiver().start();
        try {
          await subscribe(partner, receiver);
          await subscribe(partner, second);
          for (let i = 0; i < 30; i++) await createTestbed(partner);
          startWorker({ WEBHOOK_ENDPOINT_CONCURRENCY: '2' });
          startWorker({ WEBHOOK_ENDPOINT_CONCURRENCY: '2' });
          assert.ok(await waitFor(() => receiver.received.length >= 30 && second.received.length >= 30, 30_000));
          await new Promise((r) => setTimeout(r, 300));
          for (const r of [receiver, second]) {
            assert.equal(r.received.length, 30, 'no duplicates');
            assert.equal(new Set(r.ids()).size, 30);
          }
          assert.equal(
            await count(
              `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'succeeded' AND attempt_count = 1`,
            ),
            60,
          );
        } finally {
          await second.stop();
        }
      });

      it('a worker killed with SIGKILL mid-delivery loses nothing after a restart', async () => {
        const partner = await signup('partner');
        await subscribe(partner, receiver);
        for (let i = 0; i < 20; i++) await createTestbed(partner);
        // Slow answers, so the kill lands with deliveries in flight.
        receiver.delayMs = 100;
        const first = startWorker();
        assert.ok(await waitFor(() => receiver.received.length >= 5, 20_000));
        first.kill('SIGKILL');
        await exited(first);
        const got = receiver.received.length;
        assert.ok(got < 20, 'killed before the end');
        startWorker();
        // Deliveries the dead worker held fall due when its lease runs out; each ends succeeded, and every event arrived
        // (the one cut off mid-request, and successes not yet written, may arrive twice: receivers de-duplicate by
        // webhook-id).
        const settled = () =>
          count(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status <> 'succeeded'`).then((n) => n === 0);
        assert.ok(await waitFor(settled, 30_000), 'every delivery succeeded after the restart');
        assert.equal(new Set(receiver.ids()).size, 20);
      });
    });
  }
});
