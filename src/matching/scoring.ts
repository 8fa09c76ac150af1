/**
 * Candidate scoring: pure functions, no database. A slot is first checked against the pilot's hard
 * requirements (unsuitable → not a candidate at all), then scored in [0, 1] as a weighted mean of documented
 * factors. Every candidate carries its breakdown (each factor's value and weight) so the ranking can be
 * explained, and reasons a person can read, in Korean or English.
 *
 * Factors (weights are renormalised over the factors that apply; location applies only when the pilot gave one):
 *   capabilityFit 0.35 — 1, minus 0.3 for every scarce capability the testbed has that the pilot did not ask for
 *                        (the one large simulator should go to those who need it), minus 0.05 for every other
 *                        capability not asked for; floored at 0.
 *   timeFit       0.30 — 1 when the slot starts at earliestStart, falling linearly to 0 at the last start that
 *                        still fits durationHours before latestEnd.
 *   location      0.15 — 1 / (1 + km / 25) from the pilot's location to the testbed (25 km scores 0.5).
 *   loadBalance   0.20 — 1 − the testbed's utilisation (booked / offered unit-hours of its slots starting in
 *                        the pilot's window), so less-used testbeds come first.
 * Ties: higher score, then earlier start, then testbed id, then slot id — a total order, so the same inputs
 * always rank the same way.
 */
export type Lang = 'ko' | 'en';

export interface PilotNeeds {
  domain: string;
  capabilities: readonly string[];
  units: number;
  /** The shortest session that serves (a first-release pilot's durationHours; a stage's sessionHours.min or 0). */
  durationHours: number;
  /** The longest session that serves (a stage's sessionHours.max); none when absent. */
  maxSessionHours?: number | undefined;
  earliestStart: Date;
  latestEnd: Date;
  location?: { lat: number; lng: number } | undefined;
}

export interface SlotOffer {
  slotId: string;
  testbedId: string;
  testbedName: string;
  start: Date;
  end: Date;
  capacity: number;
  bookedUnits: number;
  testbed: {
    status: string;
    domains: readonly string[];
    capabilities: readonly string[];
    lat: number;
    lng: number;
  };
  /** Booked / offered unit-hours of the testbed's slots starting in the pilot's window, in [0, 1]. */
  utilization: number;
}

export const WEIGHTS = { capabilityFit: 0.35, timeFit: 0.3, location: 0.15, loadBalance: 0.2 } as const;

interface FactorValue {
  value: number | null;
  weight: number;
}

interface Breakdown {
  capabilityFit: FactorValue & { unusedScarce: string[]; unusedOther: string[] };
  timeFit: FactorValue & { hoursAfterEarliestStart: number };
  location: FactorValue & { distanceKm: number | null };
  loadBalance: FactorValue & { utilization: number };
}

export interface Scored {
  offer: SlotOffer;
  score: number;
  breakdown: Breakdown;
}

/** Why a slot cannot serve a pilot at all. */
export type Unsuitability =
  | { code: 'testbed-inactive' }
  | { code: 'domain'; domain: string }
  | { code: 'capabilities'; missing: string[] }
  | { code: 'window' }
  | { code: 'duration'; hours: number; needed: number }
  | { code: 'session-length'; hours: number; max: number }
  | { code: 'units'; available: number; needed: number };

const HOUR = 3_600_000;
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** Every hard requirement the slot fails; empty when it is a candidate. `units` defaults to the pilot's. */
export function unsuitability(pilot: PilotNeeds, offer: SlotOffer, units = pilot.units): Unsuitability[] {
  const out: Unsuitability[] = [];
  testbedUnsuitability(pilot, offer.testbed, out);
  slotUnsuitability(pilot, offer.start.getTime(), offer.end.getTime(), offer.capacity - offer.bookedUnits, units, out);
  return out;
}

/** The requirements a testbed fails for every slot of its own, appended to `out`. */
function testbedUnsuitability(pilot: PilotNeeds, testbed: SlotOffer['testbed'], out: Unsuitability[]): void {
  if (testbed.status !== 'active') out.push({ code: 'testbed-inactive' });
  if (!testbed.domains.includes(pilot.domain)) out.push({ code: 'domain', domain: pilot.domain });
  const missing = pilot.capabilities.filter((c) => !testbed.capabilities.includes(c));
  if (missing.length) out.push({ code: 'capabilities', missing });
}

/** The requirements a slot (start and end in epoch ms, units left) fails on its own, appended to `out`. */
function slotUnsuitability(
  pilot: PilotNeeds,
  start: number,
  end: number,
  available: number,
  units: number,
  out: Unsuitability[],
): void {
  if (start < pilot.earliestStart.getTime() || end > pilot.latestEnd.getTime()) out.push({ code: 'window' });
  const hours = (end - start) / HOUR;
  if (hours < pilot.durationHours) out.push({ code: 'duration', hours, needed: pilot.durationHours });
  if (pilot.maxSessionHours !== undefined && hours > pilot.maxSessionHours)
    out.push({ code: 'session-length', hours, max: pilot.maxSessionHours });
  if (available < units) out.push({ code: 'units', available, needed: units });
}

/** Great-circle distance in kilometres. */
export function haversineKm(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** What every slot of one testbed scores alike: all factors but time fit. */
interface TestbedFactors {
  unusedScarce: string[];
  unusedOther: string[];
  capabilityFit: number;
  distanceKm: number | null;
  location: number | null;
  utilization: number;
  loadBalance: number;
}

function testbedFactors(
  pilot: PilotNeeds,
  testbed: SlotOffer['testbed'],
  utilizationOfTestbed: number,
  scarce: ReadonlySet<string>,
): TestbedFactors {
  const asked = new Set(pilot.capabilities);
  const unused = testbed.capabilities
    .filter((c) => !asked.has(c))
    .slice()
    .sort();
  const unusedScarce = unused.filter((c) => scarce.has(c));
  const unusedOther = unused.filter((c) => !scarce.has(c));
  const capabilityFit = clamp01(1 - 0.3 * unusedScarce.length - 0.05 * unusedOther.length);
  const distanceKm = pilot.location ? haversineKm(pilot.location, testbed) : null;
  const location = distanceKm === null ? null : 1 / (1 + distanceKm / 25);
  const utilization = clamp01(utilizationOfTestbed);
  return { unusedScarce, unusedOther, capabilityFit, distanceKm, location, utilization, loadBalance: 1 - utilization };
}

/** Milliseconds from the pilot's earliest start to the slot's start (epoch ms); negative before it. */
const afterEarliest = (pilot: PilotNeeds, start: number) => start - pilot.earliestStart.getTime();

function timeFitOf(pilot: PilotNeeds, after: number): number {
  const lastStart = pilot.latestEnd.getTime() - pilot.durationHours * HOUR;
  const slack = lastStart - pilot.earliestStart.getTime();
  return slack <= 0 ? 1 : clamp01(1 - after / slack);
}

/** The weighted mean over the factors that apply, in the order of WEIGHTS, rounded to 6 places. */
function scoreOf(f: TestbedFactors, timeFit: number): number {
  let total = WEIGHTS.capabilityFit * f.capabilityFit;
  let weights = WEIGHTS.capabilityFit;
  total += WEIGHTS.timeFit * timeFit;
  weights += WEIGHTS.timeFit;
  if (f.location !== null) {
    total += WEIGHTS.location * f.location;
    weights += WEIGHTS.location;
  }
  total += WEIGHTS.loadBalance * f.loadBalance;
  weights += WEIGHTS.loadBalance;
  return round6(weights ? total / weights : 0);
}

function scoredWith(f: TestbedFactors, pilot: PilotNeeds, offer: SlotOffer): Scored {
  const after = afterEarliest(pilot, offer.start.getTime());
  const timeFit = timeFitOf(pilot, after);
  return {
    offer,
    score: scoreOf(f, timeFit),
    breakdown: {
      capabilityFit: {
        value: round6(f.capabilityFit),
        weight: WEIGHTS.capabilityFit,
        unusedScarce: f.unusedScarce,
        unusedOther: f.unusedOther,
      },
      timeFit: {
        value: round6(timeFit),
        weight: WEIGHTS.timeFit,
        hoursAfterEarliestStart: round6(Math.max(0, after) / HOUR),
      },
      location: {
        value: f.location === null ? null : round6(f.location),
        weight: f.location === null ? 0 : WEIGHTS.location,
        distanceKm: f.distanceKm === null ? null : Math.round(f.distanceKm * 10) / 10,
      },
      loadBalance: { value: round6(f.loadBalance), weight: WEIGHTS.loadBalance, utilization: round6(f.utilization) },
    },
  };
}

export function scoreOffer(pilot: PilotNeeds, offer: SlotOffer, scarce: ReadonlySet<string>): Scored {
  return scoredWith(testbedFactors(pilot, offer.testbed, offer.utilization, scarce), pilot, offer);
}

/** The deterministic ranking order: score desc, start asc, testbed id, slot id. */
export function compareScored(a: Scored, b: Scored): number {
  if (a.score !== b.score) return b.score - a.score;
  const t = a.offer.start.getTime() - b.offer.start.getTime();
  if (t !== 0) return t;
  if (a.offer.testbedId !== b.offer.testbedId) return a.offer.testbedId < b.offer.testbedId ? -1 : 1;
  return a.offer.slotId < b.offer.slotId ? -1 : a.offer.slotId > b.offer.slotId ? 1 : 0;
}

/** Scores the suitable offers and ranks them; unsuitable ones are dropped. */
export function rankOffers(
  pilot: PilotNeeds,
  offers: readonly SlotOffer[],
  scarce: ReadonlySet<string>,
  units = pilot.units,
): Scored[] {
  return offers
    .filter((o) => unsuitability(pilot, o, units).length === 0)
    .map((o) => scoreOffer(pilot, o, scarce))
    .sort(compareScored);
}

/** A testbed's offers as the candidates query returns them: the testbed once, its slots as tuples. */
export interface TestbedOffers {
  testbedId: string;
  testbedName: string;
  testbed: SlotOffer['testbed'];
  utilization: number;
  /** [slot id, start (epoch ms), end (epoch ms), capacity, booked units]. */
  slots: readonly (readonly [string, number, number, number, number])[];
}

/** One slot of a testbed as a SlotOffer. */
export function offerOf(g: TestbedOffers, slot: TestbedOffers['slots'][number]): SlotOffer {
  const [slotId, start, end, capacity, bookedUnits] = slot;
  return {
    slotId,
    testbedId: g.testbedId,
    testbedName: g.testbedName,
    start: new Date(start),
    end: new Date(end),
    capacity,
    bookedUnits,
    testbed: g.testbed,
    utilization: g.utilization,
  };
}

/** A slot in the running for the first places: what compareScored reads, and where the slot came from. */
interface Contender {
  score: number;
  start: number;
  testbedId: string;
  slotId: string;
  group: TestbedOffers;
  slot: TestbedOffers['slots'][number];
  factors: TestbedFactors;
}

/** compareScored on contenders: score desc, start asc, testbed id, slot id. */
function compareContenders(a: Contender, b: Contender): number {
  if (a.score !== b.score) return b.score - a.score;
  const t = a.start - b.start;
  if (t !== 0) return t;
  if (a.testbedId !== b.testbedId) return a.testbedId < b.testbedId ? -1 : 1;
  return a.slotId < b.slotId ? -1 : a.slotId > b.slotId ? 1 : 0;
}

/**
 * The first k of rankOffers over every slot of the groups, the same places with the same scores, at a fraction of
 * the cost: a testbed's hard filters and factors once, each slot's score as a number from the same arithmetic,
 * the best k kept in a bounded heap, and only those k given a breakdown.
 */
export function topOffers(
  pilot: PilotNeeds,
  groups: readonly TestbedOffers[],
  scarce: ReadonlySet<string>,
  k: number,
  units = pilot.units,
): Scored[] {
  if (k <= 0) return [];
  // A max-heap in ranking order: the root is the worst contender kept.
  const heap: Contender[] = [];
  const worse = (i: number, j: number) => compareContenders(heap[i]!, heap[j]!) > 0;
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j]!, heap[i]!]);
  const fails: Unsuitability[] = [];
  for (const group of groups) {
    testbedUnsuitability(pilot, group.testbed, fails);
    if (fails.length) {
      fails.length = 0;
      continue;
    }
    const factors = testbedFactors(pilot, group.testbed, group.utilization, scarce);
    for (const slot of group.slots) {
      const [slotId, start, end, capacity, booked] = slot;
      slotUnsuitability(pilot, start, end, capacity - booked, units, fails);
      if (fails.length) {
        fails.length = 0;
        continue;
      }
      const score = scoreOf(factors, timeFitOf(pilot, afterEarliest(pilot, start)));
      const c: Contender = { score, start, testbedId: group.testbedId, slotId, group, slot, factors };
      if (heap.length < k) {
        heap.push(c);
        for (let i = heap.length - 1; i > 0;) {
          const parent = (i - 1) >> 1;
          if (!worse(i, parent)) break;
          swap(i, parent);
          i = parent;
        }
      } else if (compareContenders(c, heap[0]!) < 0) {
        heap[0] = c;
        for (let i = 0; ;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let top = i;
          if (l < heap.length && worse(l, top)) top = l;
          if (r < heap.length && worse(r, top)) top = r;
          if (top === i) break;
          swap(i, top);
          i = top;
        }
      }
    }
  }
  return heap.sort(compareContenders).map((c) => scoredWith(c.factors, pilot, offerOf(c.group, c.slot)));
}

// ---------------------------------------------------------------------------------------------------------
// Reasons a person can read
// ---------------------------------------------------------------------------------------------------------

const pct = (x: number) => `${Math.round(x * 100)}%`;

export function reasonsFor(s: Scored, lang: Lang): string[] {
  const b = s.breakdown;
  const out: string[] = [];
  const ko = lang === 'ko';
  if (b.capabilityFit.unusedScarce.length === 0 && b.capabilityFit.unusedOther.length === 0) {
    out.push(ko ? '요청한 장비·역량과 정확히 일치합니다.' : 'Offers exactly the capabilities asked for.');
  } else if (b.capabilityFit.unusedScarce.length) {
    const list = b.capabilityFit.unusedScarce.join(', ');
    out.push(
      ko
        ? `요청하지 않은 희소 자원(${list})을 점유하므로 감점되었습니다.`
        : `Would tie up scarce capabilities not asked for (${list}), so it scores lower.`,
    );
  } else {
    out.push(
      ko
        ? `요청한 역량을 모두 갖추었고 추가 역량 ${b.capabilityFit.unusedOther.length}개가 있습니다.`
        : `Has every capability asked for, plus ${b.capabilityFit.unusedOther.length} more.`,
    );
  }
  const h = b.timeFit.hoursAfterEarliestStart;
  if (h === 0) out.push(ko ? '희망 기간의 가장 이른 시점에 시작합니다.' : 'Starts at the earliest time of the window.');
  else {
    const days = Math.round((h / 24) * 10) / 10;
    out.push(ko ? `희망 시작 시점보다 ${days}일 늦게 시작합니다.` : `Starts ${days} day(s) after the earliest start.`);
  }
  if (b.location.distanceKm !== null) {
    out.push(
      ko
        ? `요청 위치에서 약 ${b.location.distanceKm}km 떨어져 있습니다.`
        : `About ${b.location.distanceKm} km from the pilot's location.`,
    );
  }
  out.push(
    ko
      ? `이 테스트베드의 해당 기간 가동률은 ${pct(b.loadBalance.utilization)}입니다.`
      : `The testbed is ${pct(b.loadBalance.utilization)} utilised in the pilot's window.`,
  );
  return out;
}

export function unsuitabilityText(u: Unsuitability, lang: Lang): string {
  const ko = lang === 'ko';
  switch (u.code) {
    case 'testbed-inactive':
      return ko ? '테스트베드가 운영 중이 아닙니다.' : 'The testbed is not active.';
    case 'domain':
      return ko
        ? `테스트베드가 ${u.domain} 분야를 지원하지 않습니다.`
        : `The testbed does not serve the ${u.domain} domain.`;
    case 'capabilities':
      return ko ? `필요한 역량이 없습니다: ${u.missing.join(', ')}.` : `Missing capabilities: ${u.missing.join(', ')}.`;
    case 'window':
      return ko ? '슬롯이 파일럿의 희망 기간을 벗어납니다.' : "The slot lies outside the pilot's window.";
    case 'duration':
      return ko
        ? `슬롯 길이(${u.hours}시간)가 필요한 ${u.needed}시간보다 짧습니다.`
        : `The slot lasts ${u.hours} h, shorter than the ${u.needed} h needed.`;
    case 'session-length':
      return ko
        ? `슬롯 길이(${u.hours}시간)가 세션 최대 ${u.max}시간보다 깁니다.`
        : `The slot lasts ${u.hours} h, longer than the ${u.max} h a session may last.`;
    case 'units':
      return ko
        ? `남은 단위가 ${u.available}개로, 필요한 ${u.needed}개보다 적습니다.`
        : `Only ${u.available} unit(s) left, ${u.needed} needed.`;
  }
}
