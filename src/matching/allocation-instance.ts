/**
 * Turns pilots and open slots into an allocation instance: for every pilot, the slots that pass its hard
 * filters, scored as candidates are (scoring.ts), keeping each pilot's best PAIRS_PER_PILOT. Pure.
 */
import type { AllocationInstance, AllocEdge } from './allocation.js';
import { pruneEdges } from './allocation.js';
import { scoreOffer, unsuitability, type PilotNeeds, type SlotOffer } from './scoring.js';

/** Each pilot's best candidate slots considered by a run; the model stays small and the choice stays good. */
export const PAIRS_PER_PILOT = 40;

export interface InstancePilot {
  id: string;
  needs: PilotNeeds;
  /** First-come order for the greedy baseline. */
  order: number;
}

const HOUR = 3_600_000;

export function buildInstance(
  pilots: InstancePilot[],
  offers: SlotOffer[],
  scarce: ReadonlySet<string>,
  minShare?: Record<string, number>,
  pairsPerPilot = PAIRS_PER_PILOT,
): AllocationInstance {
  const slots = offers.map((o) => ({ id: o.slotId, available: o.capacity - o.bookedUnits }));
  const index = new Map(offers.map((o, i) => [o, i]));
  const byTestbed = new Map<string, SlotOffer[]>();
  for (const o of offers) (byTestbed.get(o.testbedId) ?? byTestbed.set(o.testbedId, []).get(o.testbedId)!).push(o);
  for (const list of byTestbed.values()) list.sort((a, b) => a.start.getTime() - b.start.getTime() || (a.slotId < b.slotId ? -1 : 1));
  const testbeds = [...byTestbed.values()].map((list) => ({ t: list[0]!.testbed, list }));

  const edges: AllocEdge[] = [];
  pilots.forEach((p, pi) => {
    const n = p.needs;
    const lastStart = n.latestEnd.getTime() - n.durationHours * HOUR;
    for (const { t, list } of testbeds) {
      if (t.status !== 'active' || !t.domains.includes(n.domain) || !n.capabilities.every((c) => t.capabilities.includes(c))) continue;
      // Binary search the first slot starting at or after earliestStart.
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (list[mid]!.start.getTime() < n.earliestStart.getTime()) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < list.length && list[i]!.start.getTime() <= lastStart; i++) {
        const o = list[i]!;
        if (unsuitability(n, o).length) continue;
        edges.push({ pilot: pi, slot: index.get(o)!, score: scoreOffer(n, o, scarce).score });
      }
    }
  });
  const inst: AllocationInstance = {
    pilots: pilots.map((p) => ({ id: p.id, domain: p.needs.domain, units: p.needs.units, order: p.order })),
    slots,
    edges,
    ...(minShare ? { minShare } : {}),
  };
  return pruneEdges(inst, pairsPerPilot);
}
