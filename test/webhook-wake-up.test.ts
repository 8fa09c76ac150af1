/**
 * Delivery workers sleep until told: the transaction that creates deliveries signals at commit (LISTEN/NOTIFY
 * on the server, PGlite's in-process notification on the embedded database). Each case gives the worker a poll
 * interval far longer than the test may wait, so only the signal can explain a delivery; none depends on speed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { ctx } from './support/context.js';
import { createTestbed, signup } from './support/factories.js';
import { WebhookReceiver, waitFor } from './support/webhook-receiver.js';
import { LOOPBACK, deliveriesOf, hooksApi, subscribe, testWorker } from './support/webhooks.js';
import type { DeliveryWorker } from '../src/webhooks/worker.js';

/** Ten minutes: the worker would not poll again before any of these tests gives up. */
const NEVER = 600_000;
const WAIT = 30_000;

const count = async (sql: string, params: unknown[] = []) =>
  (await ctx().db.query<{ n: number }>(sql, params)).rows[0]!.n;
const listeners = () =>
  count(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN webhook_deliveries'`,
  );

describe('webhook wake-up', function () {
  this.timeout(60_000);
  let receiver: WebhookReceiver;
  let worker: DeliveryWorker | undefined;

  beforeEach(async () => {
    receiver = await new WebhookReceiver().start();
  });
  afterEach(async () => {
    await worker?.stop(100);
    worker = undefined;
    await receiver.stop();
  });

  const sleepingWorker = async (overrides: Parameters<typeof testWorker>[0] = {}) => {
    worker = testWorker({ pollMs: NEVER, ...overrides });
    const idle = worker.whenIdle();
    worker.start();
    await idle;
    return worker;
  };

  it('a sleeping worker delivers a committed event at once, not at its next poll', async () => {
    const partner = await signup('partner');
    await subscribe(partner, receiver);
    const w = await sleepingWorker();
    const tb = await createTestbed(partner);
    assert.ok(await waitFor(() => receiver.received.length === 1, WAIT), 'woken by the commit');
    assert.equal(receiver.received[0]!.body.data.id, tb.id);
    // Asleep again; a second change wakes it again.
    await w.whenIdle();
    await createTestbed(partner);
    assert.ok(await waitFor(() => receiver.received.length === 2, WAIT), 'woken a second time');
  });

  it('a redelivery wakes a sleeping worker', async () => {
    const partner = await signup('partner');
    const ep = await subscribe(partner, receiver);
    await createTestbed(partner);
    const w = await sleepingWorker();
    assert.ok(await waitFor(() => receiver.received.length === 1, WAIT));
    const [d] = await deliveriesOf(partner, ep.id);
    await w.whenIdle();
    const res = await hooksApi().post(`/v1/deliveries/${d!.id}/redeliver`).set(partner.auth);
    assert.equal(res.status, 202);
    assert.ok(await waitFor(() => receiver.received.length === 2, WAIT), 'woken by the redelivery');
    assert.equal(receiver.received[1]!.id, receiver.received[0]!.id);
  });

  it('with wake-up turned off, the worker only polls: nothing arrives while it sleeps', async () => {
    const partner = await signup('partner');
    await subscribe(partner, receiver);
    const w = await sleepingWorker({ wakeUp: false });
    await createTestbed(partner);
    // The delivery is due and pending; the worker never looked. runOnce (what the poll does) delivers it.
    assert.equal(await count(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'`), 1);
    assert.equal(receiver.received.length, 0);
    await w.stop(100);
    worker = undefined;
    assert.equal(await testWorker().runOnce(), 1);
    assert.equal(receiver.received.length, 1);
  });

  it('two sleeping workers in one process deliver each event exactly once', async () => {
    const partner = await signup('partner');
    await subscribe(partner, receiver);
    const second = await new WebhookReceiver().start();
    const others: DeliveryWorker[] = [];
    try {
      await subscribe(partner, second);
      for (let i = 0; i < 2; i++) {
        const w = testWorker({ pollMs: NEVER, endpointConcurrency: 2 });
        const idle = w.whenIdle();
        w.start();
        others.push(w);
        await idle;
      }
      for (let i = 0; i < 12; i++) await createTestbed(partner);
      assert.ok(await waitFor(() => receiver.received.length >= 12 && second.received.length >= 12, WAIT));
      await Promise.all(others.map((w) => w.stop(100)));
      for (const r of [receiver, second]) {
        assert.equal(r.received.length, 12, 'no duplicates');
        assert.equal(new Set(r.ids()).size, 12);
      }
      assert.equal(
        await count(
          `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'succeeded' AND attempt_count = 1`,
        ),
        24,
      );
    } finally {
      await Promise.all(others.map((w) => w.stop(100)));
      await second.stop();
    }
  });

  if (process.env.DATABASE_URL) {
    describe('on the PostgreSQL server', () => {
      const children: ChildProcess[] = [];
      const exited = (c: ChildProcess) =>
        c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r));
      afterEach(async () => {
        for (const c of children.splice(0)) {
          if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
          await exited(c);
        }
      });

      it('a worker whose listening connection was cut reconnects and is woken again', async () => {
        const partner = await signup('partner');
        await subscribe(partner, receiver);
        const w = await sleepingWorker();
        const [before] = (
          await ctx().db.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN webhook_deliveries'`,
          )
        ).rows;
        assert.ok(before, 'a listening session');
        await ctx().db.query('SELECT pg_terminate_backend($1)', [before.pid]);
        // A new session listens again; the worker re-checks once on reconnecting, then sleeps.
        assert.ok(
          await waitFor(async () => {
            const { rows } = await ctx().db.query<{ pid: number }>(
              `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN webhook_deliveries'`,
            );
            return rows.length === 1 && rows[0]!.pid !== before.pid;
          }, WAIT),
          'listening again',
        );
        await w.whenIdle();
        await createTestbed(partner);
        assert.ok(await waitFor(() => receiver.received.length === 1, WAIT), 'woken after the reconnect');
      });

      it('two worker processes that only poll once a minute deliver each event exactly once, woken by NOTIFY', async () => {
        const partner = await signup('partner');
        const second = await new WebhookReceiver().start();
        try {
          await subscribe(partner, receiver);
          await subscribe(partner, second);
          for (let i = 0; i < 2; i++) {
            const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
              env: {
                ...process.env,
                DATABASE_URL: ctx().config.databaseUrl,
                LOG_LEVEL: 'silent',
                WEBHOOK_ALLOW_NETWORKS: LOOPBACK,
                WEBHOOK_POLL_MS: '60000',
                WEBHOOK_ENDPOINT_CONCURRENCY: '2',
                WEBHOOK_CONCURRENCY: '4',
              },
              stdio: ['ignore', 'ignore', 'inherit'],
            });
            children.push(child);
          }
          assert.ok(await waitFor(async () => (await listeners()) === 2, WAIT), 'both workers listen');
          for (let i = 0; i < 20; i++) await createTestbed(partner);
          assert.ok(
            await waitFor(() => receiver.received.length >= 20 && second.received.length >= 20, WAIT),
            'delivered within the poll',
          );
          const settled = () =>
            count(
              `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'succeeded' AND attempt_count = 1`,
            ).then((n) => n === 40);
          assert.ok(await waitFor(settled, WAIT));
          for (const r of [receiver, second]) {
            assert.equal(r.received.length, 20, 'no duplicates');
            assert.equal(new Set(r.ids()).size, 20);
          }
        } finally {
          await second.stop();
        }
      });
    });
  }
});
