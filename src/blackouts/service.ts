/**
 * Blackouts: time a testbed is out of service. Creating one, in one transaction: the blackout row, every
 * confirmed booking overlapping it cancelled (cancelReason "blackout", credits refunded, booking.cancelled), and
 * each affected pilot re-offered what it lost around the bookings it keeps (reoffer.ts): a single alternative slot
 * per lost session as a `proposed` match, or else the rest of its plan as a held `requested` group, origin
 * `reoffer` — when one exists. Deleting one hands the units of the slots it blocked to their waitlists.
 *
 * Races: requests, acceptances and approvals check for blackouts under the slot's row lock; a blackout locks
 * every slot it covers (after the pilots, bookings and matches it cancels: the lifecycle's lock order) before it
 * looks for bookings, so a booking either commits before and is cancelled here, or waits and is refused.
 */
import { DateTime } from 'luxon';
import type { Principal } from '../core/principal.js';
import type { Db, Queryable } from '../db/client.js';
import { recordEvent } from '../events/outbox.js';
import type { BlackoutCreate } from '../generated/schema-types.js';
import { notFound, validationFailed, type FieldError } from '../core/errors.js';
import { decodeCursor, toPage } from '../core/cursor.js';
import { parseInstant, queryWindow } from '../core/query-window.js';
import { BOOKING_SELECT, type BookingRow } from '../bookings/queries.js';
import { offerWaitlist } from '../matching/holds.js';
import { cancelConfirmed, settlePilot } from '../pilots/lifecycle.js';
import { canManageTestbed } from '../testbeds/access.js';
import { getManagedTestbed, getTestbed } from '../testbeds/service.js';
import { BLACKOUT_COLUMNS, toBlackoutDto, type BlackoutRow, type Displaced } from './presenter.js';
import { reofferPilot, type Reoffer } from './reoffer.js';

/** Pure: the blackout's instants, or pointers to what is wrong (end after start, at most one calendar year). */
function blackoutTimes(body: { start: string; end: string }): {
  start?: Date;
  end?: Date;
  errors: FieldError[];
} {
  const errors: FieldError[] = [];
  const start = parseInstant(body.start);
  const end = parseInstant(body.end);
  if (!start) errors.push({ pointer: '/body/start', message: 'is not a valid instant' });
  if (!end) errors.push({ pointer: '/body/end', message: 'is not a valid instant' });
  if (start && end) {
    if (!(start < end))
      errors.push({ pointer: '/body/end', message: 'must be later than start (blackouts are half-open [start, end))' });
    else if (end > DateTime.fromJSDate(start, { zone: 'utc' }).plus({ years: 1 }).toJSDate()) {
      errors.push({ pointer: '/body/end', message: 'must be at most one year after start; split a longer outage' });
    }
  }
  return errors.length ? { errors } : { start: start!, end: end!, errors };
}

const RECORDS_SHOWN = 'parties';

export async function createBlackout(
  db: Db,
  principal: Principal,
  testbedId: string,
  body: BlackoutCreate,
): Promise<BlackoutRow> {
  const times = blackoutTimes(body);
  if (times.errors.length) throw validationFailed(times.errors, 'The blackout is not valid.');
  const start = times.start!.toISOString();
  const end = times.end!.toISOString();
  return db.transaction(async (tx) => {
    // Blackouts of one testbed are created one at a time. FOR NO KEY UPDATE, not FOR UPDATE: an approval holding
    // a pilot's lock inserts a booking whose foreign key takes FOR KEY SHARE on the testbed, and must not queue here.
    const testbed = await getManagedTestbed(tx, principal, testbedId, 'no key update');
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO blackouts (testbed_id, start_at, end_at, reason, created_by)
       VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [testbedId, start, end, body.reason, principal.userId],
    );
    const id = rows[0]!.id;
    const overlapping = `b.testbed_id = $1 AND b.status = 'confirmed' AND b.start_at < $3 AND b.end_at > $2`;
    const seen = (
      await tx.query<BookingRow>(`${BOOKING_SELECT} WHERE ${overlapping} ORDER BY b.id`, [testbedId, start, end])
    ).rows;
    // Lock order (pilots/lifecycle.ts): pilots, bookings, matches, slots (each in id order).
    await tx.query('SELECT id FROM pilots WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [
      seen.map((b) => b.pilot_id),
    ]);
    await tx.query('SELECT id FROM bookings WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [
      seen.map((b) => b.id),
    ]);
    await tx.query('SELECT id FROM matches WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [
      seen.map((b) => b.match_id),
    ]);
    await tx.query(
      'SELECT id FROM slots WHERE testbed_id = $1 AND start_at < $3 AND end_at > $2 ORDER BY id FOR NO KEY UPDATE',
      [testbedId, start, end],
    );
    // Bookings confirmed before the slot locks were taken are seen now too. Their pilots' locks come after the slots
    // here, the one place against the order; it takes an approval committing in the instant between the two reads.
    const bookings = (
      await tx.query<BookingRow>(`${BOOKING_SELECT} WHERE ${overlapping} ORDER BY b.id FOR UPDATE OF b`, [
        testbedId,
        start,
        end,
      ])
    ).rows;
    for (const b of bookings) {
      await cancelConfirmed(tx, b, principal.userId, 'blackout');
      await settlePilot(tx, b.pilot_id);
    }
    const lost = [...bookings].sort((x, y) => x.start_at.getTime() - y.start_at.getTime() || (x.id < y.id ? -1 : 1));
    const byPilot = new Map<string, BookingRow[]>();
    for (const b of lost) byPilot.set(b.pilot_id, [...(byPilot.get(b.pilot_id) ?? []), b]);
    const made = new Map<string, Reoffer>();
    for (const [pilotId, theirs] of byPilot) {
      for (const [bookingId, r] of await reofferPilot(tx, pilotId, theirs)) made.set(bookingId, r);
    }
    const displaced: Displaced[] = lost.map((b) => ({
      bookingId: b.id,
      pilotId: b.pilot_id,
      slotId: b.slot_id,
      reofferMatchId: made.get(b.id)?.matchId ?? null,
      reofferGroupId: made.get(b.id)?.groupId ?? null,
    }));
    const row = (
      await tx.query<BlackoutRow>(`UPDATE blackouts SET displaced = $2 WHERE id = $1 RETURNING ${BLACKOUT_COLUMNS}`, [
        id,
        JSON.stringify(displaced),
      ])
    ).rows[0]!;
    await recordEvent(tx, {
      type: 'blackout.created',
      data: toBlackoutDto(row, true),
      visibility: RECORDS_SHOWN,
      organizationId: testbed.organization_id,
      testbedId,
    });
    return row;
  });
}

export type BlackoutListQuery = { from?: string; to?: string; limit: number; cursor?: string };

export async function listBlackouts(db: Db, principal: Principal, testbedId: string, q: BlackoutListQuery) {
  const window = queryWindow(q.from, q.to);
  const testbed = await getTestbed(db, testbedId);
  const list = `blackouts:${testbedId}`;
  const after = decodeCursor(list, q.cursor, ['time', 'uuid']);
  const { rows } = await db.query<BlackoutRow>(
    `SELECT ${BLACKOUT_COLUMNS} FROM blackouts
      WHERE testbed_id = $1 AND ($2::timestamptz IS NULL OR end_at > $2) AND ($3::timestamptz IS NULL OR start_at < $3)
        AND ($4::timestamptz IS NULL OR (start_at, id) > ($4::timestamptz, $5::uuid))
      ORDER BY start_at, id LIMIT $6`,
    [
      testbedId,
      window.from?.toISOString() ?? null,
      window.to?.toISOString() ?? null,
      after?.[0] ?? null,
      after?.[1] ?? null,
      q.limit + 1,
    ],
  );
  const full = canManageTestbed(principal, testbed);
  return toPage(
    list,
    rows,
    q.limit,
    (r) => [r.start_at.toISOString(), r.id],
    (r) => toBlackoutDto(r, full),
  );
}

async function getBlackoutRow(db: Queryable, id: string): Promise<BlackoutRow> {
  const row = (await db.query<BlackoutRow>(`SELECT ${BLACKOUT_COLUMNS} FROM blackouts WHERE id = $1`, [id])).rows[0];
  if (!row) throw notFound('blackout');
  return row;
}

/** Removes a blackout; the slots it blocked (unless another blackout blocks them) serve their waitlists. */
export async function deleteBlackout(db: Db, principal: Principal, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const found = await getBlackoutRow(tx, id);
    const testbed = await getManagedTestbed(tx, principal, found.testbed_id, 'update');
    const row = (await tx.query<BlackoutRow>(`DELETE FROM blackouts WHERE id = $1 RETURNING ${BLACKOUT_COLUMNS}`, [id]))
      .rows[0];
    if (!row) throw notFound('blackout');
    await recordEvent(tx, {
      type: 'blackout.deleted',
      data: toBlackoutDto(row, true),
      visibility: RECORDS_SHOWN,
      organizationId: testbed.organization_id,
      testbedId: row.testbed_id,
    });
    const slots = (
      await tx.query<{ id: string }>(
        'SELECT id FROM slots WHERE testbed_id = $1 AND start_at < $3 AND end_at > $2 AND start_at > now() ORDER BY id',
        [row.testbed_id, row.start_at.toISOString(), row.end_at.toISOString()],
      )
    ).rows;
    for (const s of slots) await offerWaitlist(tx, s.id);
  });
}
