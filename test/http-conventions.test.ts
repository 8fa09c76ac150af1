import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import { pilotBody, signup } from './support/factories.js';

const api = () => ctx().api();

async function pilotCount(): Promise<number> {
  return (await ctx().db.query<{ n: number }>('SELECT count(*)::int AS n FROM pilots')).rows[0]!.n;
}

describe('Idempotency-Key on creating POSTs', () => {
  it('replays the first response for the same key and body, creating once', async () => {
    const s = await signup();
    const body = pilotBody();
    const first = await api().post('/v1/pilots').set(s.auth).set('Idempotency-Key', 'pilot-42').send(body);
    const again = await api().post('/v1/pilots').set(s.auth).set('Idempotency-Key', 'pilot-42').send(body);
    assert.equal(first.status, 201);
    assert.equal(again.status, 201);
    assert.deepEqual(again.body, first.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.headers.location, first.headers.location);
    assert.equal(again.headers.etag, first.headers.etag);
    assert.equal(await pilotCount(), 1);
  });

  it('answers 422 when the key comes back with a different body', async () => {
    const s = await signup();
    await api().post('/v1/pilots').set(s.auth).set('Idempotency-Key', 'k1').send(pilotBody());
    const res = await api()
      .post('/v1/pilots')
      .set(s.auth)
      .set('Idempotency-Key', 'k1')
      .send(pilotBody({ title: 'other' }));
    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'idempotency-key-reused');
    assert.equal(await pilotCount(), 1);
  });

  it('scopes keys to the organisation', async () => {
    const a = await signup();
    const b = await signup();
    await api().post('/v1/pilots').set(a.auth).set('Idempotency-Key', 'shared').send(pilotBody());
    const res = await api().post('/v1/pilots').set(b.auth).set('Idempotency-Key', 'shared').send(pilotBody());
    assert.equal(res.status, 201);
    assert.equal(res.headers['idempotent-replayed'], undefined);
    assert.equal(await pilotCount(), 2);
  });

  it('does not remember refusals, so a corrected request can reuse the key', async () => {
    const s = await signup();
    const bad = await api()
      .post('/v1/pilots')
      .set(s.auth)
      .set('Idempotency-Key', 'retry-me')
      .send(pilotBody({ domain: 'nope' }));
    assert.equal(bad.status, 400);
    const good = await api().post('/v1/pilots').set(s.auth).set('Idempotency-Key', 'retry-me').send(pilotBody());
    assert.equal(good.status, 201);
  });

  it('creates once under concurrent retries with one key', async () => {
    const s = await signup();
    const body = pilotBody();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => api().post('/v1/pilots').set(s.auth).set('Idempotency-Key', 'burst').send(body)),
    );
    for (const r of results) assert.ok([201, 409].includes(r.status), String(r.status));
    assert.equal(await pilotCount(), 1);
    const ids = new Set(results.filter((r) => r.status === 201).map((r) => r.body.id));
    assert.equal(ids.size, 1);
  });

  it('refuses a malformed key', async () => {
    const s = await signup();
    const res = await api().post('/v1/pilots').set(s.auth).set('Idempotency-Key', 'x'.repeat(300)).send(pilotBody());
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'invalid-idempotency-key');
    assert.equal(await pilotCount(), 0);
  });
});

describe('request bodies', () => {
  it('answers 400 malformed-json for broken JSON', async () => {
    const s = await signup();
    const res = await api().post('/v1/pilots').set(s.auth).set('Content-Type', 'application/json').send('{"title": ');
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'malformed-json');
  });

  it('answers 413 for a body over 1 MiB', async () => {
    const s = await signup();
    const res = await api()
      .post('/v1/pilots')
      .set(s.auth)
      .send(pilotBody({ summary: 'x'.repeat(1024 * 1024 + 10) }));
    assert.equal(res.status, 413);
    assert.equal(res.body.code, 'payload-too-large');
    assert.equal(await pilotCount(), 0);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const s = await signup();
    const res = await api().post('/v1/pilots').set(s.auth).set('Content-Type', 'text/plain').send('title=x');
    assert.equal(res.status, 415);
    assert.equal(res.body.code, 'unsupported-media-type');
  });

  it('answers 400 when the body is missing or not an object', async () => {
    const s = await signup();
    for (const body of [undefined, '[]', '"text"', 'null', '42']) {
      const req = api().post('/v1/pilots').set(s.auth);
      const res = body === undefined ? await req : await req.set('Content-Type', 'application/json').send(body);
      assert.equal(res.status, 400, String(body));
    }
  });
});

describe('routing and operations endpoints', () => {
  it('answers unknown routes with 404 and wrong methods with 405 + Allow, as problem+json', async () => {
    const missing = await api().get('/v1/nothing-here');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'route-not-found');
    assert.match(String(missing.headers['content-type']), /application\/problem\+json/);
    const wrong = await api().put('/v1/pilots');
    assert.equal(wrong.status, 405);
    assert.match(String(wrong.headers.allow), /GET/);
    assert.match(String(wrong.headers.allow), /POST/);
  });

  it('describes each problem type at its type URI', async () => {
    const s = await signup();
    const res = await api().get('/v1/pilots/00000000-0000-4000-8000-000000000000').set(s.auth);
    const described = await api().get(res.body.type);
    assert.equal(described.status, 200);
    assert.equal(described.body.code, 'not-found');
  });

  it('echoes a sane X-Request-Id and makes one up otherwise', async () => {
    const given = await api().get('/healthz').set('X-Request-Id', 'trace-abc.123');
    assert.equal(given.headers['x-request-id'], 'trace-abc.123');
    const hostile = await api()
      .get('/healthz')
      .set('X-Request-Id', '<script>' + 'x'.repeat(200));
    assert.match(String(hostile.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    assert.equal((await api().get('/healthz')).status, 200);
    const ready = await api().get('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.database, ctx().db.engine);
    await api().get('/v1/domains');
    const metrics = await api().get('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /http_requests_total\{method="GET",route="\/v1\/domains",status="200"\} \d+/);
    assert.match(metrics.text, /process_cpu_user_seconds_total/);
  });
});
