/**
 * Allocation: choose at most one plan per pilot so that no slot's available units are exceeded and the total
 * score is maximal. A plan is a complete set of sessions (slots, each with the units its stage needs) that the
 * plan search (plans.ts) found feasible for the pilot alone: order, gaps, no overlap, credits. A first-release
 * pilot's plans are single slots, so one model serves both. Pure apart from the solver: the instance comes in as
 * plain arrays, the answer goes out as plain arrays.
 *
 *   maximise   Σ score_q · x_q − M · Σ short_d
 *   subject to Σ_{q of pilot p} x_q ≤ 1                                  (one plan per pilot, whole or nothing)
 *              Σ_{q with a session on slot s} units_{q,s} · x_q ≤ available_s   (capacity)
 *              Σ_{q of a pilot in domain d} x_q + short_d ≥ required_d   (minimum share, soft)
 *              x_q ∈ {0, 1}, 0 ≤ short_d ≤ required_d
 *
 * The LP relaxation bounds the best allocation over the plans given (the enumerated ones), not over every plan a
 * pilot might have: with single slots these are all the pilot's considered pairs; with stages, its top plans.
 *
 * The minimum share is soft with a penalty M larger than any total score, so it is met whenever it can be and
 * the shortfall is reported when it cannot. Solved by HiGHS (WebAssembly) as a MIP with a time limit; the
 * same model with continuous variables gives the LP upper bound; the greedy first-come/best-score baseline is
 * computed alongside. Same instance → same model (pilots, slots and edges in a canonical order) → same answer.
 */
import highsModule, { type Highs, type ModelData } from 'highs';

// The package is CommonJS-typed but loads its ES build under import: the default export is the loader either way.
type Loader = typeof highsModule.default;
const loadHighs: Loader =
  typeof highsModule === 'function'
    ? (highsModule as unknown as Loader)
    : (highsModule as unknown as { default: Loader }).default;

interface AllocPilot {
  id: string;
  domain: string;
  units: number;
  /** Position in the first-come order (submission time, then id); greedy serves lower first. */
  order: number;
}

interface AllocSlot {
  id: string;
  available: number;
}

export interface AllocEdge {
  pilot: number;
  slot: number;
  score: number;
}

export interface AllocationInstance {
  pilots: AllocPilot[];
  slots: AllocSlot[];
  edges: AllocEdge[];
  /** Domain → fraction of that domain's pilots in the instance that should be matched. */
  minShare?: Record<string, number>;
}

interface AllocSession {
  slot: number;
  units: number;
  stage: string;
}

/** One complete plan of a pilot: feasible on its own (order, gaps, no overlap, payable), sessions in start order. */
export interface AllocPlan {
  pilot: number;
  score: number;
  credits: number;
  sessions: AllocSession[];
}

export interface PlanInstance {
  pilots: AllocPilot[];
  slots: AllocSlot[];
  plans: AllocPlan[];
  minShare?: Record<string, number>;
}

export interface Assignment {
  pilot: number;
  slot: number;
  score: number;
}

export interface PlanAssignment {
  pilot: number;
  score: number;
  plan: AllocPlan;
}

type Method = 'optimal' | 'greedy';

interface ShareOutcome {
  domain: string;
  pilots: number;
  required: number;
  matched: number;
  met: boolean;
}

export interface AllocationSummary {
  pilots: number;
  slots: number;
  /** Pilot–slot pairs considered (the suitable candidates; with plans, the pairs their sessions use). */
  pairs: number;
  /** Complete plans considered (one a pair for first-release pilots). */
  plans: number;
  /** Pilots given a plan. */
  matched: number;
  /** Sessions in the chosen plans. */
  sessions: number;
  /** Credits of the chosen plans at today's rates (fixed only when each booking is confirmed). */
  credits: number;
  /** Total score of the chosen plans. */
  objective: number;
  greedyObjective: number;
  /**
   * The tightest proven bound on the objective over the plans considered: the MIP's own bound when it proved one
   * (branch and bound with cuts), else the LP relaxation's. Null when neither could be computed in time.
   */
  upperBound: number | null;
  /** Which bound upperBound is. */
  boundSource: 'mip' | 'lp' | null;
  /** (upperBound − objective) / upperBound; 0 when both are 0. */
  gap: number | null;
  /** The LP-relaxation bound alone, and the gap to it: weaker once plans share slots. */
  lpBound: number | null;
  lpGap: number | null;
  /** objective − greedyObjective. */
  gainOverGreedy: number;
  method: Method;
  solver: {
    name: 'highs';
    status: string;
    timeLimitSeconds: number;
    timedOut: boolean;
    /** Set when the answer is the greedy one although the optimal method was asked for, with why. */
    fallback: null | 'greedy';
    note: string | null;
  };
  minShare: ShareOutcome[];
  durationMs: number;
}

export interface AllocationResult {
  assignments: Assignment[];
  summary: AllocationSummary;
}

export interface PlanAllocationResult {
  assignments: PlanAssignment[];
  summary: AllocationSummary;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

let highsPromise: Promise<Highs> | undefined;
const highs = (): Promise<Highs> => (highsPromise ??= loadHighs());

/** Edges sorted canonically and de-duplicated, so equal instances build identical models. */
function canonical(inst: AllocationInstance): AllocationInstance {
  const seen = new Set<string>();
  const edges = inst.edges
    .filter((e) => e.score >= 0 && Number.isFinite(e.score))
    .slice()
    .sort((a, b) => a.pilot - b.pilot || a.slot - b.slot)
    .filter((e) => {
      const k = `${e.pilot}:${e.slot}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return inst.pilots[e.pilot]!.units <= inst.slots[e.slot]!.available;
    });
  return { ...inst, edges };
}

/** Keeps each pilot's best k edges (score desc, slot index asc): the model stays small, the choice stays good. */
export function pruneEdges(inst: AllocationInstance, k: number): AllocationInstance {
  const byPilot = new Map<number, AllocEdge[]>();
  for (const e of inst.edges) (byPilot.get(e.pilot) ?? byPilot.set(e.pilot, []).get(e.pilot)!).push(e);
  const edges: AllocEdge[] = [];
  for (const list of byPilot.values()) {
    list.sort((a, b) => b.score - a.score || a.slot - b.slot);
    edges.push(...list.slice(0, k));
  }
  return { ...inst, edges };
}

/** A single-slot instance as plans: each edge is a one-session plan of stage `main`. */
function edgesAsPlans(inst: AllocationInstance): PlanInstance {
  return {
    pilots: inst.pilots,
    slots: inst.slots,
    plans: inst.edges.map((e) => ({
      pilot: e.pilot,
      score: e.score,
      credits: 0,
      sessions: [{ slot: e.slot, units: inst.pilots[e.pilot]!.units, stage: 'main' }],
    })),
    ...(inst.minShare ? { minShare: inst.minShare } : {}),
  };
}

/** Compares two plans' slot lists (each sorted) lexicographically: the canonical order of a pilot's plans. */
function compareSlots(a: AllocPlan, b: AllocPlan): number {
  const n = Math.min(a.sessions.length, b.sessions.length);
  for (let i = 0; i < n; i++) {
    const d = a.sessions[i]!.slot - b.sessions[i]!.slot;
    if (d) return d;
  }
  return a.sessions.length - b.sessions.length;
}

/**
 * Plans sorted canonically (pilot, then slot lists), sessions sorted by slot, duplicates (the best kept) and plans that could never
 * fit (a session wanting more units than its slot has, a slot twice) dropped: equal instances build identical models.
 */
function canonicalPlans(inst: PlanInstance): PlanInstance {
  const seen = new Set<string>();
  const plans = inst.plans
    .filter((q) => q.score >= 0 && Number.isFinite(q.score) && q.sessions.length > 0)
    .map((q) => ({ ...q, sessions: q.sessions.slice().sort((a, b) => a.slot - b.slot) }))
    .filter((q) =>
      q.sessions.every(
        (x, i) => x.units <= inst.slots[x.slot]!.available && (i === 0 || q.sessions[i - 1]!.slot !== x.slot),
      ),
    )
    // Of plans using the same slots, the best-scoring one is kept.
    .sort((a, b) => a.pilot - b.pilot || compareSlots(a, b) || b.score - a.score)
    .filter((q) => {
      const k = `${q.pilot}:${q.sessions.map((x) => x.slot).join(',')}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  return { ...inst, plans };
}

function shareTargets(inst: {
  pilots: AllocPilot[];
  minShare?: Record<string, number>;
}): { domain: string; pilots: number; required: number }[] {
  const counts = new Map<string, number>();
  for (const p of inst.pilots) counts.set(p.domain, (counts.get(p.domain) ?? 0) + 1);
  return Object.entries(inst.minShare ?? {})
    .filter(([d, f]) => (counts.get(d) ?? 0) > 0 && f > 0)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([domain, f]) => ({
      domain,
      pilots: counts.get(domain)!,
      required: Math.ceil(Math.min(1, f) * counts.get(domain)! - 1e-9),
    }));
}

function shareOutcomes(inst: PlanInstance, assignments: readonly { pilot: number }[]): ShareOutcome[] {
  const matched = new Map<string, number>();
  for (const a of assignments) {
    const d = inst.pilots[a.pilot]!.domain;
    matched.set(d, (matched.get(d) ?? 0) + 1);
  }
  return shareTargets(inst).map((t) => ({
    ...t,
    matched: matched.get(t.domain) ?? 0,
    met: (matched.get(t.domain) ?? 0) >= t.required,
  }));
}

const total = (as: readonly { score: number }[]) => round6(as.reduce((s, a) => s + a.score, 0));

/** First come, best plan: pilots in submission order each take their best-scoring plan that still fits whole. */
export function greedyPlans(inst: PlanInstance): PlanAssignment[] {
  const left = inst.slots.map((s) => s.available);
  const byPilot = new Map<number, AllocPlan[]>();
  for (const q of inst.plans) (byPilot.get(q.pilot) ?? byPilot.set(q.pilot, []).get(q.pilot)!).push(q);
  const order = inst.pilots.map((_, i) => i).sort((a, b) => inst.pilots[a]!.order - inst.pilots[b]!.order || a - b);
  const out: PlanAssignment[] = [];
  for (const p of order) {
    const options = (byPilot.get(p) ?? []).slice().sort((a, b) => b.score - a.score || compareSlots(a, b));
    const pick = options.find((q) => q.sessions.every((x) => left[x.slot]! >= x.units));
    if (!pick) continue;
    for (const x of pick.sessions) left[x.slot]! -= x.units;
    out.push({ pilot: p, score: pick.score, plan: pick });
  }
  return out.sort((a, b) => a.pilot - b.pilot);
}

/** First come, best score: pilots in submission order each take their best slot that still has room. */
export function greedy(inst: AllocationInstance): Assignment[] {
  return greedyPlans(edgesAsPlans(inst)).map(toEdgeAssignment);
}

/** True when the plans chosen respect one-plan-per-pilot and every slot's available units. */
export function isFeasiblePlans(inst: PlanInstance, as: readonly PlanAssignment[]): boolean {
  const used = new Map<number, number>();
  const pilots = new Set<number>();
  for (const a of as) {
    if (pilots.has(a.pilot) || a.plan.pilot !== a.pilot) return false;
    pilots.add(a.pilot);
    for (const x of a.plan.sessions) used.set(x.slot, (used.get(x.slot) ?? 0) + x.units);
  }
  return [...used].every(([s, u]) => u <= inst.slots[s]!.available);
}

/** True when the assignments respect one-slot-per-pilot and every slot's available units. */
export function isFeasible(inst: AllocationInstance, as: Assignment[]): boolean {
  return isFeasiblePlans(
    edgesAsPlans(inst),
    as.map((a) => ({
      pilot: a.pilot,
      score: a.score,
      plan: {
        pilot: a.pilot,
        score: a.score,
        credits: 0,
        sessions: [{ slot: a.slot, units: inst.pilots[a.pilot]!.units, stage: 'main' }],
      },
    })),
  );
}

const toEdgeAssignment = (a: PlanAssignment): Assignment => ({
  pilot: a.pilot,
  slot: a.plan.sessions[0]!.slot,
  score: a.score,
});

interface Model {
  data: ModelData;
  penalty: number;
  targets: { domain: string; pilots: number; required: number }[];
}

function buildModel(h: Highs, inst: PlanInstance, integer: boolean): Model {
  const P = inst.pilots.length;
  const S = inst.slots.length;
  const targets = shareTargets(inst);
  const domainRow = new Map(targets.map((t, i) => [t.domain, P + S + i]));
  const Q = inst.plans.length;
  const T = targets.length;
  const numCols = Q + T;
  const numRows = P + S + T;
  const penalty = P + 1;
  const starts = new Int32Array(numCols + 1);
  const indices: number[] = [];
  const values: number[] = [];
  const colCost = new Float64Array(numCols);
  const colLower = new Float64Array(numCols);
  const colUpper = new Float64Array(numCols);
  for (let j = 0; j < Q; j++) {
    const q = inst.plans[j]!;
    const p = inst.pilots[q.pilot]!;
    starts[j] = indices.length;
    indices.push(q.pilot);
    values.push(1);
    // Sessions are sorted by slot (canonicalPlans), so the column's row indices ascend.
    for (const x of q.sessions) {
      indices.push(P + x.slot);
      values.push(x.units);
    }
    const d = domainRow.get(p.domain);
    if (d !== undefined) {
      indices.push(d);
      values.push(1);
    }
    colCost[j] = q.score;
    colUpper[j] = 1;
  }
  for (let i = 0; i < T; i++) {
    starts[Q + i] = indices.length;
    indices.push(P + S + i);
    values.push(1);
    colCost[Q + i] = -penalty;
    colUpper[Q + i] = targets[i]!.required;
  }
  starts[numCols] = indices.length;
  const rowLower = new Float64Array(numRows);
  const rowUpper = new Float64Array(numRows);
  for (let i = 0; i < P; i++) {
    rowLower[i] = -h.infinity;
    rowUpper[i] = 1;
  }
  for (let i = 0; i < S; i++) {
    rowLower[P + i] = -h.infinity;
    rowUpper[P + i] = inst.slots[i]!.available;
  }
  for (let i = 0; i < T; i++) {
    rowLower[P + S + i] = targets[i]!.required;
    rowUpper[P + S + i] = h.infinity;
  }
  const data: ModelData = {
    numCols,
    numRows,
    sense: h.constants.objectiveSense.maximize,
    colCost,
    colLower,
    colUpper,
    rowLower,
    rowUpper,
    matrix: {
      format: 'csc',
      numRows,
      numCols,
      starts,
      indices: Int32Array.from(indices),
      values: Float64Array.from(values),
    },
    ...(integer
      ? {
          integrality: Int32Array.from({ length: numCols }, (_, j) =>
            j < Q ? h.constants.variableType.integer : h.constants.variableType.continuous,
          ),
        }
      : {}),
  };
  return { data, penalty, targets };
}
const STATUS: Record<number, string> = {
  7: 'optimal',
  8: 'infeasible',
  13: 'time-limit',
  14: 'iteration-limit',
  17: 'interrupted',
};

interface SolveOutcome {
  status: string;
  timedOut: boolean;
  objective: number | null;
  colValue: Float64Array | null;
  /** The MIP's proven bound on the optimum when it stopped (branch and bound with cuts); null for an LP. */
  dualBound: number | null;
}

const finite = (x: number) => (Number.isFinite(x) && Math.abs(x) < 1e20 ? x : null);

function solve(h: Highs, data: ModelData, timeLimitSeconds: number, mip: boolean): SolveOutcome {
  const model = h.createModel(data);
  try {
    model.options.set({ output_flag: false, time_limit: Math.max(0.05, timeLimitSeconds), random_seed: 0 });
    if (mip) model.options.set({ mip_rel_gap: 1e-5 });
    model.run();
    const code = model.getModelStatus();
    const status = STATUS[code] ?? `status-${code}`;
    const hasPrimal = Number(model.info.get('primal_solution_status')) === h.constants.solutionStatus.feasible;
    return {
      status,
      timedOut: code === 13,
      objective: hasPrimal ? model.getObjectiveValue() : null,
      colValue: hasPrimal ? model.getSolution().colValue : null,
      dualBound: mip ? finite(Number(model.info.get('mip_dual_bound'))) : null,
    };
  } finally {
    model.dispose();
  }
}

export interface AllocateOptions {
  /** Wall-clock budget for the MIP (the LP gets the same budget on its own). */
  timeLimitSeconds: number;
  method: Method;
}

/** Allocation over single slots (first-release pilots): each edge is a one-session plan. */
export async function allocate(input: AllocationInstance, options: AllocateOptions): Promise<AllocationResult> {
  const r = await allocatePlans(edgesAsPlans(canonical(input)), options);
  return { assignments: r.assignments.map(toEdgeAssignment), summary: { ...r.summary, pairs: r.summary.plans } };
}

/** Allocation over whole plans: each pilot gets one of its plans, complete, or nothing. */
export async function allocatePlans(input: PlanInstance, options: AllocateOptions): Promise<PlanAllocationResult> {
  const started = performance.now();
  const inst = canonicalPlans(input);
  const h = await highs();
  const greedyAssignments = greedyPlans(inst);
  const greedyObjective = total(greedyAssignments);

  // The LP relaxation: same model, continuous variables. Its optimum bounds the MIP's penalised objective;
  // adding back the penalty of the chosen answer's shortfall turns it into a bound on the answer's score.
  const lpModel = buildModel(h, inst, false);
  const lp = inst.plans.length
    ? solve(h, lpModel.data, options.timeLimitSeconds, false)
    : { status: 'optimal', timedOut: false, objective: 0, colValue: null };

  let assignments = greedyAssignments;
  let status = 'not-run';
  let mipBound: number | null = null;
  let timedOut = false;
  let fallback: null | 'greedy' = null;
  let note: string | null = null;
  if (options.method === 'optimal') {
    if (!inst.plans.length) {
      status = 'optimal';
    } else {
      const mip = solve(h, buildModel(h, inst, true).data, options.timeLimitSeconds, true);
      status = mip.status;
      timedOut = mip.timedOut;
      mipBound = mip.dualBound;
      const chosen: PlanAssignment[] = [];
      if (mip.colValue) {
        for (let j = 0; j < inst.plans.length; j++) {
          const q = inst.plans[j]!;
          if (mip.colValue[j]! > 0.5) chosen.push({ pilot: q.pilot, score: q.score, plan: q });
        }
      }
      const penalised = (as: PlanAssignment[]) =>
        total(as) -
        lpModel.penalty * shareOutcomes(inst, as).reduce((s, o) => s + Math.max(0, o.required - o.matched), 0);
      if (!mip.colValue) {
        fallback = 'greedy';
        note = `The solver found no solution within ${options.timeLimitSeconds} s (${mip.status}); these are the greedy proposals.`;
      } else if (!isFeasiblePlans(inst, chosen)) {
        fallback = 'greedy';
        note = 'The solver answer broke a capacity on re-check; these are the greedy proposals.';
      } else if (penalised(chosen) + 1e-9 < penalised(greedyAssignments)) {
        fallback = 'greedy';
        note = `The solver stopped at its ${options.timeLimitSeconds} s limit with an answer worse than greedy; these are the greedy proposals.`;
      } else {
        assignments = chosen.sort((a, b) => a.pilot - b.pilot);
        if (timedOut)
          note = `The solver stopped at its ${options.timeLimitSeconds} s limit; the answer is feasible but may not be optimal.`;
      }
    }
  }

  const objective = total(assignments);
  const shares = shareOutcomes(inst, assignments);
  const shortfall = shares.reduce((s, o) => s + Math.max(0, o.required - o.matched), 0);
  const bound = (b: number | null) =>
    b === null ? null : round6(Math.max(objective, b + lpModel.penalty * shortfall));
  const gapTo = (b: number | null) => (b === null ? null : b === 0 ? 0 : round6((b - objective) / b));
  const lpBound = bound(lp.objective);
  const proven = bound(mipBound);
  const boundSource =
    proven !== null && (lpBound === null || proven < lpBound) ? 'mip' : lpBound !== null ? 'lp' : null;
  const upperBound = boundSource === 'mip' ? proven : lpBound;
  const pairs = new Set(inst.plans.flatMap((q) => q.sessions.map((x) => q.pilot * inst.slots.length + x.slot))).size;
  return {
    assignments,
    summary: {
      pilots: inst.pilots.length,
      slots: inst.slots.length,
      pairs,
      plans: inst.plans.length,
      matched: assignments.length,
      sessions: assignments.reduce((s, a) => s + a.plan.sessions.length, 0),
      credits: assignments.reduce((s, a) => s + a.plan.credits, 0),
      objective,
      greedyObjective,
      upperBound,
      boundSource,
      gap: gapTo(upperBound),
      lpBound,
      lpGap: gapTo(lpBound),
      gainOverGreedy: round6(objective - greedyObjective),
      method: options.method,
      solver: { name: 'highs', status, timeLimitSeconds: options.timeLimitSeconds, timedOut, fallback, note },
      minShare: shares,
      durationMs: Math.round(performance.now() - started),
    },
  };
}
