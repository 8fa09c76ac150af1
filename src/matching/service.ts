/**
 * Matches: a startup asks for a slot (requested) or an allocation run proposes one (proposed → accepted by the
 * startup); the testbed owner or an operator approves, which books the slot in the same transaction.
 *
 * Guarantee 1 is PostgreSQL's to keep: approval raises slots.booked_units under the slot's row lock and the
 * CHECK slots_booked_units_check refuses any over-booking; the exclusion constraint bookings_pilot_no_overlap
 * refuses a second overlapping booking of one pilot. Those refusals become 409 problems here, with up to three
 * alternative candidates. Locks are always taken in one order — pilot, bookings, matches, slots; see
 * pilots/lifecycle.ts — so approvals, requests, withdrawals and cancellations do not deadlock one another. A
 * decision on a match reads it unlocked to learn its pilot, locks the pilot, then locks and re-checks the match.
 * The slot lock is FOR NO KEY UPDATE: it serialises bookers of one slot yet lets requests insert matches that
 * refer to it (their foreign key takes only FOR KEY SHARE).
 */
import type { Principal } from '../core/principal.js';
import type { Db, Queryable } from '../db/client.js';
import { isDbError } from '../db/errors.js';
import type { MatchListQuery as MatchListQueryParams, MatchRequest } from '../generated/schema-types.js';
import { AppError, conflict, forbidden, notFound, validationFailed, type FieldError } from '../core/errors.js';
import { decodeCursor, toPage } from '../core/cursor.js';
import { recordBookingConfirmed } from '../bookings/events.js';
import type { PilotStage } from '../generated/schema-types.js';
import { assertRequestable, lockPilot, settlePilot, transitionPilot } from '../pilots/lifecycle.js';
import { getVisiblePilot, stagesOf, type PilotRow } from '../pilots/queries.js';
import { ownsPilot } from '../pilots/visibility.js';
import { alternatives, needsOf, SCARCE, stageOf, toOffer } from './candidates.js';
import { assertNotBlocked, expireMatch, holdExpiry, offerWaitlist, releaseHold, takeHold } from './holds.js';
import { recordPartiesEvent } from './events.js';
import { toMatchDto } from './presenter.js';
import { EFFECTIVE_STATUS, getMatchRow, LIVE, MATCH_SELECT, partiesVisibility, type MatchRow } from './queries.js';
import {
  reasonsFor,
  scoreOffer,
  unsuitability,
  unsuitabilityText,
  type Lang,
  type SlotOffer,
  type Unsuitability,
} from './scoring.js';

export type MatchListQuery = MatchListQueryParams & { limit: number };

export { getMatchRow } from './queries.js';

/** A refusal decided inside a transaction; turned into a 409 with alternatives after the rollback. */
class Refusal extends Error {
  constructor(
    readonly kind: 'full' | 'unsuitable',
    readonly pilot: PilotRow,
    readonly slotId: string,
    readonly units: number,
    readonly problems: Unsuitability[],
    readonly stage?: PilotStage,
  ) {
    super(kind);
  }
}

async function refusalProblem(db: Queryable, r: Refusal, lang: Lang): Promise<AppError> {
  const alts = await alternatives(db, r.pilot, lang, r.slotId, r.units, r.stage);
  const reasons = r.problems.map((u) => unsuitabilityText(u, lang));
  return r.kind === 'full'
    ? conflict('slot-full', `The slot has too few units left. ${reasons.join(' ')}`.trim(), {
        slotId: r.slotId,
        reasons,
        alternatives: alts,
      })
    : conflict('slot-unsuitable', `The slot does not meet the pilot's requirements. ${reasons.join(' ')}`, {
        slotId: r.slotId,
        reasons,
        alternatives: alts,
      });
}

/** Maps what PostgreSQL refused (and in-transaction refusals) to problems a client can act on. */
export async function bookingProblem(
  db: Queryable,
  err: unknown,
  ctx: { pilot?: PilotRow; slotId?: string; units?: number; stage?: PilotStage; lang: Lang },
): Promise<unknown> {
  if (err instanceof Refusal) return refusalProblem(db, err, ctx.lang);
  if (isDbError(err, 'check_violation', 'pilot_budgets_committed_check') && ctx.pilot)
    return budgetProblem(db, ctx.pilot.id);
  const overPromised = ['slots_booked_units_check', 'slots_held_units_check'].some((c) =>
    isDbError(err, 'check_violation', c),
  );
  if (overPromised && ctx.pilot && ctx.slotId) {
    const { rows } = await db.query<{ free: number }>(
      'SELECT capacity - booked_units - held_units AS free FROM slots WHERE id = $1',
      [ctx.slotId],
    );
    const units = ctx.units ?? ctx.pilot.units;
    const problems: Unsuitability[] = [{ code: 'units', available: Math.max(0, rows[0]?.free ?? 0), needed: units }];
    return refusalProblem(db, new Refusal('full', ctx.pilot, ctx.slotId, units, problems, ctx.stage), ctx.lang);
  }
  if (isDbError(err, 'exclusion_violation', 'bookings_pilot_no_overlap')) {
    return conflict(
      'booking-overlap',
      'The pilot already holds a confirmed booking that overlaps this slot; nothing was booked.',
    );
  }
  if (isDbError(err, 'unique_violation', 'matches_live_pair_key')) {
    return conflict('match-exists', 'The pilot already has a live match for this slot.');
  }
  return err;
}

/** 409 budget-exceeded with the budget as it stands after the rollback. */
async function budgetProblem(db: Queryable, pilotId: string): Promise<AppError> {
  const { rows } = await db.query<{ credits: string; committed: string }>(
    'SELECT credits, committed FROM pilot_budgets WHERE pilot_id = $1',
    [pilotId],
  );
  const b = rows[0];
  const budget = b
    ? { credits: Number(b.credits), committed: Number(b.committed), remaining: Number(b.credits) - Number(b.committed) }
    : null;
  return conflict(
    'budget-exceeded',
    "Confirming this would take the pilot's committed credits past its budget; nothing was booked.",
    { budget },
  );
}

/**
 * Books units of a slot for a match inside tx (the caller holds the match, pilot and slot locks, in that order):
 * raises booked_units (the CHECK refuses over-booking), inserts the booking with its credits fixed now — units ×
 * hours × the testbed's creditRate, rounded up — and spends them from the pilot's budget, whose CHECK refuses
 * going past the credits. Returns the booking id.
 */
export async function bookMatch(
  tx: Queryable,
  m: { id: string; pilot_id: string; slot_id: string; testbed_id: string; units: number },
  offer: SlotOffer,
): Promise<string> {
  // What the match held becomes booked in one statement, so held + booked never passes capacity on the way.
  await tx.query(
    `UPDATE slots SET booked_units = booked_units + $2,
            held_units = held_units - (SELECT held_units FROM matches WHERE id = $3),
            version = version + 1, updated_at = now() WHERE id = $1`,
    [m.slot_id, m.units, m.id],
  );
  await tx.query('UPDATE matches SET held_units = 0 WHERE id = $1', [m.id]);
  const { rows } = await tx.query<{ id: string; credits: string }>(
    `INSERT INTO bookings (match_id, pilot_id, slot_id, testbed_id, units, start_at, end_at, credits)
     SELECT $1::uuid, $2::uuid, $3::uuid, t.id, $5::int, $6::timestamptz, $7::timestamptz,
            ceil($5::int * extract(epoch FROM $7::timestamptz - $6::timestamptz) / 3600 * t.credit_rate)::bigint
       FROM testbeds t WHERE t.id = $4::uuid
     RETURNING id, credits`,
    [m.id, m.pilot_id, m.slot_id, m.testbed_id, m.units, offer.start.toISOString(), offer.end.toISOString()],
  );
  const booking = rows[0]!;
  // No TypeScript budget check either: pilot_budgets_committed_check decides. A pilot without a row is not limited.
  await tx.query('UPDATE pilot_budgets SET committed = committed + $2, updated_at = now() WHERE pilot_id = $1', [
    m.pilot_id,
    booking.credits,
  ]);
  return booking.id;
}

/** The slot as an offer (testbed facts and utilisation in the pilot's window), optionally locked. */
export async function loadOffer(tx: Queryable, slotId: string, pilot: PilotRow, lock: boolean): Promise<SlotOffer> {
  const { rows } = await tx.query<Parameters<typeof toOffer>[0]>(
    `SELECT s.id AS slot_id, t.id AS testbed_id, t.name AS testbed_name, s.start_at, s.end_at, s.capacity,
            s.booked_units + s.held_units AS booked_units, t.status, t.domains, t.capabilities, t.lat, t.lng,
            (SELECT COALESCE(sum(x.booked_units * extract(epoch FROM x.end_at - x.start_at))
                    / NULLIF(sum(x.capacity * extract(epoch FROM x.end_at - x.start_at)), 0), 0)::float8
               FROM slots x WHERE x.testbed_id = t.id AND x.start_at >= $2 AND x.start_at < $3) AS utilization
       FROM slots s JOIN testbeds t ON t.id = s.testbed_id
      WHERE s.id = $1${lock ? ' FOR NO KEY UPDATE OF s' : ''}`,
    [slotId, pilot.earliest_start.toISOString(), pilot.latest_end.toISOString()],
  );
  const row = rows[0];
  if (!row) throw notFound('slot');
  return toOffer(row);
}

export async function listMatches(db: Db, principal: Principal, q: MatchListQuery) {
  const after = decodeCursor('matches', q.cursor, ['time', 'uuid']);
  const { rows } = await db.query<MatchRow>(
    `${MATCH_SELECT}
      WHERE ${partiesVisibility(principal, 1)}
        AND ($2::uuid IS NULL OR m.pilot_id = $2)
        AND ($3::uuid IS NULL OR m.testbed_id = $3)
        AND ($4::text IS NULL OR (${EFFECTIVE_STATUS}) = $4)
        AND ($5::uuid IS NULL OR m.allocation_run_id = $5)
        AND ($6::timestamptz IS NULL OR (m.created_at, m.id) < ($6::timestamptz, $7::uuid))
      ORDER BY m.created_at DESC, m.id DESC
      LIMIT $8`,
    [
      principal.organizationId,
      q.pilotId ?? null,
      q.testbedId ?? null,
      q.status ?? null,
      q.allocationRunId ?? null,
      after?.[0] ?? null,
      after?.[1] ?? null,
      q.limit + 1,
    ],
  );
  return rows;
}

const matchCursorKey = (r: MatchRow) => [r.created_at.toISOString(), r.id];

export function matchPage(rows: MatchRow[], limit: number, lang: Lang) {
  return toPage('matches', rows, limit, matchCursorKey, (r) => toMatchDto(r, lang));
}

/**
 * Expires the pilot's live matches past their time (events, holds freed, waitlists served) inside the caller's
 * transaction, which holds the pilot's lock. SKIP LOCKED: a match being decided or swept elsewhere is left alone.
 */
async function expireOverdue(tx: Queryable, pilotId: string, slotIds: string[]): Promise<void> {
  const { rows } = await tx.query<{ id: string; slot_id: string }>(
    `SELECT id, slot_id FROM matches
      WHERE pilot_id = $1 AND status IN ('requested', 'proposed', 'accepted') AND expires_at <= now()
      ORDER BY id FOR UPDATE SKIP LOCKED`,
    [pilotId],
  );
  // The expiring matches' slots and the slots asked for are locked together, in id order.
  await tx.query('SELECT id FROM slots WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE', [
    [...rows.map((m) => m.slot_id), ...slotIds],
  ]);
  for (const m of rows) await expireMatch(tx, m.id);
}

/** The stage a request names (400 when the pilot has none of that key), or the first stage the slot suits. */
function requestedStage(pilot: PilotRow, body: MatchRequest, offer: SlotOffer): PilotStage {
  if (body.stage) {
    const stage = stageOf(pilot, body.stage);
    if (!stage) throw validationFailed([{ pointer: '/body/stage', message: 'names no stage of the pilot' }]);
    return stage;
  }
  const stages = stagesOf(pilot);
  return stages.find((s) => unsuitability(needsOf(pilot, s), offer, body.units ?? s.units).length === 0) ?? stages[0]!;
}

export async function requestMatch(
  db: Db,
  principal: Principal,
  pilotId: string,
  body: MatchRequest,
  lang: Lang,
): Promise<MatchRow> {
  let pilot: PilotRow | undefined;
  let stage: PilotStage | undefined;
  const units = () => body.units ?? stage?.units ?? pilot?.units ?? 1;
  if (body.slotId === undefined)
    throw validationFailed([{ pointer: '/body/slotId', message: 'is required (or give sessions)' }]);
  const slotId = body.slotId;
  try {
    return await db.transaction(async (tx) => {
      pilot = await getVisiblePilot(tx, principal, pilotId, true);
      if (!ownsPilot(principal, pilot))
        throw forbidden('Only the organisation that registered this pilot may ask for slots.');
      assertRequestable(pilot);
      // The pilot's overdue matches expire for real (freeing their holds), so the one-live-match-per-slot index
      // lets a new one in. SKIP LOCKED: one the sweep is expiring right now is left to it.
      await expireOverdue(tx, pilot.id, [slotId]);
      // The slot stays locked to commit: the blackout check and the hold are decided under it.
      const offer = await loadOffer(tx, slotId, pilot, true);
      await assertNotBlocked(tx, slotId);
      // A second request for a slot the pilot already holds is a duplicate, whatever is left of the slot.
      const live = await tx.query(
        `SELECT 1 FROM matches
          WHERE pilot_id = $1 AND slot_id = $2 AND status IN ('requested', 'proposed', 'accepted')`,
        [pilot.id, slotId],
      );
      if (live.rows.length) throw conflict('match-exists', 'The pilot already has a live match for this slot.');
      stage = requestedStage(pilot, body, offer);
      const needs = needsOf(pilot, stage);
      const problems = unsuitability(needs, offer, units());
      if (problems.length) {
        throw new Refusal(
          problems.every((p) => p.code === 'units') ? 'full' : 'unsuitable',
          pilot,
          slotId,
          units(),
          problems,
          stage,
        );
      }
      const overlap = await tx.query(
        `SELECT 1 FROM bookings WHERE pilot_id = $1 AND status = 'confirmed' AND start_at < $3 AND end_at > $2 LIMIT 1`,
        [pilot.id, offer.start.toISOString(), offer.end.toISOString()],
      );
      if (overlap.rows.length) {
        throw conflict('booking-overlap', 'The pilot already holds a confirmed booking that overlaps this slot.');
      }
      const scored = scoreOffer(needs, offer, SCARCE);
      const expires = holdExpiry(offer.start);
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO matches (pilot_id, slot_id, testbed_id, units, status, origin, score, breakdown, reasons, expires_at, stage)
         VALUES ($1, $2, $3, $4, 'requested', 'request', $5, $6, $7, $8, $9) RETURNING id`,
        [
          pilot.id,
          offer.slotId,
          offer.testbedId,
          units(),
          scored.score,
          JSON.stringify(scored.breakdown),
          JSON.stringify({ ko: reasonsFor(scored, 'ko'), en: reasonsFor(scored, 'en') }),
          expires.toISOString(),
          stage.key,
        ],
      );
      // No TypeScript capacity check decides: slots_held_units_check refuses a hold past capacity.
      await takeHold(tx, rows[0]!.id, offer.slotId, units());
      if (pilot.status === 'submitted') await transitionPilot(tx, pilot, 'match');
      const row = await getMatchRow(tx, principal, rows[0]!.id);
      await recordPartiesEvent(tx, 'match.requested', toMatchDto(row), row.pilot_id, row.testbed_id, row.pilot_org);
      return row;
    });
  } catch (err) {
    throw await bookingProblem(db, err, { pilot, slotId: slotId, units: units(), ...(stage ? { stage } : {}), lang });
  }
}

function closedProblem(row: MatchRow, action: string): AppError {
  if (row.status === 'expired')
    return conflict(
      'match-expired',
      `The match expired${row.expires_at ? ` at ${row.expires_at.toISOString()}` : ''}; it cannot ${action}.`,
      { currentStatus: row.status },
    );
  return new AppError(409, 'invalid-transition', 'Conflict', `A ${row.status} match cannot ${action}.`, {
    currentStatus: row.status,
  });
}

/**
 * The pilot and the matches a decision acts on, locked in the lifecycle's order (pilots/lifecycle.ts): the match
 * is read unlocked to learn its pilot and group (neither ever changes), the pilot is locked, then the whole group
 * when the match belongs to one (in id order, so two decisions on one group never deadlock), else the match
 * alone; their statuses are read under those locks. 404 when the caller may not see the match.
 */
async function lockMembers(
  tx: Queryable,
  principal: Principal,
  id: string,
): Promise<{ row: MatchRow; members: MatchRow[]; pilot: PilotRow }> {
  const found = (
    await tx.query<{ group_id: string | null; pilot_id: string }>(
      'SELECT group_id, pilot_id FROM matches WHERE id = $1',
      [id],
    )
  ).rows[0];
  if (!found) throw notFound('match');
  const pilot = await lockPilot(tx, found.pilot_id);
  const group = found.group_id;
  if (group) await tx.query('SELECT id FROM matches WHERE group_id = $1 ORDER BY id FOR UPDATE', [group]);
  const row = await getMatchRow(tx, principal, id, true);
  const members = group
    ? (await tx.query<MatchRow>(`${MATCH_SELECT} WHERE m.group_id = $1 ORDER BY m.id`, [group])).rows
    : [row];
  return { row, members, pilot };
}

/**
 * Accepting a proposal makes it hold its units until approval, rejection or expiry (HOLD_TTL_SECONDS, never past
 * the slot's start). A proposal on a full or blocked slot cannot be accepted (409 slot-full with alternatives,
 * or slot-blocked). Lock order: the pilot, the matches, the slots in id order.
 */
export async function acceptMatch(db: Db, principal: Principal, id: string, lang: Lang = 'en'): Promise<MatchRow> {
  let pilot: PilotRow | undefined;
  let current: MatchRow | undefined;
  try {
    return await db.transaction(async (tx) => {
      const locked = await lockMembers(tx, principal, id);
      const { row, members } = locked;
      if (row.pilot_org !== principal.organizationId) {
        throw forbidden('Only the organisation that registered the pilot accepts a proposal.');
      }
      for (const m of members) {
        if (m.status !== 'proposed') throw closedProblem(m, 'be accepted (only proposals are accepted)');
      }
      pilot = locked.pilot;
      for (const m of [...members].sort((a, b) => (a.slot_id < b.slot_id ? -1 : a.slot_id > b.slot_id ? 1 : 0))) {
        current = m;
        await tx.query('SELECT id FROM slots WHERE id = $1 FOR NO KEY UPDATE', [m.slot_id]);
        await assertNotBlocked(tx, m.slot_id);
        await takeHold(tx, m.id, m.slot_id, m.units);
        await tx.query(
          `UPDATE matches SET status = 'accepted', accepted_at = now(), expires_at = $2, updated_at = now(),
                  version = version + 1 WHERE id = $1`,
          [m.id, holdExpiry(m.start_at).toISOString()],
        );
      }
      current = undefined;
      for (const m of members) {
        const u = await getMatchRow(tx, principal, m.id);
        await recordPartiesEvent(tx, 'match.accepted', toMatchDto(u), u.pilot_id, u.testbed_id, u.pilot_org);
      }
      return getMatchRow(tx, principal, id);
    });
  } catch (err) {
    const m = current;
    const stage = pilot && m ? stageOf(pilot, m.stage) : undefined;
    const where = m ? { slotId: m.slot_id, units: m.units } : {};
    throw await bookingProblem(db, err, { pilot, ...where, ...(stage ? { stage } : {}), lang });
  }
}

export async function rejectMatch(db: Db, principal: Principal, id: string): Promise<MatchRow> {
  return db.transaction(async (tx) => {
    const { row, members } = await lockMembers(tx, principal, id);
    if (!LIVE.includes(row.status)) throw closedProblem(row, 'be rejected');
    const live = members.filter((m) => LIVE.includes(m.status));
    for (const m of live) {
      await tx.query(
        `UPDATE matches SET status = 'rejected', decided_at = now(), decided_by = $2, updated_at = now(), version = version + 1 WHERE id = $1`,
        [m.id, principal.userId],
      );
    }
    // Freed holds go to the slots' waitlists in the same transaction (slots in id order).
    const freed: string[] = [];
    for (const m of [...live].sort((a, b) => (a.slot_id < b.slot_id ? -1 : a.slot_id > b.slot_id ? 1 : 0))) {
      const slotId = await releaseHold(tx, m.id);
      if (slotId) freed.push(slotId);
    }
    await settlePilot(tx, row.pilot_id);
    for (const slotId of freed) await offerWaitlist(tx, slotId);
    for (const m of live) {
      const updated = await getMatchRow(tx, principal, m.id);
      await recordPartiesEvent(
        tx,
        'match.rejected',
        toMatchDto(updated),
        updated.pilot_id,
        updated.testbed_id,
        updated.pilot_org,
      );
    }
    return getMatchRow(tx, principal, id);
  });
}

/** A session of a group that could not be booked; every booking of the group is rolled back with it. */
class SessionFailure extends Error {
  constructor(
    readonly member: MatchRow,
    readonly reason: unknown,
  ) {
    super('session failed');
  }
}

/**
 * Approves a match, or every match of its group in one transaction: all bookings are confirmed, or none (a
 * failure names the session and offers alternatives for its stage; no booking and no credit is left behind).
 * Lock order: the pilot, the group's matches (id order), the slots (id order).
 */
export async function approveMatch(
  db: Db,
  principal: Principal,
  id: string,
  lang: Lang,
): Promise<{ match: MatchRow; bookingId: string }> {
  let pilot: PilotRow | undefined;
  let grouped = false;
  try {
    return await db.transaction(async (tx) => {
      const locked = await lockMembers(tx, principal, id);
      const { row, members } = locked;
      grouped = row.group_id !== null;
      if (principal.orgKind !== 'operator' && members.some((m) => m.testbed_org !== principal.organizationId)) {
        throw forbidden(
          grouped
            ? 'Only a programme operator, or the organisation that owns every testbed of the group, approves a group.'
            : 'Only the organisation that owns the testbed, or a programme operator, approves a match.',
        );
      }
      for (const m of members) {
        if (m.status === 'proposed') throw closedProblem(m, 'be approved before the startup accepts it');
        if (m.status !== 'requested' && m.status !== 'accepted') throw closedProblem(m, 'be approved');
      }
      pilot = locked.pilot;
      assertRequestable(pilot);
      const p = pilot;
      const bookings = new Map<string, string>();
      for (const m of [...members].sort((a, b) => (a.slot_id < b.slot_id ? -1 : a.slot_id > b.slot_id ? 1 : 0))) {
        try {
          // The slot is locked from here to commit: booked units are raised under its row lock.
          const offer = await loadOffer(tx, m.slot_id, p, true);
          await assertNotBlocked(tx, m.slot_id);
          const stage = stageOf(p, m.stage) ?? stagesOf(p)[0]!;
          // An extension is an explicit choice beyond the stage (contract: exempt from its rules); the rest must suit.
          const problems = (m.origin === 'extension' ? [] : unsuitability(needsOf(p, stage), offer, m.units)).filter(
            (u) => u.code !== 'units',
          );
          if (problems.length) throw new Refusal('unsuitable', p, m.slot_id, m.units, problems, stage);
          // No TypeScript capacity or budget check: the CHECKs decide, under the locks.
          bookings.set(m.id, await bookMatch(tx, m, offer));
        } catch (err) {
          throw new SessionFailure(m, err);
        }
      }
      await tx.query(
        `UPDATE matches SET status = 'approved', decided_at = now(), decided_by = $2, updated_at = now(), version = version + 1 WHERE id = ANY($1::uuid[])`,
        [members.map((m) => m.id), principal.userId],
      );
      if (p.status === 'submitted' || p.status === 'matched') await transitionPilot(tx, p, 'book');
      for (const m of members) {
        const match = await getMatchRow(tx, principal, m.id);
        await recordBookingConfirmed(tx, bookings.get(m.id)!, match);
      }
      return { match: await getMatchRow(tx, principal, id), bookingId: bookings.get(id)! };
    });
  } catch (err) {
    if (!(err instanceof SessionFailure)) throw await bookingProblem(db, err, { pilot, lang });
    const m = err.member;
    const stage = pilot ? (stageOf(pilot, m.stage) ?? undefined) : undefined;
    const problem = await bookingProblem(db, err.reason, {
      pilot,
      slotId: m.slot_id,
      units: m.units,
      ...(stage ? { stage } : {}),
      lang,
    });
    if (!grouped || !(problem instanceof AppError)) return Promise.reject(problem);
    throw new AppError(
      problem.status,
      problem.code,
      problem.title,
      `Session ${m.stage} on slot ${m.slot_id} failed: ${problem.detail} No session of the group was booked.`,
      {
        ...problem.extra,
        failedSession: { matchId: m.id, slotId: m.slot_id, stage: m.stage },
      },
    );
  }
}

/** Why a group request is malformed: no sessions and slotId together, no slot twice, stages of the pilot. */
function groupFieldErrors(pilot: PilotRow, body: MatchRequest): FieldError[] {
  const errors: FieldError[] = [];
  for (const f of ['slotId', 'units', 'stage'] as const) {
    if (body[f] !== undefined) errors.push({ pointer: `/body/${f}`, message: 'is not allowed together with sessions' });
  }
  const seen = new Map<string, number>();
  body.sessions!.forEach((s, i) => {
    const first = seen.get(s.slotId);
    if (first !== undefined)
      errors.push({ pointer: `/body/sessions/${i}/slotId`, message: `repeats the slot of session ${first}` });
    else seen.set(s.slotId, i);
    if (!stageOf(pilot, s.stage))
      errors.push({ pointer: `/body/sessions/${i}/stage`, message: 'names no stage of the pilot' });
  });
  return errors;
}

/**
 * A group request: one `requested` match per session, sharing a groupId, all or none. Each session must suit
 * its stage and not overlap another session of the group or a booking the pilot holds. Credits are checked at
 * approval, not here.
 */
export async function requestGroup(
  db: Db,
  principal: Principal,
  pilotId: string,
  body: MatchRequest,
  lang: Lang,
): Promise<{ groupId: string; data: MatchRow[] }> {
  let pilot: PilotRow | undefined;
  let failed: { slotId: string; units: number; stage: PilotStage } | undefined;
  try {
    return await db.transaction(async (tx) => {
      pilot = await getVisiblePilot(tx, principal, pilotId, true);
      if (!ownsPilot(principal, pilot))
        throw forbidden('Only the organisation that registered this pilot may ask for slots.');
      const errors = groupFieldErrors(pilot, body);
      if (errors.length) throw validationFailed(errors, 'The group request is not valid.');
      assertRequestable(pilot);
      // Every session's slot is locked in id order (with those of expiring matches) before any hold, so two groups
      // never deadlock.
      await expireOverdue(
        tx,
        pilot.id,
        body.sessions!.map((x) => x.slotId),
      );
      const groupId = (await tx.query<{ id: string }>('SELECT gen_random_uuid() AS id')).rows[0]!.id;
      const offers: SlotOffer[] = [];
      const ids: string[] = [];
      for (const [i, s] of body.sessions!.entries()) {
        const stage = stageOf(pilot, s.stage)!;
        failed = { slotId: s.slotId, units: stage.units, stage };
        const offer = await loadOffer(tx, s.slotId, pilot, false);
        await assertNotBlocked(tx, s.slotId);
        const needs = needsOf(pilot, stage);
        const problems = unsuitability(needs, offer, stage.units);
        if (problems.length) {
          throw new Refusal(
            problems.every((p) => p.code === 'units') ? 'full' : 'unsuitable',
            pilot,
            s.slotId,
            stage.units,
            problems,
            stage,
          );
        }
        const clash = offers.findIndex((o) => o.start < offer.end && offer.start < o.end);
        if (clash >= 0)
          throw conflict(
            'booking-overlap',
            `Session ${i} overlaps session ${clash} of the same group; a pilot is never in two places at once.`,
          );
        const overlap = await tx.query(
          `SELECT 1 FROM bookings WHERE pilot_id = $1 AND status = 'confirmed' AND start_at < $3 AND end_at > $2 LIMIT 1`,
          [pilot.id, offer.start.toISOString(), offer.end.toISOString()],
        );
        if (overlap.rows.length) {
          throw conflict('booking-overlap', `Session ${i} overlaps a confirmed booking of the pilot.`);
        }
        offers.push(offer);
        const scored = scoreOffer(needs, offer, SCARCE);
        const expires = holdExpiry(offer.start);
        const { rows } = await tx.query<{ id: string }>(
          `INSERT INTO matches (pilot_id, slot_id, testbed_id, units, status, origin, score, breakdown, reasons, expires_at, stage, group_id)
           VALUES ($1, $2, $3, $4, 'requested', 'request', $5, $6, $7, $8, $9, $10) RETURNING id`,
          [
            pilot.id,
            offer.slotId,
            offer.testbedId,
            stage.units,
            scored.score,
            JSON.stringify(scored.breakdown),
            JSON.stringify({ ko: reasonsFor(scored, 'ko'), en: reasonsFor(scored, 'en') }),
            expires.toISOString(),
            stage.key,
            groupId,
          ],
        );
        await takeHold(tx, rows[0]!.id, offer.slotId, stage.units);
        ids.push(rows[0]!.id);
      }
      failed = undefined;
      if (pilot.status === 'submitted') await transitionPilot(tx, pilot, 'match');
      const data: MatchRow[] = [];
      for (const mid of ids) {
        const row = await getMatchRow(tx, principal, mid);
        await recordPartiesEvent(tx, 'match.requested', toMatchDto(row), row.pilot_id, row.testbed_id, row.pilot_org);
        data.push(row);
      }
      return { groupId, data };
    });
  } catch (err) {
    throw await bookingProblem(db, err, { pilot, ...(failed ?? {}), lang });
  }
}
