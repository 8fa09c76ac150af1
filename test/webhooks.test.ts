/**
 * Partner webhooks end to end: endpoints over HTTP, deliveries by a worker to a real receiver on loopback
 * that verifies every one with the official standardwebhooks library (core guarantee 2).
 */
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { ctx } from './support/context.js';
import {
  createPilot,
  createSlot,
  createTestbed,
  etagAt,
  operator,
  signup,
  DAY,
  type Actor,
} from './support/factories.js';
import { WebhookReceiver, waitFor } from './support/webhook-receiver.js';
import { deliveriesOf, hooksApi, subscribe, testWorker } from './support/webhooks.js';
import type { DeliveryWorker } from '../src/webhooks/worker.js';
import { EVENT_TYPES } from '../src/events/catalog.js';
import { Validator } from '../src/http/validation.js';

describe('webhooks', function () {
  // Deliveries are awaited by condition (waitFor), never by elapsed time; this only caps a hung test.
  this.timeout(180_000);
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

  const run = () => {
    worker = testWorker();
    worker.start();
    return worker;
  };

  it('has a payload schema for every event type, listed in the OpenAPI webhooks section', async () => {
    const doc = (await ctx().api().get('/openapi.json')).body as { webhooks: Record<string, unknown> };
    assert.deepEqual(Object.keys(doc.webhooks).sort(), [...EVENT_TYPES].sort());
  });

  describe('POST /v1/webhook-endpoints', () => {
    it('creates an endpoint for every type, showing the whsec_ secret once', async () => {
      const partner = await signup('partner');
      const res = await hooksApi()
        .post('/v1/webhook-endpoints')
        .set(partner.auth)
        .send({ url: receiver.url, description: 'CI' });
      assert.equal(res.status, 201);
      assert.match(res.body.secret, /^whsec_[A-Za-z0-9+/=]{40,}$/);
      assert.deepEqual(res.body.eventTypes, ['*']);
      assert.equal(res.body.status, 'enabled');
      assert.equal(res.get('Location'), `/v1/webhook-endpoints/${res.body.id}`);
      const again = await hooksApi().get(`/v1/webhook-endpoints/${res.body.id}`).set(partner.auth);
      assert.equal(again.status, 200);
      assert.equal(again.body.secret, undefined);
      assert.ok(again.get('ETag'));
    });

    const bad: [string, unknown, number, string][] = [
      ['not a URL', 'hooks here please', 400, 'validation-failed'],
      ['credentials in it', 'https://user:pw@hooks.example.kr/x', 400, 'validation-failed'],
      ['another scheme', 'ftp://hooks.example.kr/x', 400, 'validation-failed'],
      ['10,000 characters', `https://hooks.example.kr/${'a'.repeat(10_000)}`, 400, 'validation-failed'],
      ['loopback', 'https://127.0.0.1/x', 422, 'webhook-url-not-allowed'],
      ['a private network', 'https://10.1.2.3/x', 422, 'webhook-url-not-allowed'],
      ['cloud metadata', 'http://169.254.169.254/latest/meta-data', 422, 'webhook-url-not-allowed'],
      ['CGNAT', 'https://100.64.0.1/x', 422, 'webhook-url-not-allowed'],
      ['IPv6 loopback', 'https://[::1]/x', 422, 'webhook-url-not-allowed'],
      ['IPv4-mapped IPv6', 'https://[::ffff:10.0.0.1]/x', 422, 'webhook-url-not-allowed'],
      ['the EC2 IPv6 metadata address', 'https://[fd00:ec2::254]/x', 422, 'webhook-url-not-allowed'],
      ['a decimal IPv4 loopback', 'https://2130706433/x', 422, 'webhook-url-not-allowed'],
      ['localhost', 'https://localhost/x', 422, 'webhook-url-not-allowed'],
      ['multicast', 'https://224.0.0.1/x', 422, 'webhook-url-not-allowed'],
    ];
    for (const [what, url, status, code] of bad) {
      it(`refuses a URL that is ${what} › ${status} ${code}`, async () => {
        const startup = await signup('startup');
        // The shared app allows no network at all, so loopback is refused there too.
        const res = await ctx().api().post('/v1/webhook-endpoints').set(startup.auth).send({ url });
        assert.equal(res.status, status, JSON.stringify(res.body));
        assert.equal(res.body.code, code);
        assert.equal(await count('webhook_endpoints'), 0);
      });
    }

    it('refuses unknown event types › 400', async () => {
      const startup = await signup('startup');
      const res = await hooksApi()
        .post('/v1/webhook-endpoints')
        .set(startup.auth)
        .send({ url: receiver.url, eventTypes: ['pilot.exploded'] });
      assert.equal(res.status, 400);
      assert.ok(res.body.errors.some((e: { pointer: string }) => e.pointer === '/body/eventTypes/0'));
    });

    it('demands https when WEBHOOK_REQUIRE_HTTPS is on (production)', async () => {
      const { urlProblems, AddressPolicy } = await import('../src/webhooks/ssrf.js');
      assert.deepEqual(urlProblems('https://hooks.example.kr/x', new AddressPolicy([]), true), []);
      assert.deepEqual(urlProblems('http://hooks.example.kr/x', new AddressPolicy([]), true), ['must use https']);
    });
  });

  describe('endpoint management', () => {
    it("is private to the organisation: another's endpoint is a 404, operators included", async () => {
      const a = await signup('partner');
      const b = await signup('startup');
      const op = await operator();
      const ep = await subscribe(a, receiver);
      for (const other of [b, op]) {
        assert.equal((await hooksApi().get(`/v1/webhook-endpoints/${ep.id}`).set(other.auth)).status, 404);
        assert.equal((await hooksApi().get(`/v1/webhook-endpoints/${ep.id}/deliveries`).set(other.auth)).status, 404);
        assert.equal(
          (await hooksApi().post(`/v1/webhook-endpoints/${ep.id}/rotate-secret`).set(other.auth)).status,
          404,
        );
        assert.equal((await hooksApi().get('/v1/webhook-endpoints').set(other.auth)).body.data.length, 0);
      }
    });

    it('PATCH needs If-Match, changes types, disables and re-enables', async () => {
      const a = await signup('partner');
      const ep = await subscribe(a, receiver);
      const url = `/v1/webhook-endpoints/${ep.id}`;
      assert.equal((await hooksApi().patch(url).set(a.auth).send({ status: 'disabled' })).status, 428);
      let res = await hooksApi()
        .patch(url)
        .set(a.auth)
        .set('If-Match', await etagAt(a, url).catch(() => ''))
        .send({ status: 'disabled' });
      // etagAt goes through the shared app, which serves the same database.
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.status, 'disabled');
      assert.equal(res.body.disabledReason, 'disabled by its owner');
      res = await hooksApi()
        .patch(url)
        .set(a.auth)
        .set('If-Match', res.get('ETag')!)
        .send({ status: 'enabled', eventTypes: ['slot.created', 'testbed.updated'] });
      assert.equal(res.status, 200);
      assert.equal(res.body.status, 'enabled');
      assert.equal(res.body.disabledReason, null);
      assert.deepEqual(res.body.eventTypes, ['slot.created', 'testbed.updated']);
      assert.equal((await hooksApi().delete(url).set(a.auth)).status, 204);
      assert.equal((await hooksApi().get(url).set(a.auth)).status, 404);
    });
  });

  describe('delivery', () => {
    it('delivers signed events in their envelope, only the subscribed types, in event order', async () => {
      const partner = await signup('partner');
      await subscribe(partner, receiver, { eventTypes: ['slot.created', 'testbed.created'] });
      const tb = await createTestbed(partner);
      const start = Date.now() + 10 * DAY;
      for (let i = 0; i < 8; i++) {
        await createSlot(
          partner,
          tb.id,
          new Date(start + i * 3_600_000).toISOString(),
          new Date(start + (i + 1) * 3_600_000).toISOString(),
        );
      }
      await hooksApi()
        .patch(`/v1/testbeds/${tb.id}`)
        .set(partner.auth)
        .set('If-Match', await etagAt(partner, `/v1/testbeds/${tb.id}`))
        .send({ capacity: 3 });
      run();
      assert.ok(await waitFor(() => receiver.received.length >= 9), `got ${receiver.received.length}`);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(receiver.rejected.length, 0);
      assert.equal(receiver.received.length, 9, 'testbed.updated is not subscribed');
      const [first, ...slots] = receiver.received;
      assert.equal(first!.body.type, 'testbed.created');
      assert.equal(first!.body.data.id, tb.id);
      assert.equal(first!.id, first!.body.id);
      assert.deepEqual(Object.keys(first!.body).sort(), ['createdAt', 'data', 'id', 'type']);
      const validator = new Validator();
      for (const r of receiver.received) {
        assert.deepEqual(
          validator.errors(`event-${r.body.type}.json`, r.body),
          [],
          `${r.body.type} matches its schema`,
        );
      }
      assert.deepEqual(
        slots.map((s) => s.body.data.start),
        slots.map((s) => s.body.data.start as string).sort(),
        'arrive in event order',
      );
    });

    it('re-checks visibility at delivery time: an organisation that lost access to a pilot gets nothing more', async () => {
      const startup = await signup('startup');
      const other = await signup('startup');
      await subscribe(startup, receiver);
      const pilot = await createPilot(startup);
      // The pilot changes hands before the worker gets to the event.
      await ctx().db.query('UPDATE pilots SET organization_id = $1 WHERE id = $2', [other.orgId, pilot.id]);
      await testWorker().runOnce();
      assert.equal(receiver.received.length, 0);
      const [d] = await deliveriesOf(
        startup,
        (await hooksApi().get('/v1/webhook-endpoints').set(startup.auth)).body.data[0].id,
      );
      assert.equal(d!.status, 'skipped');
      assert.equal(d!.attempts.length, 0);
    });

    it('a receiver that is down and then comes back gets everything', async () => {
      const partner = await signup('partner');
      const ep = await subscribe(partner, receiver);
      const port = receiver.port;
      await receiver.stop();
      const tb = await createTestbed(partner);
      for (let i = 0; i < 5; i++) await createSlot(partner, tb.id, slotAt(i).start, slotAt(i).end);
      // The second attempt is an hour away, so this pass makes exactly one attempt per delivery however slowly it
      // runs (with short retries a slow pass retried until the schedule ran out and the deliveries failed).
      const w = testWorker({ retrySchedule: [0, 3600, 0.2, 0.2, 0.2, 0.2] });
      await w.runOnce();
      await w.stop(0);
      const failed = await deliveriesOf(partner, ep.id);
      assert.equal(failed.length, 6);
      for (const d of failed) {
        assert.ok(
          d.status === 'pending' && d.attemptCount === 1 && d.attempts[0]?.error?.includes('ECONNREFUSED'),
          JSON.stringify(d),
        );
      }
      // The hour passes.
      await ctx().db.query('UPDATE webhook_deliveries SET next_attempt_at = now()');
      const secrets = receiver.secrets;
      receiver = await new WebhookReceiver().start(port);
      receiver.secrets = secrets;
      worker = testWorker({ retrySchedule: [0, 3600, 0.2, 0.2, 0.2, 0.2] });
      worker.start();
      assert.ok(await waitFor(() => receiver.received.length >= 6));
      assert.deepEqual(
        new Set(receiver.received.map((r) => r.body.type)),
        new Set(['testbed.created', 'slot.created']),
      );
      assert.ok(await waitFor(async () => (await deliveriesOf(partner, ep.id)).every((d) => d.status === 'succeeded')));
    });

    it('retries failures with the schedule, logs every attempt, fails at the end, and redelivers on request', async () => {
      const partner = await signup('partner');
      const ep = await subscribe(partner, receiver);
      receiver.behaviour = () => ({ status: 500 });
      await createTestbed(partner);
      run();
      assert.ok(await waitFor(async () => (await deliveriesOf(partner, ep.id))[0]?.status === 'failed'));
      const [d] = await deliveriesOf(partner, ep.id);
      assert.equal(d!.attemptCount, 3);
      assert.deepEqual(
        d!.attempts.map((a) => a.statusCode),
        [500, 500, 500],
      );
      assert.equal(d!.attempts[0]!.responseBody, 'status 500');
      assert.ok(d!.attempts.every((a) => a.durationMs >= 0));
      const endpoint = (await hooksApi().get(`/v1/webhook-endpoints/${ep.id}`).set(partner.auth)).body;
      assert.ok(endpoint.failingSince);

      receiver.behaviour = () => 'ok';
      const res = await hooksApi().post(`/v1/deliveries/${d!.id}/redeliver`).set(partner.auth);
      assert.equal(res.status, 202);
      assert.equal(res.body.redeliveryOf, d!.id);
      assert.ok(await waitFor(() => receiver.received.length === 1));
      assert.equal(receiver.received[0]!.id, d!.eventId, 'the same webhook-id, so receivers can de-duplicate');
      assert.ok(
        await waitFor(
          async () =>
            (await hooksApi().get(`/v1/webhook-endpoints/${ep.id}`).set(partner.auth)).body.failingSince === null,
        ),
      );
    });

    it('honours Retry-After on 429', async () => {
      const partner = await signup('partner');
      const ep = await subscribe(partner, receiver);
      receiver.behaviour = (n) => (n === 0 ? { status: 429, headers: { 'Retry-After': '1' } } : 'ok');
      await createTestbed(partner);
      const w = testWorker();
      await w.runOnce();
      await w.stop(0);
      const { rows } = await ctx().db.query<{ wait: number }>(
        `SELECT extract(epoch FROM next_attempt_at - updated_at)::float AS wait FROM webhook_deliveries WHERE endpoint_id = $1`,
        [ep.id],
      );
      assert.ok(rows[0]!.wait >= 0.9, `next attempt after ${rows[0]!.wait} s`);
    });

    it('410 Gone disables the endpoint at once and tells the organisation’s other endpoints', async () => {
      const partner = await signup('partner');
      const other = await new WebhookReceiver().start();
      try {
        const gone = await subscribe(partner, receiver, { eventTypes: ['testbed.created'] });
        await subscribe(partner, other, { eventTypes: ['webhook_endpoint.disabled'] });
        receiver.behaviour = () => ({ status: 410 });
        await createTestbed(partner);
        run();
        assert.ok(await waitFor(() => other.received.length === 1));
        const ev = other.received[0]!.body;
        assert.equal(ev.type, 'webhook_endpoint.disabled');
        assert.equal(ev.data.id, gone.id);
        assert.match(String(ev.data.reason), /410/);
        const ep = (await hooksApi().get(`/v1/webhook-endpoints/${gone.id}`).set(partner.auth)).body;
        assert.equal(ep.status, 'disabled');
        assert.match(ep.disabledReason, /410 Gone/);
        // Disabled endpoints get nothing new.
        await createTestbed(partner);
        await new Promise((r) => setTimeout(r, 150));
        assert.equal((await deliveriesOf(partner, gone.id)).length, 1);
      } finally {
        await other.stop();
      }
    });

    it('disables an endpoint that keeps failing for longer than WEBHOOK_DISABLE_AFTER_SECONDS', async () => {
      const partner = await signup('partner');
      const ep = await subscribe(partner, receiver);
      receiver.behaviour = () => ({ status: 503 });
      await ctx().db.query(`UPDATE webhook_endpoints SET failing_since = now() - interval '6 days' WHERE id = $1`, [
        ep.id,
      ]);
      await createTestbed(partner);
      await testWorker().runOnce();
      const res = (await hooksApi().get(`/v1/webhook-endpoints/${ep.id}`).set(partner.auth)).body;
      assert.equal(res.status, 'disabled');
      assert.match(res.disabledReason, /failing without a success since/);
      assert.equal((await deliveriesOf(partner, ep.id))[0]!.status, 'failed');
    });

    it('sends a test ping to that endpoint alone', async () => {
      const partner = await signup('partner');
      const ep = await subscribe(partner, receiver, { eventTypes: ['slot.created'] });
      const second = await new WebhookReceiver().start();
      try {
        await subscribe(partner, second);
        const res = await hooksApi().post(`/v1/webhook-endpoints/${ep.id}/test`).set(partner.auth);
        assert.equal(res.status, 202);
        assert.equal(res.body.eventType, 'webhook.test');
        await testWorker().runOnce();
        assert.equal(receiver.received.length, 1);
        assert.equal(receiver.received[0]!.body.type, 'webhook.test');
        assert.equal(second.received.length, 0);
      } finally {
        await second.stop();
      }
    });
  });

  describe('secret rotation', () => {
    it('signs with both secrets for the grace period, then with the new one only', async () => {
      const partner = await signup('partner');
      const ep = await subscribe(partner, receiver);
      const oldSecret = ep.secret;
      const res = await hooksApi().post(`/v1/webhook-endpoints/${ep.id}/rotate-secret`).set(partner.auth);
      assert.equal(res.status, 200);
      const newSecret = res.body.secret as string;
      assert.notEqual(newSecret, oldSecret);
      const expires = Date.parse(res.body.previousSecretExpiresAt);
      assert.ok(Math.abs(expires - Date.now() - 86_400_000) < 60_000, 'old secret valid for 24 h');
      receiver.secrets = [newSecret];
      await createTestbed(partner);
      await testWorker().runOnce();
      const got = receiver.received[0]!;
      assert.equal(got.signature.split(' ').length, 2);
      const headers = { 'webhook-id': got.id, 'webhook-timestamp': got.timestamp, 'webhook-signature': got.signature };
      const payload = JSON.stringify(got.body);
      // Either secret alone verifies: receivers switch when they are ready.
      assert.doesNotThrow(() => new Webhook(oldSecret).verify(payload, headers));
      assert.doesNotThrow(() => new Webhook(newSecret).verify(payload, headers));

      await ctx().db.query(
        `UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`,
        [ep.id],
      );
      await createTestbed(partner);
      await testWorker().runOnce();
      const later = receiver.received[1]!;
      assert.equal(later.signature.split(' ').length, 1);
      assert.throws(() =>
        new Webhook(oldSecret).verify(JSON.stringify(later.body), {
          'webhook-id': later.id,
          'webhook-timestamp': later.timestamp,
          'webhook-signature': later.signature,
        }),
      );
    });
  });

  describe('receivers that misbehave', () => {
    it('hanging and trickling receivers do not hold up a healthy one', async () => {
      const partner = await signup('partner');
      const healthy = await new WebhookReceiver().start();
      const bad: WebhookReceiver[] = [];
      try {
        const endpoints: Record<string, string> = {};
        for (const kind of ['hang', 'trickle'] as const) {
          const r = await new WebhookReceiver().start();
          r.behaviour = () => kind;
          bad.push(r);
          endpoints[kind] = (await subscribe(partner, r, { eventTypes: ['testbed.created'] })).id;
        }
        await subscribe(partner, healthy, { eventTypes: ['testbed.created'] });
        for (let i = 0; i < 3; i++) await createTestbed(partner);
        // The bad receivers hold their first delivery for as long as the test runs (the deadline is beyond it),
        // so "not held up" is an order of events, not a duration: the healthy receiver gets all three while
        // both bad deliveries are still in flight. (A 900 ms budget failed on a loaded machine.)
        worker = testWorker({ timeoutMs: 170_000, leaseSeconds: 3600, retrySchedule: [0] });
        worker.start();
        assert.ok(await waitFor(() => healthy.received.length === 3, 120_000));
        for (const [kind, id] of Object.entries(endpoints)) {
          const ds = await deliveriesOf(partner, id);
          assert.ok(
            ds.every((d) => d.status === 'pending' && d.attemptCount === 0),
            `${kind}: ${JSON.stringify(ds)}`,
          );
        }
        // The API stays responsive meanwhile.
        assert.equal((await hooksApi().get('/v1/webhook-endpoints').set(partner.auth)).status, 200);
      } finally {
        // Receivers first: closing them ends the deliveries they hold, which the worker then waits for, so that
        // no failure write of theirs runs into the next test's TRUNCATE (which it can deadlock with).
        await healthy.stop();
        for (const r of bad) await r.stop();
        await worker?.stop(20_000);
        worker = undefined;
      }
    });

    it('cuts hanging and trickling receivers at the deadline, truncates huge answers, follows no redirect, records resets', async () => {
      const partner = await signup('partner');
      const bad: WebhookReceiver[] = [];
      try {
        const kinds = ['hang', 'trickle', 'huge', 'redirect', 'reset'] as const;
        const endpoints: Record<string, string> = {};
        for (const kind of kinds) {
          const r = await new WebhookReceiver().start();
          r.behaviour = () => kind;
          bad.push(r);
          endpoints[kind] = (await subscribe(partner, r, { eventTypes: ['testbed.created'] })).id;
        }
        for (let i = 0; i < 3; i++) await createTestbed(partner);
        worker = testWorker({ timeoutMs: 1000, retrySchedule: [0] });
        worker.start();
        assert.ok(
          await waitFor(async () => {
            for (const id of Object.values(endpoints))
              if ((await deliveriesOf(partner, id)).some((d) => d.status === 'pending')) return false;
            return true;
          }, 120_000),
        );
        const first = async (kind: string) => (await deliveriesOf(partner, endpoints[kind]!)).at(-1)!;
        assert.match((await first('hang')).attempts[0]!.error!, /timeout/);
        assert.match((await first('trickle')).attempts[0]!.error!, /timeout/);
        const huge = (await first('huge')).attempts[0]!;
        assert.equal(huge.statusCode, 200);
        assert.equal(huge.responseTruncated, true);
        assert.ok(huge.responseBody.length <= 1024);
        assert.equal((await first('huge')).status, 'succeeded');
        const redirect = await first('redirect');
        assert.equal(redirect.attempts[0]!.statusCode, 302);
        assert.equal(redirect.status, 'failed', 'redirects are not followed');
        assert.ok((await first('reset')).attempts[0]!.error);
      } finally {
        for (const r of bad) await r.stop();
      }
    });
  });
});

async function count(table: string): Promise<number> {
  return (await ctx().db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
}

function slotAt(i: number) {
  const s = Date.now() + 20 * DAY + i * 3_600_000;
  return { start: new Date(s).toISOString(), end: new Date(s + 3_600_000).toISOString() };
}

export type { Actor };
