/**
 * Re-offers to a pilot whose confirmed bookings a blackout cancelled, inside the blackout's transaction. The pilot's
 * other confirmed bookings stay confirmed ("kept"); only the lost sessions are replaced, and whatever replaces them
 * must keep the plan whole around the kept ones: the `after` order and gaps, no overlap, and each stage's hours
 * covered without a spare slot (plans.ts).
 *
 *  1. Per lost session, in start order: the best-ranked single slot of its stage that keeps the plan whole with the
 *     kept sessions and the alternatives already chosen. When every lost session has one, each becomes a
 *     `proposed` match, origin `reoffer` (match.proposed), as for a first-release pilot: nothing is held.
 *  2. Otherwise the best complete plan of the lost stages around the kept sessions (the plan search, ranked as
 *     `GET /plans` ranks) becomes a `proposed` group, origin `reoffer` (match.proposed per match): the startup
 *     accepts it whole, which takes the holds, and an approval books it whole, like any group.
 *  3. Without a plan, the lost sessions that step 1 found a slot for still get it as a proposal; the rest none.
 *
 * Locks: the blackout holds the pilot, the cancelled bookings and matches and its own testbed's slots. A proposal
 * holds nothing, so a plan's slots are read, not locked: no step here goes against the lifecycle's lock order.
 */
import type { Queryable } from '../db/client.js';
import type { BookingRow } from '../bookings/queries.js';
import type { PilotStage } from '../generated/schema-types.js';
import { needsOf, rankedCandidates, SCARCE, suitableOffers } from '../matching/candidates.js';
import { recordMatchEvent } from '../matching/events.js';
import { holdExpiry, notBlockedSql } from '../matching/holds.js';
import { creditRates } from '../matching/plan-service.js';
import { coversWithoutSpare, creditsFor, keepsOrder, searchPlans, type PlanSlot } from '../matching/plans.js';
import { rankOffers, reasonsFor, type Scored } from '../matching/scoring.js';
import { budgetOf, getPilotRow, stagesOf, type PilotRow } from '../pilots/queries.js';

const HOUR = 3_600_000;
/** Single alternatives looked at per lost session, and earliest suitable slots per testbed fetched for a plan. */
const SINGLE_DEPTH = 40;
const PLAN_DEPTH = 60;

type Span = { start: number; end: number };

/** What a lost booking was re-offered: a proposal, or a match of a re-offered group (null: nothing). */
export interface Reoffer {
  matchId: string | null;
  groupId: string | null;
}

const NONE: Reoffer = { matchId: null, groupId: null };
const spanOf = (o: { start: Date; end: Date }): Span => ({ start: o.start.getTime(), end: o.end.getTime() });
const overlaps = (a: Span, b: Span) => a.start < b.end && b.start < a.end;

/** The pilot's sessions by stage: its confirmed bookings (those the blackout spared). */
async function keptSessions(tx: Queryable, pilotId: string): Promise<Map<string, Span[]>> {
  const { rows } = await tx.query<{ stage: string; start_at: Date; end_at: Date }>(
    `SELECT m.stage, b.start_at, b.end_at FROM bookings b JOIN matches m ON m.id = b.match_id
      WHERE b.pilot_id = $1 AND b.status = 'confirmed'`,
    [pilotId],
  );
  const out = new Map<string, Span[]>();
  for (const r of rows) out.set(r.stage, [...(out.get(r.stage) ?? []), spanOf({ start: r.start_at, end: r.end_at })]);
  return out;
}

const withSession = (byStage: ReadonlyMap<string, Span[]>, stage: string, s: Span) =>
  new Map(byStage).set(stage, [...(byStage.get(stage) ?? []), s]);

/** Whether adding `s` to `stage` keeps the plan whole: order and gaps, and the stage's hours without a spare. */
function keepsPlan(stages: PilotStage[], byStage: ReadonlyMap<string, Span[]>, stage: PilotStage, s: Span): boolean {
  const next = withSession(byStage, stage.key, s);
  return keepsOrder(stages, next) && coversWithoutSpare(stage.hours, next.get(stage.key)!);
}

async function propose(tx: Queryable, pilot: PilotRow, b: BookingRow, stage: string, best: Scored): Promise<string> {
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
      stage,
    ],
  );
  return rows[0]!.id;
}

/** The best complete plan of the lost stages around the kept sessions, with each slot's scoring; null if none. */
async function bestPlan(
  tx: Queryable,
  pilot: PilotRow,
  stages: PilotStage[],
  kept: ReadonlyMap<string, Span[]>,
  lostStages: ReadonlySet<string>,
  live: ReadonlySet<string>,
): Promise<{ sessions: (PlanSlot & { stage: string })[]; scored: Map<string, Scored> } | null> {
  const scored = new Map<string, Scored>();
  const ranked = new Map<string, Scored[]>();
  for (const stage of stages.filter((s) => lostStages.has(s.key))) {
    const offers = await suitableOffers(tx, pilot, { stage, depth: PLAN_DEPTH });
    const r = rankOffers(needsOf(pilot, stage), offers, SCARCE, stage.units).filter((s) => !live.has(s.offer.slotId));
    ranked.set(stage.key, r);
  }
  const rates = await creditRates(tx, [...new Set([...ranked.values()].flat().map((s) => s.offer.testbedId))]);
  const slotsByStage = new Map<string, PlanSlot[]>();
  for (const stage of stages) {
    const r = ranked.get(stage.key) ?? [];
    for (const s of r) scored.set(s.offer.slotId, s);
    slotsByStage.set(
      stage.key,
      r.map((s) => {
        const { start, end } = spanOf(s.offer);
        const rate = rates.get(s.offer.testbedId) ?? 1;
        const credits = creditsFor(stage.units, (end - start) / HOUR, rate);
        return { slotId: s.offer.slotId, testbedId: s.offer.testbedId, start, end, score: s.score, credits };
      }),
    );
  }
  const planStages = stages.map((s) => ({
    key: s.key,
    hours: s.hours,
    after: s.after,
    kept: kept.get(s.key) ?? [],
    open: lostStages.has(s.key),
  }));
  const budget = budgetOf(pilot);
  const plan = searchPlans(planStages, slotsByStage, budget ? budget.remaining : null, 1)[0];
  return plan && plan.sessions.length ? { sessions: plan.sessions, scored } : null;
}

/**
 * The plan as a `proposed` group, or null when a slot no longer has the units or is blocked (read again here: the
 * ranking saw the slots before this blackout's other pilots were served). Nothing is held until the startup accepts.
 */
async function proposeGroup(
  tx: Queryable,
  pilot: PilotRow,
  stages: PilotStage[],
  plan: NonNullable<Awaited<ReturnType<typeof bestPlan>>>,
): Promise<{ groupId: string; matches: { id: string; stage: string }[] } | null> {
  const units = new Map(stages.map((s) => [s.key, s.units]));
  const ids = plan.sessions.map((s) => s.slotId);
  const { rows: free } = await tx.query<{ id: string; free: number; open: boolean }>(
    `SELECT s.id, s.capacity - s.booked_units - s.held_units AS free, ${notBlockedSql('s')} AS open
       FROM slots s WHERE s.id = ANY($1::uuid[])`,
    [ids],
  );
  const byId = new Map(free.map((r) => [r.id, r]));
  if (plan.sessions.some((s) => !byId.get(s.slotId)?.open || byId.get(s.slotId)!.free < units.get(s.stage)!)) {
    return null;
  }
  const groupId = (await tx.query<{ id: string }>('SELECT gen_random_uuid() AS id')).rows[0]!.id;
  const matches: { id: string; stage: string }[] = [];
  for (const s of plan.sessions) {
    const sc = plan.scored.get(s.slotId)!;
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO matches (pilot_id, slot_id, testbed_id, units, status, origin, score, breakdown, reasons,
                            expires_at, stage, group_id)
       VALUES ($1, $2, $3, $4, 'proposed', 'reoffer', $5, $6, $7, $8, $9, $10) RETURNING id`,
      [
        pilot.id,
        s.slotId,
        s.testbedId,
        units.get(s.stage)!,
        sc.score,
        JSON.stringify(sc.breakdown),
        JSON.stringify({ ko: reasonsFor(sc, 'ko'), en: reasonsFor(sc, 'en') }),
        holdExpiry(new Date(s.start)).toISOString(),
        s.stage,
        groupId,
      ],
    );
    matches.push({ id: rows[0]!.id, stage: s.stage });
  }
  for (const m of matches) await recordMatchEvent(tx, 'match.proposed', m.id);
  return { groupId, matches };
}

/**
 * Re-offers what the pilot lost (its bookings the blackout cancelled, in start order); returns, per booking id, the
 * re-offer made. The caller holds the pilot's lock and has cancelled the bookings.
 */
export async function reofferPilot(tx: Queryable, pilotId: string, lost: BookingRow[]): Promise<Map<string, Reoffer>> {
  const out = new Map<string, Reoffer>(lost.map((b) => [b.id, NONE]));
  const pilot = await getPilotRow(tx, pilotId);
  if (!pilot || !['submitted', 'matched', 'booked'].includes(pilot.status)) return out;
  const stages = stagesOf(pilot);
  const { rows: stageRows } = await tx.query<{ id: string; stage: string }>(
    'SELECT id, stage FROM matches WHERE id = ANY($1::uuid[])',
    [lost.map((b) => b.match_id)],
  );
  const stageOfMatch = new Map(stageRows.map((r) => [r.id, r.stage]));
  const stageOfBooking = (b: BookingRow) => stages.find((s) => s.key === stageOfMatch.get(b.match_id)) ?? stages[0]!;
  const live = new Set(
    (
      await tx.query<{ slot_id: string }>(
        `SELECT slot_id FROM matches WHERE pilot_id = $1 AND status IN ('requested', 'proposed', 'accepted')`,
        [pilot.id],
      )
    ).rows.map((r) => r.slot_id),
  );
  const kept = await keptSessions(tx, pilot.id);

  // 1. A single slot per lost session, each keeping the plan whole with the kept sessions and those chosen before.
  let chosen = kept;
  const singles = new Map<string, Scored>();
  const taken: { slotId: string; span: Span }[] = [];
  for (const b of lost) {
    const stage = stageOfBooking(b);
    // The candidate query leaves out blocked, full and overlapping-with-bookings slots (this blackout's included).
    const ranked = await rankedCandidates(tx, pilot, 0, SINGLE_DEPTH, { stage, units: b.units });
    const best = ranked.find(
      (c) =>
        !live.has(c.offer.slotId) &&
        !taken.some((t) => t.slotId === c.offer.slotId || overlaps(t.span, spanOf(c.offer))) &&
        keepsPlan(stages, chosen, stage, spanOf(c.offer)),
    );
    if (!best) continue;
    singles.set(b.id, best);
    taken.push({ slotId: best.offer.slotId, span: spanOf(best.offer) });
    chosen = withSession(chosen, stage.key, spanOf(best.offer));
  }

  // 2. Not every lost session has one: the best whole plan of the lost stages around the kept sessions.
  if (singles.size < lost.length) {
    const lostStages = new Set(lost.map((b) => stageOfBooking(b).key));
    const plan = await bestPlan(tx, pilot, stages, kept, lostStages, live);
    const group = plan ? await proposeGroup(tx, pilot, stages, plan) : null;
    if (group) {
      for (const b of lost) {
        const m = group.matches.find((x) => x.stage === stageOfBooking(b).key) ?? group.matches[0]!;
        out.set(b.id, { matchId: m.id, groupId: group.groupId });
      }
      await markMatched(tx, pilot.id);
      return out;
    }
  }

  // 1 (or 3, without a plan): the single alternatives found, as proposals.
  for (const b of lost) {
    const best = singles.get(b.id);
    if (!best) continue;
    const id = await propose(tx, pilot, b, stageOfBooking(b).key, best);
    await recordMatchEvent(tx, 'match.proposed', id);
    out.set(b.id, { matchId: id, groupId: null });
  }
  if (singles.size) await markMatched(tx, pilot.id);
  return out;
}

async function markMatched(tx: Queryable, pilotId: string): Promise<void> {
  await tx.query(
    `UPDATE pilots SET status = 'matched', version = version + 1, updated_at = now()
      WHERE id = $1 AND status = 'submitted'`,
    [pilotId],
  );
}
