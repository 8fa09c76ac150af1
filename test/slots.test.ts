import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import {
  countRows,
  createSlot as createSlotAs,
  createTestbed as createTestbedAs,
  etagAt,
  operator,
  pointers,
  signup,
  type Actor,
  type SlotDto,
} from './support/factories.js';

const api = () => ctx().api();
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

async function createTestbed(owner: Actor, overrides: Record<string, unknown> = {}): Promise<string> {
  return (
    await createTestbedAs(owner, {
      name: 'National AI data centre GPU partition (demo)',
      domains: ['health', 'culture'],
      capabilities: ['gpu-cluster'],
      capacity: 8,
      location: { address: '광주광역시 북구 첨단과기로 (demo)', lat: 35.228, lng: 126.846 },
      ...overrides,
    })
  ).id;
}

async function createSlot(actor: Actor, testbedId: string, start: string, end: string, capacity = 4): Promise<SlotDto> {
  return createSlotAs(actor, testbedId, start, end, capacity);
}

async function slotCount(): Promise<number> {
  return countRows('slots');
}

/** Sets booked units directly, standing in for bookings in tests about slot rules. */
async function book(slotId: string, units: number): Promise<void> {
  await ctx().db.query('UPDATE slots SET booked_units = $2 WHERE id = $1', [slotId, units]);
}

async function etagOf(actor: Actor, slotId: string): Promise<string> {
  return etagAt(actor, `/v1/slots/${slotId}`);
}

// 2027-03-01 is a Monday.
const MON_SERIES = { weekdays: [1, 3], startTime: '09:00', endTime: '18:00', from: '2027-03-01', to: '2027-03-14' };

describe('POST /v1/testbeds/:id/slots (one slot)', () => {
  it('adds a slot for the testbed owner, with capacity, booked and available units, ETag and Location', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const res = await api()
      .post(`/v1/testbeds/${tb}/slots`)
      .set(p.auth)
      .send({ start: '2027-03-01T09:00:00+09:00', end: '2027-03-01T18:00:00+09:00', capacity: 4 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.testbedId, tb);
    assert.equal(res.body.seriesId, null);
    assert.equal(res.body.start, '2027-03-01T00:00:00.000Z');
    assert.equal(res.body.end, '2027-03-01T09:00:00.000Z');
    assert.equal(res.body.capacity, 4);
    assert.equal(res.body.bookedUnits, 0);
    assert.equal(res.body.availableUnits, 4);
    assert.equal(res.headers.location, `/v1/slots/${res.body.id}`);
    assert.match(res.headers.etag ?? '', /^"[^"]+"$/);
  });

  it('lets an operator add slots to a partner testbed', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const slot = await createSlot(await operator(), tb, '2027-03-01T00:00:00Z', '2027-03-01T09:00:00Z');
    assert.equal(slot.testbedId, tb);
  });

  it('refuses other partners and startups (403), strangers (401) and unknown testbeds (404), writing nothing', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const body = { start: '2027-03-01T00:00:00Z', end: '2027-03-01T09:00:00Z', capacity: 1 };
    for (const other of [await signup('partner'), await signup('startup')]) {
      const res = await api().post(`/v1/testbeds/${tb}/slots`).set(other.auth).send(body);
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'forbidden');
    }
    const anon = await api().post(`/v1/testbeds/${tb}/slots`).send(body);
    assert.equal(anon.status, 401);
    assert.equal(anon.body.code, 'unauthorized');
    const missing = await api().post(`/v1/testbeds/${NO_SUCH_ID}/slots`).set(p.auth).send(body);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'not-found');
    const key = await api()
      .post('/v1/api-keys')
      .set(p.auth)
      .send({ name: 'reader', scopes: ['testbeds:read'] });
    const scoped = await api()
      .post(`/v1/testbeds/${tb}/slots`)
      .set('Authorization', `Bearer ${key.body.key}`)
      .send(body);
    assert.equal(scoped.status, 403);
    assert.equal(scoped.body.code, 'insufficient-scope');
    assert.equal(await slotCount(), 0);
  });

  it('refuses a slot overlapping another of the same testbed with 409 slot-overlap naming it', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const first = await createSlot(p, tb, '2027-03-01T01:00:00Z', '2027-03-01T03:00:00Z');
    const res = await api()
      .post(`/v1/testbeds/${tb}/slots`)
      .set(p.auth)
      .send({ start: '2027-03-01T02:00:00Z', end: '2027-03-01T04:00:00Z', capacity: 1 });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.code, 'slot-overlap');
    assert.deepEqual(res.body.conflictingSlots, [{ id: first.id, start: first.start, end: first.end }]);
    assert.equal(await slotCount(), 1);
  });

  it('treats ranges as half-open: a slot may start when the previous one ends', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    await createSlot(p, tb, '2027-03-01T01:00:00Z', '2027-03-01T03:00:00Z');
    await createSlot(p, tb, '2027-03-01T03:00:00Z', '2027-03-01T05:00:00Z');
    await createSlot(p, tb, '2027-03-01T00:00:00+09:00', '2027-03-01T10:00:00+09:00');
    assert.equal(await slotCount(), 3);
  });

  it('lets two testbeds have slots at the same time', async () => {
    const p = await signup('partner');
    const a = await createTestbed(p);
    const b = await createTestbed(p);
    await createSlot(p, a, '2027-03-01T01:00:00Z', '2027-03-01T03:00:00Z');
    await createSlot(p, b, '2027-03-01T01:00:00Z', '2027-03-01T03:00:00Z');
    assert.equal(await slotCount(), 2);
  });

  it('lets exactly one of two concurrent overlapping requests win', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const send = (start: string, end: string) =>
      api().post(`/v1/testbeds/${tb}/slots`).set(p.auth).send({ start, end, capacity: 1 });
    const results = await Promise.all([
      send('2027-03-01T01:00:00Z', '2027-03-01T03:00:00Z'),
      send('2027-03-01T02:00:00Z', '2027-03-01T04:00:00Z'),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 409]);
    assert.equal(results.find((r) => r.status === 409)!.body.code, 'slot-overlap');
    assert.equal(await slotCount(), 1);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['a time without an offset', { start: '2027-03-01T09:00:00', end: '2027-03-01T18:00:00Z' }, '/body/start'],
    ['a date that is not RFC 3339', { start: '01/03/2027', end: '2027-03-01T18:00:00Z' }, '/body/start'],
    ['an impossible date', { start: '2027-02-30T09:00:00Z', end: '2027-03-01T18:00:00Z' }, '/body/start'],
    ['an end before the start', { start: '2027-03-01T18:00:00Z', end: '2027-03-01T09:00:00Z' }, '/body/end'],
    ['an end equal to the start', { start: '2027-03-01T09:00:00Z', end: '2027-03-01T09:00:00Z' }, '/body/end'],
    ['a missing end', { end: undefined }, '/body/end'],
    ['capacity 0', { capacity: 0 }, '/body/capacity'],
    ['a capacity given as a string', { capacity: '2' }, '/body/capacity'],
    ['a capacity above the testbed capacity', { capacity: 9 }, '/body/capacity'],
    ['an unknown field', { price: 100 }, '/body/price'],
    ['start and a series at once', { series: MON_SERIES }, '/body/start'],
  ];
  for (const [what, overrides, pointer] of invalid) {
    it(`answers 400 with pointer ${pointer} for ${what}, writing nothing`, async () => {
      const p = await signup('partner');
      const tb = await createTestbed(p);
      const body = { start: '2027-03-01T09:00:00Z', end: '2027-03-01T18:00:00Z', capacity: 2, ...overrides };
      const res = await api().post(`/v1/testbeds/${tb}/slots`).set(p.auth).send(body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, 'validation-failed');
      assert.ok(pointers(res.body).includes(pointer), `expected ${pointer} in ${JSON.stringify(res.body.errors)}`);
      assert.equal(await slotCount(), 0);
    });
  }

  it('asks for start and end, or a series, when given neither', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const res = await api().post(`/v1/testbeds/${tb}/slots`).set(p.auth).send({ capacity: 1 });
    assert.equal(res.status, 400);
    assert.deepEqual(pointers(res.body).sort(), ['/body/end', '/body/start']);
  });

  it('answers 400, not 500, for a body that is not an object', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    for (const body of ['[]', '"slot"', 'null', '{"capacity":']) {
      const res = await api()
        .post(`/v1/testbeds/${tb}/slots`)
        .set(p.auth)
        .set('Content-Type', 'application/json')
        .send(body);
      assert.equal(res.status, 400, `${body}: ${JSON.stringify(res.body)}`);
    }
    assert.equal(await slotCount(), 0);
  });
});

describe('POST /v1/testbeds/:id/slots (weekly series)', () => {
  it('expands Mon/Wed 09:00–18:00 Korea time over two weeks into 00:00–09:00Z slots sharing a seriesId', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const res = await api().post(`/v1/testbeds/${tb}/slots`).set(p.auth).send({ series: MON_SERIES, capacity: 3 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(res.body.seriesId, /^[0-9a-f-]{36}$/);
    const slots = res.body.data as SlotDto[];
    assert.deepEqual(
      slots.map((s) => [s.start, s.end]),
      [
        ['2027-03-01T00:00:00.000Z', '2027-03-01T09:00:00.000Z'],
        ['2027-03-03T00:00:00.000Z', '2027-03-03T09:00:00.000Z'],
        ['2027-03-08T00:00:00.000Z', '2027-03-08T09:00:00.000Z'],
        ['2027-03-10T00:00:00.000Z', '2027-03-10T09:00:00.000Z'],
      ],
    );
    assert.ok(
      slots.every(
        (s) => s.seriesId === res.body.seriesId && s.capacity === 3 && s.availableUnits === 3 && s.testbedId === tb,
      ),
    );
    assert.equal(await slotCount(), 4);
  });

  it('is all or nothing: one overlapping day refuses the whole series with 409', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const existing = await createSlot(p, tb, '2027-03-08T08:00:00Z', '2027-03-08T10:00:00Z');
    const res = await api().post(`/v1/testbeds/${tb}/slots`).set(p.auth).send({ series: MON_SERIES, capacity: 3 });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.code, 'slot-overlap');
    assert.deepEqual(
      res.body.conflictingSlots.map((s: { id: string }) => s.id),
      [existing.id],
    );
    assert.equal(await slotCount(), 1);
  });

  it('refuses a series spanning more than 366 days with 400, writing nothing', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const res = await api()
      .post(`/v1/testbeds/${tb}/slots`)
      .set(p.auth)
      .send({ series: { ...MON_SERIES, from: '2027-01-01', to: '2028-01-02' }, capacity: 1 });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'validation-failed');
    assert.deepEqual(pointers(res.body), ['/body/series/to']);
    assert.match(res.body.errors[0].message, /at most 366/);
    assert.equal(await slotCount(), 0);
  });

  it('accepts a full year of daily slots in one request', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const res = await api()
      .post(`/v1/testbeds/${tb}/slots`)
      .set(p.auth)
      .send({
        series: {
          weekdays: [1, 2, 3, 4, 5, 6, 7],
          startTime: '00:00',
          endTime: '24:00',
          from: '2027-01-01',
          to: '2027-12-31',
        },
        capacity: 1,
      });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.data.length, 365);
    assert.equal(await slotCount(), 365);
  });

  const invalid: [string, Record<string, unknown>, string][] = [
    ['weekday 0', { weekdays: [0] }, '/body/series/weekdays/0'],
    ['weekday 8', { weekdays: [1, 8] }, '/body/series/weekdays/1'],
    ['no weekdays', { weekdays: [] }, '/body/series/weekdays'],
    ['a time without leading zero', { startTime: '9:00' }, '/body/series/startTime'],
    ['a time past midnight', { endTime: '24:30' }, '/body/series/endTime'],
    ['an end time before the start time', { startTime: '18:00', endTime: '09:00' }, '/body/series/endTime'],
    ['a to date before from', { from: '2027-03-14', to: '2027-03-01' }, '/body/series/to'],
    ['an impossible date', { from: '2027-02-30' }, '/body/series/from'],
    ['a date with a time', { to: '2027-03-14T00:00:00Z' }, '/body/series/to'],
    ['no chosen weekday in range', { weekdays: [1], from: '2027-03-02', to: '2027-03-03' }, '/body/series/weekdays'],
    ['an unknown series field', { timeZone: 'UTC' }, '/body/series/timeZone'],
  ];
  for (const [what, overrides, pointer] of invalid) {
    it(`answers 400 with pointer ${pointer} for ${what}, writing nothing`, async () => {
      const p = await signup('partner');
      const tb = await createTestbed(p);
      const res = await api()
        .post(`/v1/testbeds/${tb}/slots`)
        .set(p.auth)
        .send({ series: { ...MON_SERIES, ...overrides }, capacity: 1 });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, 'validation-failed');
      assert.ok(pointers(res.body).includes(pointer), `expected ${pointer} in ${JSON.stringify(res.body.errors)}`);
      assert.equal(await slotCount(), 0);
    });
  }

  it('replays a series for the same Idempotency-Key instead of creating it twice', async () => {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const send = () =>
      api()
        .post(`/v1/testbeds/${tb}/slots`)
        .set(p.auth)
        .set('Idempotency-Key', 'series-1')
        .send({ series: MON_SERIES, capacity: 3 });
    const first = await send();
    const again = await send();
    assert.equal(first.status, 201);
    assert.equal(again.status, 201);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.body.seriesId, first.body.seriesId);
    assert.equal(await slotCount(), 4);
  });
});

describe('GET /v1/testbeds/:id/slots', () => {
  async function seeded() {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const res = await api().post(`/v1/testbeds/${tb}/slots`).set(p.auth).send({ series: MON_SERIES, capacity: 3 });
    assert.equal(res.status, 201);
    return { p, tb, slots: res.body.data as SlotDto[] };
  }

  const list = async (actor: Actor, tb: string, query = '') => {
    const res = await api().get(`/v1/testbeds/${tb}/slots${query}`).set(actor.auth);
    assert.equal(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
    return res.body as { data: SlotDto[]; nextCursor: string | null };
  };

  it('lists the slots in start order for any signed-in organisation', async () => {
    const { tb, slots } = await seeded();
    const s = await signup('startup');
    const page = await list(s, tb);
    assert.deepEqual(
      page.data.map((x) => x.id),
      slots.map((x) => x.id),
    );
    assert.equal(page.nextCursor, null);
    const anon = await api().get(`/v1/testbeds/${tb}/slots`);
    assert.equal(anon.status, 401);
  });

  it('keeps the slots overlapping [from, to), half-open at both ends', async () => {
    const { p, tb, slots } = await seeded();
    const [mon1, wed1, mon2, wed2] = slots.map((x) => x.id);
    const ids = async (q: string) => (await list(p, tb, q)).data.map((x) => x.id);
    // Ends exactly at from: out. Starts exactly at to: out.
    assert.deepEqual(await ids('?from=2027-03-01T09:00:00Z&to=2027-03-08T00:00:00Z'), [wed1]);
    assert.deepEqual(await ids('?from=2027-03-01T08:59:59Z&to=2027-03-08T00:00:01Z'), [mon1, wed1, mon2]);
    assert.deepEqual(await ids('?from=2027-03-08T12:00:00%2B09:00'), [mon2, wed2]);
    assert.deepEqual(await ids('?to=2027-03-03T00:00:00Z'), [mon1]);
  });

  it('keeps only slots with units left when available=true, and only full ones when false', async () => {
    const { p, tb, slots } = await seeded();
    await book(slots[1]!.id, 3);
    await book(slots[2]!.id, 1);
    const open = await list(p, tb, '?available=true');
    assert.deepEqual(
      open.data.map((x) => x.id),
      [slots[0]!.id, slots[2]!.id, slots[3]!.id],
    );
    const partly = open.data.find((x) => x.id === slots[2]!.id)!;
    assert.equal(partly.bookedUnits, 1);
    assert.equal(partly.availableUnits, 2);
    const full = await list(p, tb, '?available=false');
    assert.deepEqual(
      full.data.map((x) => [x.id, x.availableUnits]),
      [[slots[1]!.id, 0]],
    );
  });

  it('pages by start with a cursor that only this testbed’s list accepts', async () => {
    const { p, tb, slots } = await seeded();
    const first = await list(p, tb, '?limit=3');
    assert.equal(first.data.length, 3);
    assert.ok(first.nextCursor);
    const second = await list(p, tb, `?limit=3&cursor=${first.nextCursor}`);
    assert.equal(second.nextCursor, null);
    assert.deepEqual(
      [...first.data, ...second.data].map((x) => x.id),
      slots.map((x) => x.id),
    );

    const other = await createTestbed(p);
    const res = await api().get(`/v1/testbeds/${other}/slots?cursor=${first.nextCursor}`).set(p.auth);
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'invalid-cursor');
  });

  for (const [what, query, pointer] of [
    ['from after to', '?from=2027-03-10T00:00:00Z&to=2027-03-01T00:00:00Z', '/query/to'],
    ['an empty window', '?from=2027-03-10T00:00:00Z&to=2027-03-10T00:00:00Z', '/query/to'],
    ['a window over two years', '?from=2027-01-01T00:00:00Z&to=2029-01-01T00:00:01Z', '/query/to'],
    ['a from that is not a date-time', '?from=yesterday', '/query/from'],
    ['a date without a time', '?to=2027-03-10', '/query/to'],
    ['available=maybe', '?available=maybe', '/query/available'],
    ['an unknown parameter', '?capacity=2', '/query/capacity'],
  ] as const) {
    it(`answers 400 with pointer ${pointer} for ${what}`, async () => {
      const p = await signup('partner');
      const tb = await createTestbed(p);
      const res = await api().get(`/v1/testbeds/${tb}/slots${query}`).set(p.auth);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, 'validation-failed');
      assert.ok(pointers(res.body).includes(pointer), `expected ${pointer} in ${JSON.stringify(res.body.errors)}`);
    });
  }

  it('accepts a window of exactly two years', async () => {
    const { p, tb, slots } = await seeded();
    const page = await list(p, tb, '?from=2027-01-01T00:00:00Z&to=2029-01-01T00:00:00Z');
    assert.equal(page.data.length, slots.length);
  });

  it('answers 404 for a testbed that does not exist', async () => {
    const s = await signup();
    const res = await api().get(`/v1/testbeds/${NO_SUCH_ID}/slots`).set(s.auth);
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'not-found');
  });
});

describe('GET /v1/slots/:id', () => {
  it('reads a slot with its ETag for any signed-in organisation, 404 when there is none', async () => {
    const p = await signup('partner');
    const slot = await createSlot(p, await createTestbed(p), '2027-03-01T00:00:00Z', '2027-03-01T09:00:00Z');
    const s = await signup('startup');
    const res = await api().get(`/v1/slots/${slot.id}`).set(s.auth);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, slot);
    assert.match(res.headers.etag ?? '', /^"[^"]+"$/);
    const missing = await api().get(`/v1/slots/${NO_SUCH_ID}`).set(s.auth);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'not-found');
  });
});

describe('PATCH /v1/slots/:id', () => {
  async function oneSlot() {
    const p = await signup('partner');
    const tb = await createTestbed(p);
    const slot = await createSlot(p, tb, '2027-03-01T00:00:00Z', '2027-03-01T09:00:00Z', 4);
    return { p, tb, slot };
  }

  it('moves and resizes a slot with the current ETag', async () => {
    const { p, slot } = await oneSlot();
    const etag = await etagOf(p, slot.id);
    const res = await api()
      .patch(`/v1/slots/${slot.id}`)
      .set(p.auth)
      .set('If-Match', etag)
      .send({ end: '2027-03-01T18:00:00+09:00', capacity: 6 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.start, slot.start);
    assert.equal(res.body.end, '2027-03-01T09:00:00.000Z');
    assert.equal(res.body.capacity, 6);
    assert.equal(res.body.availableUnits, 6);
    assert.notEqual(res.headers.etag, etag);
  });

  it('needs If-Match (428) and refuses a stale one (412) without writing', async () => {
    const { p, slot } = await oneSlot();
    const missing = await api().patch(`/v1/slots/${slot.id}`).set(p.auth).send({ capacity: 2 });
    assert.equal(missing.status, 428);
    assert.equal(missing.body.code, 'precondition-required');
    const stale = await etagOf(p, slot.id);
    assert.equal(
      (await api().patch(`/v1/slots/${slot.id}`).set(p.auth).set('If-Match', stale).send({ capacity: 2 })).status,
      200,
    );
    const res = await api().patch(`/v1/slots/${slot.id}`).set(p.auth).set('If-Match', stale).send({ capacity: 3 });
    assert.equal(res.status, 412);
    assert.equal(res.body.code, 'precondition-failed');
    assert.equal((await api().get(`/v1/slots/${slot.id}`).set(p.auth)).body.capacity, 2);
  });

  it('refuses other partners and startups (403) and lets an operator change it', async () => {
    const { p, slot } = await oneSlot();
    for (const other of [await signup('partner'), await signup('startup')]) {
      const res = await api()
        .patch(`/v1/slots/${slot.id}`)
        .set(other.auth)
        .set('If-Match', await etagOf(other, slot.id))
        .send({ capacity: 1 });
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'forbidden');
    }
    const op = await operator();
    const res = await api()
      .patch(`/v1/slots/${slot.id}`)
      .set(op.auth)
      .set('If-Match', await etagOf(p, slot.id))
      .send({ capacity: 1 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.capacity, 1);
  });

  it('refuses moving a slot onto another with 409 slot-overlap and leaves it where it was', async () => {
    const { p, tb, slot } = await oneSlot();
    const next = await createSlot(p, tb, '2027-03-02T00:00:00Z', '2027-03-02T09:00:00Z');
    const res = await api()
      .patch(`/v1/slots/${slot.id}`)
      .set(p.auth)
      .set('If-Match', await etagOf(p, slot.id))
      .send({ end: '2027-03-02T01:00:00Z' });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.code, 'slot-overlap');
    assert.deepEqual(
      res.body.conflictingSlots.map((s: { id: string }) => s.id),
      [next.id],
    );
    assert.equal((await api().get(`/v1/slots/${slot.id}`).set(p.auth)).body.end, slot.end);
  });

  it('refuses a capacity below the booked units with 409 capacity-below-booked', async () => {
    const { p, slot } = await oneSlot();
    await book(slot.id, 3);
    const res = await api()
      .patch(`/v1/slots/${slot.id}`)
      .set(p.auth)
      .set('If-Match', await etagOf(p, slot.id))
      .send({ capacity: 2 });
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.code, 'capacity-below-booked');
    assert.equal(res.body.bookedUnits, 3);
    const ok = await api()
      .patch(`/v1/slots/${slot.id}`)
      .set(p.auth)
      .set('If-Match', await etagOf(p, slot.id))
      .send({ capacity: 3 });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.availableUnits, 0);
  });

  it('keeps the times of a slot with bookings (409 slot-in-use)', async () => {
    const { p, slot } = await oneSlot();
    await book(slot.id, 1);
    const res = await api()
      .patch(`/v1/slots/${slot.id}`)
      .set(p.auth)
      .set('If-Match', await etagOf(p, slot.id))
      .send({ start: '2027-03-01T01:00:00Z' });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'slot-in-use');
  });

  for (const [what, body, pointer] of [
    ['an end before the start', { end: '2027-02-28T00:00:00Z' }, '/body/end'],
    ['a start after the end', { start: '2027-03-01T10:00:00Z' }, '/body/start'],
    ['capacity 0', { capacity: 0 }, '/body/capacity'],
    ['a capacity above the testbed capacity', { capacity: 9 }, '/body/capacity'],
    ['an empty patch', {}, '/body'],
    ['an unknown field', { testbedId: NO_SUCH_ID }, '/body/testbedId'],
    ['a null start', { start: null }, '/body/start'],
  ] as const) {
    it(`answers 400 with pointer ${pointer} for ${what}, writing nothing`, async () => {
      const { p, slot } = await oneSlot();
      const res = await api()
        .patch(`/v1/slots/${slot.id}`)
        .set(p.auth)
        .set('If-Match', await etagOf(p, slot.id))
        .send(body);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, 'validation-failed');
      assert.ok(pointers(res.body).includes(pointer), `expected ${pointer} in ${JSON.stringify(res.body.errors)}`);
      assert.deepEqual((await api().get(`/v1/slots/${slot.id}`).set(p.auth)).body, slot);
    });
  }
});

describe('DELETE /v1/slots/:id', () => {
  it('deletes a slot without bookings', async () => {
    const p = await signup('partner');
    const slot = await createSlot(p, await createTestbed(p), '2027-03-01T00:00:00Z', '2027-03-01T09:00:00Z');
    const res = await api().delete(`/v1/slots/${slot.id}`).set(p.auth);
    assert.equal(res.status, 204);
    const gone = await api().get(`/v1/slots/${slot.id}`).set(p.auth);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'not-found');
  });

  it('refuses a slot with bookings (409 slot-in-use) and keeps it', async () => {
    const p = await signup('partner');
    const slot = await createSlot(p, await createTestbed(p), '2027-03-01T00:00:00Z', '2027-03-01T09:00:00Z');
    await book(slot.id, 1);
    const res = await api().delete(`/v1/slots/${slot.id}`).set(p.auth);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'slot-in-use');
    assert.equal(await slotCount(), 1);
  });

  it('refuses other partners and startups (403), lets an operator delete, and answers 404 after', async () => {
    const p = await signup('partner');
    const slot = await createSlot(p, await createTestbed(p), '2027-03-01T00:00:00Z', '2027-03-01T09:00:00Z');
    for (const other of [await signup('partner'), await signup('startup')]) {
      const res = await api().delete(`/v1/slots/${slot.id}`).set(other.auth);
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'forbidden');
    }
    const op = await operator();
    assert.equal((await api().delete(`/v1/slots/${slot.id}`).set(op.auth)).status, 204);
    const again = await api().delete(`/v1/slots/${slot.id}`).set(op.auth);
    assert.equal(again.status, 404);
    assert.equal(again.body.code, 'not-found');
  });

  it('honours If-Match when sent: a stale one is 412 and the slot stays', async () => {
    const p = await signup('partner');
    const slot = await createSlot(p, await createTestbed(p), '2027-03-01T00:00:00Z', '2027-03-01T09:00:00Z');
    const stale = await etagOf(p, slot.id);
    await api().patch(`/v1/slots/${slot.id}`).set(p.auth).set('If-Match', stale).send({ capacity: 2 });
    const res = await api().delete(`/v1/slots/${slot.id}`).set(p.auth).set('If-Match', stale);
    assert.equal(res.status, 412);
    assert.equal(res.body.code, 'precondition-failed');
    assert.equal(await slotCount(), 1);
    assert.equal(
      (
        await api()
          .delete(`/v1/slots/${slot.id}`)
          .set(p.auth)
          .set('If-Match', await etagOf(p, slot.id))
      ).status,
      204,
    );
  });
});
