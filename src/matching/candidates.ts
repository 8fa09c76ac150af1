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
import type { PilotRow } from '../pilots/presenter.js';
import type { Candidate } from '../generated/schema-types.js';
import { rankOffers, reasonsFor, type Lang, type PilotNeeds, type Scored, type SlotOffer } from './scoring.js';

export const SCARCE: ReadonlySet<string> = new Set(CAPABILITIES.filter((c) => c.scarce).map((c) => c.code));

export function needsOf(p: PilotRow): PilotNeeds {
  return {
    domain: p.domain,
    capabilities: p.capabilities,
    units: p.units,
    durationHours: p.duration_hours,
    earliestStart: p.earliest_start,
    latestEnd: p.latest_end,
    location: p.location_lat !== null && p.location_lng !== null ? { lat: p.location_lat, lng: p.location_lng } : undefined,
  };
}

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

/** Utilisation of a testbed: booked / offered unit-hours of its slots starting in [from, to). */
const UTILIZATION = (tb: string, from: string, to: string) => `
  SELECT COALESCE(sum(x.booked_units * extract(epoch FROM x.end_at - x.start_at))
                  / NULLIF(sum(x.capacity * extract(epoch FROM x.end_at - x.start_at)), 0), 0)::float8 AS utilization
    FROM slots x WHERE x.testbed_id = ${tb} AND x.start_at >= ${from} AND x.start_at < ${to}`;

export interface CandidateOptions {
  /** How many of each testbed's earliest suitable slots to score. */
  depth: number;
  units?: number;
  excludeSlotId?: string;
}

/** Suitable offers for the pilot (every hard filter applied in SQL), unranked. */
export async function suitableOffers(db: Queryable, pilot: PilotRow, o: CandidateOptions): Promise<SlotOffer[]> {
  const { rows } = await db.query<OfferRow>(
    `WITH tb AS (
       SELECT t.id, t.name, t.status, t.domains, t.capabilities, t.lat, t.lng, u.utilization
         FROM testbeds t
         CROSS JOIN LATERAL (${UTILIZATION('t.id', '$3', '$4')}) u
        WHERE t.status = 'active' AND t.domains @> ARRAY[$1::text] AND t.capabilities @> $2::text[]
     )
     SELECT s.id AS slot_id, tb.id AS testbed_id, tb.name AS testbed_name, s.start_at, s.end_at, s.capacity, s.booked_units,
            tb.status, tb.domains, tb.capabilities, tb.lat, tb.lng, tb.utilization
       FROM tb
       CROSS JOIN LATERAL (
         SELECT s.id, s.start_at, s.end_at, s.capacity, s.booked_units
           FROM slots s
          WHERE s.testbed_id = tb.id AND s.start_at >= $3 AND s.end_at <= $4
            AND s.end_at - s.start_at >= make_interval(secs => $5::float8 * 3600)
            AND s.capacity - s.booked_units >= $6
            AND ($8::uuid IS NULL OR s.id <> $8)
            AND NOT EXISTS (SELECT 1 FROM bookings b
                             WHERE b.pilot_id = $9 AND b.status = 'confirmed'
                               AND b.start_at < s.end_at AND b.end_at > s.start_at)
          ORDER BY s.start_at, s.id
          LIMIT $7
       ) s`,
    [
      pilot.domain,
      pilot.capabilities,
      pilot.earliest_start.toISOString(),
      pilot.latest_end.toISOString(),
      pilot.duration_hours,
      o.units ?? pilot.units,
      o.depth,
      o.excludeSlotId ?? null,
      pilot.id,
    ],
  );
  return rows.map(toOffer);
}

/** The ranked candidates, best first; `offset + limit` places are exact. */
export async function rankedCandidates(db: Queryable, pilot: PilotRow, offset: number, limit: number, o: Omit<CandidateOptions, 'depth'> = {}) {
  const offers = await suitableOffers(db, pilot, { ...o, depth: offset + limit + 1 });
  return rankOffers(needsOf(pilot), offers, SCARCE, o.units ?? pilot.units).slice(offset, offset + limit + 1);
}

export const toCandidateDto = (s: Scored, lang: Lang): Candidate => ({
  slotId: s.offer.slotId,
  testbedId: s.offer.testbedId,
  testbedName: s.offer.testbedName,
  start: s.offer.start.toISOString(),
  end: s.offer.end.toISOString(),
  availableUnits: s.offer.capacity - s.offer.bookedUnits,
  score: s.score,
  breakdown: s.breakdown,
  reasons: reasonsFor(s, lang),
});

/** Up to three counter-offers for a refused request, never failing the refusal itself. */
export async function alternatives(db: Queryable, pilot: PilotRow, lang: Lang, excludeSlotId: string, units?: number): Promise<Candidate[]> {
  try {
    const ranked = await rankedCandidates(db, pilot, 0, 3, { excludeSlotId, ...(units ? { units } : {}) });
    return ranked.slice(0, 3).map((s) => toCandidateDto(s, lang));
  } catch {
    return [];
  }
}
