/** Multi-stage requirements: normalisation, validation with pointers, candidates per stage, requests per stage. */
import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import { countRows, createPilot, createTestbed, operator, pointers, signup, type Actor } from './support/factories.js';
import { at, requestSlot, slotOn } from './support/matching-factories.js';
import { envelopeOf, requirementErrors, stageErrors } from '../src/pilots/stages.js';
import type { PilotStage } from '../src/generated/schema-types.js';

const api = () => ctx().api();

function stage(key: string, over: Partial<PilotStage> = {}): PilotStage {
  return {
    key,
    capabilities: ['driving-simulator'],
    units: 1,
    hours: 24,
    earliestStart: at(0),
    latestEnd: at(20),
    sessionHours: { min: 4, max: 4 },
    ...over,
  };
}

/** The AI-cockpit study: six 4-hour simulator sessions, then a day on the test road within two weeks. */
function cockpitStages(): PilotStage[] {
  return [
    stage('simulator'),
    stage('road', {
      capabilities: ['test-road'],
      hours: 8,
      sessionHours: { min: 8 },
      after: { stage: 'simulator', minGapHours: 24, maxGapHours: 336 },
    }),
  ];
}

function stagedBody(stages: unknown, extra: Record<string, unknown> = {}) {
  return {
    title: 'AI cockpit study',
    summary: 'Six simulator sessions, then a day on the test road.',
    domain: 'transport-safety',
    requirements: { stages, ...extra },
  };
}

async function submit(owner: Actor, id: string) {
  const res = await api().post(`/v1/pilots/${id}/submit`).set(owner.auth);
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

describe('stages (pure rules)', () => {
  it('accepts a well-formed plan and computes its envelope', () => {
    assert.deepEqual(stageErrors(cockpitStages(), '/s'), []);
    const env = envelopeOf(cockpitStages());
    assert.deepEqual(env.capabilities, ['driving-simulator', 'test-road']);
    assert.equal(env.durationHours, 32);
    assert.equal(env.units, 1);
  });

  it('names each inconsistency with a pointer', () => {
    const cases: [PilotStage[], string, RegExp][] = [
      [[stage('a'), stage('a')], '/s/1/key', /repeats/],
      [[stage('a', { after: { stage: 'zzz' } })], '/s/0/after/stage', /names no stage/],
      [[stage('a', { after: { stage: 'a' } })], '/s/0/after/stage', /another stage/],
      [
        [stage('a', { after: { stage: 'b' } }), stage('b', { after: { stage: 'a' } })],
        '/s/0/after/stage',
        /listed earlier/,
      ],
      [[stage('a', { hours: 500 })], '/s/0/hours', /does not fit/],
      [[stage('a', { sessionHours: { min: 6, max: 4 } })], '/s/0/sessionHours/min', /must not exceed/],
      [[stage('a', { latestEnd: at(0) })], '/s/0/latestEnd', /later than/],
      [
        [stage('a'), stage('b', { after: { stage: 'a', minGapHours: 10, maxGapHours: 5 } })],
        '/s/1/after/minGapHours',
        /maxGapHours/,
      ],
      [[stage('a', { hours: 400 }), stage('b', { hours: 400 })], '/s', /do not fit/],
    ];
    for (const [stages, pointer, message] of cases) {
      const errors = stageErrors(stages, '/s');
      assert.ok(
        errors.some((e) => e.pointer === pointer && message.test(e.message)),
        `${pointer}: ${JSON.stringify(errors)}`,
      );
    }
  });

  it('wants the first-release fields or stages, never both', () => {
    assert.deepEqual(pointers({ errors: requirementErrors({ units: 1 }, '/r') }), [
      '/r/capabilities',
      '/r/durationHours',
      '/r/earliestStart',
      '/r/latestEnd',
    ]);
    assert.deepEqual(pointers({ errors: requirementErrors({ units: 1, stages: [stage('a')] }, '/r') }), ['/r/units']);
  });
});

describe('pilots with stages', () => {
  it('stores the stages, normalised, and shows their envelope in the first-release fields', async () => {
    const s = await signup();
    const res = await api().post('/v1/pilots').set(s.auth).send(stagedBody(cockpitStages()));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const r = res.body.requirements;
    assert.equal(r.stages.length, 2);
    assert.deepEqual(r.stages[1].after, { stage: 'simulator', minGapHours: 24, maxGapHours: 336 });
    assert.equal(r.durationHours, 32);
    assert.deepEqual(r.capabilities, ['driving-simulator', 'test-road']);
    const got = await api().get(`/v1/pilots/${res.body.id}`).set(s.auth);
    assert.deepEqual(got.body.requirements, r);
  });

  it('refuses bad plans with 400 and pointers, writing nothing', async () => {
    const s = await signup();
    const before = await countRows('pilots');
    const bad: [unknown, Record<string, unknown>, string][] = [
      [[stage('a'), stage('b', { after: { stage: 'c' } })], {}, '/body/requirements/stages/1/after/stage'],
      [[stage('a', { after: { stage: 'b' } }), stage('b')], {}, '/body/requirements/stages/0/after/stage'],
      [[stage('a', { hours: 1000 })], {}, '/body/requirements/stages/0/hours'],
      [[stage('a', { sessionHours: { min: 8, max: 2 } })], {}, '/body/requirements/stages/0/sessionHours/min'],
      [[stage('a'), stage('a')], {}, '/body/requirements/stages/1/key'],
      [[stage('a')], { units: 2 }, '/body/requirements/units'],
      [[], {}, '/body/requirements/stages'],
      [[{ ...stage('a'), key: 'Bad Key' }], {}, '/body/requirements/stages/0/key'],
      [Array.from({ length: 7 }, (_, i) => stage(`s${i}`, { hours: 1 })), {}, '/body/requirements/stages'],
    ];
    for (const [stages, extra, pointer] of bad) {
      const res = await api().post('/v1/pilots').set(s.auth).send(stagedBody(stages, extra));
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.ok(pointers(res.body).includes(pointer), `${pointer} in ${JSON.stringify(res.body.errors)}`);
    }
    assert.equal(await countRows('pilots'), before);
  });

  it('edits stages with a merge patch; first-release fields beside stages are refused', async () => {
    const s = await signup();
    const created = await api().post('/v1/pilots').set(s.auth).send(stagedBody(cockpitStages()));
    const etag = created.headers.etag as string;
    const wrong = await api()
      .patch(`/v1/pilots/${created.body.id}`)
      .set(s.auth)
      .set('If-Match', etag)
      .send({ requirements: { units: 2 } });
    assert.equal(wrong.status, 400);
    assert.deepEqual(pointers(wrong.body), ['/body/requirements/units']);
    const ok = await api()
      .patch(`/v1/pilots/${created.body.id}`)
      .set(s.auth)
      .set('If-Match', etag)
      .send({ requirements: { stages: [stage('only', { hours: 8 })] } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(
      ok.body.requirements.stages.map((x: PilotStage) => x.key),
      ['only'],
    );
    assert.equal(ok.body.requirements.durationHours, 8);
  });

  it('a first-release pilot turns into stages by a patch of stages', async () => {
    const s = await signup();
    const p = await createPilot(s);
    const etag = (await api().get(`/v1/pilots/${p.id}`).set(s.auth)).headers.etag as string;
    const res = await api()
      .patch(`/v1/pilots/${p.id}`)
      .set(s.auth)
      .set('If-Match', etag)
      .send({ requirements: { stages: cockpitStages() } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.requirements.stages.length, 2);
  });
});

describe('candidates and requests per stage', () => {
  async function scene() {
    const partner = await signup('partner');
    const owner = await signup();
    const sim = await createTestbed(partner, { capabilities: ['driving-simulator'] });
    const road = await createTestbed(partner, { capabilities: ['test-road'] });
    const sim4 = await slotOn(partner, sim.id, 1, 1, 4);
    const sim8 = await slotOn(partner, sim.id, 2, 1, 8);
    const road8 = await slotOn(partner, road.id, 5, 1, 8);
    const created = await api().post('/v1/pilots').set(owner.auth).send(stagedBody(cockpitStages()));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await submit(owner, created.body.id);
    return { owner, pilotId: created.body.id as string, sim4, sim8, road8 };
  }

  it('each candidate names its stage; ?stage= keeps one; session lengths are respected', async () => {
    const { owner, pilotId, sim4, sim8, road8 } = await scene();
    const all = await api().get(`/v1/pilots/${pilotId}/candidates`).set(owner.auth);
    assert.equal(all.status, 200, JSON.stringify(all.body));
    const seen = all.body.data.map((c: { slotId: string; stage: string }) => `${c.stage}:${c.slotId}`).sort();
    // The 8-hour simulator slot is longer than a 4-hour session: not a candidate of the simulator stage.
    assert.deepEqual(seen, [`road:${road8.id}`, `simulator:${sim4.id}`].sort());
    assert.ok(!seen.some((x: string) => x.endsWith(sim8.id)));
    const road = await api().get(`/v1/pilots/${pilotId}/candidates?stage=road`).set(owner.auth);
    assert.deepEqual(
      road.body.data.map((c: { slotId: string }) => c.slotId),
      [road8.id],
    );
    const unknown = await api().get(`/v1/pilots/${pilotId}/candidates?stage=nope`).set(owner.auth);
    assert.equal(unknown.status, 400);
    assert.deepEqual(pointers(unknown.body), ['/query/stage']);
  });

  it('a request serves the stage it names, or the first the slot suits; a slot no stage suits is 409', async () => {
    const { owner, pilotId, sim4, sim8, road8 } = await scene();
    const a = await requestSlot(owner, pilotId, road8.id);
    assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.equal(a.body.stage, 'road');
    assert.equal(a.body.groupId, null);
    const wrongStage = await api()
      .post(`/v1/pilots/${pilotId}/matches`)
      .set(owner.auth)
      .send({ slotId: sim4.id, stage: 'road' });
    assert.equal(wrongStage.status, 409);
    assert.equal(wrongStage.body.code, 'slot-unsuitable');
    const unknown = await api()
      .post(`/v1/pilots/${pilotId}/matches`)
      .set(owner.auth)
      .send({ slotId: sim4.id, stage: 'nope' });
    assert.equal(unknown.status, 400);
    assert.deepEqual(pointers(unknown.body), ['/body/stage']);
    const tooLong = await requestSlot(owner, pilotId, sim8.id);
    assert.equal(tooLong.status, 409);
    assert.equal(tooLong.body.code, 'slot-unsuitable');
  });
});

describe('GET /v1/pilots/:id/plans', () => {
  async function cockpit() {
    const partner = await signup('partner');
    const op = await operator();
    const owner = await signup();
    const sim = await createTestbed(partner, { capabilities: ['driving-simulator'] });
    const road = await createTestbed(partner, { capabilities: ['test-road'] });
    const sims = [];
    for (let d = 1; d <= 7; d++) sims.push(await slotOn(partner, sim.id, d, 1, 4));
    const early = await slotOn(partner, road.id, 3, 1, 8);
    const late = await slotOn(partner, road.id, 10, 1, 8);
    const created = await api().post('/v1/pilots').set(owner.auth).send(stagedBody(cockpitStages()));
    await submit(owner, created.body.id);
    return { op, owner, pilotId: created.body.id as string, sims, early, late };
  }

  it('ranks complete plans: six 4-hour simulator sessions, then the road at least a day after the last', async () => {
    const { owner, pilotId, sims, late } = await cockpit();
    const res = await api().get(`/v1/pilots/${pilotId}/plans?limit=5`).set(owner.auth);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.unmet, []);
    assert.ok(res.body.data.length >= 1);
    const simIds = new Set(sims.map((s) => s.id));
    for (const plan of res.body.data) {
      const s = plan.sessions as { stage: string; slotId: string; start: string; end: string }[];
      assert.equal(s.filter((x) => x.stage === 'simulator').length, 6);
      assert.ok(s.filter((x) => x.stage === 'simulator').every((x) => simIds.has(x.slotId)));
      const road = s.filter((x) => x.stage === 'road');
      assert.deepEqual(
        road.map((x) => x.slotId),
        [late.id],
        'the early road slot is before the simulator ends',
      );
      assert.deepEqual(
        [...s].sort((a, b) => a.start.localeCompare(b.start)),
        s,
        'sessions in start order',
      );
      assert.equal(plan.credits, 32);
    }
    const scores = res.body.data.map((p: { score: number }) => p.score);
    assert.deepEqual(
      [...scores].sort((a, b) => b - a),
      scores,
    );
  });

  it('explains per stage when the budget cannot pay for any plan, and when candidates are empty', async () => {
    const { op, owner, pilotId } = await cockpit();
    assert.equal((await api().put(`/v1/pilots/${pilotId}/budget`).set(op.auth).send({ credits: 31 })).status, 200);
    const res = await api().get(`/v1/pilots/${pilotId}/plans`).set(owner.auth);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.data, []);
    assert.deepEqual(
      res.body.unmet.map((u: { stage: string }) => u.stage),
      ['simulator', 'road'],
    );
    const road = res.body.unmet[1];
    assert.equal(road.excluded.order, 1, 'the road slot before the simulator stage is out of order');
    assert.equal(road.excluded.capability, 7, 'the simulator slots lack the test road');

    const lonely = await api()
      .post('/v1/pilots')
      .set(owner.auth)
      .send(stagedBody([stage('xr', { capabilities: ['xr-stage'], hours: 4 })]));
    await submit(owner, lonely.body.id);
    const cands = await api().get(`/v1/pilots/${lonely.body.id}/candidates`).set(owner.auth);
    assert.deepEqual(cands.body.data, []);
    assert.equal(cands.body.unmet[0].reason, 'no-suitable-slot');
    assert.equal(cands.body.unmet[0].excluded.capability, cands.body.unmet[0].slotsConsidered);
  });
});
