import assert from 'node:assert/strict';
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp } from '../src/app.js';
import { PrincipalCache } from '../src/auth/principal-cache.js';
import type { Principal } from '../src/core/principal.js';
import { ctx, testConfig } from './support/context.js';
import { signup } from './support/factories.js';

const principal = (credentialId: string): Principal => ({
  userId: 'u',
  organizationId: 'o',
  orgKind: 'startup',
  scopes: new Set(),
  via: 'session',
  credentialId,
});

describe('PrincipalCache', () => {
  it('keeps an entry for the TTL and never past the credential’s expiry', () => {
    const cache = new PrincipalCache(5);
    cache.set('a', principal('s1'), null, 1_000);
    assert.ok(cache.get('a', 5_999));
    assert.equal(cache.get('a', 6_000), undefined);
    cache.set('b', principal('s2'), new Date(2_000), 1_000);
    assert.ok(cache.get('b', 1_999));
    assert.equal(cache.get('b', 2_000), undefined);
  });

  it('evicts every token of a credential', () => {
    const cache = new PrincipalCache(60);
    cache.set('a', principal('s1'), null);
    cache.set('b', principal('s1'), null);
    cache.set('c', principal('s2'), null);
    cache.evictCredential('s1');
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.get('b'), undefined);
    assert.ok(cache.get('c'));
  });

  it('stays within its size by dropping the oldest entry, and caches nothing with TTL 0', () => {
    const cache = new PrincipalCache(60, 2);
    cache.set('a', principal('1'), null);
    cache.set('b', principal('2'), null);
    cache.set('c', principal('3'), null);
    assert.equal(cache.get('a'), undefined);
    assert.ok(cache.get('b') && cache.get('c'));
    const off = new PrincipalCache(0);
    off.set('a', principal('1'), null);
    assert.equal(off.get('a'), undefined);
  });

  it('makes a logout effective at once in the process that handled it, and in others within the TTL', async () => {
    const config = testConfig({ AUTH_CACHE_SECONDS: '1' });
    const logger = pino({ level: 'silent' });
    const a = supertest(createApp({ db: ctx().db, config, logger }));
    const b = supertest(createApp({ db: ctx().db, config, logger }));
    const s = await signup();
    assert.equal((await a.get('/v1/me').set(s.auth)).status, 200);
    assert.equal((await b.get('/v1/me').set(s.auth)).status, 200, 'b has now cached the token');
    assert.equal((await a.post('/v1/auth/logout').set(s.auth)).status, 204);
    assert.equal((await a.get('/v1/me').set(s.auth)).status, 401, 'immediately where it was logged out');
    await new Promise((r) => setTimeout(r, 1_100));
    assert.equal((await b.get('/v1/me').set(s.auth)).status, 401, 'and everywhere after the TTL');
  });
});
