/** A generated allocation instance of realistic shape, deterministic for a seed (shared by bench and tests). */
import { CAPABILITIES, DOMAINS } from '../../src/domains/catalog.js';
import type { InstancePilot, PlanScene, RunPilot, RunStage } from '../../src/matching/allocation-instance.js';
import type { SlotOffer } from '../../src/matching/scoring.js';

const H = 3_600_000;
const D = 24 * H;

/** sfc32-ish small PRNG, enough for data generation. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateScene(
  seed: number,
  pilots: number,
  slots: number,
  testbeds = Math.max(1, Math.round(slots / 50)),
) {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)]!;
  const uuid = (prefix: number, i: number) =>
    `${String(prefix).padStart(8, '0')}-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const T0 = Date.UTC(2027, 0, 4);
  const days = 90;
  const caps = CAPABILITIES.map((c) => c.code);
  const beds = Array.from({ length: testbeds }, (_, i) => {
    const domains = [...new Set([pick(DOMAINS).code, ...(r() < 0.3 ? [pick(DOMAINS).code] : [])])];
    const capabilities = [...new Set(Array.from({ length: 1 + int(4) }, () => pick(caps)))];
    return {
      id: uuid(1, i),
      domains,
      capabilities,
      lat: 35.1 + r() * 0.2,
      lng: 126.8 + r() * 0.2,
      utilization: r() * 0.6,
    };
  });
  const perBed = Math.ceil(slots / testbeds);
  const offers: SlotOffer[] = [];
  for (let b = 0; b < testbeds && offers.length < slots; b++) {
    const bed = beds[b]!;
    let t = T0 + int(3) * D;
    for (let k = 0; k < perBed && offers.length < slots; k++) {
      const hours = 4 + int(9);
      const start = t;
      t += hours * H + int(Math.floor((days * D) / perBed / H)) * H;
      const capacity = 1 + int(3);
      offers.push({
        slotId: uuid(2, offers.length),
        testbedId: bed.id,
        testbedName: `bed ${b}`,
        start: new Date(start),
        end: new Date(start + hours * H),
        capacity,
        bookedUnits: r() < 0.2 ? int(capacity) : 0,
        testbed: { status: 'active', domains: bed.domains, capabilities: bed.capabilities, lat: bed.lat, lng: bed.lng },
        utilization: bed.utilization,
      });
    }
  }
  const ps: InstancePilot[] = Array.from({ length: pilots }, (_, i) => {
    const bed = pick(beds);
    const earliest = T0 + int(days - 20) * D;
    return {
      id: uuid(3, i),
      order: i,
      needs: {
        domain: pick(bed.domains),
        capabilities: bed.capabilities.filter(() => r() < 0.5),
        units: r() < 0.7 ? 1 : 2,
        durationHours: 4 + int(5),
        earliestStart: new Date(earliest),
        latestEnd: new Date(earliest + (7 + int(14)) * D),
        ...(r() < 0.5 ? { location: { lat: 35.1 + r() * 0.2, lng: 126.8 + r() * 0.2 } } : {}),
      },
    };
  });
  return { pilots: ps, offers };
}

/**
 * A generated whole-plan scene: `pilots` pilots with 2–3 stages in order over `slots` slots, each plan of 2–8
 * sessions (a stage of one to three times 8 h, in sessions of 8–12 h), 30 % on budgets. Deterministic.
 */
export function generateStagedScene(seed: number, pilots: number, slots: number): PlanScene {
  const { offers } = generateScene(seed, 0, slots);
  const r = rng(seed * 7919 + 1);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)]!;
  const beds = [...new Map(offers.map((o) => [o.testbedId, o.testbed])).values()];
  const T0 = Date.UTC(2027, 0, 4);
  const rates: Record<string, number> = Object.fromEntries(
    [...new Set(offers.map((o) => o.testbedId))].map((id) => [id, 1 + int(3)]),
  );
  const ps: RunPilot[] = Array.from({ length: pilots }, (_, i) => {
    const domain = pick(pick(beds).domains);
    const serving = beds.filter((b) => b.domains.includes(domain));
    const count = 2 + int(2);
    let sessionsLeft = Math.max(count, 2 + int(7));
    const start = T0 + int(50) * D;
    const location = r() < 0.5 ? { lat: 35.1 + r() * 0.2, lng: 126.8 + r() * 0.2 } : undefined;
    const stages: RunStage[] = [];
    for (let k = 0; k < count; k++) {
      const bed = pick(serving);
      const sessions =
        k === count - 1
          ? Math.min(3, sessionsLeft)
          : Math.max(1, Math.min(3, sessionsLeft - (count - 1 - k), 1 + int(3)));
      sessionsLeft -= sessions;
      const hours = sessions * 8;
      const units = r() < 0.8 ? 1 : 2;
      const earliestStart = new Date(start);
      const latestEnd = new Date(start + (28 + int(21)) * D);
      const key = ['prepare', 'trial', 'field'][k]!;
      stages.push({
        key,
        hours,
        units,
        ...(k > 0
          ? {
              after: {
                stage: stages[k - 1]!.key,
                minGapHours: int(3) * 12,
                ...(r() < 0.5 ? { maxGapHours: 240 } : {}),
              },
            }
          : {}),
        needs: {
          domain,
          capabilities: bed.capabilities.filter(() => r() < 0.5),
          units,
          // Sessions of 8–12 h: a stage of k × 8 h takes at most k of them, so a plan has 2–8 sessions.
          durationHours: 8,
          maxSessionHours: 12,
          earliestStart,
          latestEnd,
          location,
        },
      });
    }
    return {
      id: `${String(4).padStart(8, '0')}-0000-4000-8000-${String(i).padStart(12, '0')}`,
      domain,
      order: i,
      single: false,
      stages,
      remaining: r() < 0.3 ? 100 + int(300) : null,
    };
  });
  return { pilots: ps, offers, rates };
}
