/**
 * Holds, blackout checks and the waitlist hand-over: the primitives every path that takes or frees a slot's
 * units goes through, so the rule "held + booked never exceeds capacity" has one home.
 *
 * PostgreSQL keeps the rule: slots.held_units moves under the slot's row lock and the CHECK
 * slots_held_units_check (held_units >= 0 AND booked_units + held_units <= capacity) refuses whatever would
 * over-promise. matches.held_units records what a match holds, so a hold is released at most once.
 *
 * Lock order as everywhere (pilots/lifecycle.ts): pilot, bookings, matches, slots. Handing freed units to the
 * waitlist happens under the slot's lock (the freeing transaction holds it), so waiting entries are served one
 * transaction at a time, in seq order; the entries and their pilots come after the slot, against the order, so
 * they are taken with SKIP LOCKED and never waited for.
 */
import type { Queryable } from '../db/client.js';
import { conflict, type AppError } from '../core/errors.js';
import { recordMatchEvent } from './events.js';

let holdTtlMs = 172_800_000;

/** Set from HOLD_TTL_SECONDS when the app (or a worker) starts; every process reads the same variable. */
export function configureHolds(o: { holdTtlSeconds: number }): void {
  holdTtlMs = o.holdTtlSeconds * 1000;
}

/** When a hold taken now lapses: after the TTL, and never after the slot has started. */
export function holdExpiry(slotStart: Date, now = Date.now()): Date {
  return new Date(Math.min(slotStart.getTime(), now + holdTtlMs));
}

interface BlockedBy {
  blackoutId: string;
  reason: string;
}

/** SQL: the earliest blackout overlapping the slot aliased `alias`, as {blackoutId, reason}, or null. */
export const blockedBySql = (alias: string) =>
  `(SELECT json_build_object('blackoutId', bo.id, 'reason', bo.reason) FROM blackouts bo
     WHERE bo.testbed_id = ${alias}.testbed_id AND bo.start_at < ${alias}.end_at AND bo.end_at > ${alias}.start_at
     ORDER BY bo.start_at, bo.id LIMIT 1)`;

/** SQL: true when no blackout overlaps the slot aliased `alias`. */
export const notBlockedSql = (alias: string) =>
  `NOT EXISTS (SELECT 1 FROM blackouts bo
     WHERE bo.testbed_id = ${alias}.testbed_id AND bo.start_at < ${alias}.end_at AND bo.end_at > ${alias}.start_at)`;

async function blockedBy(tx: Queryable, slotId: string): Promise<BlockedBy | null> {
  const { rows } = await tx.query<{ blocked_by: BlockedBy | null }>(
    `SELECT ${blockedBySql('s')} AS blocked_by FROM slots s WHERE s.id = $1`,
    [slotId],
  );
  return rows[0]?.blocked_by ?? null;
}

const slotBlocked = (slotId: string, by: BlockedBy): AppError =>
  conflict(
    'slot-blocked',
    `The slot overlaps a blackout of its testbed (${by.reason}); it cannot be booked, requested or proposed.`,
    {
      slotId,
      blockedBy: by,
    },
  );

/** 409 slot-blocked when a blackout covers the slot. Call it under the slot's lock for a decision that sticks. */
export async function assertNotBlocked(tx: Queryable, slotId: string): Promise<void> {
  const by = await blockedBy(tx, slotId);
  if (by) throw slotBlocked(slotId, by);
}

/** The match now holds `units` of its slot; the CHECK refuses a hold past capacity (→ slot-full). */
export async function takeHold(tx: Queryable, matchId: string, slotId: string, units: number): Promise<void> {
  await tx.query(
    'UPDATE slots SET held_units = held_units + $2, version = version + 1, updated_at = now() WHERE id = $1',
    [slotId, units],
  );
  await tx.query('UPDATE matches SET held_units = $2 WHERE id = $1', [matchId, units]);
}

/**
 * Frees what the match holds (nothing if it holds nothing) and returns its slot id when units were freed. The
 * caller holds the match's row lock, so no two transactions release one hold.
 */
export async function releaseHold(tx: Queryable, matchId: string): Promise<string | null> {
  const { rows } = await tx.query<{ slot_id: string; held_units: number }>(
    'SELECT slot_id, held_units FROM matches WHERE id = $1',
    [matchId],
  );
  const m = rows[0];
  if (!m || m.held_units === 0) return null;
  await tx.query(
    'UPDATE slots SET held_units = held_units - $2, version = version + 1, updated_at = now() WHERE id = $1',
    [m.slot_id, m.held_units],
  );
  await tx.query('UPDATE matches SET held_units = 0 WHERE id = $1', [matchId]);
  return m.slot_id;
}

/**
 * Closes a live match as expired (event match.expired), frees its hold and offers the units to the slot's
 * waitlist. The caller holds the match's lock and, before this, the pilot's; it settles the pilot's status.
 */
export async function expireMatch(tx: Queryable, matchId: string): Promise<void> {
  await tx.query(`UPDATE matches SET status = 'expired', updated_at = now(), version = version + 1 WHERE id = $1`, [
    matchId,
  ]);
  const slotId = await releaseHold(tx, matchId);
  await recordMatchEvent(tx, 'match.expired', matchId);
  if (slotId) await offerWaitlist(tx, slotId);
}

const REQUESTABLE = ['submitted', 'matched', 'booked'];

interface WaitingRow {
  id: string;
  pilot_id: string;
  units: number;
  stage: string;
  pilot_status: string;
}

/**
 * Hands the slot's free units to its waitlist, first come first served: each waiting entry in seq order that
 * fits what is free (and whose pilot may still be booked: requestable, no confirmed booking overlapping, no live
 * match for the slot) gets a `requested` match holding its units, origin `waitlist`, event match.requested.
 * Runs inside the transaction that freed the units; takes the slot's lock (the caller may hold it already).
 * An entry or pilot locked by another transaction (the pilot being withdrawn, say) is passed over this time
 * rather than waited for, since its lock comes after the slot's. Nothing is offered for a blocked slot or one
 * that has started. Returns the matches created.
 */
export async function offerWaitlist(tx: Queryable, slotId: string): Promise<string[]> {
  const { rows } = await tx.query<{ id: string; testbed_id: string; start_at: Date; free: number; blocked: boolean }>(
    `SELECT s.id, s.testbed_id, s.start_at, s.capacity - s.booked_units - s.held_units AS free,
            NOT ${notBlockedSql('s')} AS blocked
       FROM slots s WHERE s.id = $1 FOR NO KEY UPDATE`,
    [slotId],
  );
  const slot = rows[0];
  if (!slot || slot.blocked || slot.free <= 0 || slot.start_at.getTime() <= Date.now()) return [];
  const waiting = (
    await tx.query<WaitingRow>(
      `SELECT w.id, w.pilot_id, w.units, w.stage, p.status AS pilot_status
         FROM waitlist_entries w JOIN pilots p ON p.id = w.pilot_id
        WHERE w.slot_id = $1 AND w.status = 'waiting' AND w.units <= $2
        ORDER BY w.seq FOR UPDATE OF w, p SKIP LOCKED`,
      [slotId, slot.free],
    )
  ).rows;
  let free = slot.free;
  const offered: string[] = [];
  for (const w of waiting) {
    if (w.units > free) continue;
    if (!REQUESTABLE.includes(w.pilot_status)) continue;
    const { rows: blockers } = await tx.query(
      `SELECT 1 FROM slots s WHERE s.id = $2 AND (
         EXISTS (SELECT 1 FROM bookings b WHERE b.pilot_id = $1 AND b.status = 'confirmed'
                    AND b.start_at < s.end_at AND b.end_at > s.start_at)
         OR EXISTS (SELECT 1 FROM matches m WHERE m.pilot_id = $1 AND m.slot_id = s.id
                       AND m.status IN ('requested', 'proposed', 'accepted')))`,
      [w.pilot_id, slotId],
    );
    if (blockers.length) continue;
    const { rows: created } = await tx.query<{ id: string }>(
      `INSERT INTO matches (pilot_id, slot_id, testbed_id, units, status, origin, expires_at, stage)
       VALUES ($1, $2, $3, $4, 'requested', 'waitlist', $5, $6) RETURNING id`,
      [w.pilot_id, slotId, slot.testbed_id, w.units, holdExpiry(slot.start_at).toISOString(), w.stage],
    );
    const matchId = created[0]!.id;
    await takeHold(tx, matchId, slotId, w.units);
    free -= w.units;
    await tx.query(`UPDATE waitlist_entries SET status = 'offered', match_id = $2, offered_at = now() WHERE id = $1`, [
      w.id,
      matchId,
    ]);
    await tx.query(
      `UPDATE pilots SET status = 'matched', version = version + 1, updated_at = now()
        WHERE id = $1 AND status = 'submitted'`,
      [w.pilot_id],
    );
    await recordMatchEvent(tx, 'match.requested', matchId);
    offered.push(matchId);
    if (free <= 0) break;
  }
  return offered;
}
