/**
 * Cross-origin browser clients (Uppy, tus-js-client on another origin): CORS_ORIGINS opens the API to exactly
 * those origins; without it no answer carries CORS headers, the tus endpoint's included.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp, type App } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { ctx, testConfig } from './support/context.js';
import { createPilot, signup } from './support/factories.js';

const ALLOWED = 'https://app.example.kr';
const OTHER = 'https://evil.example.com';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

const list = (header: unknown) =>
  String(header ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);

describe('CORS for browser clients on other origins', () => {
  let app: App;
  before(() => {
    app = createApp({
      db: ctx().db,
      config: testConfig({ CORS_ORIGINS: `${ALLOWED}, http://localhost:5173` }),
      logger: pino({ level: 'silent' }),
    });
  });

  const preflight = (path: string, origin: string, method: string, headers: string) =>
    supertest(app)
      .options(path)
      .set('Origin', origin)
      .set('Access-Control-Request-Method', method)
      .set('Access-Control-Request-Headers', headers);

  it('answers a preflight on the tus endpoints from an allowed origin, without credentials', async () => {
    const pilotId = '00000000-0000-4000-8000-000000000001';
    const tusHeaders = 'authorization,content-type,tus-resumable,upload-length,upload-metadata,upload-offset';
    for (const [path, method, methods] of [
      [`/v1/pilots/${pilotId}/uploads`, 'POST', ['POST', 'OPTIONS']],
      [`/v1/pilots/${pilotId}/uploads/00000000-0000-4000-8000-000000000002`, 'PATCH', ['HEAD', 'PATCH', 'DELETE']],
    ] as const) {
      const res = await preflight(path, ALLOWED, method, tusHeaders);
      assert.equal(res.status, 204, `${path}: ${res.text}`);
      assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
      assert.equal(res.headers['access-control-allow-credentials'], undefined, 'bearer tokens, never cookies');
      assert.ok(list(res.headers.vary).includes('origin'));
      const allowed = list(res.headers['access-control-allow-methods']);
      for (const m of [...methods, 'OPTIONS']) assert.ok(allowed.includes(m.toLowerCase()), `${path}: ${m}`);
      const headers = list(res.headers['access-control-allow-headers']);
      for (const h of [
        ...tusHeaders.split(','),
        'upload-defer-length',
        'upload-concat',
        'upload-checksum',
        'x-http-method-override',
        'idempotency-key',
      ]) {
        assert.ok(headers.includes(h), `${path}: ${h} not allowed`);
      }
      assert.ok(Number(res.headers['access-control-max-age']) > 0);
    }
  });

  it('gives a disallowed origin no Access-Control-Allow-Origin, on the preflight or the answer', async () => {
    const pre = await preflight(
      '/v1/pilots/00000000-0000-4000-8000-000000000001/uploads',
      OTHER,
      'POST',
      'tus-resumable',
    );
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    assert.equal(pre.headers['access-control-allow-methods'], undefined);
    const owner = await signup('startup');
    const pilot = await createPilot(owner);
    const created = await supertest(app)
      .post(`/v1/pilots/${pilot.id}/uploads`)
      .set(owner.auth)
      .set('Origin', OTHER)
      .set('Tus-Resumable', '1.0.0')
      .set('Upload-Length', '10')
      .set('Upload-Metadata', `name ${b64('x')},sensitivity ${b64('internal')}`);
    assert.equal(created.status, 201);
    assert.equal(created.headers['access-control-allow-origin'], undefined);
  });

  it('a cross-origin tus upload from an allowed origin can read Location, Upload-Offset and Dataset-Id', async () => {
    const owner = await signup('startup');
    const pilot = await createPilot(owner);
    const content = Buffer.from('ts,speed\n1,20\n2,21\n');
    const created = await supertest(app)
      .post(`/v1/pilots/${pilot.id}/uploads`)
      .set(owner.auth)
      .set('Origin', ALLOWED)
      .set('Tus-Resumable', '1.0.0')
      .set('Upload-Length', String(content.length))
      .set('Upload-Metadata', `name ${b64('log')},sensitivity ${b64('internal')},filename ${b64('log.csv')}`);
    assert.equal(created.status, 201);
    assert.equal(created.headers['access-control-allow-origin'], ALLOWED);
    assert.ok(list(created.headers['access-control-expose-headers']).includes('location'));
    const location = String(created.headers.location);

    const patch = (offset: number, bytes: Buffer) =>
      supertest(app)
        .patch(location)
        .set(owner.auth)
        .set('Origin', ALLOWED)
        .set('Tus-Resumable', '1.0.0')
        .set('Upload-Offset', String(offset))
        .set('Content-Type', 'application/offset+octet-stream')
        .send(bytes);
    const part = await patch(0, content.subarray(0, 5));
    assert.equal(part.status, 204);
    assert.equal(part.headers['access-control-allow-origin'], ALLOWED);
    const exposed = list(part.headers['access-control-expose-headers']);
    for (const h of ['upload-offset', 'upload-expires', 'tus-resumable']) assert.ok(exposed.includes(h), h);
    assert.equal(part.headers['upload-offset'], '5');

    // A refusal is readable too (the page learns the offset to resume from).
    const wrong = await patch(0, content.subarray(0, 5));
    assert.equal(wrong.status, 409);
    assert.equal(wrong.headers['access-control-allow-origin'], ALLOWED);

    const last = await patch(5, content.subarray(5));
    assert.equal(last.status, 204, JSON.stringify(last.body));
    assert.equal(last.headers['access-control-allow-origin'], ALLOWED);
    assert.ok(list(last.headers['access-control-expose-headers']).includes('dataset-id'));
    assert.match(String(last.headers['dataset-id']), /^[0-9a-f-]{36}$/);
  });

  it('applies API-wide: other routes answer preflights with their own methods, and errors carry the origin', async () => {
    const pre = await preflight('/v1/pilots', ALLOWED, 'POST', 'authorization,content-type,idempotency-key');
    assert.equal(pre.status, 204);
    assert.deepEqual(list(pre.headers['access-control-allow-methods']).sort(), ['get', 'head', 'options', 'post']);
    // A method the path does not serve gets no preflight approval: the browser never sends it.
    const wrongMethod = await preflight('/v1/pilots', ALLOWED, 'PUT', 'authorization');
    assert.equal(wrongMethod.headers['access-control-allow-methods'], undefined);
    const unauth = await supertest(app).get('/v1/pilots').set('Origin', 'http://localhost:5173');
    assert.equal(unauth.status, 401);
    assert.equal(unauth.headers['access-control-allow-origin'], 'http://localhost:5173');
  });

  it('sends no CORS headers at all without CORS_ORIGINS (the tus server would otherwise answer "*")', async () => {
    const owner = await signup('startup');
    const pilot = await createPilot(owner);
    const created = await ctx()
      .api()
      .post(`/v1/pilots/${pilot.id}/uploads`)
      .set(owner.auth)
      .set('Origin', ALLOWED)
      .set('Tus-Resumable', '1.0.0')
      .set('Upload-Length', '10')
      .set('Upload-Metadata', `name ${b64('x')},sensitivity ${b64('internal')}`);
    assert.equal(created.status, 201);
    assert.equal(created.headers['access-control-allow-origin'], undefined);
    const pre = await ctx()
      .api()
      .options(`/v1/pilots/${pilot.id}/uploads`)
      .set('Origin', ALLOWED)
      .set('Access-Control-Request-Method', 'POST');
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
  });

  it('CORS_ORIGINS takes exact origins or "*", and refuses anything else at start-up', () => {
    assert.deepEqual(loadConfig({}).corsOrigins, []);
    assert.deepEqual(loadConfig({ CORS_ORIGINS: 'https://a.example.kr, http://localhost:5173' }).corsOrigins, [
      'https://a.example.kr',
      'http://localhost:5173',
    ]);
    assert.deepEqual(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins, ['*']);
    for (const bad of ['https://a.example.kr/', 'https://a.example.kr/app', 'a.example.kr', 'ftp://a.example.kr']) {
      assert.throws(() => loadConfig({ CORS_ORIGINS: bad }), ConfigError, bad);
    }
  });
});
