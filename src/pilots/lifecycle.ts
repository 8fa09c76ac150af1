/**
 * The pilot lifecycle in one place: moving a pilot along its status machine (status.ts), settling its status
 * after a match or booking closes, and releasing what it holds — confirmed bookings cancelled (units freed,
 * credits refunded before the start), live matches rejected (holds freed), waiting waitlist entries cancelled,
 * the freed units offered to the waitlists. Services of other features call in here; this module calls no
 * feature service, so no import cycle runs through the lifecycle.
 *
 * Lock order. Every transaction that writes more than one of these rows takes their locks in this order:
 *
 *   pilot → bookings (id order) → matches (id order) → slots (id order)
 *
 * A writer that starts from a match or a booking (approve, accept, reject, cancel, extend) reads it unlocked to
 * learn its pilot (a match's or booking's pilot never changes), locks the pilot, then locks the match or booking
 * and re-checks its status. Slot locks are FOR NO KEY UPDATE, so inserts that refer to a slot (their foreign key
 * takes FOR KEY SHARE) do not queue behind them. Two writers go against the order and so never wait:
 * the hold expiry sweep finds due matches unlocked and takes pilot and match with SKIP LOCKED (a busy one is
 * left for the next sweep); the waitlist hand-over, which runs under a slot's lock, takes the waiting entries
 * and their pilots with SKIP LOCKED (an entry whose pilot is busy keeps waiting for the next freed units).
 * With one order, withdraw racing approve ends in one of two clean outcomes, never in a deadlock: the approval
 * commits first and the withdrawal cancels its booking, or the withdrawal commits first and the approval
 * answers 409 invalid-transition.
 */
import type { Queryable } from '../db/client.js';
import { AppError } from '../core/errors.js';
import { recordBookingCancelled } from '../bookings/events.js';
import { BOOKING_SELECT, type BookingRow } from '../bookings/queries.js';
import { recordMatchEvent } from '../matching/events.js';
import { offerWaitlist, releaseHold } from '../matching/holds.js';
import { PILOT_COLUMNS, type PilotRow } from './queries.js';
import { TRANSITIONS, type PilotAction, type PilotStatus } from './status.js';

/** The pilot row, locked FOR UPDATE: the first lock of every lifecycle transaction. */
export async function lockPilot(tx: Queryable, id: string): Promise<PilotRow> {
  const { rows } = await tx.query<PilotRow>(`SELECT ${PILOT_COLUMNS} FROM pilots WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0]!;
}

const REQUESTABLE = new Set<PilotStatus>(['submitted', 'matched', 'booked']);

/** 409 invalid-transition unless the pilot may ask for, wait for or be booked into a slot. */
export function assertRequestable(pilot: PilotRow): void {
  if (!REQUESTABLE.has(pilot.status)) {
    throw new AppError(
      409,
      'invalid-transition',
      'Conflict',
      `A ${pilot.status} pilot cannot ask for or be booked into a slot` +
        `${pilot.status === 'draft' ? '; submit it first' : ''}.`,
      {
        currentStatus: pilot.status,
        allowedFrom: [...REQUESTABLE],
      },
    );
  }
}

const VERB: Record<PilotAction, string> = {
  submit: 'be submitted',
  match: 'be matched',
  book: 'be booked',
  activate: 'become active',
  complete: 'be completed',
  withdraw: 'be withdrawn',
};

const STAMP: Partial<Record<PilotStatus, string>> = { submitted: 'submitted_at', withdrawn: 'withdrawn_at' };

/** Moves a pilot along the status machine inside tx; 409 when the move is not allowed from its state. */
export async function transitionPilot(tx: Queryable, row: PilotRow, action: PilotAction): Promise<PilotRow> {
  const t = TRANSITIONS[action];
  if (!t.from.includes(row.status)) {
    throw new AppError(409, 'invalid-transition', 'Conflict', `A ${row.status} pilot cannot ${VERB[action]}.`, {
      currentStatus: row.status,
      allowedFrom: t.from,
    });
  }
  const stamp = STAMP[t.to];
  const { rows } = await tx.query<PilotRow>(
    `UPDATE pilots SET status = $2, version = version + 1, updated_at = now()${stamp ? `, ${stamp} = now()` : ''}
      WHERE id = $1 RETURNING ${PILOT_COLUMNS}`,
    [row.id, t.to],
  );
  return rows[0]!;
}

/**
 * After a match or booking closes, the pilot's status follows what it still holds: a confirmed booking →
 * booked; a live match → matched; nothing → back to submitted, so it can be matched again. Only pilots that are
 * matched or booked move (withdrawn, active and completed pilots keep their status). The caller holds the
 * pilot's lock.
 */
export async function settlePilot(tx: Queryable, pilotId: string): Promise<void> {
  const target = `CASE
      WHEN EXISTS (SELECT 1 FROM bookings b WHERE b.pilot_id = p.id AND b.status = 'confirmed') THEN 'booked'
      WHEN EXISTS (SELECT 1 FROM matches m WHERE m.pilot_id = p.id AND m.status IN ('requested', 'proposed', 'accepted')
                     AND (m.expires_at IS NULL OR m.expires_at > now())) THEN 'matched'
      ELSE 'submitted' END`;
  await tx.query(
    `UPDATE pilots p SET status = ${target}, version = version + 1, updated_at = now()
      WHERE p.id = $1 AND p.status IN ('matched', 'booked') AND p.status <> ${target}`,
    [pilotId],
  );
}

/**
 * Cancels a confirmed booking inside tx: frees its units, refunds its credits when it had not started, cancels
 * its match and records booking.cancelled. The caller holds the pilot's, booking's and match's locks; this
 * takes the slot's. It neither settles the pilot nor serves the waitlist: callers decide.
 */
export async function cancelConfirmed(
  tx: Queryable,
  b: BookingRow,
  userId: string | null,
  reason: string | null,
): Promise<BookingRow> {
  await tx.query('SELECT id FROM slots WHERE id = $1 FOR NO KEY UPDATE', [b.slot_id]);
  await tx.query(
    'UPDATE slots SET booked_units = booked_units - $2, version = version + 1, updated_at = now() WHERE id = $1',
    [b.slot_id, b.units],
  );
  await tx.query(
    `UPDATE bookings SET status = 'cancelled', cancelled_at = now(), cancelled_by = $2, cancel_reason = $3
      WHERE id = $1`,
    [b.id, userId, reason],
  );
  await refundCredits(tx, b.id);
  await tx.query(`UPDATE matches SET status = 'cancelled', updated_at = now(), version = version + 1 WHERE id = $1`, [
    b.match_id,
  ]);
  return recordBookingCancelled(tx, b.id);
}

/**
 * Returns a just-cancelled booking's credits to its pilot's budget when it had not started yet; once started,
 * the time was held from others and stays spent. The caller holds the pilot's row lock (before the budget's).
 */
async function refundCredits(tx: Queryable, bookingId: string): Promise<void> {
  await tx.query(
    `WITH r AS (UPDATE bookings SET refunded = true WHERE id = $1 AND start_at > now() AND credits > 0
                RETURNING pilot_id, credits)
     UPDATE pilot_budgets pb SET committed = pb.committed - r.credits, updated_at = now()
       FROM r WHERE pb.pilot_id = r.pilot_id`,
    [bookingId],
  );
}

/**
 * Releases everything a pilot holds, inside the caller's transaction, which holds the pilot's lock: confirmed
 * bookings are cancelled (their units freed) and live matches rejected, each with its event; waiting entries
 * are cancelled; what was freed goes to the slots' waitlists. Meant for the pilot's withdrawal, so a withdrawn
 * pilot never keeps a slot. Locks follow the order above: bookings, their matches and the live ones, slots.
 */
export async function releasePilotHoldings(
  tx: Queryable,
  pilotId: string,
  userId: string,
  reason = 'pilot withdrawn',
): Promise<void> {
  const bookings = (
    await tx.query<BookingRow>(
      `${BOOKING_SELECT} WHERE b.pilot_id = $1 AND b.status = 'confirmed' ORDER BY b.id FOR UPDATE OF b`,
      [pilotId],
    )
  ).rows;
  const matches = (
    await tx.query<{ id: string; slot_id: string; live: boolean }>(
      `SELECT id, slot_id, status IN ('requested', 'proposed', 'accepted') AS live FROM matches
        WHERE (pilot_id = $1 AND status IN ('requested', 'proposed', 'accepted')) OR id = ANY($2::uuid[])
        ORDER BY id FOR UPDATE`,
      [pilotId, bookings.map((b) => b.match_id)],
    )
  ).rows;
  const live = matches.filter((m) => m.live);
  const slots = [...new Set([...bookings.map((b) => b.slot_id), ...live.map((m) => m.slot_id)])].sort();
  await tx.query('SELECT id FROM slots WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE', [slots]);
  const freed = new Set<string>();
  for (const b of bookings) {
    await cancelConfirmed(tx, b, userId, reason);
    freed.add(b.slot_id);
  }
  for (const m of live) {
    await tx.query(
      `UPDATE matches SET status = 'rejected', decided_at = now(), decided_by = $2, updated_at = now(),
              version = version + 1 WHERE id = $1`,
      [m.id, userId],
    );
    const slotId = await releaseHold(tx, m.id);
    if (slotId) freed.add(slotId);
    await recordMatchEvent(tx, 'match.rejected', m.id);
  }
  await tx.query(
    `UPDATE waitlist_entries SET status = 'cancelled', cancelled_at = now() WHERE pilot_id = $1 AND status = 'waiting'`,
    [pilotId],
  );
  // What the pilot gave up goes to the waitlists, slots in id order (all locked above).
  for (const slotId of [...freed].sort()) await offerWaitlist(tx, slotId);
}
