/** Extending a booking into the next slot of its testbed: booked or requested per the caller's rights. */
import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import { createSlot, createTestbed, operator, pointers, signup, type Actor } from './support/factories.js';
import { approve, at, requested, slotView, submittedPilot } from './support/matching-factories.js';

const api = () => ctx().api();
const extend = (actor: Actor, bookingId: string, slotId: string) =>
  api().post(`/v1/bookings/${bookingId}/extend`).set(actor.auth).send({ slotId });

/** Back-to-back 4-hour slots on day 2 (first, next), one later that day (later); a booking on first. */
async function scene(capacity = 1) {
  const [partner, owner, op] = [await signup('partner'), await signup(), await operator()];
  const testbed = await createTestbed(partner, { capacity: 2 });
  const first = await createSlot(partner, testbed.id, at(2), at(2, 4), capacity);
  const next = await createSlot(partner, testbed.id, at(2, 4), at(2, 8), capacity);
  const later = await createSlot(partner, testbed.id, at(2, 10), at(2, 14), capacity);
  const pilot = await submittedPilot(owner, {}, { durationHours: 4 });
  const res = await approve(partner, (await requested(owner, pilot.id, first.id)).id);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { partner, owner, op, testbed, first, next, later, pilot, bookingId: res.body.bookingId as string };
}

describe('POST /v1/bookings/:id/extend', () => {
  it('the testbed owner books the next slot at once, with credits, as a confirmed booking', async () => {
    const s = await scene();
    await api().put(`/v1/pilots/${s.pilot.id}/budget`).set(s.op.auth).send({ credits: 8 });
    const res = await extend(s.partner, s.bookingId, s.next.id);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.status, 'booked');
    assert.deepEqual([res.body.match.origin, res.body.match.status], ['extension', 'approved']);
    assert.deepEqual(
      [res.body.booking.status, res.body.booking.slotId, res.body.booking.credits],
      ['confirmed', s.next.id, 4],
    );
    assert.equal((await api().get(`/v1/pilots/${s.pilot.id}`).set(s.owner.auth)).body.budget.committed, 8);
    assert.equal((await slotView(s.partner, s.next.id)).bookedUnits, 1);
    const ev = await ctx().db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events WHERE type = 'booking.confirmed'`,
    );
    assert.equal(ev.rows[0]!.n, 2);
  });

  it("the pilot's owner gets a requested match holding the units, approved like any request", async () => {
    const s = await scene();
    const res = await extend(s.owner, s.bookingId, s.next.id);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(
      [res.body.status, res.body.booking, res.body.match.status, res.body.match.origin],
      ['requested', null, 'requested', 'extension'],
    );
    assert.equal((await slotView(s.partner, s.next.id)).heldUnits, 1);
    assert.equal((await approve(s.partner, res.body.match.id)).status, 200);
    const v = await slotView(s.partner, s.next.id);
    assert.deepEqual([v.bookedUnits, v.heldUnits], [1, 0]);
  });

  // 422 slot-not-adjacent with a pointer, 409 invalid-transition for a cancelled booking, 409 slot-full.
  it('refuses a slot that is not the next one, a full next slot and a cancelled booking', async () => {
    const s = await scene();
    for (const slotId of [s.later.id, s.first.id, '00000000-0000-4000-8000-000000000000']) {
      const res = await extend(s.partner, s.bookingId, slotId);
      assert.equal(res.status, 422, slotId);
      assert.equal(res.body.code, 'slot-not-adjacent');
      assert.deepEqual(pointers(res.body), ['/body/slotId']);
    }
    const elsewhere = await createTestbed(s.partner);
    const other = await createSlot(s.partner, elsewhere.id, at(2, 4), at(2, 8), 1);
    assert.equal((await extend(s.partner, s.bookingId, other.id)).body.code, 'slot-not-adjacent');
    // Someone else holds the next slot's only unit.
    const rival = await signup();
    await requested(rival, (await submittedPilot(rival, {}, { durationHours: 4 })).id, s.next.id);
    const full = await extend(s.partner, s.bookingId, s.next.id);
    assert.deepEqual([full.status, full.body.code], [409, 'slot-full']);
    assert.equal(
      await ctx()
        .db.query(`SELECT 1 FROM matches WHERE origin = 'extension'`)
        .then((r) => r.rows.length),
      0,
      'nothing written',
    );
    assert.equal((await api().post(`/v1/bookings/${s.bookingId}/cancel`).set(s.owner.auth)).status, 200);
    const cancelled = await extend(s.owner, s.bookingId, s.next.id);
    assert.deepEqual([cancelled.status, cancelled.body.code], [409, 'invalid-transition']);
  });

  it('spends credits under the budget CHECK, and a stranger cannot see the booking (404)', async () => {
    const s = await scene(2);
    await api().put(`/v1/pilots/${s.pilot.id}/budget`).set(s.op.auth).send({ credits: 5 });
    const res = await extend(s.op, s.bookingId, s.next.id);
    assert.deepEqual([res.status, res.body.code], [409, 'budget-exceeded']);
    assert.equal((await slotView(s.partner, s.next.id)).bookedUnits, 0);
    assert.equal((await extend(await signup(), s.bookingId, s.next.id)).status, 404);
  });
});
