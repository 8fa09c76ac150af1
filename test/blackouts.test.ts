/**
 * Blackouts: overlapping slots become unbookable; confirmed bookings overlapping a new blackout are cancelled
 * in the same transaction (cancelReason blackout, credits refunded, events once each) and each pilot is
 * re-offered the best alternative; bad input is 400 with pointers and writes nothing.
 */
import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import { countRows, createTestbed, operator, pointers, signup, type Actor } from './support/factories.js';
import { hooksApi } from './support/webhooks.js';
import {
  approve,
  at,
  eventsSeenBy,
  requestSlot,
  requested,
  slotOn,
  slotView,
  submittedPilot,
} from './support/matching-factories.js';

const api = () => ctx().api();
const blackout = (actor: Actor, testbedId: string, body: Record<string, unknown>) =>
  api().post(`/v1/testbeds/${testbedId}/blackouts`).set(actor.auth).send(body);
const eventsOf = async (type: string) =>
  (
    await ctx().db.query<{ data: { id: string } }>('SELECT data FROM events WHERE type = $1 ORDER BY seq', [type])
  ).rows.map((r) => r.data);

async function book(owner: Actor, partner: Actor, pilotId: string, slotId: string): Promise<string> {
  const m = await requested(owner, pilotId, slotId);
  const res = await approve(partner, m.id);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.bookingId as string;
}

describe('blackouts', () => {
  it('cancel exactly the overlapping bookings, refund, re-offer each pilot, emit each event once', async () => {
    const [partner, op, stranger] = [await signup('partner'), await operator(), await signup()];
    const owners = [await signup(), await signup(), await signup(), await signup()];
    const testbed = await createTestbed(partner, { capacity: 3 });
    const A = await slotOn(partner, testbed.id, 2, 2);
    const B = await slotOn(partner, testbed.id, 3, 1);
    const C = await slotOn(partner, testbed.id, 6, 2);
    await slotOn(partner, testbed.id, 8, 3);
    const pilots = [];
    for (const o of owners) pilots.push((await submittedPilot(o)).id);
    await api().put(`/v1/pilots/${pilots[0]}/budget`).set(op.auth).send({ credits: 100 });
    const hit = [
      await book(owners[0]!, partner, pilots[0]!, A.id),
      await book(owners[1]!, partner, pilots[1]!, A.id),
      await book(owners[2]!, partner, pilots[2]!, B.id),
    ];
    const spared = await book(owners[3]!, partner, pilots[3]!, C.id);
    assert.equal((await api().get(`/v1/pilots/${pilots[0]}`).set(owners[0]!.auth)).body.budget.committed, 8);
    const before = await ctx().db.query<{ n: number }>('SELECT max(seq)::int AS n FROM events');

    const res = await blackout(partner, testbed.id, {
      start: at(2),
      end: at(4),
      reason: 'Annual maintenance of the simulator',
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.headers.location, `/v1/blackouts/${res.body.id}`);
    assert.deepEqual(res.body.displaced.map((d: { bookingId: string }) => d.bookingId).sort(), [...hit].sort());

    for (const id of hit) {
      const b = (await api().get(`/v1/bookings/${id}`).set(partner.auth)).body;
      assert.equal(b.status, 'cancelled');
      assert.equal(b.cancelReason, 'blackout');
    }
    assert.equal((await api().get(`/v1/bookings/${spared}`).set(partner.auth)).body.status, 'confirmed');
    assert.equal(
      (await api().get(`/v1/pilots/${pilots[0]}`).set(owners[0]!.auth)).body.budget.committed,
      0,
      'credits returned',
    );
    assert.deepEqual(
      [(await slotView(partner, A.id)).bookedUnits, (await slotView(partner, B.id)).bookedUnits],
      [0, 0],
    );

    // Each affected pilot got one re-offer, a proposal outside the blackout; the spared pilot none.
    for (const d of res.body.displaced as { pilotId: string; reofferMatchId: string }[]) {
      assert.ok(d.reofferMatchId, `re-offer for ${d.pilotId}`);
      const owner: Actor = owners[pilots.indexOf(d.pilotId)]!;
      const m: { status: string; origin: string; pilotId: string; slotId: string } = (
        await api().get(`/v1/matches/${d.reofferMatchId}`).set(owner.auth)
      ).body;
      assert.equal(m.status, 'proposed');
      assert.equal(m.origin, 'reoffer');
      assert.equal(m.pilotId, d.pilotId);
      assert.ok(![A.id, B.id].includes(m.slotId));
      assert.equal((await api().get(`/v1/pilots/${d.pilotId}`).set(owner.auth)).body.status, 'matched');
    }
    const newEvents = (
      await ctx().db.query<{ type: string; id: string }>(
        `SELECT type, data->>'id' AS id FROM events WHERE seq > $1 ORDER BY seq`,
        [before.rows[0]!.n],
      )
    ).rows;
    const of = (t: string) => newEvents.filter((e) => e.type === t).map((e) => e.id);
    assert.deepEqual(of('booking.cancelled').sort(), [...hit].sort(), 'booking.cancelled once per cancelled booking');
    assert.deepEqual(
      of('match.proposed').sort(),
      res.body.displaced.map((d: { reofferMatchId: string }) => d.reofferMatchId).sort(),
    );
    assert.deepEqual(of('blackout.created'), [res.body.id]);
    assert.equal(newEvents.length, 7);

    // Blocked slots say so, cannot be asked for, and are not offered.
    assert.deepEqual((await slotView(stranger, A.id)).blockedBy, {
      blackoutId: res.body.id,
      reason: 'Annual maintenance of the simulator',
    });
    assert.equal((await slotView(stranger, C.id)).blockedBy, null);
    const open = (await api().get(`/v1/testbeds/${testbed.id}/slots?available=true`).set(stranger.auth)).body.data;
    assert.ok(
      open.length > 0 && open.every((x: { id: string }) => ![A.id, B.id].includes(x.id)),
      'blocked slots are not open',
    );
    const fresh = await submittedPilot(stranger);
    const refused = await requestSlot(stranger, fresh.id, A.id);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'slot-blocked');
    assert.equal(refused.body.blockedBy.blackoutId, res.body.id);
    const cands = (await api().get(`/v1/pilots/${fresh.id}/candidates`).set(stranger.auth)).body.data as {
      slotId: string;
    }[];
    assert.ok(cands.length > 0 && cands.every((c) => ![A.id, B.id].includes(c.slotId)));
    const plans = (await api().get(`/v1/pilots/${fresh.id}/plans`).set(stranger.auth)).body.data as {
      sessions: { slotId: string }[];
    }[];
    assert.ok(plans.every((p) => p.sessions.every((s) => ![A.id, B.id].includes(s.slotId))));

    // Who sees what: displaced bookings and the blackout events are for the testbed's owner and operators.
    const mine = (await api().get(`/v1/testbeds/${testbed.id}/blackouts`).set(partner.auth)).body.data;
    assert.equal(mine[0].displaced.length, 3);
    const theirs = (await api().get(`/v1/testbeds/${testbed.id}/blackouts`).set(stranger.auth)).body.data;
    assert.deepEqual([theirs.length, theirs[0].displaced], [1, []]);
    assert.equal(await eventsSeenBy(partner, 'partner', 'blackout.created'), 1);
    assert.equal(await eventsSeenBy(op, 'operator', 'blackout.created'), 1);
    assert.equal(await eventsSeenBy(stranger, 'startup', 'blackout.created'), 0);
    assert.equal(await eventsSeenBy(owners[0]!, 'startup', 'blackout.created'), 0);
    assert.equal(await eventsSeenBy(owners[0]!, 'startup', 'booking.cancelled'), 1);
    assert.equal(await eventsSeenBy(stranger, 'startup', 'booking.cancelled'), 0);
    assert.equal((await eventsOf('booking.cancelled')).length, 3);
  });

  it('no re-offer when no alternative exists; allocation runs never propose a blocked slot', async () => {
    const [partner, op, owner] = [await signup('partner'), await operator(), await signup()];
    const testbed = await createTestbed(partner, { capacity: 1 });
    const only = await slotOn(partner, testbed.id, 2, 1);
    const pilot = await submittedPilot(owner);
    const bookingId = await book(owner, partner, pilot.id, only.id);
    const res = await blackout(op, testbed.id, { start: at(1), end: at(3), reason: 'Power work' });
    assert.equal(res.status, 201);
    assert.deepEqual(res.body.displaced, [{ bookingId, pilotId: pilot.id, slotId: only.id, reofferMatchId: null }]);
    assert.equal((await api().get(`/v1/pilots/${pilot.id}`).set(owner.auth)).body.status, 'submitted');
    const later = await slotOn(partner, testbed.id, 10, 1);
    const run = await api()
      .post('/v1/allocation-runs')
      .set(op.auth)
      .send({ from: at(-1), to: at(40) });
    assert.equal(run.status, 201, JSON.stringify(run.body));
    assert.deepEqual(
      run.body.proposals.map((p: { slotId: string }) => p.slotId),
      [later.id],
    );
  });

  it('refuses end <= start, over a year, no reason (400 pointers, nothing written); non-owners 403', async () => {
    const [partner, other] = [await signup('partner'), await signup('partner')];
    const testbed = await createTestbed(partner);
    const events = await countRows('events');
    const cases: [Record<string, unknown>, string][] = [
      [{ start: at(2), end: at(2), reason: 'x' }, '/body/end'],
      [{ start: at(3), end: at(2), reason: 'x' }, '/body/end'],
      [{ start: at(0), end: at(370), reason: 'x' }, '/body/end'],
      [{ start: at(0), end: at(1) }, '/body/reason'],
      [{ start: 'soon', end: at(1), reason: 'x' }, '/body/start'],
    ];
    for (const [body, pointer] of cases) {
      const res = await blackout(partner, testbed.id, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
      assert.ok(pointers(res.body).includes(pointer), `${JSON.stringify(body)} → ${JSON.stringify(res.body.errors)}`);
    }
    assert.equal((await blackout(other, testbed.id, { start: at(0), end: at(1), reason: 'x' })).status, 403);
    assert.equal(await countRows('blackouts'), 0);
    assert.equal(await countRows('events'), events);
  });

  it('deleting a blackout reopens its slots (event blackout.deleted) and serves their waitlists', async () => {
    const [partner, a, b] = [await signup('partner'), await signup(), await signup()];
    const testbed = await createTestbed(partner);
    const slot = await slotOn(partner, testbed.id, 2, 1);
    const pa = await submittedPilot(a);
    const pb = await submittedPilot(b);
    const bo = (await blackout(partner, testbed.id, { start: at(2), end: at(2, 1), reason: 'Inspection' })).body;
    const w = await api().post(`/v1/slots/${slot.id}/waitlist`).set(a.auth).send({ pilotId: pa.id });
    assert.equal(w.status, 201, JSON.stringify(w.body));
    assert.deepEqual([w.body.status, w.body.position], ['waiting', 1], 'nothing is handed out while blocked');
    assert.equal((await api().delete(`/v1/blackouts/${bo.id}`).set(b.auth)).status, 403);
    assert.equal((await api().delete(`/v1/blackouts/${bo.id}`).set(partner.auth)).status, 204);
    assert.equal((await api().delete(`/v1/blackouts/${bo.id}`).set(partner.auth)).status, 404);
    const v = await slotView(b, slot.id);
    assert.deepEqual([v.blockedBy, v.heldUnits], [null, 1]);
    const entry = (await api().get(`/v1/slots/${slot.id}/waitlist`).set(a.auth)).body.data[0];
    assert.equal(entry.status, 'offered');
    const m = (await api().get(`/v1/matches/${entry.matchId}`).set(a.auth)).body;
    assert.deepEqual([m.status, m.origin], ['requested', 'waitlist']);
    assert.equal((await requestSlot(b, pb.id, slot.id)).body.code, 'slot-full');
    assert.equal((await eventsOf('blackout.deleted')).length, 1);
  });

  it('webhook endpoints subscribe to the new events, and only the parties get deliveries', async () => {
    const [partner, stranger] = [await signup('partner'), await signup()];
    const endpoint = async (actor: Actor, eventTypes: string[]) => {
      const res = await hooksApi()
        .post('/v1/webhook-endpoints')
        .set(actor.auth)
        .send({ url: 'http://127.0.0.1:9/hook', eventTypes });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id as string;
    };
    const mine = await endpoint(partner, ['blackout.created', 'blackout.deleted', 'match.expired']);
    const theirs = await endpoint(stranger, ['*']);
    const testbed = await createTestbed(partner);
    const bo = await blackout(partner, testbed.id, { start: at(1), end: at(2), reason: 'Cooling repair' });
    assert.equal((await api().delete(`/v1/blackouts/${bo.body.id}`).set(partner.auth)).status, 204);
    const deliveries = async (id: string) =>
      (
        await ctx().db.query<{ type: string }>(
          `SELECT e.type FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
            WHERE d.endpoint_id = $1 ORDER BY e.seq`,
          [id],
        )
      ).rows.map((r) => r.type);
    assert.deepEqual(await deliveries(mine), ['blackout.created', 'blackout.deleted']);
    assert.ok(!(await deliveries(theirs)).some((t) => t.startsWith('blackout.')));
  });
});
