/**
 * Plans for a pilot: each stage's suitable slots come from the candidate query (hard filters in SQL), are
 * scored like candidates, priced at today's credit rates, and handed to the pure search (plans.ts). When no
 * plan exists, `unmet` counts per stage how many slots each hard filter removed (one SQL aggregate a stage).
 */
import type { Queryable } from '../db/client.js';
import type { PilotStage, PlanList, UnmetStage } from '../generated/schema-types.js';
import { budgetOf, stagesOf, type PilotRow } from '../pilots/queries.js';
import { needsOf, SCARCE, suitableOffers } from './candidates.js';
import { creditsFor, searchPlans, type PlanSlot } from './plans.js';
import { rankOffers, type Lang } from './scoring.js';
import { notBlockedSql } from './holds.js';

/** Earliest suitable slots per testbed and stage fetched, and best-scored kept, for the search. */
const PLAN_DEPTH = 60;
const PLAN_SLOTS = 400;

const HOUR = 3_600_000;

/** Credits per unit-hour of each testbed named (today's rates). */
export async function creditRates(db: Queryable, testbedIds: string[]): Promise<Map<string, number>> {
  if (!testbedIds.length) return new Map();
  const { rows } = await db.query<{ id: string; credit_rate: number }>(
    'SELECT id, credit_rate FROM testbeds WHERE id = ANY($1::uuid[])',
    [testbedIds],
  );
  return new Map(rows.map((r) => [r.id, r.credit_rate]));
}

export async function plansFor(db: Queryable, pilot: PilotRow, limit: number, lang: Lang): Promise<PlanList> {
  const stages = stagesOf(pilot);
  const budget = budgetOf(pilot);
  const remaining = budget ? budget.remaining : null;
  const ranked = new Map<string, ReturnType<typeof rankOffers>>();
  for (const stage of stages) {
    const offers = await suitableOffers(db, pilot, { stage, depth: PLAN_DEPTH });
    ranked.set(stage.key, rankOffers(needsOf(pilot, stage), offers, SCARCE, stage.units).slice(0, PLAN_SLOTS));
  }
  const rates = await creditRates(db, [
    ...new Set([...ranked.values()].flatMap((r) => r.map((s) => s.offer.testbedId))),
  ]);
  const names = new Map<string, string>();
  const slotsByStage = new Map<string, PlanSlot[]>();
  for (const stage of stages) {
    slotsByStage.set(
      stage.key,
      ranked.get(stage.key)!.map((s) => {
        names.set(s.offer.testbedId, s.offer.testbedName);
        const start = s.offer.start.getTime();
        const end = s.offer.end.getTime();
        return {
          slotId: s.offer.slotId,
          testbedId: s.offer.testbedId,
          start,
          end,
          score: s.score,
          credits: creditsFor(stage.units, (end - start) / HOUR, rates.get(s.offer.testbedId) ?? 1),
        };
      }),
    );
  }
  const units = new Map(stages.map((s) => [s.key, s.units]));
  const plans = searchPlans(stages, slotsByStage, remaining, limit);
  return {
    data: plans.map((p) => ({
      score: p.score,
      credits: p.credits,
      sessions: p.sessions.map((s) => ({
        stage: s.stage,
        slotId: s.slotId,
        testbedId: s.testbedId,
        testbedName: names.get(s.testbedId) ?? '',
        start: new Date(s.start).toISOString(),
        end: new Date(s.end).toISOString(),
        units: units.get(s.stage)!,
        credits: s.credits,
      })),
    })),
    unmet: plans.length ? [] : await unmetFor(db, pilot, lang, slotsByStage),
  };
}

interface FilterCounts {
  considered: number;
  capability: number;
  window: number;
  capacity: number;
  session_length: number;
  order: number;
  credits: number;
  remaining: number;
  remaining_hours: number;
}

/**
 * Why each stage has no plan. Filters apply in order: capability, window, capacity (units left, and no overlap
 * with a booking the pilot holds), session length, order (starts before the earliest end of the `after` stage's
 * suitable slots plus minGapHours), credits (costs more than the credits left).
 */
export async function unmetFor(
  db: Queryable,
  pilot: PilotRow,
  lang: Lang,
  slotsByStage?: ReadonlyMap<string, readonly PlanSlot[]>,
): Promise<UnmetStage[]> {
  const stages = stagesOf(pilot);
  const budget = budgetOf(pilot);
  const out: UnmetStage[] = [];
  for (const stage of stages) {
    const orderFrom = orderBound(stage, stages, slotsByStage);
    const c = await countFilters(db, pilot, stage, orderFrom, budget ? budget.remaining : null);
    out.push(explain(stage, c, lang));
  }
  return out;
}

/**
 * The earliest a session of the stage may start given `after`: the first instant by which the suitable slots of
 * that stage, taken by end time, add up to its hours, plus minGapHours (a lower bound: overlaps are ignored).
 * Null without `after`; 'never' when that stage's slots cannot add up to its hours.
 */
function orderBound(
  stage: PilotStage,
  stages: readonly PilotStage[],
  slotsByStage?: ReadonlyMap<string, readonly PlanSlot[]>,
): Date | null | 'never' {
  if (!stage.after || !slotsByStage) return null;
  const need = stages.find((s) => s.key === stage.after!.stage)?.hours ?? 0;
  const before = [...(slotsByStage.get(stage.after.stage) ?? [])].sort((a, b) => a.end - b.end);
  let sum = 0;
  for (const s of before) {
    sum += (s.end - s.start) / HOUR;
    if (sum >= need - 1e-9) return new Date(s.end + (stage.after.minGapHours ?? 0) * HOUR);
  }
  return 'never';
}

async function countFilters(
  db: Queryable,
  pilot: PilotRow,
  stage: PilotStage,
  orderFrom: Date | null | 'never',
  credits: number | null,
): Promise<FilterCounts> {
  const n = needsOf(pilot, stage);
  const { rows } = await db.query<Record<keyof FilterCounts, string | number>>(
    `WITH base AS (
       SELECT s.start_at, s.end_at, extract(epoch FROM s.end_at - s.start_at) / 3600 AS hours, t.credit_rate,
              t.capabilities @> $2::text[] AS cap_ok,
              (s.start_at >= $3 AND s.end_at <= $4) AS window_ok,
              (s.capacity - s.booked_units - s.held_units >= $5 AND ${notBlockedSql('s')} AND NOT EXISTS (
                 SELECT 1 FROM bookings b WHERE b.pilot_id = $10 AND b.status = 'confirmed'
                    AND b.start_at < s.end_at AND b.end_at > s.start_at)) AS units_ok
         FROM slots s JOIN testbeds t ON t.id = s.testbed_id
        WHERE t.status = 'active' AND t.domains @> ARRAY[$1::text]
     ), staged AS (
       SELECT *, cap_ok AND window_ok AND units_ok AS pre_ok,
              (hours >= $6::float8 AND ($7::float8 IS NULL OR hours <= $7::float8)) AS length_ok,
              ($8::boolean AND ($9::timestamptz IS NULL OR start_at >= $9::timestamptz)) AS order_ok,
              ($11::float8 IS NULL OR ceil($5 * hours * credit_rate - 1e-9) <= $11::float8) AS credits_ok
         FROM base
     )
     SELECT count(*)::int AS considered,
            count(*) FILTER (WHERE NOT cap_ok)::int AS capability,
            count(*) FILTER (WHERE cap_ok AND NOT window_ok)::int AS window,
            count(*) FILTER (WHERE cap_ok AND window_ok AND NOT units_ok)::int AS capacity,
            count(*) FILTER (WHERE pre_ok AND NOT length_ok)::int AS session_length,
            count(*) FILTER (WHERE pre_ok AND length_ok AND NOT order_ok)::int AS "order",
            count(*) FILTER (WHERE pre_ok AND length_ok AND order_ok AND NOT credits_ok)::int AS credits,
            count(*) FILTER (WHERE pre_ok AND length_ok AND order_ok AND credits_ok)::int AS remaining,
            COALESCE(sum(hours) FILTER (WHERE pre_ok AND length_ok AND order_ok AND credits_ok), 0)::float8 AS remaining_hours
       FROM staged`,
    [
      pilot.domain,
      n.capabilities,
      n.earliestStart.toISOString(),
      n.latestEnd.toISOString(),
      n.units,
      n.durationHours,
      n.maxSessionHours ?? null,
      // 'never': the `after` stage has no slot, so no slot of this one is in order.
      orderFrom !== 'never',
      orderFrom instanceof Date ? orderFrom.toISOString() : null,
      pilot.id,
      credits,
    ],
  );
  const r = rows[0]!;
  const num = (k: keyof FilterCounts) => Number(r[k]);
  return Object.fromEntries(Object.keys(r).map((k) => [k, num(k as keyof FilterCounts)])) as unknown as FilterCounts;
}

function explain(stage: PilotStage, c: FilterCounts, lang: Lang): UnmetStage {
  const ko = lang === 'ko';
  const excluded = {
    capability: c.capability,
    window: c.window,
    capacity: c.capacity,
    sessionLength: c.session_length,
    order: c.order,
    credits: c.credits,
  };
  const hours = Math.round(c.remaining_hours * 100) / 100;
  let reason: UnmetStage['reason'];
  let detail: string;
  if (c.remaining === 0) {
    reason = 'no-suitable-slot';
    const worst = (Object.entries(excluded) as [keyof typeof excluded, number][]).sort((a, b) => b[1] - a[1])[0]!;
    detail = ko
      ? `조건에 맞는 슬롯이 없습니다(검토 ${c.considered}개, 가장 많이 제외한 조건: ${worst[0]} ${worst[1]}개).`
      : `No slot meets every hard filter (${c.considered} considered; the filter that removed most: ${worst[0]}, ${worst[1]}).`;
  } else if (c.remaining_hours < stage.hours) {
    reason = 'not-enough-hours';
    detail = ko
      ? `적합한 슬롯 ${c.remaining}개의 합계가 ${hours}시간으로, 필요한 ${stage.hours}시간보다 적습니다.`
      : `The ${c.remaining} suitable slot(s) add up to ${hours} h, fewer than the ${stage.hours} h needed.`;
  } else {
    reason = 'no-combination';
    detail = ko
      ? `적합한 슬롯 ${c.remaining}개가 있지만, 순서·간격·중복·예산 조건을 함께 만족하는 조합이 없습니다.`
      : `${c.remaining} suitable slot(s) exist, but no set of them meets the order, gap, overlap and budget rules together.`;
  }
  return {
    stage: stage.key,
    reason,
    detail,
    slotsConsidered: c.considered,
    excluded,
    remaining: c.remaining,
    remainingHours: hours,
  };
}
