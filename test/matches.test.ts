import assert from 'node:assert/strict';
import { Validator } from '../src/http/validation.js';
import { epochMsAfter } from '../src/matching/candidates.js';
import { ctx } from './support/context.js';
import { countRows, createPilot, createSlot, createTestbed, operator, signup } from './support/factories.js';
import {
  approve,
  at,
  eventTypes,
  pilotStatus,
  requestSlot,
  requested,
  slotOn,
  submittedPilot,
  testbedWithSlot,
  unheldRequest,
} from './support/matching-factories.js';

const api = () => ctx().api();

describe('GET /v1/pilots/:id/candidates', () => {
  it('ranks suitable slots with a breakdown and reasons, earlier and better-fitting first', async () => {
    const [s, partner] = [await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    const tb = await createTestbed(partner);
    const late = await slotOn(partner, tb.id, 20);
    const early = await slotOn(partner, tb.id, 2);
    await slotOn(partner, tb.id, 5, 1, 4); // too short
    const other = await createTestbed(partner, { domains: ['health'], capabilities: ['care-facility'] });
    await slotOn(partner, other.id, 3); // wrong domain
    const res = await api().get(`/v1/pilots/${pilot.id}/candidates`).set(s.auth);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.data.map((c: { slotId: string }) => c.slotId),
      [early.id, late.id],
    );
    const c = res.body.data[0];
    assert.ok(c.score > res.body.data[1].score && c.score <= 1);
    for (const f of ['capabilityFit', 'timeFit', 'location', 'loadBalance']) assert.ok(f in c.breakdown, f);
    assert.equal(c.breakdown.timeFit.weight, 0.3);
    assert.ok(c.reasons.length >= 2);
    assert.equal(res.body.nextCursor, null);
    assert.equal(res.headers['content-language'], 'en');
  });

  it("shows each slot's times, free units and testbed as stored, for slots on several testbeds", async () => {
    const [s, partner] = [await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    const a = await createTestbed(partner, { capacity: 4 });
    const b = await createTestbed(partner, { name: 'Second testbed', capacity: 4 });
    const slots = [await slotOn(partner, a.id, 2, 4), await slotOn(partner, a.id, 4, 4)];
    slots.push(await slotOn(partner, b.id, 3, 4));
    // Sub-millisecond times and booked plus held units must come through as the driver reads them.
    await ctx().db.query(
      `UPDATE slots SET start_at = start_at + interval '0.123756 s', end_at = end_at + interval '0.123756 s',
                        booked_units = 1, held_units = 1 WHERE id = $1`,
      [slots[0]!.id],
    );
    const res = await api().get(`/v1/pilots/${pilot.id}/candidates`).set(s.auth);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    type Stored = { id: string; testbed_id: string; name: string; start_at: Date; end_at: Date; free: number };
    const { rows } = await ctx().db.query<Stored>(
      `SELECT s.id, s.testbed_id, t.name, s.start_at, s.end_at, s.capacity - s.booked_units - s.held_units AS free
         FROM slots s JOIN testbeds t ON t.id = s.testbed_id`,
    );
    type Shown = {
      slotId: string;
      testbedId: string;
      testbedName: string;
      start: string;
      end: string;
      availableUnits: number;
    };
    const shown = (res.body.data as Shown[])
      .map((c) => [c.slotId, c.testbedId, c.testbedName, c.start, c.end, c.availableUnits])
      .sort();
    const stored = rows
      .map((r) => [r.id, r.testbed_id, r.name, r.start_at.toISOString(), r.end_at.toISOString(), r.free])
      .sort();
    assert.deepEqual(shown, stored);
    assert.ok(stored.some((r) => String(r[3]).endsWith('.123Z')));
    // Utilisation is booked / offered unit-seconds of the testbed's slots starting in the pilot's window.
    const { rows: util } = await ctx().db.query<{ testbed_id: string; u: number }>(
      `SELECT x.testbed_id, (sum(x.booked_units * extract(epoch FROM x.end_at - x.start_at))
                             / sum(x.capacity * extract(epoch FROM x.end_at - x.start_at)))::float8 AS u
         FROM slots x WHERE x.start_at >= $1 AND x.start_at < $2 GROUP BY x.testbed_id`,
      [at(0), at(30)],
    );
    const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
    const expected = new Map(util.map((r) => [r.testbed_id, round6(r.u)]));
    assert.ok([...expected.values()].some((u) => u > 0));
    for (const c of res.body.data as { testbedId: string; breakdown: { loadBalance: { utilization: number } } }[]) {
      assert.equal(c.breakdown.loadBalance.utilization, expected.get(c.testbedId));
    }
  });

  it('judges a pilot window stored with microseconds as the pilot reads, to the millisecond, on every page', async () => {
    const [s, partner] = [await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    const tb = await createTestbed(partner);
    const first = await slotOn(partner, tb.id, 0); // starts at the window's first millisecond
    const second = await slotOn(partner, tb.id, 1);
    // Stored 0.4 ms into that millisecond: read as a pilot, the window starts where the slot does.
    await ctx().db.query(`UPDATE pilots SET earliest_start = earliest_start + interval '0.0004 s' WHERE id = $1`, [
      pilot.id,
    ]);
    const page1 = await api().get(`/v1/pilots/${pilot.id}/candidates?limit=1`).set(s.auth);
    assert.equal(page1.status, 200, JSON.stringify(page1.body));
    assert.deepEqual(
      page1.body.data.map((c: { slotId: string }) => c.slotId),
      [first.id],
    );
    const page2 = await api()
      .get(`/v1/pilots/${pilot.id}/candidates?limit=1&cursor=${page1.body.nextCursor}`)
      .set(s.auth);
    assert.deepEqual(
      page2.body.data.map((c: { slotId: string }) => c.slotId),
      [second.id],
    );
  });

  it('answers reasons in Korean when Accept-Language asks for it', async () => {
    const [s, partner] = [await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    await testbedWithSlot(partner);
    const res = await api()
      .get(`/v1/pilots/${pilot.id}/candidates`)
      .set(s.auth)
      .set('Accept-Language', 'ko-KR,ko;q=0.9,en;q=0.5');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-language'], 'ko');
    assert.ok(res.body.data[0].reasons.every((r: string) => /[가-힣]/.test(r)));
  });

  it("leaves out slots overlapping a booking the pilot holds, only those, and answers 304 to the page's ETag until it changes", async () => {
    const [s, p1, p2] = [await signup(), await signup('partner'), await signup('partner')];
    const pilot = await submittedPilot(s);
    const one = await testbedWithSlot(p1, 1, 2);
    const tb2 = await createTestbed(p2);
    const overlapping = await createSlot(p2, tb2.id, at(2, 4), at(2, 12), 1);
    const later = await slotOn(p2, tb2.id, 5);
    const url = `/v1/pilots/${pilot.id}/candidates`;
    const before = await api().get(url).set(s.auth);
    assert.deepEqual(
      before.body.data.map((c: { slotId: string }) => c.slotId).sort(),
      [one.slot.id, overlapping.id, later.id].sort(),
    );
    const tag = before.headers.etag as string;
    assert.ok(tag, 'the page has an ETag');
    const same = await api().get(url).set(s.auth).set('If-None-Match', tag);
    assert.equal(same.status, 304);
    assert.equal(same.text ?? '', '');

    assert.equal((await approve(p1, (await requested(s, pilot.id, one.slot.id)).id)).status, 200);
    const after = await api().get(url).set(s.auth).set('If-None-Match', tag);
    assert.equal(after.status, 200);
    assert.notEqual(after.headers.etag, tag);
    assert.deepEqual(
      after.body.data.map((c: { slotId: string }) => c.slotId),
      [later.id],
    );
  });

  it('pages with an opaque cursor and no duplicates', async () => {
    const [s, partner] = [await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    const tb = await createTestbed(partner);
    for (let d = 1; d <= 5; d++) await slotOn(partner, tb.id, d);
    const first = await api().get(`/v1/pilots/${pilot.id}/candidates?limit=2`).set(s.auth);
    assert.equal(first.body.data.length, 2);
    const seen = first.body.data.map((c: { slotId: string }) => c.slotId);
    let cursor = first.body.nextCursor;
    while (cursor) {
      const next = await api().get(`/v1/pilots/${pilot.id}/candidates?limit=2&cursor=${cursor}`).set(s.auth);
      assert.equal(next.status, 200);
      seen.push(...next.body.data.map((c: { slotId: string }) => c.slotId));
      cursor = next.body.nextCursor;
    }
    assert.equal(seen.length, 5);
    assert.equal(new Set(seen).size, 5);
  });

  it("is the pilot owner's and operators': another startup gets 404, a partner that cannot see it 404", async () => {
    const s = await signup();
    const pilot = await submittedPilot(s);
    for (const other of [await signup(), await signup('partner')]) {
      const res = await api().get(`/v1/pilots/${pilot.id}/candidates`).set(other.auth);
      assert.equal(res.status, 404);
    }
    assert.equal(
      (
        await api()
          .get(`/v1/pilots/${pilot.id}/candidates`)
          .set((await operator()).auth)
      ).status,
      200,
    );
  });
});

describe('POST /v1/pilots/:id/matches', () => {
  it('records a requested match, moves the pilot to matched and records match.requested', async () => {
    const [s, partner] = [await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    const { slot, testbed } = await testbedWithSlot(partner);
    const res = await requestSlot(s, pilot.id, slot.id);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.status, 'requested');
    assert.equal(res.body.testbedId, testbed.id);
    assert.equal(res.body.units, 1);
    assert.equal(res.headers.location, `/v1/matches/${res.body.id}`);
    assert.equal(await pilotStatus(pilot.id), 'matched');
    assert.ok((await eventTypes()).includes('match.requested'));
    // The partner now sees the pilot, through the match on its testbed.
    assert.equal((await api().get(`/v1/pilots/${pilot.id}`).set(partner.auth)).status, 200);
  });

  it('answers a slot outside the window with 409 slot-unsuitable, reasons and up to three alternatives', async () => {
    const [s, partner] = [await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    const tb = await createTestbed(partner);
    const outside = await slotOn(partner, tb.id, 40);
    for (const d of [1, 2, 3, 4]) await slotOn(partner, tb.id, d);
    const before = await countRows('matches');
    const res = await requestSlot(s, pilot.id, outside.id);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'slot-unsuitable');
    assert.match(String(res.headers['content-type']), /problem\+json/);
    assert.ok(res.body.reasons.some((r: string) => /window/.test(r)));
    assert.equal(res.body.alternatives.length, 3);
    assert.ok(res.body.alternatives.every((a: { slotId: string }) => a.slotId !== outside.id));
    assert.equal(await countRows('matches'), before);
  });

  it('answers more units than the slot has with 409 slot-full and alternatives', async () => {
    const [s, partner] = [await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    const { slot, testbed } = await testbedWithSlot(partner, 2);
    await slotOn(partner, testbed.id, 3, 2);
    const res = await requestSlot(s, pilot.id, slot.id, 3);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'slot-full');
    assert.equal(res.body.alternatives.length, 0, 'no slot has 3 units');
    const ok = await requestSlot(s, pilot.id, slot.id, 2);
    assert.equal(ok.status, 201);
  });

  it('refuses a pilot of another organisation (404), a draft pilot (409) and a second live request for one slot (409)', async () => {
    const [s, other, partner] = [await signup(), await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    const { slot } = await testbedWithSlot(partner);
    assert.equal((await requestSlot(other, pilot.id, slot.id)).status, 404);
    const draft = await createPilot(s, {}, { earliestStart: at(0), latestEnd: at(30) });
    const d = await requestSlot(s, draft.id, slot.id);
    assert.equal(d.status, 409);
    assert.equal(d.body.code, 'invalid-transition');
    await requested(s, pilot.id, slot.id);
    const again = await requestSlot(s, pilot.id, slot.id);
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'match-exists', JSON.stringify(again.body));
    assert.equal((await requestSlot(s, pilot.id, '00000000-0000-4000-8000-000000000000')).status, 404);
  });
});

describe('POST /v1/matches/:id/approve', () => {
  it('books the slot atomically: booking, booked units, pilot booked, booking.confirmed', async () => {
    const [s, partner] = [await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    const { slot } = await testbedWithSlot(partner, 2);
    const m = await requested(s, pilot.id, slot.id);
    const res = await approve(partner, m.id);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'approved');
    assert.ok(res.body.bookingId);
    assert.equal((await api().get(`/v1/slots/${slot.id}`).set(s.auth)).body.bookedUnits, 1);
    assert.equal(await pilotStatus(pilot.id), 'booked');
    assert.ok((await eventTypes()).includes('booking.confirmed'));
    const ev = (
      await ctx().db.query<{ visibility: string; pilot_id: string; testbed_id: string; organization_id: string }>(
        `SELECT visibility, pilot_id, testbed_id, organization_id FROM events WHERE type = 'booking.confirmed'`,
      )
    ).rows[0]!;
    assert.equal(ev.visibility, 'parties');
    assert.equal(ev.pilot_id, pilot.id);
    assert.equal(ev.organization_id, s.orgId);
  });

  it('refuses approving twice, by the startup (403), and approving a rejected or expired match', async () => {
    const [s, partner] = [await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    const { slot, testbed } = await testbedWithSlot(partner, 2);
    const m = await requested(s, pilot.id, slot.id);
    assert.equal((await approve(s, m.id)).status, 403);
    assert.equal((await approve(partner, m.id)).status, 200);
    const twice = await approve(partner, m.id);
    assert.equal(twice.status, 409);
    assert.equal(twice.body.code, 'invalid-transition');
    assert.equal(await countRows('bookings'), 1);

    const slot2 = await slotOn(partner, testbed.id, 5, 2);
    const r = await requested(s, pilot.id, slot2.id);
    assert.equal((await api().post(`/v1/matches/${r.id}/reject`).set(partner.auth)).status, 200);
    const rejected = await approve(partner, r.id);
    assert.equal(rejected.status, 409);

    const slot3 = await slotOn(partner, testbed.id, 8, 2);
    const e = await requested(s, pilot.id, slot3.id);
    await ctx().db.query(`UPDATE matches SET expires_at = now() - interval '1 minute' WHERE id = $1`, [e.id]);
    const expired = await approve(partner, e.id);
    assert.equal(expired.status, 409);
    assert.equal(expired.body.code, 'match-expired');
    assert.equal((await api().get(`/v1/matches/${e.id}`).set(s.auth)).body.status, 'expired');
    assert.equal(await countRows('bookings'), 1);
  });

  it('answers a full slot with 409 slot-full and alternatives, booking nothing', async () => {
    const [a, b, partner] = [await signup(), await signup(), await signup('partner')];
    const pa = await submittedPilot(a);
    const pb = await submittedPilot(b);
    const { slot, testbed } = await testbedWithSlot(partner, 1);
    await slotOn(partner, testbed.id, 4);
    const ma = await requested(a, pa.id, slot.id);
    // a's request holds the only unit: b's request is refused at once, with the alternative.
    const refused = await requestSlot(b, pb.id, slot.id);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'slot-full');
    assert.equal(refused.body.alternatives.length, 1);
    // A match that holds nothing (from before holds) still meets the capacity CHECK at approval.
    const mb = await unheldRequest(pb.id, slot.id);
    assert.equal((await approve(partner, ma.id)).status, 200);
    const full = await approve(partner, mb.id);
    assert.equal(full.status, 409);
    assert.equal(full.body.code, 'slot-full');
    assert.equal(full.body.alternatives.length, 1);
    assert.equal(await countRows('bookings'), 1);
    assert.equal(await pilotStatus(pb.id), 'matched');
  });

  it('refuses a second booking that overlaps one the pilot holds (409 booking-overlap, from the exclusion constraint)', async () => {
    const [s, p1, p2] = [await signup(), await signup('partner'), await signup('partner')];
    const pilot = await submittedPilot(s);
    const one = await testbedWithSlot(p1, 1, 2);
    const tb2 = await createTestbed(p2);
    const overlapping = await createSlot(p2, tb2.id, at(2, 4), at(2, 12), 1);
    const m1 = await requested(s, pilot.id, one.slot.id);
    const m2 = await requested(s, pilot.id, overlapping.id);
    assert.equal((await approve(p1, m1.id)).status, 200);
    const res = await approve(p2, m2.id);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'booking-overlap');
    assert.equal((await api().get(`/v1/slots/${overlapping.id}`).set(s.auth)).body.bookedUnits, 0);
  });
});

describe('POST /v1/matches/:id/reject and partner visibility', () => {
  it("returns the pilot to submitted and takes the partner's view of it away", async () => {
    const [s, partner] = [await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    const { slot } = await testbedWithSlot(partner);
    const m = await requested(s, pilot.id, slot.id);
    assert.equal((await api().get('/v1/pilots').set(partner.auth)).body.data.length, 1);
    const res = await api().post(`/v1/matches/${m.id}/reject`).set(partner.auth);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'rejected');
    assert.equal(await pilotStatus(pilot.id), 'submitted');
    assert.equal((await api().get(`/v1/pilots/${pilot.id}`).set(partner.auth)).status, 404);
    assert.equal((await api().get('/v1/pilots').set(partner.auth)).body.data.length, 0);
    assert.ok((await eventTypes()).includes('match.rejected'));
  });

  it('lists matches to the parties only, filtered by pilot and status', async () => {
    const [s, partner, stranger] = [await signup(), await signup('partner'), await signup()];
    const pilot = await submittedPilot(s);
    const { slot } = await testbedWithSlot(partner);
    const m = await requested(s, pilot.id, slot.id);
    for (const who of [s, partner, await operator()]) {
      const res = await api().get(`/v1/matches?pilotId=${pilot.id}&status=requested`).set(who.auth);
      assert.deepEqual(
        res.body.data.map((x: { id: string }) => x.id),
        [m.id],
      );
    }
    assert.equal((await api().get('/v1/matches').set(stranger.auth)).body.data.length, 0);
    assert.equal((await api().get(`/v1/matches/${m.id}`).set(stranger.auth)).status, 404);
    assert.equal((await api().get('/v1/matches?status=approved').set(s.auth)).body.data.length, 0);
  });
});

describe('POST /v1/allocation-runs', () => {
  it('proposes the optimal allocation, with greedy and the LP bound in the summary; proposals can be accepted and approved', async () => {
    const [op, partner] = [await operator(), await signup('partner')];
    const startups = [await signup(), await signup()];
    const first = await submittedPilot(startups[0]!, {}, { capabilities: [] });
    const second = await submittedPilot(startups[1]!);
    // Greedy trap: the first pilot (no capability needs) prefers the early simulator slot; the second can use only it.
    const sim = await createTestbed(partner);
    const early = await slotOn(partner, sim.id, 0);
    const road = await createTestbed(partner, { capabilities: ['v2x'] });
    await slotOn(partner, road.id, 20);
    const res = await api()
      .post('/v1/allocation-runs')
      .set(op.auth)
      .send({ domain: 'transport-safety', from: at(-1), to: at(40) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const sum = res.body.summary;
    assert.equal(sum.pilots, 2);
    assert.equal(sum.matched, 2);
    assert.ok(sum.objective >= sum.greedyObjective);
    assert.ok(sum.upperBound >= sum.objective - 1e-6);
    assert.equal(sum.solver.name, 'highs');
    assert.equal(res.body.proposals.length, 2);
    const forSecond = res.body.proposals.find((p: { pilotId: string }) => p.pilotId === second.id);
    assert.equal(forSecond.slotId, early.id);
    assert.equal(forSecond.status, 'proposed');
    assert.equal(await pilotStatus(first.id), 'matched');
    assert.ok((await eventTypes()).includes('match.proposed'));
    assert.ok((await eventTypes()).includes('allocation_run.completed'));
    assert.equal(await countRows('bookings'), 0, 'a run only proposes');

    assert.equal((await approve(op, forSecond.id)).status, 409, 'not accepted yet');
    assert.equal((await api().post(`/v1/matches/${forSecond.id}/accept`).set(startups[0]!.auth)).status, 404);
    const acc = await api().post(`/v1/matches/${forSecond.id}/accept`).set(startups[1]!.auth);
    assert.equal(acc.status, 200);
    assert.equal(acc.body.status, 'accepted');
    assert.equal((await approve(op, forSecond.id)).status, 200);
    assert.equal(await pilotStatus(second.id), 'booked');

    const again = await api().get(`/v1/allocation-runs/${res.body.id}`).set(op.auth);
    assert.equal(again.status, 200);
    assert.equal(again.body.proposals.length, 2);
    assert.equal((await api().get(`/v1/allocation-runs/${res.body.id}`).set(startups[0]!.auth)).status, 404);
  });

  it('answers an empty scope with 422 empty-scope and writes nothing', async () => {
    const op = await operator();
    const res = await api().post('/v1/allocation-runs').set(op.auth).send({ domain: 'culture' });
    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'empty-scope');
    assert.equal(await countRows('allocation_runs'), 0);
  });

  it('is for operators (403) and refuses an empty or years-long window (400)', async () => {
    assert.equal(
      (
        await api()
          .post('/v1/allocation-runs')
          .set((await signup()).auth)
          .send({})
      ).status,
      403,
    );
    const op = await operator();
    const backwards = await api()
      .post('/v1/allocation-runs')
      .set(op.auth)
      .send({ from: at(5), to: at(1) });
    assert.equal(backwards.status, 400);
    const years = await api()
      .post('/v1/allocation-runs')
      .set(op.auth)
      .send({ from: at(0), to: at(1000) });
    assert.equal(years.status, 400);
  });
});

describe('matching events', () => {
  it('carry payloads that match their published event schemas, seen by both parties', async () => {
    const validator = new Validator();
    const [s, partner, op] = [await signup(), await signup('partner'), await operator()];
    const pilot = await submittedPilot(s);
    const { slot, testbed } = await testbedWithSlot(partner, 2);
    await slotOn(partner, testbed.id, 5, 2);
    const m = await requested(s, pilot.id, slot.id);
    const b = (await approve(partner, m.id)).body.bookingId;
    await api().post(`/v1/bookings/${b}/cancel`).set(s.auth);
    const other = await submittedPilot(s, { title: 'other' });
    const run = await api()
      .post('/v1/allocation-runs')
      .set(op.auth)
      .send({ from: at(-1), to: at(40) });
    assert.equal(run.status, 201, JSON.stringify(run.body));
    const p = run.body.proposals.find((x: { pilotId: string }) => x.pilotId === other.id);
    await api().post(`/v1/matches/${p.id}/reject`).set(s.auth);
    const { rows } = await ctx().db.query<{
      id: string;
      type: string;
      created_at: Date;
      data: unknown;
      visibility: string;
      testbed_id: string | null;
    }>(
      `SELECT id, type, created_at, data, visibility, testbed_id FROM events
        WHERE type LIKE 'match.%' OR type LIKE 'booking.%' OR type = 'allocation_run.completed' ORDER BY seq`,
    );
    const types = new Set(rows.map((r) => r.type));
    for (const t of [
      'match.requested',
      'booking.confirmed',
      'booking.cancelled',
      'match.proposed',
      'match.rejected',
      'allocation_run.completed',
    ]) {
      assert.ok(types.has(t), t);
    }
    for (const r of rows) {
      const envelope = { id: r.id, type: r.type, createdAt: r.created_at.toISOString(), data: r.data };
      assert.deepEqual(validator.errors(`event-${r.type}.json`, envelope), [], r.type);
      if (r.type === 'allocation_run.completed') assert.equal(r.visibility, 'organization');
      else {
        assert.equal(r.visibility, 'parties');
        assert.ok(r.testbed_id);
      }
    }
  });
});

describe('candidates cursor', () => {
  it('refuses a forged cursor (negative or fractional offset, another list) with 400 invalid-cursor', async () => {
    const s = await signup();
    const pilot = await submittedPilot(s);
    const forge = (l: string, k: unknown[]) => Buffer.from(JSON.stringify({ l, k })).toString('base64url');
    for (const c of [
      forge(`candidates:${pilot.id}`, [-5]),
      forge(`candidates:${pilot.id}`, [1.5]),
      forge('pilots', [0]),
    ]) {
      const res = await api().get(`/v1/pilots/${pilot.id}/candidates?cursor=${c}`).set(s.auth);
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'invalid-cursor');
    }
  });
});

describe('candidate times as the candidates query sends them', () => {
  it('turn back into the epoch milliseconds the driver reads, for any microsecond up to decades into the window', async () => {
    const base = Date.parse('2027-03-01T00:00:00.123Z');
    // Offsets in microseconds, spread from zero to 40 years, half of them on a millisecond boundary (where a float
    // a hair below the true value would truncate to the millisecond before).
    let x = 12345;
    const offsets = ['0', '1', '999', '1000', '86400000000', '86399999999'];
    while (offsets.length < 400) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const us = x % 1_000_000;
      offsets.push(
        String(
          Math.floor((x / 2 ** 31) * 40 * 365.25 * 86400) * 1_000_000 + (offsets.length % 2 ? us : us - (us % 1000)),
        ),
      );
    }
    const { rows } = await ctx().db.query<{ secs: number; ms: string }>(
      `SELECT date_part('epoch', (b + o * interval '1 microsecond') - b) AS secs,
              trunc(extract(epoch FROM b + o * interval '1 microsecond') * 1000)::bigint::text AS ms
         FROM unnest($2::bigint[]) o, (SELECT $1::timestamptz AS b) x`,
      [new Date(base).toISOString(), offsets],
    );
    assert.equal(rows.length, offsets.length);
    for (const r of rows) assert.equal(epochMsAfter(base, r.secs), Number(r.ms), `${r.secs} s after the base`);
  });
});
