/** Events about bookings, seen by both parties and operators (matching/events.ts). */
import type { Queryable } from '../db/client.js';
import { matchEventData, recordPartiesEvent } from '../matching/events.js';
import type { MatchRow } from '../matching/queries.js';
import { toBookingDto } from './presenter.js';
import { getBookingRow, type BookingRow } from './queries.js';

/** Reads the booking as it stands in tx and records booking.cancelled with it; returns the row. */
export async function recordBookingCancelled(tx: Queryable, bookingId: string): Promise<BookingRow> {
  const row = await getBookingRow(tx, bookingId);
  await recordPartiesEvent(tx, 'booking.cancelled', toBookingDto(row), row.pilot_id, row.testbed_id, row.pilot_org);
  return row;
}

/** booking.confirmed carries the booking and the match it books, as they stand in tx; returns the booking. */
export async function recordBookingConfirmed(tx: Queryable, bookingId: string, match: MatchRow): Promise<BookingRow> {
  const row = await getBookingRow(tx, bookingId);
  await recordPartiesEvent(
    tx,
    'booking.confirmed',
    { booking: toBookingDto(row), match: matchEventData(match) },
    match.pilot_id,
    match.testbed_id,
    match.pilot_org,
  );
  return row;
}
