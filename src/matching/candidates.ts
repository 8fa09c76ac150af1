/**
 * Candidate slots for a pilot. The hard filters run in SQL, where the indexes are (testbeds by domain and
 * capability through GIN, slots by (testbed_id, start_at)); scoring runs in TypeScript (scoring.ts).
 *
 * Within one testbed every factor but time fit is the same, and time fit falls with the start, so a testbed's
 * best slots are its earliest suitable ones: the query takes at most `depth` slots per testbed (a LATERAL
 * index scan each) instead of every suitable slot, and the ranking over those is exact for the first `depth`
 * places.
 */
import type { Queryable } from '../db/client.js';
import { CAPABILITIES } from '../domains/catalog.js';
import type { Principal } from '../core/principal.js';
import { notFound } from '../core/errors.js';
import { PILOT_COLUMNS, stagesOf, type PilotRow } from '../pilots/queries.js';
import { pilotVisibility } from '../pilots/visibility.js';
import type { Candidate, PilotStage } from '../generated/schema-types.js';
import { notBlockedSql } from './holds.js';
import {
  compareScored,
  offerOf,
  reasonsFor,
  topOffers,
  type Lang,
  type PilotNeeds,
  type Scored,
  type SlotOffer,
  type TestbedOffers,
} from './scoring.js';

export const SCARCE: ReadonlySet<string> = new Set(CAPABILITIES.filter((c) => c.scarce).map((c) => c.code));

/** What one stage of the pilot needs of a single slot (the first stage by default: `main` of a first-release pilot). */
export function needsOf(p: PilotRow, stage: PilotStage = stagesOf(p)[0]!): PilotNeeds {
  return {
    domain: p.domain,
    capabilities: stage.capabilities,
    units: stage.units,
    durationHours: stage.sessionHours?.min ?? 0,
    maxSessionHours: stage.sessionHours?.max,
    earliestStart: new Date(stage.earliestStart),
    latestEnd: new Date(stage.latestEnd),
    location: stage.location ? { lat: stage.location.lat, lng: stage.location.lng } : undefined,
  };
}

/** The named stage of the pilot, or undefined. */
export const stageOf = (p: PilotRow, key: string): PilotStage | undefined => stagesOf(p).find((s) => s.key === key);

interface OfferRow {
  slot_id: string;
  testbed_id: string;
  testbed_name: string;
  start_at: Date;
  end_at: Date;
  capacity: number;
  booked_units: number;
  status: string;
  domains: string[];
  capabilities: string[];
  lat: number;
  lng: number;
  utilization: number;
}

export const toOffer = (r: OfferRow): SlotOffer => ({
  slotId: r.slot_id,
  testbedId: r.testbed_id,
  testbedName: r.testbed_name,
  start: r.start_at,
  end: r.end_at,
  capacity: r.capacity,
  bookedUnits: r.booked_units,
  testbed: { status: r.status, domains: r.domains, capabilities: r.capabilities, lat: r.lat, lng: r.lng },
  utilization: Number(r.utilization),
});

/**
 * Utilisation of a testbed: booked / offered unit-hours of its slots starting in [from, to). The sums are of
 * intervals (whole microseconds) turned into seconds once: the same exact numerics as summing each slot's seconds,
 * so the same quotient, at half the cost of numeric arithmetic per slot.
 */
const UTILIZATION = (tb: string, from: string, to: string) => `
  SELECT COALESCE(extract(epoch FROM sum(x.booked_units * (x.end_at - x.start_at)))
                  / NULLIF(extract(epoch FROM sum(x.capacity * (x.end_at - x.start_at))), 0), 0)::float8 AS utilization
    FROM slots x WHERE x.testbed_id = ${tb} AND x.start_at >= ${from} AND x.start_at < ${to}`;

export interface CandidateOptions {
  /** How many of each testbed's earliest suitable slots to score. */
  depth: number;
  units?: number;
  excludeSlotId?: string;
  /** The stage served (default: the first). */
  stage?: PilotStage;
}

/** A ranked candidate and the stage it would serve. */
export type StagedScored = Scored & { stage: string };

/**
 * A testbed that passes the hard filters and its earliest suitable slots, in no particular order (every ranking
 * is a total order): [id, name, status, domains, capabilities, lat, lng, utilisation, slots], the slots as
 * columns [ids, starts, ends, capacities, booked units], starts and ends in seconds after the window start.
 */
type GroupTuple = [
  string,
  string,
  string,
  string[],
  string[],
  number,
  number,
  number,
  [string[], number[], number[], number[], number[]],
];

/**
 * Suitable offers for the pilot (every hard filter applied in SQL), unranked: one row, one JSON value, an array
 * per testbed with its slots inside. A row per slot repeated the testbed's name and arrays, and a row per testbed
 * still cost the client more in row and array parsing than JSON.parse costs for the same figures (about 0.4 of
 * 1.5 ms of client CPU), so the server hands over the whole answer at once. A testbed's slots go as five arrays
 * rather than an array per slot: json_build_array sizes up its arguments' types on every call, array_agg does
 * not, and the text is shorter (together about 0.3 ms of server and 0.3 ms of client CPU).
 *
 * Times travel as seconds after the window start ($3), as the float8 date_part gives them: a few arithmetic
 * operations per slot, where an exact epoch in milliseconds took four numeric ones per timestamp (about 0.3 ms
 * of the server's 3 ms). The client turns them back into whole microseconds exactly (see epochMsAfter).
 * The slots are aggregated without ORDER BY: nothing downstream depends on their order, and the sort per
 * testbed cost about 0.4 ms.
 *
 * A suitable slot lies inside the window, so a blackout or a booking that overlaps it overlaps the window: whether
 * any does is asked once per testbed (blackouts) and once per pilot (bookings), and only then per slot. Asked per
 * slot, the two anti-joins cost about as much as the rest of the query. Both scans read only the index
 * slots_testbed_start_idx, which carries every column they need (migration 0011).
 */
const suitableOffersSql = (n: NeedsSql) => `
  WITH tb AS (
    SELECT t.id, t.name, t.status, t.domains, t.capabilities, t.lat, t.lng, u.utilization,
           EXISTS (SELECT 1 FROM blackouts bo WHERE bo.testbed_id = t.id AND bo.start_at < ${n.to} AND bo.end_at > ${n.from})
             AS blacked_out
      FROM testbeds t
      CROSS JOIN LATERAL (${UTILIZATION('t.id', n.from, n.to)}) u
     WHERE t.status = 'active' AND t.domains @> ARRAY[${n.domain}] AND t.capabilities @> ${n.capabilities}
  ), pilot AS (
    SELECT EXISTS (SELECT 1 FROM bookings b
                    WHERE b.pilot_id = ${n.pilot} AND b.status = 'confirmed' AND b.start_at < ${n.to} AND b.end_at > ${n.from}) AS booked
  )
  SELECT json_agg(json_build_array(tb.id, tb.name, tb.status, tb.domains, tb.capabilities, tb.lat, tb.lng,
                                   tb.utilization, s.slots)) AS groups
    FROM tb
    CROSS JOIN pilot
    CROSS JOIN LATERAL (
      SELECT json_build_array(array_agg(s.id), array_agg(date_part('epoch', s.start_at - ${n.from})),
                              array_agg(date_part('epoch', s.end_at - ${n.from})), array_agg(s.capacity),
                              array_agg(s.booked_units)) AS slots,
             count(*) AS n
        FROM (
          SELECT s.id, s.start_at, s.end_at, s.capacity, s.booked_units + s.held_units AS booked_units
            FROM slots s
           WHERE s.testbed_id = tb.id AND s.start_at >= ${n.from} AND s.end_at <= ${n.to}
             AND s.end_at - s.start_at >= make_interval(secs => ${n.minHours} * 3600)
             AND (${n.maxHours} IS NULL OR s.end_at - s.start_at <= make_interval(secs => ${n.maxHours} * 3600))
             AND s.capacity - s.booked_units - s.held_units >= ${n.units}
             AND (NOT tb.blacked_out OR ${notBlockedSql('s')})
             AND (${n.excluded} IS NULL OR s.id <> ${n.excluded})
             AND (NOT pilot.booked OR NOT EXISTS (SELECT 1 FROM bookings b
                                                   WHERE b.pilot_id = ${n.pilot} AND b.status = 'confirmed'
                                                     AND b.start_at < s.end_at AND b.end_at > s.start_at))
           ORDER BY s.start_at, s.id
           LIMIT ${n.depth}
        ) s
    ) s
   WHERE s.n > 0`;

/** The SQL expressions a suitable-offers query reads the pilot's needs from: parameters, or a pilot row's columns. */
interface NeedsSql {
  domain: string;
  capabilities: string;
  /** The window, as timestamptz. */
  from: string;
  to: string;
  minHours: string;
  maxHours: string;
  units: string;
  depth: string;
  excluded: string;
  pilot: string;
}

const SUITABLE_OFFERS = suitableOffersSql({
  domain: '$1::text',
  capabilities: '$2::text[]',
  from: '$3::timestamptz',
  to: '$4::timestamptz',
  minHours: '$5::float8',
  units: '$6',
  depth: '$7',
  excluded: '$8::uuid',
  pilot: '$9',
  maxHours: '$10::float8',
});

/**
 * Epoch milliseconds, truncated as the driver truncates timestamps, of a time `seconds` after `baseMs`, where
 * `seconds` is PostgreSQL's float8 for a whole number of microseconds. Scaled back, it lies within a fraction of
 * a microsecond of that number for any offset under about 90 years (a few roundings of relative size 2^-53), so
 * rounding recovers it exactly, and the rest is integer arithmetic.
 */
export function epochMsAfter(baseMs: number, seconds: number): number {
  const us = baseMs * 1000 + Math.round(seconds * 1e6);
  return (us - (us % 1000)) / 1000;
}

/** Suitable offers for the pilot (every hard filter applied in SQL), unranked, by testbed. */
async function suitableByTestbed(db: Queryable, pilot: PilotRow, o: CandidateOptions): Promise<TestbedOffers[]> {
  const needs = needsOf(pilot, o.stage);
  const { rows } = await db.query<{ groups: GroupTuple[] | null }>(SUITABLE_OFFERS, [
    pilot.domain,
    needs.capabilities,
    needs.earliestStart.toISOString(),
    needs.latestEnd.toISOString(),
    needs.durationHours,
    o.units ?? needs.units,
    o.depth,
    o.excludeSlotId ?? null,
    pilot.id,
    needs.maxSessionHours ?? null,
  ]);
  return groupsOf(rows[0]?.groups ?? null, needs.earliestStart.getTime());
}

/** The testbeds of a suitable-offers answer, times in epoch milliseconds; `base` is the window start's. */
function groupsOf(groups: GroupTuple[] | null, base: number): TestbedOffers[] {
  return (groups ?? []).map(
    ([
      testbedId,
      testbedName,
      status,
      domains,
      capabilities,
      lat,
      lng,
      u,
      [ids, starts, ends, capacities, booked],
    ]) => ({
      testbedId,
      testbedName,
      testbed: { status, domains, capabilities, lat, lng },
      utilization: u,
      slots: ids.map((id, i) => [
        id,
        epochMsAfter(base, starts[i]!),
        epochMsAfter(base, ends[i]!),
        capacities[i]!,
        booked[i]!,
      ]),
    }),
  );
}

/**
 * A pilot the principal may see and, when it has one stage only (a first-release pilot), that stage's suitable
 * offers `depth` deep, in one statement: the candidates route read the pilot and then its offers, two round
 * trips, each with its own pool checkout, socket writes and row parsing in this process (about 0.3 ms of the
 * 1.5 ms the two cost the client). The needs are the pilot's own columns, as needsOf reads them: the window
 * truncated to the millisecond as the driver reads it, sessions at least duration_hours long.
 */
const pilotWithOffersSql = (principal: Principal) => `
  WITH p AS (SELECT ${PILOT_COLUMNS} FROM pilots p WHERE p.id = $1 AND (${pilotVisibility(principal, 2)})),
  w AS (SELECT date_trunc('milliseconds', p.earliest_start) AS from_at, date_trunc('milliseconds', p.latest_end) AS to_at
          FROM p)
  SELECT p.*,
         CASE WHEN p.stages IS NULL THEN (${suitableOffersSql({
           domain: 'p.domain',
           capabilities: 'p.capabilities',
           from: 'w.from_at',
           to: 'w.to_at',
           minHours: 'p.duration_hours',
           maxHours: 'NULL::float8',
           units: 'p.units',
           depth: '$3::int',
           excluded: 'NULL::uuid',
           pilot: 'p.id',
         })}) END AS groups
    FROM p CROSS JOIN w`;

const pilotWithOffersStatements = new Map<Principal['orgKind'], string>();

/**
 * The pilot (404 when the principal may not see it) and, for a pilot of one stage, that stage's suitable offers
 * `depth` deep; undefined for a pilot with stages.
 */
export async function visiblePilotWithOffers(
  db: Queryable,
  principal: Principal,
  id: string,
  depth: number,
): Promise<{ pilot: PilotRow; groups: TestbedOffers[] | undefined }> {
  let sql = pilotWithOffersStatements.get(principal.orgKind);
  if (!sql) pilotWithOffersStatements.set(principal.orgKind, (sql = pilotWithOffersSql(principal)));
  const { rows } = await db.query<PilotRow & { groups: GroupTuple[] | null }>(sql, [
    id,
    principal.organizationId,
    depth,
  ]);
  const row = rows[0];
  if (!row) throw notFound('pilot');
  const { groups, ...pilot } = row;
  if (pilot.stages) return { pilot, groups: undefined };
  return { pilot, groups: groupsOf(groups, needsOf(pilot).earliestStart.getTime()) };
}

/** Suitable offers for the pilot (every hard filter applied in SQL), unranked. */
export async function suitableOffers(db: Queryable, pilot: PilotRow, o: CandidateOptions): Promise<SlotOffer[]> {
  return (await suitableByTestbed(db, pilot, o)).flatMap((g) => g.slots.map((slot) => offerOf(g, slot)));
}

/**
 * The ranked candidates of one stage (o.stage) or, without one, of every stage merged by score; best first;
 * `offset + limit` places are exact (each stage is ranked that deep before the merge).
 */
export async function rankedCandidates(
  db: Queryable,
  pilot: PilotRow,
  offset: number,
  limit: number,
  o: Omit<CandidateOptions, 'depth'> & {
    /** The suitable offers of a pilot of one stage, already read `offset + limit + 1` deep (visiblePilotWithOffers). */
    groups?: TestbedOffers[] | undefined;
  } = {},
): Promise<StagedScored[]> {
  const stages = o.stage ? [o.stage] : stagesOf(pilot);
  const all: StagedScored[] = [];
  for (const stage of stages) {
    const groups =
      o.groups && stages.length === 1
        ? o.groups
        : await suitableByTestbed(db, pilot, { ...o, stage, depth: offset + limit + 1 });
    const ranked = topOffers(needsOf(pilot, stage), groups, SCARCE, offset + limit + 1, o.units ?? stage.units);
    all.push(...ranked.map((s) => ({ ...s, stage: stage.key })));
  }
  return all
    .sort((a, b) => compareScored(a, b) || (a.stage < b.stage ? -1 : a.stage > b.stage ? 1 : 0))
    .slice(offset, offset + limit + 1);
}

export const toCandidateDto = (s: StagedScored, lang: Lang): Candidate => ({
  slotId: s.offer.slotId,
  testbedId: s.offer.testbedId,
  testbedName: s.offer.testbedName,
  start: s.offer.start.toISOString(),
  end: s.offer.end.toISOString(),
  availableUnits: s.offer.capacity - s.offer.bookedUnits,
  score: s.score,
  breakdown: s.breakdown,
  reasons: reasonsFor(s, lang),
  stage: s.stage,
});

/** Up to three counter-offers for a refused request, never failing the refusal itself. */
export async function alternatives(
  db: Queryable,
  pilot: PilotRow,
  lang: Lang,
  excludeSlotId: string,
  units?: number,
  stage?: PilotStage,
): Promise<Candidate[]> {
  try {
    const ranked = await rankedCandidates(db, pilot, 0, 3, {
      excludeSlotId,
      ...(units ? { units } : {}),
      ...(stage ? { stage } : {}),
    });
    return ranked.slice(0, 3).map((s) => toCandidateDto(s, lang));
  } catch {
    return [];
  }
}
