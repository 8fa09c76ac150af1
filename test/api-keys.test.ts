import assert from 'node:assert/strict';
import { hashSecret } from '../src/auth/tokens.js';
import { ctx } from './support/context.js';
import { createPilot, createTestbed, pilotBody, signup } from './support/factories.js';

const api = () => ctx().api();

describe('API keys', () => {
  it('shows the secret once, stores only its hash, and lists keys without secrets', async () => {
    const s = await signup();
    const created = await api().post('/v1/api-keys').set(s.auth).send({ name: 'CI pipeline' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.key, /^axk_[A-Za-z0-9_-]{43}$/);
    assert.ok(created.body.key.startsWith(created.body.prefix));
    assert.equal(created.body.scopes.length, 16, 'all scopes by default');
    const stored = await ctx().db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys');
    assert.equal(stored.rows[0]!.key_hash, hashSecret(created.body.key));
    const list = await api().get('/v1/api-keys').set(s.auth);
    assert.equal(list.status, 200);
    assert.equal(list.body.data.length, 1);
    assert.equal(list.body.data[0].key, undefined);
    assert.equal(list.body.data[0].name, 'CI pipeline');
  });

  it('authenticates with the key and records its last use', async () => {
    const s = await signup();
    const { body } = await api().post('/v1/api-keys').set(s.auth).send({ name: 'script' });
    const me = await api().get('/v1/me').set('Authorization', `Bearer ${body.key}`);
    assert.equal(me.status, 200);
    assert.equal(me.body.via, 'api-key');
    const list = await api().get('/v1/api-keys').set(s.auth);
    assert.ok(list.body.data[0].lastUsedAt);
  });

  it('enforces scopes: a read-only key reads but cannot write (403 insufficient-scope)', async () => {
    const s = await signup();
    await createPilot(s);
    const { body } = await api()
      .post('/v1/api-keys')
      .set(s.auth)
      .send({ name: 'dashboard', scopes: ['pilots:read'] });
    const auth = { Authorization: `Bearer ${body.key}` };
    assert.equal((await api().get('/v1/pilots').set(auth)).status, 200);
    const write = await api().post('/v1/pilots').set(auth).send(pilotBody());
    assert.equal(write.status, 403);
    assert.equal(write.body.code, 'insufficient-scope');
    assert.equal(write.body.requiredScope, 'pilots:write');
    const keys = await api().get('/v1/api-keys').set(auth);
    assert.equal(keys.status, 403);
    const me = await api().get('/v1/me').set(auth);
    assert.deepEqual(me.body.scopes, ['pilots:read']);
  });

  it('treats write as implying read', async () => {
    const s = await signup();
    const { body } = await api()
      .post('/v1/api-keys')
      .set(s.auth)
      .send({ name: 'writer', scopes: ['pilots:write'] });
    assert.equal((await api().get('/v1/pilots').set('Authorization', `Bearer ${body.key}`)).status, 200);
  });

  it('stops working at once when revoked', async () => {
    const s = await signup();
    const { body } = await api().post('/v1/api-keys').set(s.auth).send({ name: 'temp' });
    assert.equal((await api().delete(`/v1/api-keys/${body.id}`).set(s.auth)).status, 204);
    const res = await api().get('/v1/me').set('Authorization', `Bearer ${body.key}`);
    assert.equal(res.status, 401);
    assert.equal((await api().delete(`/v1/api-keys/${body.id}`).set(s.auth)).status, 404, 'revoking twice');
    assert.deepEqual((await api().get('/v1/api-keys').set(s.auth)).body.data, []);
  });

  it('keeps keys private to their organisation', async () => {
    const a = await signup();
    const b = await signup('partner');
    const { body } = await api().post('/v1/api-keys').set(a.auth).send({ name: 'mine' });
    assert.deepEqual((await api().get('/v1/api-keys').set(b.auth)).body.data, []);
    assert.equal((await api().delete(`/v1/api-keys/${body.id}`).set(b.auth)).status, 404);
    assert.equal((await api().get('/v1/me').set('Authorization', `Bearer ${body.key}`)).status, 200);
  });

  it('refuses unknown scopes and empty names', async () => {
    const s = await signup();
    const res = await api()
      .post('/v1/api-keys')
      .set(s.auth)
      .send({ name: ' ', scopes: ['admin'] });
    assert.equal(res.status, 400);
    const pointers = res.body.errors.map((e: { pointer: string }) => e.pointer);
    assert.ok(pointers.includes('/body/name'));
    assert.ok(pointers.includes('/body/scopes/0'));
  });

  it('cannot be used to log out (that ends sessions only)', async () => {
    const s = await signup();
    const { body } = await api().post('/v1/api-keys').set(s.auth).send({ name: 'k' });
    const res = await api().post('/v1/auth/logout').set('Authorization', `Bearer ${body.key}`);
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'not-a-session');
  });
});

describe('API keys cannot mint more power than they hold', () => {
  it('a key with only keys:write cannot create a key with other scopes (403 insufficient-scope, nothing written)', async () => {
    const s = await signup();
    const { body: narrow } = await api()
      .post('/v1/api-keys')
      .set(s.auth)
      .send({ name: 'minter', scopes: ['keys:write'] });
    const auth = { Authorization: `Bearer ${narrow.key}` };
    const res = await api()
      .post('/v1/api-keys')
      .set(auth)
      .send({ name: 'escalated', scopes: ['datasets:read', 'keys:read'] });
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'insufficient-scope');
    assert.deepEqual(res.body.missingScopes, ['datasets:read']);
    assert.equal(res.body.key, undefined);
    assert.equal((await ctx().db.query('SELECT 1 FROM api_keys')).rows.length, 1);
  });

  it("a key created without scopes gets the creator key's scopes; a subset (write implies read) is allowed", async () => {
    const s = await signup();
    const { body: narrow } = await api()
      .post('/v1/api-keys')
      .set(s.auth)
      .send({ name: 'minter', scopes: ['keys:write', 'pilots:write'] });
    const auth = { Authorization: `Bearer ${narrow.key}` };
    const inherited = await api().post('/v1/api-keys').set(auth).send({ name: 'child' });
    assert.equal(inherited.status, 201);
    assert.deepEqual([...inherited.body.scopes].sort(), ['keys:write', 'pilots:write']);
    const child = await api().get('/v1/webhook-endpoints').set('Authorization', `Bearer ${inherited.body.key}`);
    assert.equal(child.status, 403);
    const subset = await api()
      .post('/v1/api-keys')
      .set(auth)
      .send({ name: 'reader', scopes: ['pilots:read'] });
    assert.equal(subset.status, 201);
    assert.deepEqual(subset.body.scopes, ['pilots:read']);
  });

  it('a login session holds every scope, so its keys default to all of them', async () => {
    const s = await signup();
    const res = await api().post('/v1/api-keys').set(s.auth).send({ name: 'full' });
    assert.equal(res.body.scopes.length, 16);
  });
});

/** Every row of every table as text: what a dump of the database would hold. */
async function databaseText(): Promise<string> {
  const { rows } = await ctx().db.query<{ tablename: string }>(
    `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`,
  );
  const parts: string[] = [];
  for (const { tablename } of rows) {
    const r = await ctx().db.query<{ t: string }>(`SELECT x::text AS t FROM "${tablename}" x`);
    parts.push(...r.rows.map((row) => row.t));
  }
  return parts.join('\n');
}

async function secondSession(actor: { email: string }) {
  const res = await api().post('/v1/auth/login').send({ email: actor.email, password: 'correct horse battery staple' });
  assert.equal(res.status, 200);
  return { Authorization: `Bearer ${res.body.token as string}` };
}

describe('secrets shown once are never stored in clear, not even for Idempotency-Key replays', () => {
  it('POST /v1/api-keys: the database holds no copy of the key; the same credential replays it, another gets 422', async () => {
    const s = await signup();
    const first = await api().post('/v1/api-keys').set(s.auth).set('Idempotency-Key', 'key-1').send({ name: 'ci' });
    assert.equal(first.status, 201);
    const secret = first.body.key as string;
    const dump = await databaseText();
    assert.ok(dump.includes(first.body.id), 'the dump covers the tables');
    assert.ok(!dump.includes(secret), 'the secret is not in the database');
    assert.ok(!dump.includes(secret.slice(4)), 'not even without its prefix');

    const replay = await api().post('/v1/api-keys').set(s.auth).set('Idempotency-Key', 'key-1').send({ name: 'ci' });
    assert.equal(replay.status, 201);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.deepEqual(replay.body, first.body);

    const other = await api()
      .post('/v1/api-keys')
      .set(await secondSession(s))
      .set('Idempotency-Key', 'key-1')
      .send({ name: 'ci' });
    assert.equal(other.status, 422);
    assert.equal(other.body.code, 'idempotency-key-reused');
    assert.ok(!JSON.stringify(other.body).includes(secret));
    assert.equal((await ctx().db.query('SELECT 1 FROM api_keys')).rows.length, 1);
  });

  it('POST /v1/testbeds/:id/calendar-feed: the feed token is not in the database and replays only to its creator', async () => {
    const partner = await signup('partner');
    const testbed = await createTestbed(partner);
    const url = `/v1/testbeds/${testbed.id}/calendar-feed`;
    const first = await api().post(url).set(partner.auth).set('Idempotency-Key', 'feed-1');
    assert.equal(first.status, 201);
    assert.ok(!(await databaseText()).includes(first.body.token));
    const replay = await api().post(url).set(partner.auth).set('Idempotency-Key', 'feed-1');
    assert.equal(replay.status, 201);
    assert.equal(replay.body.token, first.body.token);
    const other = await api()
      .post(url)
      .set(await secondSession(partner))
      .set('Idempotency-Key', 'feed-1');
    assert.equal(other.status, 422);
    assert.equal(other.body.token, undefined);
  });
});
