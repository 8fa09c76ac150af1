import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import { operator, signup } from './support/factories.js';
import {
  approve,
  at,
  eventTypes,
  pilotStatus,
  requested,
  slotOn,
  submittedPilot,
  testbedWithSlot,
} from './support/matching-factories.js';

const api = () => ctx().api();

async function booking() {
  const [s, partner] = [await signup(), await signup('partner')];
  const pilot = await submittedPilot(s);
  const { slot, testbed } = await testbedWithSlot(partner, 2);
  const m = await requested(s, pilot.id, slot.id);
  const res = await approve(partner, m.id);
  assert.equal(res.status, 200);
  return { s, partner, pilot, slot, testbed, bookingId: res.body.bookingId as string };
}

describe('GET /v1/bookings', () => {
  it('lists bookings to the parties and operators only, with filters', async () => {
    const { s, partner, pilot, testbed, bookingId } = await booking();
    for (const who of [s, partner, await operator()]) {
      const res = await api()
        .get(`/v1/bookings?pilotId=${pilot.id}&testbedId=${testbed.id}&from=${at(0)}&to=${at(30)}`)
        .set(who.auth);
      assert.equal(res.status, 200);
      assert.deepEqual(
        res.body.data.map((b: { id: string }) => b.id),
        [bookingId],
      );
      assert.equal(res.body.nextCursor, null);
    }
    const stranger = await signup();
    assert.equal((await api().get('/v1/bookings').set(stranger.auth)).body.data.length, 0);
    assert.equal((await api().get(`/v1/bookings/${bookingId}`).set(stranger.auth)).status, 404);
    assert.equal(
      (
        await api()
          .get(`/v1/bookings?from=${at(40)}`)
          .set(s.auth)
      ).body.data.length,
      0,
    );
    const one = await api().get(`/v1/bookings/${bookingId}`).set(s.auth);
    assert.equal(one.body.status, 'confirmed');
    assert.equal(one.body.units, 1);
  });

  it('refuses an empty window with 400', async () => {
    const s = await signup();
    const res = await api()
      .get(`/v1/bookings?from=${at(5)}&to=${at(1)}`)
      .set(s.auth);
    assert.equal(res.status, 400);
    assert.deepEqual(
      res.body.errors.map((e: { pointer: string }) => e.pointer),
      ['/query/to'],
    );
  });
});

describe('POST /v1/bookings/:id/cancel', () => {
  it('frees the units, closes the match, returns the pilot to submitted and records booking.cancelled', async () => {
    const { s, partner, pilot, slot, bookingId } = await booking();
    const res = await api().post(`/v1/bookings/${bookingId}/cancel`).set(s.auth);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'cancelled');
    assert.ok(res.body.cancelledAt);
    assert.equal((await api().get(`/v1/slots/${slot.id}`).set(s.auth)).body.bookedUnits, 0);
    assert.equal(await pilotStatus(pilot.id), 'submitted');
    assert.ok((await eventTypes()).includes('booking.cancelled'));
    const again = await api().post(`/v1/bookings/${bookingId}/cancel`).set(partner.auth);
    assert.equal(again.status, 409);
    // Losing the booking loses the partner's view of the pilot.
    assert.equal((await api().get(`/v1/pilots/${pilot.id}`).set(partner.auth)).status, 404);
  });

  it('lets the testbed owner or an operator cancel, not a stranger (404)', async () => {
    const { partner, bookingId } = await booking();
    assert.equal(
      (
        await api()
          .post(`/v1/bookings/${bookingId}/cancel`)
          .set((await signup('partner')).auth)
      ).status,
      404,
    );
    assert.equal((await api().post(`/v1/bookings/${bookingId}/cancel`).set(partner.auth)).status, 200);
  });

  it("keeps a booked slot's times fixed (409 slot-in-use) until the booking is cancelled", async () => {
    const { s, partner, slot, bookingId } = await booking();
    const etag = (await api().get(`/v1/slots/${slot.id}`).set(partner.auth)).headers.etag as string;
    const move = await api()
      .patch(`/v1/slots/${slot.id}`)
      .set(partner.auth)
      .set('If-Match', etag)
      .send({ start: at(2), end: at(2, 8) });
    assert.equal(move.status, 409);
    assert.equal(move.body.code, 'slot-in-use');
    await api().post(`/v1/bookings/${bookingId}/cancel`).set(s.auth);
    const etag2 = (await api().get(`/v1/slots/${slot.id}`).set(partner.auth)).headers.etag as string;
    assert.equal(
      (
        await api()
          .patch(`/v1/slots/${slot.id}`)
          .set(partner.auth)
          .set('If-Match', etag2)
          .send({ start: at(2), end: at(2, 8) })
      ).status,
      200,
    );
  });
});

describe('POST /v1/pilots/:id/withdraw of a booked pilot', () => {
  it("cancels the pilot's bookings, frees their units and rejects its live matches, with events", async () => {
    const { s, partner, pilot, slot, testbed, bookingId } = await booking();
    const other = await slotOn(partner, testbed.id, 6, 1);
    const live = await requested(s, pilot.id, other.id);
    const withdrawn = await api().post(`/v1/pilots/${pilot.id}/withdraw`).set(s.auth);
    assert.equal(withdrawn.status, 200);
    assert.equal(withdrawn.body.status, 'withdrawn');
    assert.equal((await api().get(`/v1/bookings/${bookingId}`).set(s.auth)).body.status, 'cancelled');
    assert.equal((await api().get(`/v1/slots/${slot.id}`).set(s.auth)).body.bookedUnits, 0);
    assert.equal((await api().get(`/v1/matches/${live.id}`).set(s.auth)).body.status, 'rejected');
    const types = await eventTypes();
    assert.ok(types.includes('booking.cancelled') && types.includes('match.rejected'));
  });
});
