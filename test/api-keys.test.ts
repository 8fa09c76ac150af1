import assert from 'node:assert/strict';
import { hashSecret } from '../src/auth/tokens.js';
import { ctx } from './support/context.js';
import { createPilot, pilotBody, signup } from './support/factories.js';

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
    const { body } = await api().post('/v1/api-keys').set(s.auth).send({ name: 'dashboard', scopes: ['pilots:read'] });
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
    const { body } = await api().post('/v1/api-keys').set(s.auth).send({ name: 'writer', scopes: ['pilots:write'] });
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
    const res = await api().post('/v1/api-keys').set(s.auth).send({ name: ' ', scopes: ['admin'] });
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
