/**
 * Re-offers around a pilot's plan after a blackout: the kept bookings stay, and what replaces the lost session keeps
 * the `after` gap to them — a single slot as a proposal when one does, else the rest of the plan as a proposed
 * group (origin reoffer), else nothing; events once each, holds within capacity, nothing partial.
 */
import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import { createSlot, createTestbed, operator, signup, type Actor } from './support/factories.js';
import { approve, at, holdBreaches, ruleBreaches, slotView, submittedPilot } from './support/matching-factories.js';
import { searchPlans, type PlanSlot } from '../src/matching/plans.js';

const api = () => ctx().api();

interface Displaced {
  bookingId: string;
  pilotId: string;
  slotId: string;
  reofferMatchId: string | null;
  reofferGroupId: string | null;
}

/** Simulator day, then 8 road hours in 4–8 h sessions starting 24–120 h after the simulator ends. */
const stages = [
  {
    key: 'sim',
    capabilities: ['driving-simulator'],
    units: 1,
    hours: 8,
    earliestStart: at(0),
    latestEnd: at(20),
    sessionHours: { min: 8, max: 8 },
  },
  {
    key: 'road',
    capabilities: ['test-road'],
    units: 1,
    hours: 8,
    earliestStart: at(0),
    latestEnd: at(20),
    sessionHours: { min: 4, max: 8 },
    after: { stage: 'sim', minGapHours: 24, maxGapHours: 120 },
  },
];

/**
 * A pilot booked on the simulator (day 1, 00–08) and the road (day 3); `early` is a road slot the same day as the
 * simulator (10–18, only 2 h after it): the naive per-stage choice, earliest and so best ranked, but against the gap.
 */
async function scene() {
  const [partner, op, owner] = [await signup('partner'), await operator(), await signup()];
  const sim = await createTestbed(partner, { capabilities: ['driving-simulator'], capacity: 1 });
  const road = await createTestbed(partner, { capabilities: ['test-road'], capacity: 1 });
  const simSlot = await createSlot(partner, sim.id, at(1), at(1, 8));
  const early = await createSlot(partner, road.id, at(1, 10), at(1, 18));
  const lostSlot = await createSlot(partner, road.id, at(3), at(3, 8));
  const created = await api().post('/v1/pilots').set(owner.auth).send({
    title: 'Cockpit study',
    summary: 'Simulator, then the road.',
    domain: 'transport-safety',
    requirements: { stages },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const pilotId = created.body.id as string;
  assert.equal((await api().post(`/v1/pilots/${pilotId}/submit`).set(owner.auth)).status, 200);
  const group = await api()
    .post(`/v1/pilots/${pilotId}/matches`)
    .set(owner.auth)
    .send({
      sessions: [
        { slotId: simSlot.id, stage: 'sim' },
        { slotId: lostSlot.id, stage: 'road' },
      ],
    });
  assert.equal(group.status, 201, JSON.stringify(group.body));
  assert.equal((await approve(partner, group.body.data[0].id)).status, 200);
  const bookings = (
    await ctx().db.query<{ id: string; slot_id: string }>(
      `SELECT id, slot_id FROM bookings WHERE pilot_id = $1 AND status = 'confirmed'`,
      [pilotId],
    )
  ).rows;
  const simBooking = bookings.find((b) => b.slot_id === simSlot.id)!.id;
  const roadBooking = bookings.find((b) => b.slot_id === lostSlot.id)!.id;
  return { partner, op, owner, road, pilotId, early, lostSlot, simBooking, roadBooking };
}

const lastSeq = async () =>
  (await ctx().db.query<{ n: number }>('SELECT COALESCE(max(seq), 0)::int AS n FROM events')).rows[0]!.n;
const eventsAfter = async (seq: number) =>
  (
    await ctx().db.query<{ type: string; id: string }>(
      `SELECT type, data->>'id' AS id FROM events WHERE seq > $1 ORDER BY seq`,
      [seq],
    )
  ).rows;
const blackoutDay3 = (actor: Actor, testbedId: string) =>
  api()
    .post(`/v1/testbeds/${testbedId}/blackouts`)
    .set(actor.auth)
    .send({ start: at(3), end: at(3, 8), reason: 'Road resurfacing' });
const bookingStatus = async (id: string) =>
  (await ctx().db.query<{ status: string }>('SELECT status FROM bookings WHERE id = $1', [id])).rows[0]!.status;

describe('blackout re-offers around a plan', () => {
  it('re-offers a single road slot keeping the gap to the kept simulator booking, not the naive earliest', async () => {
    const s = await scene();
    const later = await createSlot(s.partner, s.road.id, at(4), at(4, 8));
    const naive = await api().get(`/v1/pilots/${s.pilotId}/candidates?stage=road`).set(s.owner.auth);
    assert.equal(naive.body.data[0].slotId, s.early.id, 'the per-stage ranking alone would pick the early slot');
    const seq = await lastSeq();

    const res = await blackoutDay3(s.partner, s.road.id);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const [d] = res.body.displaced as Displaced[];
    assert.equal(d!.bookingId, s.roadBooking);
    assert.equal(d!.reofferGroupId, null);
    const m = (await api().get(`/v1/matches/${d!.reofferMatchId}`).set(s.owner.auth)).body;
    assert.deepEqual([m.status, m.origin, m.stage, m.slotId], ['proposed', 'reoffer', 'road', later.id]);
    assert.equal(await bookingStatus(s.simBooking), 'confirmed', 'the kept session stays booked');
    assert.equal(await bookingStatus(s.roadBooking), 'cancelled');
    const events = await eventsAfter(seq);
    assert.deepEqual(
      events.map((e) => e.type),
      ['booking.cancelled', 'match.proposed', 'blackout.created'],
    );
  });

  it('re-offers the rest of the plan as a proposed group when no single slot keeps it whole', async () => {
    const s = await scene();
    // After the gap only 4-hour road slots: two are needed. One of them is held in full by another pilot.
    const first = await createSlot(s.partner, s.road.id, at(4, 8), at(4, 12));
    const taken = await createSlot(s.partner, s.road.id, at(5, 8), at(5, 12));
    const second = await createSlot(s.partner, s.road.id, at(6, 8), at(6, 12));
    const other = await signup();
    const otherPilot = await submittedPilot(other, {}, { capabilities: ['test-road'], durationHours: 4 });
    const held = await api().post(`/v1/pilots/${otherPilot.id}/matches`).set(other.auth).send({ slotId: taken.id });
    assert.equal(held.status, 201, JSON.stringify(held.body));
    const seq = await lastSeq();

    const res = await blackoutDay3(s.partner, s.road.id);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const [d] = res.body.displaced as Displaced[];
    assert.ok(d!.reofferGroupId, JSON.stringify(d));
    const list = (await api().get(`/v1/matches?pilotId=${s.pilotId}&status=proposed`).set(s.owner.auth)).body.data as {
      id: string;
      groupId: string;
      origin: string;
      stage: string;
      slotId: string;
    }[];
    assert.deepEqual(list.map((m) => m.slotId).sort(), [first.id, second.id].sort(), 'the held slot is passed over');
    assert.ok(list.every((m) => m.groupId === d!.reofferGroupId && m.origin === 'reoffer' && m.stage === 'road'));
    assert.ok(list.some((m) => m.id === d!.reofferMatchId));
    // A proposal holds nothing until the startup accepts it.
    for (const slot of [first, second]) assert.equal((await slotView(s.partner, slot.id)).heldUnits, 0);
    assert.deepEqual(
      [(await slotView(s.partner, taken.id)).heldUnits, (await slotView(s.partner, s.early.id)).heldUnits],
      [1, 0],
    );
    assert.deepEqual(await holdBreaches(), { overPromised: 0, heldMismatch: 0 });
    assert.deepEqual(await ruleBreaches(), { overbooked: 0, mismatched: 0, overlapping: 0 });
    assert.equal(await bookingStatus(s.simBooking), 'confirmed');
    const events = await eventsAfter(seq);
    assert.deepEqual(
      events.map((e) => e.type),
      ['booking.cancelled', 'match.proposed', 'match.proposed', 'blackout.created'],
    );
    assert.deepEqual(
      events
        .filter((e) => e.type === 'match.proposed')
        .map((e) => e.id)
        .sort(),
      list.map((m) => m.id).sort(),
    );

    // Accepted whole (which holds both slots), then approved whole: the plan is complete again.
    const accepted = await api().post(`/v1/matches/${d!.reofferMatchId!}/accept`).set(s.owner.auth);
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    for (const slot of [first, second]) assert.equal((await slotView(s.partner, slot.id)).heldUnits, 1);
    assert.deepEqual(await holdBreaches(), { overPromised: 0, heldMismatch: 0 });
    const ok = await approve(s.partner, d!.reofferMatchId!);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const plan = await api().get(`/v1/pilots/${s.pilotId}`).set(s.owner.auth);
    assert.equal(plan.body.status, 'booked');
    assert.deepEqual(await holdBreaches(), { overPromised: 0, heldMismatch: 0 });
  });

  it('makes no re-offer when only slots against the gap remain; the kept booking stays', async () => {
    const s = await scene();
    const seq = await lastSeq();
    const res = await blackoutDay3(s.op, s.road.id);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.displaced, [
      {
        bookingId: s.roadBooking,
        pilotId: s.pilotId,
        slotId: s.lostSlot.id,
        reofferMatchId: null,
        reofferGroupId: null,
      },
    ]);
    assert.deepEqual(
      (await eventsAfter(seq)).map((e) => e.type),
      ['booking.cancelled', 'blackout.created'],
    );
    assert.equal((await ctx().db.query(`SELECT 1 FROM matches WHERE origin = 'reoffer'`)).rows.length, 0);
    assert.equal((await api().get(`/v1/pilots/${s.pilotId}`).set(s.owner.auth)).body.status, 'booked');
  });

  it('leaves nothing behind when the group cannot be written whole', async () => {
    const s = await scene();
    const first = await createSlot(s.partner, s.road.id, at(4, 8), at(4, 12));
    const second = await createSlot(s.partner, s.road.id, at(5, 8), at(5, 12));
    const seq = await lastSeq();
    // A fault injected on the second session of the group (the first is written by then) fails the blackout as
    // an internal error; the point is what it leaves behind.
    await ctx().db.query(
      `ALTER TABLE matches ADD CONSTRAINT reoffer_fault CHECK (NOT (origin = 'reoffer' AND slot_id = '${second.id}'))`,
    );
    try {
      const res = await blackoutDay3(s.partner, s.road.id);
      assert.equal(res.status, 500, JSON.stringify(res.body));
    } finally {
      await ctx().db.query('ALTER TABLE matches DROP CONSTRAINT reoffer_fault');
    }
    assert.equal((await ctx().db.query('SELECT 1 FROM blackouts')).rows.length, 0);
    assert.equal(await bookingStatus(s.roadBooking), 'confirmed');
    assert.equal((await ctx().db.query(`SELECT 1 FROM matches WHERE origin = 'reoffer'`)).rows.length, 0);
    assert.deepEqual(
      [(await slotView(s.partner, first.id)).heldUnits, (await slotView(s.partner, s.lostSlot.id)).bookedUnits],
      [0, 1],
    );
    assert.deepEqual(await eventsAfter(seq), []);
    // Without the fault the same blackout re-offers the group.
    const res = await blackoutDay3(s.partner, s.road.id);
    assert.equal(res.status, 201);
    assert.ok((res.body.displaced as Displaced[])[0]!.reofferGroupId);
  });
});

describe('re-planning around kept sessions (pure)', () => {
  const H = 3_600_000;
  const day = (d: number, h = 0) => Date.UTC(2031, 0, 10 + d, h);
  const slot = (slotId: string, start: number, score: number): PlanSlot => ({
    slotId,
    testbedId: 't',
    start,
    end: start + 8 * H,
    score,
    credits: 8,
  });
  const sim = [slot('late', day(4), 0.9), slot('too-early', day(-5), 0.8), slot('fits', day(2), 0.5)];
  const stagesAround = (road: { start: number; end: number }[]) => [
    { key: 'sim', hours: 8, kept: [], open: true },
    { key: 'road', hours: 8, after: { stage: 'sim', minGapHours: 24, maxGapHours: 120 }, kept: road, open: false },
  ];

  it('measures min and max gaps from a re-planned stage to the kept one after it', () => {
    const kept = [{ start: day(5), end: day(5, 8) }];
    const plans = searchPlans(stagesAround(kept), new Map([['sim', sim]]), null, 3);
    assert.deepEqual(
      plans.map((p) => p.sessions.map((s) => s.slotId)),
      [['fits']],
      'late: under the 24 h gap; too-early: over the 120 h one',
    );
  });

  it('leaves a stage unconstrained by a stage the pilot holds nothing of, and counts kept hours', () => {
    const plans = searchPlans(stagesAround([]), new Map([['sim', sim]]), null, 1);
    assert.deepEqual(
      plans[0]!.sessions.map((s) => s.slotId),
      ['late'],
    );
    const full = searchPlans(
      [{ key: 'sim', hours: 8, kept: [{ start: day(1), end: day(1, 8) }], open: true }],
      new Map([['sim', sim]]),
      null,
      1,
    );
    assert.deepEqual(full[0]!.sessions, [], 'kept sessions already cover the stage: no spare session is added');
  });
});
