/**
 * Plan search: pure, no database. A plan gives every stage of a pilot whole slots so that
 *   - each stage's session lengths sum to at least its hours but less than hours + the shortest (no spare slot);
 *   - no two sessions of the pilot overlap in time (it is never in two places at once);
 *   - a stage with `after` starts every session no earlier than the end of the last session of that stage plus
 *     minGapHours, and its first session no later than that end plus maxGapHours;
 *   - the credits of all sessions fit in what remains of the budget (when the pilot has one).
 * Stages are planned in array order (`after` always names an earlier stage). The search is a beam search: each
 * partial plan is extended by at most `optionsPerStage` session sets built from the best eligible slots, and the
 * `beamWidth` best partial plans survive each stage. Every plan returned is feasible; on small instances (fewer
 * eligible slots than the limits) the search is exhaustive, so the ranking is exact there.
 * Score of a plan: the mean of its sessions' scores weighted by their hours; ties by earlier end, then slot ids.
 */

const HOUR = 3_600_000;

/** A session's credits: units × hours × the testbed's rate, rounded up to whole credits. */
export const creditsFor = (units: number, hours: number, rate: number) => Math.ceil(units * hours * rate - 1e-9);

export interface PlanStage {
  key: string;
  hours: number;
  after?: { stage: string; minGapHours?: number; maxGapHours?: number } | undefined;
}

export interface PlanSlot {
  slotId: string;
  testbedId: string;
  start: number;
  end: number;
  score: number;
  credits: number;
}

interface PlanSession extends PlanSlot {
  stage: string;
}

export interface Plan {
  score: number;
  credits: number;
  sessions: PlanSession[];
}

export interface PlanLimits {
  beamWidth: number;
  optionsPerStage: number;
  /** Eligible slots of a stage looked at per partial plan, best scores first. */
  slotsPerStage: number;
}

const DEFAULT_LIMITS: PlanLimits = { beamWidth: 24, optionsPerStage: 24, slotsPerStage: 40 };

interface Partial {
  sessions: PlanSession[];
  weighted: number;
  hours: number;
  credits: number;
  lastEnd: Map<string, number>;
}

const hoursOf = (s: { start: number; end: number }) => (s.end - s.start) / HOUR;
const overlaps = (a: { start: number; end: number }, b: { start: number; end: number }) =>
  a.start < b.end && b.start < a.end;

/** Whether a stage's session set covers its hours without a spare slot. */
export function coversWithoutSpare(hours: number, sessions: readonly { start: number; end: number }[]): boolean {
  if (!sessions.length) return false;
  const lengths = sessions.map(hoursOf);
  const sum = lengths.reduce((a, b) => a + b, 0);
  return sum >= hours - 1e-9 && sum - Math.min(...lengths) < hours - 1e-9;
}

/** Session sets for one stage, given what the partial plan already holds, best mean score first. */
function stageOptions(
  stage: PlanStage,
  slots: readonly PlanSlot[],
  p: Partial,
  budget: number | null,
  limits: PlanLimits,
): PlanSlot[][] {
  let earliest = -Infinity;
  let latestFirst = Infinity;
  if (stage.after) {
    const end = p.lastEnd.get(stage.after.stage);
    if (end === undefined) return [];
    earliest = end + (stage.after.minGapHours ?? 0) * HOUR;
    if (stage.after.maxGapHours !== undefined) latestFirst = end + stage.after.maxGapHours * HOUR;
  }
  const room = budget === null ? Infinity : budget - p.credits;
  const eligible = slots
    .filter((s) => s.start >= earliest && s.credits <= room && !p.sessions.some((x) => overlaps(x, s)))
    .slice(0, limits.slotsPerStage);
  const out: PlanSlot[][] = [];
  const chosen: PlanSlot[] = [];
  // Depth-first over eligible slots in score order; a set is complete once its hours reach the stage's.
  const visit = (from: number, sum: number, credits: number) => {
    if (out.length >= limits.optionsPerStage) return;
    for (let i = from; i < eligible.length && out.length < limits.optionsPerStage; i++) {
      const s = eligible[i]!;
      if (credits + s.credits > room || chosen.some((c) => overlaps(c, s))) continue;
      chosen.push(s);
      const total = sum + hoursOf(s);
      if (total >= stage.hours - 1e-9) {
        const first = Math.min(...chosen.map((c) => c.start));
        if (first <= latestFirst && coversWithoutSpare(stage.hours, chosen)) out.push([...chosen]);
      } else {
        visit(i + 1, total, credits + s.credits);
      }
      chosen.pop();
    }
  };
  visit(0, 0, 0);
  return out;
}

function extend(p: Partial, stage: PlanStage, set: PlanSlot[]): Partial {
  const sessions = [...p.sessions, ...set.map((s) => ({ ...s, stage: stage.key }))];
  const lastEnd = new Map(p.lastEnd).set(stage.key, Math.max(...set.map((s) => s.end)));
  return {
    sessions,
    weighted: p.weighted + set.reduce((a, s) => a + s.score * hoursOf(s), 0),
    hours: p.hours + set.reduce((a, s) => a + hoursOf(s), 0),
    credits: p.credits + set.reduce((a, s) => a + s.credits, 0),
    lastEnd,
  };
}

const scoreOf = (p: Partial) => (p.hours > 0 ? p.weighted / p.hours : 0);
const endOf = (p: Partial) => Math.max(...p.sessions.map((s) => s.end));
const idsOf = (p: Partial) =>
  p.sessions
    .map((s) => s.slotId)
    .sort()
    .join(',');

function compare(a: Partial, b: Partial): number {
  const d = scoreOf(b) - scoreOf(a);
  if (Math.abs(d) > 1e-12) return d;
  const e = endOf(a) - endOf(b);
  if (e !== 0) return e;
  const x = idsOf(a);
  const y = idsOf(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Ranked complete plans, best first. `slotsByStage` holds each stage's suitable slots (hard filters applied),
 * best score first. `budget` is the credits left, or null when the pilot is not limited.
 */
export function searchPlans(
  stages: readonly PlanStage[],
  slotsByStage: ReadonlyMap<string, readonly PlanSlot[]>,
  budget: number | null,
  limit: number,
  limits: PlanLimits = DEFAULT_LIMITS,
): Plan[] {
  let beam: Partial[] = [{ sessions: [], weighted: 0, hours: 0, credits: 0, lastEnd: new Map() }];
  for (const stage of stages) {
    const slots = slotsByStage.get(stage.key) ?? [];
    const next: Partial[] = [];
    for (const p of beam)
      for (const set of stageOptions(stage, slots, p, budget, limits)) next.push(extend(p, stage, set));
    next.sort(compare);
    const seen = new Set<string>();
    beam = next
      .filter((p) => (seen.has(idsOf(p)) ? false : (seen.add(idsOf(p)), true)))
      .slice(0, Math.max(limits.beamWidth, limit));
    if (!beam.length) return [];
  }
  return beam.slice(0, limit).map((p) => ({
    score: Math.round(scoreOf(p) * 1e6) / 1e6,
    credits: p.credits,
    sessions: [...p.sessions].sort((a, b) => a.start - b.start || (a.slotId < b.slotId ? -1 : 1)),
  }));
}
