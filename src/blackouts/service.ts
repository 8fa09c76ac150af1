/**
 * Blackouts: time a testbed is out of service. Creating one, in one transaction: the blackout row, every
 * confirmed booking overlapping it cancelled (cancelReason "blackout", credits refunded, booking.cancelled), and
 * for each cancelled booking a re-offer to its pilot — the best alternative slot for the booking's stage as a
 * `proposed` match with origin `reoffer` (match.proposed) — when one exists. Deleting one hands the units of the
 * slots it blocked to their waitlists.
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
import { rankedCandidates } from '../matching/candidates.js';
import { recordMatchEvent } from '../matching/events.js';
import { holdExpiry, offerWaitlist } from '../matching/holds.js';
import { reasonsFor } from '../matching/scoring.js';
import { cancelConfirmed, settlePilot } from '../pilots/lifecycle.js';
import { getPilotRow, stagesOf } from '../pilots/queries.js';
import { canManageTestbed } from '../testbeds/access.js';
import { getManagedTestbed, getTestbed } from '../testbeds/service.js';
import { BLACKOUT_COLUMNS, toBlackoutDto, type BlackoutRow, type Displaced } from './presenter.js';

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

/** Re-offers the best alternative for a cancelled booking's stage, unless none exists; returns the match id. */
async function reoffer(
  tx: Queryable,
  b: BookingRow,
  taken: { slotId: string; start: Date; end: Date }[],
): Promise<string | null> {
  const pilot = await getPilotRow(tx, b.pilot_id);
  if (!pilot || !['submitted', 'matched', 'booked'].includes(pilot.status)) return null;
  const stageKey = (await tx.query<{ stage: string }>('SELECT stage FROM matches WHERE id = $1', [b.match_id])).rows[0]
    ?.stage;
  const stage = stagesOf(pilot).find((s) => s.key === stageKey) ?? stagesOf(pilot)[0]!;
  const live = new Set(
    (
      await tx.query<{ slot_id: string }>(
        `SELECT slot_id FROM matches WHERE pilot_id = $1 AND status IN ('requested', 'proposed', 'accepted')`,
        [pilot.id],
      )
    ).rows.map((r) => r.slot_id),
  );
  // The candidate query already leaves out blocked, full and overlapping-with-bookings slots (this blackout included).
  const ranked = await rankedCandidates(tx, pilot, 0, 10, { stage, units: b.units });
  const best = ranked.find(
    (c) =>
      !live.has(c.offer.slotId) &&
      !taken.some((t) => t.slotId === c.offer.slotId || (t.start < c.offer.end && c.offer.start < t.end)),
  );
  if (!best) return null;
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO matches (pilot_id, slot_id, testbed_id, units, status, origin, score, breakdown, reasons,
                          expires_at, stage)
     VALUES ($1, $2, $3, $4, 'proposed', 'reoffer', $5, $6, $7, $8, $9) RETURNING id`,
    [
      pilot.id,
      best.offer.slotId,
      best.offer.testbedId,
      b.units,
      best.score,
      JSON.stringify(best.breakdown),
      JSON.stringify({ ko: reasonsFor(best, 'ko'), en: reasonsFor(best, 'en') }),
      holdExpiry(best.offer.start).toISOString(),
      stage.key,
    ],
  );
  taken.push({ slotId: best.offer.slotId, start: best.offer.start, end: best.offer.end });
  await tx.query(
    `UPDATE pilots SET status = 'matched', version = version + 1, updated_at = now()
      WHERE id = $1 AND status = 'submitted'`,
    [pilot.id],
  );
  return (await recordMatchEvent(tx, 'match.proposed', rows[0]!.id)).id;
}

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
    const displaced: Displaced[] = [];
    const takenByPilot = new Map<string, { slotId: string; start: Date; end: Date }[]>();
    for (const b of [...bookings].sort(
      (x, y) => x.start_at.getTime() - y.start_at.getTime() || (x.id < y.id ? -1 : 1),
    )) {
      const taken = takenByPilot.get(b.pilot_id) ?? [];
      takenByPilot.set(b.pilot_id, taken);
      displaced.push({
        bookingId: b.id,
        pilotId: b.pilot_id,
        slotId: b.slot_id,
        reofferMatchId: await reoffer(tx, b, taken),
      });
    }
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
