import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import {
  countRows,
  createTestbed,
  etagAt,
  operator,
  pointers,
  signup,
  testbedBody,
  type Actor,
} from './support/factories.js';

const api = () => ctx().api();

async function testbedCount(): Promise<number> {
  return countRows('testbeds');
}

async function etagOf(actor: Actor, id: string): Promise<string> {
  return etagAt(actor, `/v1/testbeds/${id}`);
}

describe('POST /v1/testbeds', () => {
  it('publishes a partner testbed owned by the partner, with an ETag and a Location', async () => {
    const p = await signup('partner');
    const res = await api().post('/v1/testbeds').set(p.auth).send(testbedBody());
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.organizationId, p.orgId);
    assert.equal(res.body.status, 'active');
    assert.equal(res.body.demo, false);
    assert.equal(res.body.capacity, 2);
    assert.deepEqual(res.body.domains, ['transport-safety']);
    assert.deepEqual(res.body.capabilities, ['driving-simulator', 'cockpit-rig']);
    assert.deepEqual(res.body.location, testbedBody().location);
    assert.equal(res.headers.location, `/v1/testbeds/${res.body.id}`);
    assert.match(res.headers.etag ?? '', /^"[^"]+"$/);
    assert.ok(!('version' in res.body) && !('organization_id' in res.body));
  });

  it('lets an operator publish too', async () => {
    const op = await operator();
    const t = await createTestbed(op, { description: undefined, capabilities: undefined });
    assert.equal(t.organizationId, op.orgId);
    assert.equal(t.description, '');
    assert.deepEqual(t.capabilities, []);
  });

  it('refuses startups with 403 and writes nothing', async () => {
    const s = await signup('startup');
    const res = await api().post('/v1/testbeds').set(s.auth).send(testbedBody());
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'forbidden');
    assert.equal(await testbedCount(), 0);
  });

  it('needs a token (401) and the testbeds:write scope (403)', async () => {
    const anon = await api().post('/v1/testbeds').send(testbedBody());
    assert.equal(anon.status, 401);
    assert.equal(anon.body.code, 'unauthorized');

    const p = await signup('partner');
    const key = await api()
      .post('/v1/api-keys')
      .set(p.auth)
      .send({ name: 'read only', scopes: ['testbeds:read'] });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    const res = await api().post('/v1/testbeds').set('Authorization', `Bearer ${key.body.key}`).send(testbedBody());
    assert.equal(res.status, 403);
    assert.equal(res.body.code, 'insufficient-scope');
    assert.equal(await testbedCount(), 0);
  });

  it('replays the same response for the same Idempotency-Key and creates one testbed', async () => {
    const p = await signup('partner');
    const first = await api().post('/v1/testbeds').set(p.auth).set('Idempotency-Key', 'tb-1').send(testbedBody());
    const again = await api().post('/v1/testbeds').set(p.auth).set('Idempotency-Key', 'tb-1').send(testbedBody());
    assert.equal(first.status, 201);
    assert.equal(again.status, 201);
    assert.equal(again.body.id, first.body.id);
    assert.equal(await testbedCount(), 1);
    const other = await api()
      .post('/v1/testbeds')
      .set(p.auth)
      .set('Idempotency-Key', 'tb-1')
      .send(testbedBody({ capacity: 3 }));
    assert.equal(other.status, 422);
    assert.equal(other.body.code, 'idempotency-key-reused');
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['an empty name', { name: '  ' }, '/body/name'],
    ['no domains', { domains: [] }, '/body/domains'],
    ['an unknown domain', { domains: ['space'] }, '/body/domains/0'],
    ['a capability outside the vocabulary', { capabilities: ['teleportation'] }, '/body/capabilities/0'],
    ['a repeated capability', { capabilities: ['lidar', 'lidar'] }, '/body/capabilities'],
    ['capacity 0', { capacity: 0 }, '/body/capacity'],
    ['a fractional capacity', { capacity: 1.5 }, '/body/capacity'],
    ['a location without an address', { location: { lat: 35.2, lng: 126.8 } }, '/body/location/address'],
    ['a latitude off the globe', { location: { address: 'x', lat: 91, lng: 0 } }, '/body/location/lat'],
    ['an unknown field', { owner: 'me' }, '/body/owner'],
    ['a status on create', { status: 'inactive' }, '/body/status'],
  ];
  for (const [what, overrides, pointer] of invalid) {
    it(`answers 400 with pointer ${pointer} for ${what}, writing nothing`, async () => {
      const p = await signup('partner');
      const res = await api().post('/v1/testbeds').set(p.auth).send(testbedBody(overrides));
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, 'validation-failed');
      assert.ok(pointers(res.body).includes(pointer), `expected ${pointer} in ${JSON.stringify(res.body.errors)}`);
      assert.equal(await testbedCount(), 0);
    });
  }

  it('reports every missing field', async () => {
    const p = await signup('partner');
    const res = await api().post('/v1/testbeds').set(p.auth).send({});
    assert.equal(res.status, 400);
    assert.deepEqual(pointers(res.body).sort(), ['/body/capacity', '/body/domains', '/body/location', '/body/name']);
  });
});

describe('GET /v1/testbeds', () => {
  it('lets every kind of organisation read every testbed', async () => {
    const p = await signup('partner');
    const t = await createTestbed(p);
    for (const reader of [await signup('startup'), await signup('partner'), await operator()]) {
      const one = await api().get(`/v1/testbeds/${t.id}`).set(reader.auth);
      assert.equal(one.status, 200);
      assert.equal(one.body.id, t.id);
      assert.match(one.headers.etag ?? '', /^"[^"]+"$/);
      const list = await api().get('/v1/testbeds').set(reader.auth);
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.data.map((x: { id: string }) => x.id),
        [t.id],
      );
    }
    const anon = await api().get(`/v1/testbeds/${t.id}`);
    assert.equal(anon.status, 401);
  });

  it('answers 404 for an id that does not exist and 400 for one that is not a UUID', async () => {
    const s = await signup();
    const missing = await api().get('/v1/testbeds/00000000-0000-4000-8000-000000000000').set(s.auth);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'not-found');
    const bad = await api().get('/v1/testbeds/not-a-uuid').set(s.auth);
    assert.equal(bad.status, 400);
    assert.deepEqual(pointers(bad.body), ['/path/id']);
  });

  it('filters by domain, by every capability asked for, by status and by owner', async () => {
    const p = await signup('partner');
    const op = await operator();
    const sim = await createTestbed(p, { domains: ['transport-safety'], capabilities: ['driving-simulator', 'v2x'] });
    const gpu = await createTestbed(op, {
      name: 'AI data centre (demo)',
      domains: ['health', 'culture'],
      capabilities: ['gpu-cluster', 'hpc-storage'],
    });
    const road = await createTestbed(p, {
      name: 'Test road (demo)',
      domains: ['transport-safety'],
      capabilities: ['test-road', 'v2x'],
    });
    const ids = async (query: string) => {
      const res = await api().get(`/v1/testbeds${query}`).set(p.auth);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body.data as { id: string }[]).map((x) => x.id).sort();
    };
    assert.deepEqual(await ids('?domain=health'), [gpu.id]);
    assert.deepEqual(await ids('?domain=transport-safety'), [sim.id, road.id].sort());
    assert.deepEqual(await ids('?capability=v2x'), [sim.id, road.id].sort());
    assert.deepEqual(await ids('?capability=v2x&capability=test-road'), [road.id]);
    assert.deepEqual(await ids('?domain=health&capability=v2x'), []);
    assert.deepEqual(await ids(`?organizationId=${op.orgId}`), [gpu.id]);

    const etag = await etagOf(p, road.id);
    const off = await api()
      .patch(`/v1/testbeds/${road.id}`)
      .set(p.auth)
      .set('If-Match', etag)
      .send({ status: 'inactive' });
    assert.equal(off.status, 200);
    assert.deepEqual(await ids('?status=inactive'), [road.id]);
    assert.deepEqual(await ids('?status=active'), [sim.id, gpu.id].sort());
  });

  it('refuses unknown filter values and unknown parameters with 400', async () => {
    const s = await signup();
    for (const [query, pointer] of [
      ['?domain=space', '/query/domain'],
      ['?capability=teleportation', '/query/capability/0'],
      ['?status=deleted', '/query/status'],
      ['?limit=0', '/query/limit'],
      ['?limit=201', '/query/limit'],
      ['?sort=name', '/query/sort'],
    ] as const) {
      const res = await api().get(`/v1/testbeds${query}`).set(s.auth);
      assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'validation-failed');
      assert.ok(pointers(res.body).includes(pointer), `${query}: ${JSON.stringify(res.body.errors)}`);
    }
  });

  it('pages newest first with a cursor, without repeats or gaps', async () => {
    const p = await signup('partner');
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await createTestbed(p, { name: `Testbed ${i} (demo)` })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/testbeds?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await api().get(url).set(p.auth);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.data.length <= 2);
      seen.push(...res.body.data.map((x: { id: string }) => x.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    const whole = await api().get('/v1/testbeds').set(p.auth);
    assert.deepEqual(
      seen,
      whole.body.data.map((x: { id: string }) => x.id),
    );
    assert.deepEqual([...seen].sort(), [...created].sort());
    const createdAt = whole.body.data.map((x: { createdAt: string }) => Date.parse(x.createdAt));
    assert.deepEqual(
      createdAt,
      [...createdAt].sort((a, b) => b - a),
    );
  });

  it('refuses a cursor it did not issue', async () => {
    const s = await signup();
    const res = await api().get('/v1/testbeds?cursor=bm9wZQ').set(s.auth);
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'invalid-cursor');
  });
});

describe('PATCH /v1/testbeds/:id', () => {
  it('applies a merge patch with the current ETag: location merges, arrays replace, ETag changes', async () => {
    const p = await signup('partner');
    const t = await createTestbed(p);
    const etag = await etagOf(p, t.id);
    const res = await api()
      .patch(`/v1/testbeds/${t.id}`)
      .set(p.auth)
      .set('If-Match', etag)
      .send({
        name: 'Driving simulator hall (demo)',
        capabilities: ['driving-simulator'],
        capacity: 4,
        location: { lat: 35.23 },
      });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.name, 'Driving simulator hall (demo)');
    assert.deepEqual(res.body.capabilities, ['driving-simulator']);
    assert.equal(res.body.capacity, 4);
    assert.deepEqual(res.body.location, { address: '광주광역시 북구 첨단벤처로 60', lat: 35.23, lng: 126.8437 });
    assert.deepEqual(res.body.domains, ['transport-safety']);
    assert.notEqual(res.headers.etag, etag);
    assert.ok(Date.parse(res.body.updatedAt) >= Date.parse(res.body.createdAt));
  });

  it('lets an operator edit and deactivate a partner testbed', async () => {
    const p = await signup('partner');
    const op = await operator();
    const t = await createTestbed(p);
    const res = await api()
      .patch(`/v1/testbeds/${t.id}`)
      .set(op.auth)
      .set('If-Match', await etagOf(op, t.id))
      .send({ status: 'inactive' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'inactive');
    assert.equal(res.body.organizationId, p.orgId);
  });

  it('refuses other partners and startups with 403, though they can read it', async () => {
    const p = await signup('partner');
    const t = await createTestbed(p);
    for (const other of [await signup('partner'), await signup('startup')]) {
      const etag = await etagOf(other, t.id);
      const res = await api()
        .patch(`/v1/testbeds/${t.id}`)
        .set(other.auth)
        .set('If-Match', etag)
        .send({ name: 'Mine now' });
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'forbidden');
    }
    const after = await api().get(`/v1/testbeds/${t.id}`).set(p.auth);
    assert.equal(after.body.name, testbedBody().name);
  });

  it('needs If-Match (428) and refuses a stale one (412) without writing', async () => {
    const p = await signup('partner');
    const t = await createTestbed(p);
    const missing = await api().patch(`/v1/testbeds/${t.id}`).set(p.auth).send({ capacity: 9 });
    assert.equal(missing.status, 428);
    assert.equal(missing.body.code, 'precondition-required');

    const stale = await etagOf(p, t.id);
    const first = await api().patch(`/v1/testbeds/${t.id}`).set(p.auth).set('If-Match', stale).send({ capacity: 3 });
    assert.equal(first.status, 200);
    const second = await api().patch(`/v1/testbeds/${t.id}`).set(p.auth).set('If-Match', stale).send({ capacity: 9 });
    assert.equal(second.status, 412);
    assert.equal(second.body.code, 'precondition-failed');
    const now = await api().get(`/v1/testbeds/${t.id}`).set(p.auth);
    assert.equal(now.body.capacity, 3);
  });

  it('answers 404 for a testbed that does not exist', async () => {
    const op = await operator();
    const res = await api()
      .patch('/v1/testbeds/00000000-0000-4000-8000-000000000000')
      .set(op.auth)
      .set('If-Match', '*')
      .send({ capacity: 3 });
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'not-found');
  });

  for (const [what, body, pointer] of [
    ['an empty patch', {}, '/body'],
    ['a null name', { name: null }, '/body/name'],
    ['an unknown status', { status: 'archived' }, '/body/status'],
    ['capacity 0', { capacity: 0 }, '/body/capacity'],
    ['an unknown field', { organizationId: '00000000-0000-4000-8000-000000000000' }, '/body/organizationId'],
    ['an unknown location field', { location: { city: 'Gwangju' } }, '/body/location/city'],
  ] as const) {
    it(`answers 400 with pointer ${pointer} for ${what}`, async () => {
      const p = await signup('partner');
      const t = await createTestbed(p);
      const res = await api()
        .patch(`/v1/testbeds/${t.id}`)
        .set(p.auth)
        .set('If-Match', await etagOf(p, t.id))
        .send(body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, 'validation-failed');
      assert.ok(pointers(res.body).includes(pointer), `expected ${pointer} in ${JSON.stringify(res.body.errors)}`);
    });
  }
});

describe('testbeds in the OpenAPI document', () => {
  it('documents every testbed operation with its scope', async () => {
    const doc = ctx().app.openapi as { paths: Record<string, Record<string, { 'x-required-scope'?: string }>> };
    assert.equal(doc.paths['/v1/testbeds']?.post?.['x-required-scope'], 'testbeds:write');
    assert.equal(doc.paths['/v1/testbeds']?.get?.['x-required-scope'], 'testbeds:read');
    assert.equal(doc.paths['/v1/testbeds/{id}']?.patch?.['x-required-scope'], 'testbeds:write');
  });
});
