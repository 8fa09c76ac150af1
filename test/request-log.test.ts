import assert from 'node:assert/strict';
import express from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp } from '../src/app.js';
import { securityHeaders } from '../src/http/security-headers.js';
import { ctx } from './support/context.js';
import { pilotBody, signup } from './support/factories.js';

type Line = Record<string, unknown> & { msg: string; req?: Record<string, unknown>; res?: { statusCode: number } };

function loggedApp(level = 'info', readiness = { shuttingDown: false }) {
  const lines: Line[] = [];
  const logger = pino({ level }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const app = createApp({ db: ctx().db, config: ctx().config, logger, readiness });
  return { api: () => supertest(app), lines };
}

describe('request log', () => {
  it('writes one line per request: its id, method and path without the query, the status and the time', async () => {
    const s = await signup();
    const { api, lines } = loggedApp();
    const created = await api().post('/v1/pilots').set(s.auth).set('X-Request-Id', 'trace-1').send(pilotBody());
    assert.equal(created.status, 201);
    const listed = await api().get('/v1/pilots?limit=5&status=draft').set(s.auth);
    assert.equal(listed.status, 200);
    const done = lines.filter((l) => l.msg === 'request completed');
    assert.deepEqual(
      done.map((l) => [l.req, l.res]),
      [
        [{ id: 'trace-1', method: 'POST', path: '/v1/pilots' }, { statusCode: 201 }],
        [{ id: listed.headers['x-request-id'], method: 'GET', path: '/v1/pilots' }, { statusCode: 200 }],
      ],
    );
    assert.equal(typeof done[0]!.responseTime, 'number');
    assert.equal(done[0]!.level, 30);
    // Neither the token nor the body reaches the log.
    assert.doesNotMatch(JSON.stringify(lines), new RegExp(s.token.slice(-16)));
    assert.doesNotMatch(JSON.stringify(lines), /summary/);
  });

  it('marks an answer of 500 and above as errored', async () => {
    const { api, lines } = loggedApp('info', { shuttingDown: true });
    assert.equal((await api().get('/readyz')).status, 503);
    const line = lines.find((l) => l.msg === 'request errored');
    assert.deepEqual(line?.res, { statusCode: 503 });
    assert.equal((line?.err as { message: string }).message, 'failed with status code 503');
  });

  it('leaves out probes and metrics scrapes, and writes nothing when the level is off', async () => {
    const on = loggedApp();
    await on.api().get('/healthz');
    await on.api().get('/metrics');
    assert.deepEqual(on.lines, []);
    const off = loggedApp('warn');
    const res = await off.api().get('/v1/domains');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.deepEqual(off.lines, []);
  });
});

describe('security headers', () => {
  const headersOf = async (handler: express.RequestHandler) => {
    const app = express();
    app.use(handler);
    app.get('/', (_req, res) => void res.json({ ok: true }));
    const { headers } = await supertest(app).get('/');
    delete headers.date;
    return headers;
  };

  for (const [name, options] of [
    ['defaults', {}],
    [
      'the app’s options',
      {
        contentSecurityPolicy: {
          directives: { 'script-src': ["'self'"], 'img-src': ["'self'", 'data:'], 'upgrade-insecure-requests': null },
        },
        strictTransportSecurity: false,
      },
    ],
  ] as [string, HelmetOptions][]) {
    it(`sends exactly what helmet sends, with ${name}`, async () => {
      const expected = await headersOf(helmet(options));
      assert.ok(expected['content-security-policy']);
      assert.equal(expected['x-powered-by'], undefined);
      assert.deepEqual(await headersOf(securityHeaders(options)), expected);
    });
  }

  it('are on the app’s answers', async () => {
    const res = await ctx().api().get('/v1/domains');
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
    assert.doesNotMatch(String(res.headers['content-security-policy']), /upgrade-insecure-requests/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-powered-by'], undefined);
  });
});
