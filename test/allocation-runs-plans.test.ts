/**
 * Allocation runs over whole plans, through the API: a staged pilot gets every session of one plan or nothing,
 * its proposals share a groupId and are accepted and approved as one; a run never proposes a plan the pilot cannot
 * pay for; the summary reports sessions and credits.
 */
import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import { createTestbed, operator, signup, type Actor } from './support/factories.js';
import { approve, at, slotOn, submittedPilot } from './support/matching-factories.js';

const api = () => ctx().api();

/** Two 8-hour simulator sessions, then a day on a V2X road after them. */
const stages = () => [
  {
    key: 'sim',
    capabilities: ['driving-simulator'],
    units: 1,
    hours: 16,
    sessionHours: { max: 8 },
    earliestStart: at(0),
    latestEnd: at(30),
  },
  {
    key: 'road',
    capabilities: ['v2x'],
    units: 1,
    hours: 8,
    after: { stage: 'sim' },
    earliestStart: at(0),
    latestEnd: at(30),
  },
];

async function stagedPilot(owner: Actor) {
  const res = await api()
    .post('/v1/pilots')
    .set(owner.auth)
    .send({
      title: 'Cockpit plan',
      summary: 'Two simulator days, then the road.',
      domain: 'transport-safety',
      requirements: { stages: stages() },
    });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal((await api().post(`/v1/pilots/${res.body.id}/submit`).set(owner.auth)).status, 200);
  return res.body as { id: string };
}

/**
 * Simulator slots on days 1 and 2 (one unit each) and day 20, a road slot on day 5. A first-release pilot that
 * came first would take day 1 (greedy); the whole-plan optimum gives it day 20 and the staged pilot days 1, 2, 5.
 */
async function scene() {
  const [op, partner, first, second] = [await operator(), await signup('partner'), await signup(), await signup()];
  const single = await submittedPilot(first);
  const staged = await stagedPilot(second);
  const sim = await createTestbed(partner, { capacity: 1 });
  const road = await createTestbed(partner, { capacity: 1, capabilities: ['v2x'] });
  const slots = {
    day1: await slotOn(partner, sim.id, 1),
    day2: await slotOn(partner, sim.id, 2),
    day20: await slotOn(partner, sim.id, 20),
    road5: await slotOn(partner, road.id, 5),
  };
  return { op, partner, first, second, single, staged, slots };
}

const run = (op: Actor) =>
  api()
    .post('/v1/allocation-runs')
    .set(op.auth)
    .send({ domain: 'transport-safety', from: at(-1), to: at(40) });

interface Proposal {
  id: string;
  pilotId: string;
  slotId: string;
  stage: string;
  groupId: string | null;
  status: string;
}

describe('POST /v1/allocation-runs with staged pilots', () => {
  it('gives the staged pilot its whole plan as one group and the first-release pilot another slot, beating greedy', async () => {
    const { op, second, single, staged, slots } = await scene();
    const res = await run(op);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const sum = res.body.summary;
    assert.equal(sum.pilots, 2);
    assert.equal(sum.matched, 2);
    assert.equal(sum.sessions, 4);
    assert.equal(sum.credits, 32, '8 simulator credits + 3 × 8 for the plan, at rate 1');
    assert.ok(sum.objective > sum.greedyObjective, `${sum.objective} > ${sum.greedyObjective}`);
    assert.ok(sum.upperBound >= sum.objective - 1e-6);
    const proposals = res.body.proposals as Proposal[];
    const mine = proposals.filter((p) => p.pilotId === staged.id);
    assert.deepEqual(mine.map((p) => p.slotId).sort(), [slots.day1.id, slots.day2.id, slots.road5.id].sort());
    assert.deepEqual(mine.map((p) => p.stage).sort(), ['road', 'sim', 'sim']);
    assert.ok(mine[0]!.groupId);
    assert.ok(mine.every((p) => p.groupId === mine[0]!.groupId && p.status === 'proposed'));
    const other = proposals.filter((p) => p.pilotId === single.id);
    assert.deepEqual(
      other.map((p) => [p.slotId, p.stage, p.groupId]),
      [[slots.day20.id, 'main', null]],
    );

    // The group is accepted and approved as one: three bookings.
    const acc = await api().post(`/v1/matches/${mine[1]!.id}/accept`).set(second.auth);
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    const ok = await approve(op, mine[2]!.id);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const booked = await ctx().db.query<{ slot_id: string }>(
      `SELECT slot_id FROM bookings WHERE pilot_id = $1 AND status = 'confirmed' ORDER BY slot_id`,
      [staged.id],
    );
    assert.deepEqual(
      booked.rows.map((r) => r.slot_id),
      mine.map((p) => p.slotId).sort(),
    );
  });

  it('never proposes a plan the pilot cannot pay for; proposes it once the budget covers it', async () => {
    const { op, staged, slots } = await scene();
    const budget = (credits: number) => api().put(`/v1/pilots/${staged.id}/budget`).set(op.auth).send({ credits });
    assert.equal((await budget(23)).status, 200);
    const poor = await run(op);
    assert.equal(poor.status, 201, JSON.stringify(poor.body));
    assert.ok(
      !(poor.body.proposals as Proposal[]).some((p) => p.pilotId === staged.id),
      'a 24-credit plan on 23 credits',
    );
    assert.equal(poor.body.summary.matched, 1);
    // The first-release pilot now holds a live proposal and sits this run out; proposals hold no units, so the
    // staged pilot, still free, gets its plan whole once 24 credits cover it.
    assert.equal((await budget(24)).status, 200);
    const paid = await run(op);
    assert.equal(paid.status, 201, JSON.stringify(paid.body));
    const mine = (paid.body.proposals as Proposal[]).filter((p) => p.pilotId === staged.id);
    assert.deepEqual(mine.map((p) => p.slotId).sort(), [slots.day1.id, slots.day2.id, slots.road5.id].sort());
    assert.equal(paid.body.summary.credits, 24);
  });
});
