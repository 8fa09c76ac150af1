/** Booking rows: the select every booking read starts from, the row type it fills and row readers. */
import type { Queryable } from '../db/client.js';
import { notFound } from '../core/errors.js';

export interface BookingRow {
  id: string;
  match_id: string;
  pilot_id: string;
  slot_id: string;
  testbed_id: string;
  units: number;
  start_at: Date;
  end_at: Date;
  status: 'confirmed' | 'cancelled';
  created_at: Date;
  cancelled_at: Date | null;
  cancel_reason: string | null;
  pilot_org: string;
  testbed_org: string;
  pilot_title: string;
  /** bigint: a string from node-postgres. */
  credits: string | number;
}

export const BOOKING_SELECT = `SELECT b.id, b.match_id, b.pilot_id, b.slot_id, b.testbed_id, b.units, b.start_at,
    b.end_at, b.status, b.created_at, b.cancelled_at, b.cancel_reason, b.credits, p.organization_id AS pilot_org,
    t.organization_id AS testbed_org, p.title AS pilot_title
  FROM bookings b
  JOIN pilots p ON p.id = b.pilot_id
  JOIN testbeds t ON t.id = b.testbed_id`;

/** Unchecked read by id, for code that already decided the caller may see it. */
export async function getBookingRow(db: Queryable, id: string): Promise<BookingRow> {
  const { rows } = await db.query<BookingRow>(`${BOOKING_SELECT} WHERE b.id = $1`, [id]);
  if (!rows[0]) throw notFound('booking');
  return rows[0];
}
