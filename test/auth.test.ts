import assert from 'node:assert/strict';
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp } from '../src/app.js';
import { hashSecret } from '../src/auth/tokens.js';
import { ctx, testConfig } from './support/context.js';
import { businessNumber, operator, pilotBody, signup } from './support/factories.js';

const PASSWORD = 'correct horse battery staple';

function signupBody(overrides: { org?: Record<string, unknown>; user?: Record<string, unknown> } = {}) {
  return {
    organization: { name: '광주 모빌리티랩', kind: 'startup', businessNumber: businessNumber(), ...overrides.org },
    user: {
      email: `founder-${Math.random().toString(36).slice(2, 8)}@example.kr`,
      password: PASSWORD,
      name: '김광주',
      ...overrides.user,
    },
  };
}

async function countRows(table: string): Promise<number> {
  const { rows } = await ctx().db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

describe('POST /v1/auth/signup', () => {
  it('creates the organisation and user and returns a working token', async () => {
    const body = signupBody();
    const res = await ctx().api().post('/v1/auth/signup').send(body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.organization.kind, 'startup');
    assert.equal(res.body.organization.name, '광주 모빌리티랩');
    assert.equal(res.body.user.email, body.user.email);
    assert.ok(!('passwordHash' in res.body.user) && !('password_hash' in res.body.user));
    const me = await ctx().api().get('/v1/me').set('Authorization', `Bearer ${res.body.token}`);
    assert.equal(me.status, 200);
    assert.equal(me.body.role, 'startup');
    assert.equal(me.body.via, 'session');
  });

  it('stores the password with argon2id and the token only as a hash', async () => {
    const res = await ctx().api().post('/v1/auth/signup').send(signupBody());
    const user = await ctx().db.query<{ password_hash: string }>('SELECT password_hash FROM users');
    assert.match(user.rows[0]!.password_hash, /^\$argon2id\$/);
    const sessions = await ctx().db.query<{ token_hash: string }>('SELECT token_hash FROM sessions');
    assert.equal(sessions.rows[0]!.token_hash, hashSecret(res.body.token));
    assert.notEqual(sessions.rows[0]!.token_hash, res.body.token);
  });

  it('normalises a dashed business number to digits', async () => {
    const digits = businessNumber();
    const dashed = `${digits.slice(0, 3)}-${digits.slice(3, 5)}-${digits.slice(5)}`;
    const res = await ctx()
      .api()
      .post('/v1/auth/signup')
      .send(signupBody({ org: { businessNumber: dashed } }));
    assert.equal(res.status, 201);
    assert.equal(res.body.organization.businessNumber, digits);
  });

  it('refuses a business number with a wrong check digit, writing nothing', async () => {
    const good = businessNumber();
    const bad = good.slice(0, 9) + ((Number(good[9]) + 1) % 10);
    const res = await ctx()
      .api()
      .post('/v1/auth/signup')
      .send(signupBody({ org: { businessNumber: bad } }));
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'validation-failed');
    assert.equal(res.body.errors[0].pointer, '/body/organization/businessNumber');
    assert.equal(await countRows('organizations'), 0);
  });

  it('never creates operators', async () => {
    const res = await ctx()
      .api()
      .post('/v1/auth/signup')
      .send(signupBody({ org: { kind: 'operator' } }));
    assert.equal(res.status, 400);
    assert.ok(res.body.errors.some((e: { pointer: string }) => e.pointer === '/body/organization/kind'));
    assert.equal(await countRows('organizations'), 0);
  });

  it('reports every wrong field with a pointer', async () => {
    const res = await ctx()
      .api()
      .post('/v1/auth/signup')
      .send({
        organization: { name: '', kind: 'startup', extra: 1 },
        user: { email: 'not-an-email', password: 'short' },
      });
    assert.equal(res.status, 400);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    const pointers = [...new Set(res.body.errors.map((e: { pointer: string }) => e.pointer))].sort();
    assert.deepEqual(pointers, [
      '/body/organization/extra',
      '/body/organization/name',
      '/body/user/email',
      '/body/user/name',
      '/body/user/password',
    ]);
  });

  it('answers 409 for an email already registered, in any letter case, and keeps the first organisation only', async () => {
    const first = signupBody();
    assert.equal((await ctx().api().post('/v1/auth/signup').send(first)).status, 201);
    const again = signupBody({ user: { email: first.user.email.toUpperCase() } });
    const res = await ctx().api().post('/v1/auth/signup').send(again);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'email-taken');
    assert.equal(await countRows('organizations'), 1);
  });

  it('answers 409 for a business number already registered', async () => {
    const first = signupBody();
    await ctx().api().post('/v1/auth/signup').send(first);
    const res = await ctx()
      .api()
      .post('/v1/auth/signup')
      .send(signupBody({ org: { businessNumber: first.organization.businessNumber } }));
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'business-number-taken');
  });
});

describe('POST /v1/auth/login and /logout', () => {
  it('logs in with email and password, case-insensitively on the email', async () => {
    const s = await signup();
    const res = await ctx().api().post('/v1/auth/login').send({ email: s.email.toUpperCase(), password: PASSWORD });
    assert.equal(res.status, 200);
    assert.match(res.body.token, /^axs_/);
    assert.ok(Date.parse(res.body.expiresAt) > Date.now());
  });

  it('answers the same 401 for a wrong password and an unknown email', async () => {
    const s = await signup();
    const wrong = await ctx().api().post('/v1/auth/login').send({ email: s.email, password: 'wrong password!!' });
    const unknown = await ctx().api().post('/v1/auth/login').send({ email: 'nobody@example.kr', password: PASSWORD });
    for (const res of [wrong, unknown]) {
      assert.equal(res.status, 401);
      assert.equal(res.body.code, 'invalid-credentials');
    }
    assert.equal(wrong.body.detail, unknown.body.detail);
  });

  it('logout revokes the session token', async () => {
    const s = await signup();
    assert.equal((await ctx().api().post('/v1/auth/logout').set(s.auth)).status, 204);
    const res = await ctx().api().get('/v1/me').set(s.auth);
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'unauthorized');
  });

  it('refuses an expired session token', async () => {
    const s = await signup();
    await ctx().db.query(`UPDATE sessions SET expires_at = now() - interval '1 second'`);
    const res = await ctx().api().get('/v1/me').set(s.auth);
    assert.equal(res.status, 401);
  });

  it('refuses missing, malformed and unknown tokens with a Bearer challenge', async () => {
    const headers = [
      undefined,
      'Bearer',
      'Basic dXNlcjpwYXNz',
      'Bearer axs_short',
      `Bearer axs_${'A'.repeat(43)}`,
      `Bearer ${'x'.repeat(5000)}`,
    ];
    for (const h of headers) {
      const req = ctx().api().get('/v1/me');
      if (h) req.set('Authorization', h);
      const res = await req;
      assert.equal(res.status, 401, String(h));
      assert.equal(res.body.code, 'unauthorized');
      assert.match(String(res.headers['www-authenticate']), /^Bearer realm=/);
    }
  });

  it('ignores a token sent in the query string', async () => {
    const s = await signup();
    const res = await ctx().api().get(`/v1/me?access_token=${s.token}`);
    assert.equal(res.status, 401);
  });

  it('refuses a valid header whose token is also offered in the query or body, or not set off by one space', async () => {
    const s = await signup();
    const refused = [
      ctx().api().get(`/v1/me?access_token=${s.token}`).set(s.auth),
      ctx()
        .api()
        .post('/v1/pilots')
        .set(s.auth)
        .send({ ...pilotBody(), access_token: s.token }),
      ctx().api().get('/v1/me').set('Authorization', `Bearer\t${s.token}`),
      ctx().api().get('/v1/me').set('Authorization', `Bearer  ${s.token}`),
    ];
    for (const [i, res] of (await Promise.all(refused)).entries()) {
      assert.equal(res.status, 401, `request ${i}`);
      assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/, `request ${i}`);
    }
    assert.equal((await ctx().api().get('/v1/me').set('Authorization', `bearer ${s.token}`)).status, 200);
  });

  it('lets an operator created by ensureOperator log in, and reports the operator role', async () => {
    const op = await operator();
    const me = await ctx().api().get('/v1/me').set(op.auth);
    assert.equal(me.status, 200);
    assert.equal(me.body.role, 'operator');
  });
});

describe('rate limiting of login and signup', () => {
  it('answers 429 with Retry-After past the limit, counted in the database across app instances', async () => {
    const config = testConfig({ AUTH_RATE_LIMIT: '3', AUTH_RATE_WINDOW_SECONDS: '60' });
    const logger = pino({ level: 'silent' });
    // Two apps on one database stand for two API processes behind a load balancer.
    const a = supertest(createApp({ db: ctx().db, config, logger }));
    const b = supertest(createApp({ db: ctx().db, config, logger }));
    const attempt = (agent: typeof a) =>
      agent.post('/v1/auth/login').send({ email: 'x@example.kr', password: 'whatever!!' });
    assert.equal((await attempt(a)).status, 401);
    assert.equal((await attempt(b)).status, 401);
    assert.equal((await attempt(a)).status, 401);
    const limited = await attempt(b);
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'rate-limited');
    assert.match(String(limited.headers['content-type']), /application\/problem\+json/);
    assert.ok(Number(limited.headers['retry-after']) > 0);
  });
});
