/**
 * Extending a booking into the next slot of its testbed: the first slot that starts at or after the booking's
 * end. A caller who may approve (the testbed owner, an operator) books it at once; the pilot's owner gets a
 * `requested` match (origin `extension`) holding the units until approved. Capacity (held + booked), credits and
 * "never in two places at once" are the database's to enforce, as for every booking; an extension is exempt from
 * the stage rules (the contract: an explicit choice beyond the stage's hours).
 */
import type { Principal } from '../core/principal.js';
import type { Db } from '../db/client.js';
import { AppError, conflict, forbidden, notFound, unprocessable } from '../core/errors.js';
import { assertNotBlocked, holdExpiry, takeHold } from '../matching/holds.js';
import { recordMatchEvent } from '../matching/events.js';
import { getMatchRow, partiesVisibility, type MatchRow } from '../matching/queries.js';
import type { Lang } from '../matching/scoring.js';
import { bookingProblem, bookMatch, loadOffer } from '../matching/service.js';
import { assertRequestable, lockPilot } from '../pilots/lifecycle.js';
import type { PilotRow } from '../pilots/queries.js';
import { recordBookingConfirmed } from './events.js';
import { BOOKING_SELECT, type BookingRow } from './queries.js';

export interface Extension {
  status: 'booked' | 'requested';
  match: MatchRow;
  booking: BookingRow | null;
}

const notAdjacent = (message: string) =>
  unprocessable('slot-not-adjacent', `The slot cannot extend this booking: it ${message}.`, {
    errors: [{ pointer: '/body/slotId', message }],
  });

export async function extendBooking(
  db: Db,
  principal: Principal,
  bookingId: string,
  slotId: string,
  lang: Lang,
): Promise<Extension> {
  let pilot: PilotRow | undefined;
  let units: number | undefined;
  try {
    return await db.transaction(async (tx) => {
      const { rows } = await tx.query<BookingRow>(
        `${BOOKING_SELECT} WHERE b.id = $1 AND ${partiesVisibility(principal, 2)}`,
        [bookingId, principal.organizationId],
      );
      if (!rows[0]) throw notFound('booking');
      // Lock order (pilots/lifecycle.ts): pilot, booking (re-read under its lock), slot.
      pilot = await lockPilot(tx, rows[0].pilot_id);
      const b = (await tx.query<BookingRow>(`${BOOKING_SELECT} WHERE b.id = $1 FOR UPDATE OF b`, [bookingId])).rows[0]!;
      const mayApprove = principal.orgKind === 'operator' || b.testbed_org === principal.organizationId;
      if (!mayApprove && b.pilot_org !== principal.organizationId)
        throw forbidden('Only the parties to the booking may extend it.');
      if (b.status !== 'confirmed') {
        throw new AppError(409, 'invalid-transition', 'Conflict', 'A cancelled booking cannot be extended.', {
          currentStatus: b.status,
          allowedFrom: ['confirmed'],
        });
      }
      units = b.units;
      assertRequestable(pilot);
      const slot = (
        await tx.query<{ id: string; testbed_id: string; start_at: Date }>(
          'SELECT id, testbed_id, start_at FROM slots WHERE id = $1 FOR NO KEY UPDATE',
          [slotId],
        )
      ).rows[0];
      if (!slot) throw notAdjacent('names no slot');
      if (slot.testbed_id !== b.testbed_id) throw notAdjacent("is not on the booking's testbed");
      const next = (
        await tx.query<{ id: string }>(
          'SELECT id FROM slots WHERE testbed_id = $1 AND start_at >= $2 ORDER BY start_at, id LIMIT 1',
          [b.testbed_id, b.end_at.toISOString()],
        )
      ).rows[0];
      if (next?.id !== slot.id) {
        throw notAdjacent(
          slot.start_at < b.end_at ? 'starts before the booking ends' : 'is not the next slot after the booking ends',
        );
      }
      await assertNotBlocked(tx, slotId);
      const live = await tx.query(
        `SELECT 1 FROM matches
          WHERE pilot_id = $1 AND slot_id = $2 AND status IN ('requested', 'proposed', 'accepted')`,
        [b.pilot_id, slotId],
      );
      if (live.rows.length) throw conflict('match-exists', 'The pilot already has a live match for this slot.');
      const stage =
        (await tx.query<{ stage: string }>('SELECT stage FROM matches WHERE id = $1', [b.match_id])).rows[0]?.stage ??
        'main';
      const { rows: created } = await tx.query<{ id: string }>(
        `INSERT INTO matches (pilot_id, slot_id, testbed_id, units, status, origin, expires_at, stage)
         VALUES ($1, $2, $3, $4, 'requested', 'extension', $5, $6) RETURNING id`,
        [b.pilot_id, slotId, b.testbed_id, b.units, holdExpiry(slot.start_at).toISOString(), stage],
      );
      const matchId = created[0]!.id;
      if (!mayApprove) {
        await takeHold(tx, matchId, slotId, b.units);
        await recordMatchEvent(tx, 'match.requested', matchId);
        return { status: 'requested', match: await getMatchRow(tx, principal, matchId), booking: null };
      }
      const offer = await loadOffer(tx, slotId, pilot, false);
      const newBooking = await bookMatch(
        tx,
        { id: matchId, pilot_id: b.pilot_id, slot_id: slotId, testbed_id: b.testbed_id, units: b.units },
        offer,
      );
      await tx.query(
        `UPDATE matches SET status = 'approved', decided_at = now(), decided_by = $2, updated_at = now(),
                version = version + 1 WHERE id = $1`,
        [matchId, principal.userId],
      );
      const match = await getMatchRow(tx, principal, matchId);
      const booking = await recordBookingConfirmed(tx, newBooking, match);
      return { status: 'booked', match, booking };
    });
  } catch (err) {
    throw await bookingProblem(db, err, { pilot, slotId, ...(units ? { units } : {}), lang });
  }
}
