/**
 * Matches: a startup asks for a slot (requested) or an allocation run proposes one (proposed → accepted by the
 * startup); the testbed owner or an operator approves, which books the slot in the same transaction.
 *
 * Guarantee 1 is PostgreSQL's to keep: approval raises slots.booked_units under the slot's row lock and the
 * CHECK slots_booked_units_check refuses any over-booking; the exclusion constraint bookings_pilot_no_overlap
 * refuses a second overlapping booking of one pilot. Those refusals become 409 problems here, with up to three
 * alternative candidates. Locks are always taken in one order — match, pilot, slot — so approvals, requests
 * and cancellations do not deadlock one another. The slot lock is FOR NO KEY UPDATE: it serialises bookers of
 * one slot yet lets requests insert matches that refer to it (their foreign key takes only FOR KEY SHARE).
 */
import type { Principal } from '../auth/principal.js';
import type { Db, Queryable } from '../db/client.js';
import { isDbError } from '../db/errors.js';
import { recordEvent } from '../events/outbox.js';
import type { EventType } from '../events/catalog.js';
import type { MatchListQuery as MatchListQueryParams, MatchRequest } from '../generated/schema-types.js';
import { AppError, conflict, forbidden, notFound } from '../http/errors.js';
import { decodeCursor, toPage } from '../http/pagination.js';
import { getBookingRow, toBookingDto } from '../bookings/presenter.js';
import { PILOT_COLUMNS, type PilotRow } from '../pilots/presenter.js';
import { getVisiblePilot, transitionPilot } from '../pilots/service.js';
import { ownsPilot } from '../pilots/visibility.js';
import { alternatives, needsOf, SCARCE, toOffer } from './candidates.js';
import { EFFECTIVE_STATUS, LIVE, MATCH_SELECT, partiesVisibility, toMatchDto, type MatchRow } from './presenter.js';
import { reasonsFor, scoreOffer, unsuitability, unsuitabilityText, type Lang, type SlotOffer, type Unsuitability } from './scoring.js';

export type MatchListQuery = MatchListQueryParams & { limit: number };

const DAY = 86_400_000;
/** A request waits for a decision at most this long (and never past the slot's start). */
export const REQUEST_TTL_MS = 14 * DAY;

/** A refusal decided inside a transaction; turned into a 409 with alternatives after the rollback. */
class Refusal extends Error {
  constructor(
    readonly kind: 'full' | 'unsuitable',
    readonly pilot: PilotRow,
    readonly slotId: string,
    readonly units: number,
    readonly problems: Unsuitability[],
  ) {
    super(kind);
  }
}

async function refusalProblem(db: Queryable, r: Refusal, lang: Lang): Promise<AppError> {
  const alts = await alternatives(db, r.pilot, lang, r.slotId, r.units);
  const reasons = r.problems.map((u) => unsuitabilityText(u, lang));
  return r.kind === 'full'
    ? conflict('slot-full', `The slot has too few units left. ${reasons.join(' ')}`.trim(), { slotId: r.slotId, reasons, alternatives: alts })
    : conflict('slot-unsuitable', `The slot does not meet the pilot's requirements. ${reasons.join(' ')}`, { slotId: r.slotId, reasons, alternatives: alts });
}

/** Maps what PostgreSQL refused (and in-transaction refusals) to problems a client can act on. */
async function bookingProblem(db: Queryable, err: unknown, ctx: { pilot?: PilotRow; slotId?: string; units?: number; lang: Lang }): Promise<unknown> {
  if (err instanceof Refusal) return refusalProblem(db, err, ctx.lang);
  if (isDbError(err, 'check_violation', 'slots_booked_units_check') && ctx.pilot && ctx.slotId) {
    const { rows } = await db.query<{ capacity: number; booked_units: number }>('SELECT capacity, booked_units FROM slots WHERE id = $1', [ctx.slotId]);
    const s = rows[0];
    const units = ctx.units ?? ctx.pilot.units;
    return refusalProblem(db, new Refusal('full', ctx.pilot, ctx.slotId, units, [{ code: 'units', available: s ? s.capacity - s.booked_units : 0, needed: units }]), ctx.lang);
  }
  if (isDbError(err, 'exclusion_violation', 'bookings_pilot_no_overlap')) {
    return conflict('booking-overlap', 'The pilot already holds a confirmed booking that overlaps this slot; nothing was booked.');
  }
  if (isDbError(err, 'unique_violation', 'matches_live_pair_key')) {
    return conflict('match-exists', 'The pilot already has a live match for this slot.');
  }
  return err;
}

/** The slot as an offer (testbed facts and utilisation in the pilot's window), optionally locked. */
export async function loadOffer(tx: Queryable, slotId: string, pilot: PilotRow, lock: boolean): Promise<SlotOffer> {
  const { rows } = await tx.query<Parameters<typeof toOffer>[0]>(
    `SELECT s.id AS slot_id, t.id AS testbed_id, t.name AS testbed_name, s.start_at, s.end_at, s.capacity, s.booked_units,
            t.status, t.domains, t.capabilities, t.lat, t.lng,
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

export async function getMatchRow(db: Queryable, principal: Principal, id: string, lock = false): Promise<MatchRow> {
  const { rows } = await db.query<MatchRow>(
    `${MATCH_SELECT} WHERE m.id = $1 AND ${partiesVisibility(principal, 2)}${lock ? ' FOR UPDATE OF m' : ''}`,
    [id, principal.organizationId],
  );
  const row = rows[0];
  if (!row) throw notFound('match');
  return row;
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
    [principal.organizationId, q.pilotId ?? null, q.testbedId ?? null, q.status ?? null, q.allocationRunId ?? null, after?.[0] ?? null, after?.[1] ?? null, q.limit + 1],
  );
  return rows;
}

export const matchCursorKey = (r: MatchRow) => [r.created_at.toISOString(), r.id];

export function matchPage(rows: MatchRow[], limit: number, lang: Lang) {
  return toPage('matches', rows, limit, matchCursorKey, (r) => toMatchDto(r, lang));
}

/** Events about a match or booking are seen by both parties and operators. */
export function recordPartiesEvent(tx: Queryable, type: EventType, data: unknown, pilotId: string, testbedId: string, pilotOrg: string) {
  return recordEvent(tx, { type, data, visibility: 'parties', organizationId: pilotOrg, pilotId, testbedId });
}

/**
 * After a match or booking closes, the pilot's status follows what it still holds: a confirmed booking →
 * booked; a live match → matched; nothing → back to submitted, so it can be matched again. Only pilots that are
 * matched or booked move (withdrawn, active and completed pilots keep their status).
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

const REQUESTABLE = new Set(['submitted', 'matched', 'booked']);

function assertRequestable(pilot: PilotRow): void {
  if (!REQUESTABLE.has(pilot.status)) {
    throw new AppError(409, 'invalid-transition', 'Conflict', `A ${pilot.status} pilot cannot ask for or be booked into a slot${pilot.status === 'draft' ? '; submit it first' : ''}.`, {
      currentStatus: pilot.status,
      allowedFrom: [...REQUESTABLE],
    });
  }
}

async function lockPilot(tx: Queryable, id: string): Promise<PilotRow> {
  const { rows } = await tx.query<PilotRow>(`SELECT ${PILOT_COLUMNS} FROM pilots WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0]!;
}

export async function requestMatch(db: Db, principal: Principal, pilotId: string, body: MatchRequest, lang: Lang): Promise<MatchRow> {
  let pilot: PilotRow | undefined;
  const units = () => body.units ?? pilot?.units ?? 1;
  try {
    return await db.transaction(async (tx) => {
      pilot = await getVisiblePilot(tx, principal, pilotId, true);
      if (!ownsPilot(principal, pilot)) throw forbidden('Only the organisation that registered this pilot may ask for slots.');
      assertRequestable(pilot);
      const offer = await loadOffer(tx, body.slotId, pilot, false);
      const problems = unsuitability(needsOf(pilot), offer, units());
      if (problems.length) throw new Refusal(problems.every((p) => p.code === 'units') ? 'full' : 'unsuitable', pilot, body.slotId, units(), problems);
      const overlap = await tx.query(
        `SELECT 1 FROM bookings WHERE pilot_id = $1 AND status = 'confirmed' AND start_at < $3 AND end_at > $2 LIMIT 1`,
        [pilot.id, offer.start.toISOString(), offer.end.toISOString()],
      );
      if (overlap.rowCount) throw conflict('booking-overlap', 'The pilot already holds a confirmed booking that overlaps this slot.');
      // Expired live matches become expired for real, so the one-live-match-per-slot index lets a new one in.
      await tx.query(
        `UPDATE matches SET status = 'expired', updated_at = now() WHERE pilot_id = $1 AND status IN ('requested', 'proposed', 'accepted') AND expires_at <= now()`,
        [pilot.id],
      );
      const scored = scoreOffer(needsOf(pilot), offer, SCARCE);
      const expires = new Date(Math.min(offer.start.getTime(), Date.now() + REQUEST_TTL_MS));
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO matches (pilot_id, slot_id, testbed_id, units, status, origin, score, breakdown, reasons, expires_at)
         VALUES ($1, $2, $3, $4, 'requested', 'request', $5, $6, $7, $8) RETURNING id`,
        [pilot.id, offer.slotId, offer.testbedId, units(), scored.score, JSON.stringify(scored.breakdown),
          JSON.stringify({ ko: reasonsFor(scored, 'ko'), en: reasonsFor(scored, 'en') }), expires.toISOString()],
      );
      if (pilot.status === 'submitted') await transitionPilot(tx, pilot, 'match');
      const row = await getMatchRow(tx, principal, rows[0]!.id);
      await recordPartiesEvent(tx, 'match.requested', toMatchDto(row), row.pilot_id, row.testbed_id, row.pilot_org);
      return row;
    });
  } catch (err) {
    throw await bookingProblem(db, err, { pilot, slotId: body.slotId, units: units(), lang });
  }
}

function closedProblem(row: MatchRow, action: string): AppError {
  if (row.status === 'expired') return conflict('match-expired', `The match expired${row.expires_at ? ` at ${row.expires_at.toISOString()}` : ''}; it cannot ${action}.`, { currentStatus: row.status });
  return new AppError(409, 'invalid-transition', 'Conflict', `A ${row.status} match cannot ${action}.`, { currentStatus: row.status });
}

export async function acceptMatch(db: Db, principal: Principal, id: string): Promise<MatchRow> {
  return db.transaction(async (tx) => {
    const row = await getMatchRow(tx, principal, id, true);
    if (row.pilot_org !== principal.organizationId) throw forbidden('Only the organisation that registered the pilot accepts a proposal.');
    if (row.status !== 'proposed') throw closedProblem(row, 'be accepted (only proposals are accepted)');
    await tx.query(`UPDATE matches SET status = 'accepted', accepted_at = now(), updated_at = now(), version = version + 1 WHERE id = $1`, [id]);
    const updated = await getMatchRow(tx, principal, id);
    await recordPartiesEvent(tx, 'match.accepted', toMatchDto(updated), updated.pilot_id, updated.testbed_id, updated.pilot_org);
    return updated;
  });
}

export async function rejectMatch(db: Db, principal: Principal, id: string): Promise<MatchRow> {
  return db.transaction(async (tx) => {
    const row = await getMatchRow(tx, principal, id, true);
    if (!LIVE.includes(row.status)) throw closedProblem(row, 'be rejected');
    await tx.query(
      `UPDATE matches SET status = 'rejected', decided_at = now(), decided_by = $2, updated_at = now(), version = version + 1 WHERE id = $1`,
      [id, principal.userId],
    );
    await lockPilot(tx, row.pilot_id);
    await settlePilot(tx, row.pilot_id);
    const updated = await getMatchRow(tx, principal, id);
    await recordPartiesEvent(tx, 'match.rejected', toMatchDto(updated), updated.pilot_id, updated.testbed_id, updated.pilot_org);
    return updated;
  });
}

export async function approveMatch(db: Db, principal: Principal, id: string, lang: Lang): Promise<{ match: MatchRow; bookingId: string }> {
  let pilot: PilotRow | undefined;
  let slotId: string | undefined;
  let units: number | undefined;
  try {
    return await db.transaction(async (tx) => {
      const row = await getMatchRow(tx, principal, id, true);
      if (principal.orgKind !== 'operator' && row.testbed_org !== principal.organizationId) {
        throw forbidden('Only the organisation that owns the testbed, or a programme operator, approves a match.');
      }
      if (row.status === 'proposed') throw closedProblem(row, 'be approved before the startup accepts it');
      if (row.status !== 'requested' && row.status !== 'accepted') throw closedProblem(row, 'be approved');
      pilot = await lockPilot(tx, row.pilot_id);
      slotId = row.slot_id;
      units = row.units;
      assertRequestable(pilot);
      // The slot is locked from here to commit: booked units are raised under its row lock.
      const offer = await loadOffer(tx, row.slot_id, pilot, true);
      const problems = unsuitability(needsOf(pilot), offer, row.units).filter((u) => u.code !== 'units');
      if (problems.length) throw new Refusal('unsuitable', pilot, row.slot_id, row.units, problems);
      // No TypeScript capacity check: the CHECK on slots.booked_units decides, under the lock.
      await tx.query('UPDATE slots SET booked_units = booked_units + $2, version = version + 1, updated_at = now() WHERE id = $1', [row.slot_id, row.units]);
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO bookings (match_id, pilot_id, slot_id, testbed_id, units, start_at, end_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
        [row.id, row.pilot_id, row.slot_id, row.testbed_id, row.units, offer.start.toISOString(), offer.end.toISOString()],
      );
      await tx.query(
        `UPDATE matches SET status = 'approved', decided_at = now(), decided_by = $2, updated_at = now(), version = version + 1 WHERE id = $1`,
        [row.id, principal.userId],
      );
      if (pilot.status === 'submitted' || pilot.status === 'matched') await transitionPilot(tx, pilot, 'book');
      const match = await getMatchRow(tx, principal, id);
      const bookingId = rows[0]!.id;
      const booking = await getBookingRow(tx, bookingId);
      await recordPartiesEvent(tx, 'booking.confirmed', { booking: toBookingDto(booking), match: toMatchDto(match) }, match.pilot_id, match.testbed_id, match.pilot_org);
      return { match, bookingId };
    });
  } catch (err) {
    throw await bookingProblem(db, err, { pilot, slotId, units, lang });
  }
}
