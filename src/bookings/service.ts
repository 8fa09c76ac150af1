/**
 * Bookings: listed and read by the parties (pilot owner, testbed owner) and operators; cancelled by either
 * party or an operator, which frees the slot's units in the same transaction.
 */
import type { Principal } from '../core/principal.js';
import type { Db } from '../db/client.js';
import type { BookingListQuery as BookingListQueryParams } from '../generated/schema-types.js';
import { AppError, notFound } from '../core/errors.js';
import { decodeCursor, toPage } from '../core/cursor.js';
import { queryWindow } from '../core/query-window.js';
import { offerWaitlist } from '../matching/holds.js';
import { partiesVisibility } from '../matching/queries.js';
import { cancelConfirmed, lockPilot, settlePilot } from '../pilots/lifecycle.js';
import { canManageTestbed } from '../testbeds/access.js';
import { getManagedTestbed, getTestbed } from '../testbeds/service.js';
import { hashFeedToken, newFeedToken, testbedCalendar } from './calendar.js';
import { toBookingDto } from './presenter.js';
import { BOOKING_SELECT, type BookingRow } from './queries.js';

export type BookingListQuery = BookingListQueryParams & { limit: number };

export async function listBookings(db: Db, principal: Principal, q: BookingListQuery) {
  queryWindow(q.from, q.to);
  const after = decodeCursor('bookings', q.cursor, ['time', 'uuid']);
  const { rows } = await db.query<BookingRow>(
    `${BOOKING_SELECT}
      WHERE ${partiesVisibility(principal, 1)}
        AND ($2::uuid IS NULL OR b.pilot_id = $2)
        AND ($3::uuid IS NULL OR b.testbed_id = $3)
        AND ($4::timestamptz IS NULL OR b.end_at > $4)
        AND ($5::timestamptz IS NULL OR b.start_at < $5)
        AND ($6::text IS NULL OR b.status = $6)
        AND ($7::timestamptz IS NULL OR (b.created_at, b.id) < ($7::timestamptz, $8::uuid))
      ORDER BY b.created_at DESC, b.id DESC
      LIMIT $9`,
    [
      principal.organizationId,
      q.pilotId ?? null,
      q.testbedId ?? null,
      q.from ?? null,
      q.to ?? null,
      q.status ?? null,
      after?.[0] ?? null,
      after?.[1] ?? null,
      q.limit + 1,
    ],
  );
  return toPage('bookings', rows, q.limit, (r) => [r.created_at.toISOString(), r.id], toBookingDto);
}

export async function getVisibleBooking(db: Db, principal: Principal, id: string, lock = false): Promise<BookingRow> {
  const { rows } = await db.query<BookingRow>(
    `${BOOKING_SELECT} WHERE b.id = $1 AND ${partiesVisibility(principal, 2)}${lock ? ' FOR UPDATE OF b' : ''}`,
    [id, principal.organizationId],
  );
  if (!rows[0]) throw notFound('booking');
  return rows[0];
}

export async function cancelBooking(db: Db, principal: Principal, id: string): Promise<BookingRow> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<BookingRow>(
      `${BOOKING_SELECT} WHERE b.id = $1 AND ${partiesVisibility(principal, 2)}`,
      [id, principal.organizationId],
    );
    if (!rows[0]) throw notFound('booking');
    // Lock order as everywhere (pilots/lifecycle.ts): pilot, booking (re-read under its lock), match, slot.
    await lockPilot(tx, rows[0].pilot_id);
    const b = (await tx.query<BookingRow>(`${BOOKING_SELECT} WHERE b.id = $1 FOR UPDATE OF b`, [id])).rows[0]!;
    if (b.status !== 'confirmed') {
      throw new AppError(409, 'invalid-transition', 'Conflict', 'The booking is already cancelled.', {
        currentStatus: b.status,
      });
    }
    await tx.query('SELECT id FROM matches WHERE id = $1 FOR UPDATE', [b.match_id]);
    const updated = await cancelConfirmed(tx, b, principal.userId, null);
    await settlePilot(tx, b.pilot_id);
    // The freed units go to the slot's waitlist in this transaction (the slot is still locked).
    await offerWaitlist(tx, b.slot_id);
    return updated;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Calendars
// ---------------------------------------------------------------------------------------------------------

/** How far back a calendar reaches; older bookings stay in reports but leave the feed. */
const CALENDAR_PAST_DAYS = 366;

async function calendarBookings(db: Db, testbedId: string) {
  const { rows } = await db.query<BookingRow>(
    `${BOOKING_SELECT} WHERE b.testbed_id = $1 AND b.status = 'confirmed' AND b.end_at > now() - make_interval(days => $2)
      ORDER BY b.start_at, b.id LIMIT 5000`,
    [testbedId, CALENDAR_PAST_DAYS],
  );
  return rows;
}

/**
 * The testbed's confirmed bookings. Its owner and operators see which pilot holds each; any other signed-in
 * organisation sees busy blocks, with the titles of its own pilots only.
 */
export async function testbedCalendarFor(db: Db, principal: Principal | undefined, testbedId: string): Promise<string> {
  const testbed = await getTestbed(db, testbedId);
  const full = !principal || canManageTestbed(principal, testbed);
  const rows = await calendarBookings(db, testbedId);
  return testbedCalendar(
    testbed,
    rows.map((b) => ({
      id: b.id,
      start: b.start_at,
      end: b.end_at,
      units: b.units,
      createdAt: b.created_at,
      pilotTitle: full || b.pilot_org === principal?.organizationId ? b.pilot_title : null,
    })),
    CALENDAR_HOST,
  );
}

const CALENDAR_HOST = 'ax-registry.gwangju.go.kr';

export async function createFeed(db: Db, principal: Principal, testbedId: string) {
  return db.transaction(async (tx) => {
    await getManagedTestbed(tx, principal, testbedId, 'update');
    const { token, hash } = newFeedToken();
    const { rows } = await tx.query<{ created_at: Date }>(
      `INSERT INTO calendar_feeds (testbed_id, token_hash, created_by) VALUES ($1, $2, $3)
       ON CONFLICT (testbed_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_by = EXCLUDED.created_by, created_at = date_trunc('milliseconds', now())
       RETURNING created_at`,
      [testbedId, hash, principal.userId],
    );
    return { token, createdAt: rows[0]!.created_at };
  });
}

export async function deleteFeed(db: Db, principal: Principal, testbedId: string): Promise<void> {
  await db.transaction(async (tx) => {
    await getManagedTestbed(tx, principal, testbedId, 'update');
    const r = await tx.query('DELETE FROM calendar_feeds WHERE testbed_id = $1', [testbedId]);
    if (!r.rowCount) throw notFound('calendar feed');
  });
}

/** The feed behind a secret URL; a wrong or revoked token is a 404 like a missing testbed. */
export async function feedCalendar(db: Db, testbedId: string, token: string): Promise<string> {
  const { rows } = await db.query('SELECT 1 FROM calendar_feeds WHERE testbed_id = $1 AND token_hash = $2', [
    testbedId,
    hashFeedToken(token),
  ]);
  if (!rows.length) throw notFound('calendar feed');
  return testbedCalendarFor(db, undefined, testbedId);
}
