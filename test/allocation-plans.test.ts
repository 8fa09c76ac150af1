/**
 * Whole-plan allocation (pure, HiGHS): each pilot gets one of its complete plans or nothing, slot capacity holds,
 * the optimum is found where first-come greedy is worse, the bound covers the answer, budgets are respected.
 */
import assert from 'node:assert/strict';
import {
  allocatePlans,
  greedyPlans,
  isFeasiblePlans,
  type AllocPlan,
  type PlanInstance,
} from '../src/matching/allocation.js';
import { buildPlanInstance, type PlanScene, type RunPilot } from '../src/matching/allocation-instance.js';
import { SCARCE } from '../src/matching/candidates.js';
import type { SlotOffer } from '../src/matching/scoring.js';
import { Rng } from './support/fuzz.js';

const plan = (pilot: number, score: number, slots: number[], units = 1, credits = 0): AllocPlan => ({
  pilot,
  score,
  credits,
  sessions: slots.map((slot, i) => ({ slot, units, stage: i === 0 ? 'first' : 'then' })),
});

/** The best total score by trying every choice of at most one plan per pilot. */
function bruteForce(inst: PlanInstance): number {
  const byPilot = inst.pilots.map((_, p) => inst.plans.filter((q) => q.pilot === p));
  let best = 0;
  const left = inst.slots.map((s) => s.available);
  const visit = (p: number, sum: number) => {
    if (p === byPilot.length) {
      best = Math.max(best, sum);
      return;
    }
    visit(p + 1, sum);
    for (const q of byPilot[p]!) {
      if (!q.sessions.every((x) => left[x.slot]! >= x.units)) continue;
      for (const x of q.sessions) left[x.slot]! -= x.units;
      visit(p + 1, sum + q.score);
      for (const x of q.sessions) left[x.slot]! += x.units;
    }
  };
  visit(0, 0);
  return Math.round(best * 1e6) / 1e6;
}

/** Random small instances: pilots with up to three plans of two to four sessions over a few shared slots. */
function generate(seed: number): PlanInstance {
  const rng = new Rng(seed);
  const pilots = 3 + rng.int(5);
  const slots = 4 + rng.int(6);
  const inst: PlanInstance = {
    pilots: Array.from({ length: pilots }, (_, i) => ({
      id: `p${i}`,
      domain: 'health',
      units: 1,
      order: rng.int(100),
    })),
    slots: Array.from({ length: slots }, (_, i) => ({ id: `s${i}`, available: 1 + rng.int(2) })),
    plans: [],
  };
  for (let p = 0; p < pilots; p++) {
    const units = 1 + rng.int(2);
    for (let k = 1 + rng.int(3); k > 0; k--) {
      const chosen = new Set<number>();
      for (let n = 2 + rng.int(3); n > 0; n--) chosen.add(rng.int(slots));
      inst.plans.push(plan(p, Math.round(rng.next() * 1e6) / 1e6, [...chosen], units));
    }
  }
  return inst;
}

describe('whole-plan allocation (pure, HiGHS)', () => {
  it('finds the known optimum where first-come greedy blocks a later pilot, and the bound covers it', async () => {
    // A comes first; its best plan (0.9) takes s0+s1, its other (0.8) s2+s3. B's only plan needs s1+s4.
    const inst: PlanInstance = {
      pilots: [
        { id: 'A', domain: 'health', units: 1, order: 0 },
        { id: 'B', domain: 'health', units: 1, order: 1 },
      ],
      slots: Array.from({ length: 5 }, (_, i) => ({ id: `s${i}`, available: 1 })),
      plans: [plan(0, 0.9, [0, 1]), plan(0, 0.8, [2, 3]), plan(1, 0.7, [1, 4])],
    };
    const g = greedyPlans(inst);
    assert.deepEqual(
      g.map((a) => [a.pilot, a.plan.sessions.map((x) => x.slot)]),
      [[0, [0, 1]]],
    );
    const r = await allocatePlans(inst, { method: 'optimal', timeLimitSeconds: 5 });
    assert.equal(r.summary.objective, 1.5);
    assert.equal(r.summary.greedyObjective, 0.9);
    assert.ok(r.summary.greedyObjective < r.summary.objective);
    assert.ok(r.summary.upperBound! >= r.summary.objective);
    assert.equal(r.summary.solver.status, 'optimal');
    assert.deepEqual(
      r.assignments.map((a) => [a.pilot, a.plan.sessions.map((x) => x.slot)]),
      [
        [0, [2, 3]],
        [1, [1, 4]],
      ],
    );
    assert.equal(r.summary.matched, 2);
    assert.equal(r.summary.sessions, 4);
  });

  it('never splits a plan: a pilot whose plan does not fit whole gets nothing, even if part of it would fit', async () => {
    // B's plan needs s0 and s1; A (better score) holds s1. Taking only s0 for B is not an answer.
    const inst: PlanInstance = {
      pilots: [
        { id: 'A', domain: 'health', units: 1, order: 0 },
        { id: 'B', domain: 'health', units: 1, order: 1 },
      ],
      slots: [
        { id: 's0', available: 1 },
        { id: 's1', available: 1 },
      ],
      plans: [plan(0, 0.9, [1]), plan(1, 0.5, [0, 1])],
    };
    const r = await allocatePlans(inst, { method: 'optimal', timeLimitSeconds: 5 });
    assert.deepEqual(
      r.assignments.map((a) => a.pilot),
      [0],
    );
    assert.equal(r.summary.sessions, 1);
    assert.equal(r.summary.upperBound, 0.9, 'the LP cannot take half of B either: its plan shares s1 with A');
  });

  it('on generated instances equals the brute-force optimum, beats or ties greedy, stays under the bound, keeps plans whole', async () => {
    let strictlyBetter = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const inst = generate(seed);
      const r = await allocatePlans(inst, { method: 'optimal', timeLimitSeconds: 5 });
      const optimum = bruteForce(inst);
      assert.ok(Math.abs(r.summary.objective - optimum) < 1e-6, `seed ${seed}: ${r.summary.objective} ≠ ${optimum}`);
      assert.ok(r.summary.greedyObjective <= r.summary.objective + 1e-9, `seed ${seed}: greedy above optimum`);
      assert.ok(r.summary.upperBound! >= r.summary.objective - 1e-6, `seed ${seed}: bound below objective`);
      assert.ok(isFeasiblePlans(inst, r.assignments), `seed ${seed}: capacity broken`);
      assert.ok(isFeasiblePlans(inst, greedyPlans(inst)), `seed ${seed}: greedy broke capacity`);
      for (const a of r.assignments) {
        const given = inst.plans
          .filter((q) => q.pilot === a.pilot)
          .map((q) => [...q.sessions.map((x) => x.slot)].sort().join(','));
        assert.ok(
          given.includes([...a.plan.sessions.map((x) => x.slot)].sort().join(',')),
          `seed ${seed}: a plan not given`,
        );
      }
      if (r.summary.objective > r.summary.greedyObjective + 1e-9) strictlyBetter++;
    }
    assert.ok(strictlyBetter > 0, 'some generated instance must separate the optimum from greedy');
  });
});

const H = 3_600_000;
const T0 = Date.UTC(2030, 0, 7);
const testbed = (caps: string[]) => ({
  status: 'active',
  domains: ['health'],
  capabilities: caps,
  lat: 35.2,
  lng: 126.85,
});

function offer(
  id: number,
  testbedId: string,
  caps: string[],
  startHour: number,
  hours: number,
  capacity = 1,
): SlotOffer {
  return {
    slotId: `slot-${id}`,
    testbedId,
    testbedName: testbedId,
    start: new Date(T0 + startHour * H),
    end: new Date(T0 + (startHour + hours) * H),
    capacity,
    bookedUnits: 0,
    testbed: testbed(caps),
    utilization: 0,
  };
}

const needs = (caps: string[]) => ({
  domain: 'health',
  capabilities: caps,
  units: 1,
  durationHours: 0,
  earliestStart: new Date(T0),
  latestEnd: new Date(T0 + 30 * 24 * H),
});

function stagedPilot(id: string, order: number, remaining: number | null): RunPilot {
  return {
    id,
    domain: 'health',
    order,
    single: false,
    remaining,
    stages: [
      { key: 'train', hours: 8, units: 1, needs: needs(['gpu-cluster']) },
      { key: 'care', hours: 8, units: 1, after: { stage: 'train', minGapHours: 0 }, needs: needs(['care-facility']) },
    ],
  };
}

describe('whole-plan instances (plan search per pilot)', () => {
  // GPU slots: a dear one early (rate 5) and a cheap one later (rate 1); care slots after both.
  const offers = [
    offer(0, 'gpu-dear', ['gpu-cluster'], 0, 8),
    offer(1, 'gpu-cheap', ['gpu-cluster'], 24, 8),
    offer(2, 'care', ['care-facility'], 48, 8),
    offer(3, 'care', ['care-facility'], 72, 8),
  ];
  const rates = { 'gpu-dear': 5, 'gpu-cheap': 1, care: 1 };

  it('gives a staged pilot complete plans in stage order, each payable from what is left of its budget', () => {
    const scene: PlanScene = { pilots: [stagedPilot('rich', 0, null), stagedPilot('poor', 1, 20)], offers, rates };
    const inst = buildPlanInstance(scene, SCARCE);
    const rich = inst.plans.filter((q) => q.pilot === 0);
    const poor = inst.plans.filter((q) => q.pilot === 1);
    assert.ok(
      rich.some((q) => q.sessions.some((x) => x.slot === 0)),
      'the dear slot is a plan of the unlimited pilot',
    );
    assert.ok(poor.length > 0);
    for (const q of poor) {
      assert.ok(q.credits <= 20, `plan costs ${q.credits}`);
      assert.ok(
        !q.sessions.some((x) => x.slot === 0),
        'the dear slot (40 credits) is never in a plan of the pilot with 20',
      );
    }
    for (const q of inst.plans) {
      assert.deepEqual(q.sessions.map((x) => x.stage).sort(), ['care', 'train']);
      const train = q.sessions.find((x) => x.stage === 'train')!;
      const care = q.sessions.find((x) => x.stage === 'care')!;
      assert.ok(offers[care.slot]!.start.getTime() >= offers[train.slot]!.end.getTime(), 'stage order');
    }
  });

  it('gives a pilot that cannot pay for any plan no plan at all, and a first-release pilot only slots it can pay for', async () => {
    const single: RunPilot = {
      id: 'one',
      domain: 'health',
      order: 2,
      single: true,
      remaining: 10,
      stages: [{ key: 'main', hours: 8, units: 1, needs: { ...needs(['gpu-cluster']), durationHours: 8 } }],
    };
    const scene: PlanScene = { pilots: [stagedPilot('broke', 0, 5), single], offers, rates };
    const inst = buildPlanInstance(scene, SCARCE);
    assert.equal(inst.plans.filter((q) => q.pilot === 0).length, 0);
    assert.deepEqual(
      inst.plans.filter((q) => q.pilot === 1).map((q) => q.sessions.map((x) => x.slot)),
      [[1]],
    );
    const r = await allocatePlans(inst, { method: 'optimal', timeLimitSeconds: 5 });
    assert.deepEqual(
      r.assignments.map((a) => a.pilot),
      [1],
    );
    assert.equal(r.summary.credits, 8);
  });
});
