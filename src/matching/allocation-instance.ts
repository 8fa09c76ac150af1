/**
 * Turns pilots and open slots into an allocation instance: for every pilot, the slots that pass its hard
 * filters, scored as candidates are (scoring.ts), keeping each pilot's best PAIRS_PER_PILOT. With stages, each
 * pilot's best PLANS_PER_PILOT complete plans from the plan search (plans.ts) over those slots. Pure.
 */
import type { AllocationInstance, AllocEdge, AllocPlan, PlanInstance } from './allocation.js';
import { pruneEdges } from './allocation.js';
import { creditsFor, searchPlans, type PlanLimits, type PlanSlot, type PlanStage } from './plans.js';
import { scoreOffer, unsuitability, type PilotNeeds, type SlotOffer } from './scoring.js';

/** Each pilot's best candidate slots considered by a run; the model stays small and the choice stays good. */
const PAIRS_PER_PILOT = 40;

export interface InstancePilot {
  id: string;
  needs: PilotNeeds;
  /** First-come order for the greedy baseline. */
  order: number;
}

const HOUR = 3_600_000;

type Testbeds = { t: SlotOffer['testbed']; list: SlotOffer[] }[];

function testbedsOf(offers: readonly SlotOffer[]): Testbeds {
  const byTestbed = new Map<string, SlotOffer[]>();
  for (const o of offers) (byTestbed.get(o.testbedId) ?? byTestbed.set(o.testbedId, []).get(o.testbedId)!).push(o);
  for (const list of byTestbed.values())
    list.sort((a, b) => a.start.getTime() - b.start.getTime() || (a.slotId < b.slotId ? -1 : 1));
  return [...byTestbed.values()].map((list) => ({ t: list[0]!.testbed, list }));
}

/** Every offer that passes the hard filters of `n` for `units`, in testbed then start order. */
function eligibleOffers(n: PilotNeeds, testbeds: Testbeds, units = n.units): SlotOffer[] {
  const out: SlotOffer[] = [];
  const lastStart = n.latestEnd.getTime() - n.durationHours * HOUR;
  for (const { t, list } of testbeds) {
    if (
      t.status !== 'active' ||
      !t.domains.includes(n.domain) ||
      !n.capabilities.every((c) => t.capabilities.includes(c))
    )
      continue;
    // Binary search the first slot starting at or after earliestStart.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.start.getTime() < n.earliestStart.getTime()) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < list.length && list[i]!.start.getTime() <= lastStart; i++) {
      if (!unsuitability(n, list[i]!, units).length) out.push(list[i]!);
    }
  }
  return out;
}

export function buildInstance(
  pilots: InstancePilot[],
  offers: SlotOffer[],
  scarce: ReadonlySet<string>,
  minShare?: Record<string, number>,
  pairsPerPilot = PAIRS_PER_PILOT,
): AllocationInstance {
  const slots = offers.map((o) => ({ id: o.slotId, available: o.capacity - o.bookedUnits }));
  const index = new Map(offers.map((o, i) => [o, i]));
  const testbeds = testbedsOf(offers);
  const edges: AllocEdge[] = [];
  pilots.forEach((p, pi) => {
    for (const o of eligibleOffers(p.needs, testbeds))
      edges.push({ pilot: pi, slot: index.get(o)!, score: scoreOffer(p.needs, o, scarce).score });
  });
  const inst: AllocationInstance = {
    pilots: pilots.map((p) => ({ id: p.id, domain: p.needs.domain, units: p.needs.units, order: p.order })),
    slots,
    edges,
    ...(minShare ? { minShare } : {}),
  };
  return pruneEdges(inst, pairsPerPilot);
}

/** Each staged pilot's best complete plans considered by a run. */
export const PLANS_PER_PILOT = 20;
/** Each stage's best eligible slots handed to the plan search. */
const SLOTS_PER_STAGE = 200;
/** A narrower search than GET plans: a run searches for a thousand pilots at once. */
const RUN_PLAN_LIMITS: PlanLimits = { beamWidth: 24, optionsPerStage: 16, slotsPerStage: 40 };

export interface RunStage extends PlanStage {
  units: number;
  needs: PilotNeeds;
}

export interface RunPilot {
  id: string;
  domain: string;
  /** First-come order for the greedy baseline. */
  order: number;
  /** A first-release pilot: its plans are its single suitable slots, exactly the pairs of a single-slot run. */
  single: boolean;
  stages: RunStage[];
  /** Credits left to spend; null when the pilot has no budget. */
  remaining: number | null;
}

export interface PlanScene {
  pilots: RunPilot[];
  offers: SlotOffer[];
  /** Testbed id → credits per unit-hour (1 when absent). */
  rates: Record<string, number>;
  minShare?: Record<string, number>;
}

/**
 * The whole-plan instance: a first-release pilot's plans are its best PAIRS_PER_PILOT single slots it can pay
 * for; a staged pilot's are the best PLANS_PER_PILOT plans the plan search finds among each stage's best slots.
 * Every plan is payable from what remains of the pilot's budget.
 */
export function buildPlanInstance(scene: PlanScene, scarce: ReadonlySet<string>): PlanInstance {
  const { offers } = scene;
  const index = new Map(offers.map((o, i) => [o, i]));
  const testbeds = testbedsOf(offers);
  const rate = (o: SlotOffer) => scene.rates[o.testbedId] ?? 1;
  const hoursOf = (o: SlotOffer) => (o.end.getTime() - o.start.getTime()) / HOUR;
  const plans: AllocPlan[] = [];
  scene.pilots.forEach((p, pi) => {
    const budget = p.remaining ?? Infinity;
    if (p.single) {
      const stage = p.stages[0]!;
      const options = eligibleOffers(stage.needs, testbeds, stage.units)
        .map((o) => ({
          o,
          slot: index.get(o)!,
          score: scoreOffer(stage.needs, o, scarce).score,
          credits: creditsFor(stage.units, hoursOf(o), rate(o)),
        }))
        .filter((x) => x.credits <= budget)
        .sort((a, b) => b.score - a.score || a.slot - b.slot)
        .slice(0, PAIRS_PER_PILOT);
      for (const x of options)
        plans.push({
          pilot: pi,
          score: x.score,
          credits: x.credits,
          sessions: [{ slot: x.slot, units: stage.units, stage: stage.key }],
        });
      return;
    }
    const slotsByStage = new Map<string, PlanSlot[]>();
    for (const stage of p.stages) {
      const ranked = eligibleOffers(stage.needs, testbeds, stage.units)
        .map((o) => ({ o, slot: index.get(o)!, score: scoreOffer(stage.needs, o, scarce).score }))
        .sort((a, b) => b.score - a.score || a.o.start.getTime() - b.o.start.getTime() || a.slot - b.slot)
        .slice(0, SLOTS_PER_STAGE);
      slotsByStage.set(
        stage.key,
        ranked.map((x) => ({
          slotId: String(x.slot),
          testbedId: x.o.testbedId,
          start: x.o.start.getTime(),
          end: x.o.end.getTime(),
          score: x.score,
          credits: creditsFor(stage.units, hoursOf(x.o), rate(x.o)),
        })),
      );
    }
    const units = new Map(p.stages.map((s) => [s.key, s.units]));
    for (const q of searchPlans(p.stages, slotsByStage, p.remaining, PLANS_PER_PILOT, RUN_PLAN_LIMITS)) {
      plans.push({
        pilot: pi,
        score: q.score,
        credits: q.credits,
        sessions: q.sessions.map((x) => ({ slot: Number(x.slotId), units: units.get(x.stage)!, stage: x.stage })),
      });
    }
  });
  return {
    pilots: scene.pilots.map((p) => ({
      id: p.id,
      domain: p.domain,
      units: Math.max(...p.stages.map((s) => s.units)),
      order: p.order,
    })),
    slots: offers.map((o) => ({ id: o.slotId, available: o.capacity - o.bookedUnits })),
    plans,
    ...(scene.minShare ? { minShare: scene.minShare } : {}),
  };
}
