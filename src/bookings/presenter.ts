/** Bookings as clients see them: pure row → DTO mapping, the whitelist of what leaves the process. */
import type { Booking } from '../generated/schema-types.js';
import type { BookingRow } from './queries.js';

export type { BookingRow } from './queries.js';

export const toBookingDto = (r: BookingRow): Booking => ({
  id: r.id,
  matchId: r.match_id,
  pilotId: r.pilot_id,
  slotId: r.slot_id,
  testbedId: r.testbed_id,
  units: r.units,
  start: r.start_at.toISOString(),
  end: r.end_at.toISOString(),
  status: r.status,
  createdAt: r.created_at.toISOString(),
  cancelledAt: r.cancelled_at ? r.cancelled_at.toISOString() : null,
  cancelReason: r.cancel_reason,
  credits: Number(r.credits),
});
