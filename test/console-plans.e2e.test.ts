/**
 * The console's plans, credits and expired holds, in headless Chromium against a real server: the queue shows
 * each pilot's stages (order and gaps) and credit budget, and the holds that expired with when; matching shows a
 * pilot's plan as one entry approved or rejected as a whole (with its credits against the budget left); the
 * utilisation view shows the credits report. Korean and English, axe-core clean, no overflow at 1280 px.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import supertest from 'supertest';
import { expireDueMatches } from '../src/matching/expiry.js';
import { screenshot } from './support/console-browser.js';
import { ctx } from './support/context.js';
import { assertFits, consoleInBrowser, literal, signIn } from './support/console-page.js';
import { nextKstWeekStart } from './support/console-seed.js';
import { DAY, createSlot, createTestbed, operator, signup, type Actor } from './support/factories.js';

const HOUR = 3_600_000;

interface Match {
  id: string;
  status: string;
  stage: string;
  groupId: string | null;
  expiresAt: string | null;
}

interface PlansSeed {
  op: Actor;
  startup: Actor;
  /** Mon–Fri 10:00–18:00 KST next week, 2 units, 2 credits a unit-hour. */
  simSlots: string[];
  /** Mon–Wed 09:00–13:00 KST next week, 2 units, 1 credit a unit-hour. */
  careSlots: string[];
  staged: { id: string; title: string };
  single: { id: string; title: string };
  care: { id: string; title: string };
}

const api = () => supertest(ctx().app);

async function ok<T = Record<string, unknown>>(
  res: Promise<supertest.Response> | supertest.Test,
  status: number,
): Promise<T> {
  const r = await res;
  assert.equal(r.status, status, JSON.stringify(r.body));
  return r.body as T;
}

const window = () => ({
  earliestStart: new Date(Date.now() + HOUR).toISOString(),
  latestEnd: new Date(Date.now() + 30 * DAY).toISOString(),
});

/**
 * A submitted two-stage pilot: 16 h of simulator in sessions of at most 8 h, then 4 h at the care centre 12–96 h
 * after the last simulator session.
 */
async function stagedPilot(startup: Actor, title: string): Promise<{ id: string; title: string }> {
  const body = {
    title,
    summary: 'Simulator sessions first, then a care-centre trial.',
    domain: 'transport-safety',
    requirements: {
      stages: [
        { key: 'sim', capabilities: ['driving-simulator'], units: 1, hours: 16, sessionHours: { max: 8 }, ...window() },
        {
          key: 'care',
          capabilities: ['care-facility'],
          units: 1,
          hours: 4,
          ...window(),
          after: { stage: 'sim', minGapHours: 12, maxGapHours: 96 },
        },
      ],
    },
  };
  const pilot = await ok<{ id: string }>(api().post('/v1/pilots').set(startup.auth).send(body), 201);
  await ok(api().post(`/v1/pilots/${pilot.id}/submit`).set(startup.auth), 200);
  return { id: pilot.id, title };
}

async function singlePilot(
  startup: Actor,
  title: string,
  capability: string,
  hours: number,
  domain = 'transport-safety',
) {
  const body = {
    title,
    summary: 'One session.',
    domain,
    requirements: { capabilities: [capability], units: 1, durationHours: hours, ...window() },
  };
  const pilot = await ok<{ id: string }>(api().post('/v1/pilots').set(startup.auth).send(body), 201);
  await ok(api().post(`/v1/pilots/${pilot.id}/submit`).set(startup.auth), 200);
  return { id: pilot.id, title };
}

/**
 * Two testbeds serving transport & safety, three pilots: a staged one with a city budget of 1,000; a single-slot
 * one with a national budget of 100, booked on Thursday's simulator slot (8 h × 2 credits = 16 spent); a care
 * pilot without a budget.
 */
async function seedPlans(): Promise<PlansSeed> {
  const op = await operator();
  const startup = await signup('startup', { name: '빛고을 모빌리티 (E2E)' });
  const sim = await createTestbed(op, { name: '대형 자율주행 시뮬레이터 (E2E)', capacity: 2, creditRate: 2 });
  const careTestbed = await createTestbed(op, {
    name: '시니어 돌봄 리빙랩 (E2E)',
    domains: ['transport-safety', 'health'],
    capabilities: ['care-facility'],
    capacity: 2,
    location: { address: '광주광역시 남구 봉선동', lat: 35.13, lng: 126.91 },
  });
  const monday = nextKstWeekStart();
  const simSlots: string[] = [];
  const careSlots: string[] = [];
  for (let d = 0; d < 5; d++) {
    const start = new Date(monday.getTime() + d * DAY + 10 * HOUR);
    simSlots.push(
      (await createSlot(op, sim.id, start.toISOString(), new Date(start.getTime() + 8 * HOUR).toISOString(), 2)).id,
    );
  }
  for (let d = 0; d < 3; d++) {
    const start = new Date(monday.getTime() + d * DAY + 9 * HOUR);
    careSlots.push(
      (await createSlot(op, careTestbed.id, start.toISOString(), new Date(start.getTime() + 4 * HOUR).toISOString(), 2))
        .id,
    );
  }
  const staged = await stagedPilot(startup, '단계형 실증: 시뮬레이터 → 돌봄센터 (E2E)');
  await ok(api().put(`/v1/pilots/${staged.id}/budget`).set(op.auth).send({ credits: 1000, fundingLine: 'city' }), 200);
  const single = await singlePilot(startup, 'AI 콕핏 운전자 주의 연구 (E2E)', 'driving-simulator', 8);
  await ok(
    api().put(`/v1/pilots/${single.id}/budget`).set(op.auth).send({ credits: 100, fundingLine: 'national' }),
    200,
  );
  const booked = await ok<Match>(
    api().post(`/v1/pilots/${single.id}/matches`).set(startup.auth).send({ slotId: simSlots[3] }),
    201,
  );
  await ok(api().post(`/v1/matches/${booked.id}/approve`).set(op.auth), 200);
  const care = await singlePilot(startup, '시니어 마음돌봄 영상 실증 (E2E)', 'care-facility', 4);
  return { op, startup, simSlots, careSlots, staged, single, care };
}

describe('Operator console: plans, credits and expired holds', function () {
  this.timeout(180_000);
  const session = consoleInBrowser({
    artifactPrefix: 'failed-plans-',
    viewport: { width: 1280, height: 900 },
    timeoutMs: 20_000,
  });
  let base: string;
  let page: Page;
  beforeEach(() => {
    ({ base, page } = session);
  });
  const scan = (screen: string) => session.scan(screen);

  it('queue: stages with order and gaps, budgets, and expired holds with when they expired', async () => {
    const seed = await seedPlans();
    // The care pilot asks for Monday's care slot, and nobody decides before the hold lapses.
    const hold = await ok<Match>(
      api().post(`/v1/pilots/${seed.care.id}/matches`).set(seed.startup.auth).send({ slotId: seed.careSlots[0] }),
      201,
    );
    await ctx().db.query(`UPDATE matches SET expires_at = now() - interval '5 minutes' WHERE id = $1`, [hold.id]);
    assert.equal(await expireDueMatches(ctx().db), 1);
    const expired = await ok<Match>(api().get(`/v1/matches/${hold.id}`).set(seed.op.auth), 200);
    assert.equal(expired.status, 'expired');

    await signIn(page, base, seed.op.email);
    await page.getByLabel('상태').selectOption('');
    const staged = page.getByRole('row', { name: literal(seed.staged.title) });
    await staged.waitFor();
    const stages = staged.locator('.stage');
    assert.equal(await stages.count(), 2);
    assert.equal(await stages.nth(0).getAttribute('data-stage'), 'sim');
    assert.match(await stages.nth(0).innerText(), /sim[\s\S]*16시간 · 세션당 8시간 이하 · 1 단위/);
    assert.match(await stages.nth(1).innerText(), /care[\s\S]*4시간[\s\S]*↳ sim 이후 12–96시간 간격/);
    assert.match(await staged.locator('.budget').innerText(), /잔액 1,000 \/ 1,000[\s\S]*사용 0[\s\S]*시비/);
    const single = page.getByRole('row', { name: literal(seed.single.title) });
    assert.match(await single.locator('.budget').innerText(), /잔액 84 \/ 100[\s\S]*사용 16[\s\S]*국비/);
    assert.match(await single.locator('.stage').innerText(), /8시간 · 한 세션 · 1 단위/);
    const care = page.getByRole('row', { name: literal(seed.care.title) });
    assert.equal(await care.locator('.budget').count(), 0);
    await care.getByText('제한 없음').waitFor();

    const holds = page.locator('section[aria-labelledby="expired-h"]');
    await holds.getByRole('heading', { name: '만료된 보류' }).waitFor();
    const row = holds.locator(`tr[data-match-id="${hold.id}"]`);
    await row.getByText(seed.care.title).waitFor();
    assert.equal(await row.getAttribute('data-status'), 'expired');
    assert.equal(await row.locator('time').getAttribute('datetime'), expired.expiresAt);
    assert.match(await row.innerText(), /시니어 돌봄 리빙랩 \(E2E\)[\s\S]*1 단위 보류[\s\S]*요청/);
    await assertFits(page, 'queue (ko, 1280 px)');
    await screenshot(page, '20-queue-plans-ko');
    await scan('queue with plans (ko)');

    await page.getByRole('button', { name: 'English', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Queue' }).waitFor();
    await stages.nth(1).getByText('↳ after sim, gap 12–96 h').waitFor();
    await single.getByText('84 of 100 left').waitFor();
    await single.getByText('16 spent').waitFor();
    await care.getByText('Not limited').waitFor();
    await row.getByText('1 unit held').waitFor();
    await holds.getByRole('heading', { name: 'Expired holds' }).waitFor();
    await assertFits(page, 'queue (en, 1280 px)');
    await screenshot(page, '21-queue-plans-en');
    await scan('queue with plans (en)');
  });

  it('matching: a plan is one entry, approved whole once accepted; over budget, refused and rejected', async () => {
    const seed = await seedPlans();
    await signIn(page, base, seed.op.email);
    await page.getByRole('link', { name: '매칭' }).click();
    await page.getByRole('button', { name: '배정 실행' }).click();
    const proposals = page.locator('section[aria-labelledby="prop-h"]');
    const plan = proposals.locator('tbody.plan', { hasText: seed.staged.title });
    await plan.waitFor();
    const sessions = plan.locator('tr.plan-session');
    assert.equal(await sessions.count(), 3, 'three sessions: two on the simulator, one at the care centre');
    assert.deepEqual(await sessions.locator('.stage-key').allInnerTexts(), ['sim', 'sim', 'care']);
    // 2 × 8 h × 1 unit × 2 credits + 4 h × 1 unit × 1 credit = 36 at today's rates, of the 1,000 left.
    const head = plan.locator('tr.plan-head');
    assert.match(
      await head.innerText(),
      /계획: 세션 3개 · 총 20시간 · 현재 요율로 36 크레딧[\s\S]*잔액 1,000 \/ 1,000/,
    );
    // One pair of actions for the plan, none per session; approval waits for the startup to accept.
    assert.equal(await sessions.getByRole('button').count(), 0);
    assert.ok(await head.getByRole('button', { name: `계획 승인: ${seed.staged.title}` }).isDisabled());
    await assertFits(page, 'matching with a plan (ko, 1280 px)');
    await screenshot(page, '22-matching-plan-ko');
    await scan('matching with a plan (ko)');

    const groupId = await plan.getAttribute('data-group-id');
    const matches = (
      await ok<{ data: Match[] }>(api().get(`/v1/matches?pilotId=${seed.staged.id}`).set(seed.op.auth), 200)
    ).data;
    const group = matches.filter((m) => m.groupId === groupId);
    assert.equal(group.length, 3);
    await ok(api().post(`/v1/matches/${group[0]!.id}/accept`).set(seed.startup.auth), 200);
    await proposals.getByRole('button', { name: '새로 고침' }).click();
    await plan.locator('tr.plan-head[data-status="accepted"]').waitFor();
    await head.getByRole('button', { name: `계획 승인: ${seed.staged.title}` }).click();
    await proposals.getByText('계획을 승인했습니다.').waitFor();
    await plan.locator('tr.plan-head[data-status="approved"]').waitFor();
    assert.equal(await plan.locator('tr.plan-session[data-status="approved"]').count(), 3);
    const pilot = await ok<{ budget: { committed: number; remaining: number } }>(
      api().get(`/v1/pilots/${seed.staged.id}`).set(seed.op.auth),
      200,
    );
    assert.deepEqual(
      [pilot.budget.committed, pilot.budget.remaining],
      [36, 964],
      'the credits shown are the credits spent',
    );

    // A second staged pilot with 10 credits asks for the same plan's slots as a group: it cannot pay for it.
    const poor = await stagedPilot(seed.startup, '예산 부족 단계형 실증 (E2E)');
    await ok(
      api().put(`/v1/pilots/${poor.id}/budget`).set(seed.op.auth).send({ credits: 10, fundingLine: 'private' }),
      200,
    );
    const sessionsBody = {
      sessions: [
        { slotId: seed.simSlots[0], stage: 'sim' },
        { slotId: seed.simSlots[1], stage: 'sim' },
        { slotId: seed.careSlots[2], stage: 'care' },
      ],
    };
    const asked = await ok<{ groupId: string; data: Match[] }>(
      api().post(`/v1/pilots/${poor.id}/matches`).set(seed.startup.auth).send(sessionsBody),
      201,
    );
    const awaiting = page.locator('section[aria-labelledby="await-h"]');
    await awaiting.getByRole('button', { name: '새로 고침' }).click();
    const poorPlan = awaiting.locator(`tbody.plan[data-group-id="${asked.groupId}"]`);
    await poorPlan.locator('.plan-over', { hasText: '예산 초과' }).waitFor();
    await poorPlan.getByRole('button', { name: `계획 승인: ${poor.title}` }).click();
    await awaiting.getByRole('alert').filter({ hasText: '파일럿의 크레딧 예산을 넘습니다' }).waitFor();
    assert.equal(
      await poorPlan.locator('tr.plan-session[data-status="requested"]').count(),
      3,
      'nothing of the plan was booked',
    );
    await screenshot(page, '23-matching-over-budget-ko');

    await page.getByRole('button', { name: 'English', exact: true }).click();
    await poorPlan.getByText('over budget (cannot be approved)').waitFor();
    await assertFits(page, 'matching with plans (en, 1280 px)');
    await scan('matching with plans (en)');
    await poorPlan.getByRole('button', { name: `Reject plan: ${poor.title}` }).click();
    await awaiting.getByText('Plan rejected.').waitFor();
    await poorPlan.waitFor({ state: 'detached' });
    const after = (await ok<{ data: Match[] }>(api().get(`/v1/matches?pilotId=${poor.id}`).set(seed.op.auth), 200))
      .data;
    assert.deepEqual(
      after.map((m) => m.status),
      ['rejected', 'rejected', 'rejected'],
      'one reject rejected every session of the plan',
    );
  });

  it('utilisation: credits by domain and by funding line over the chosen range, in both languages', async () => {
    const seed = await seedPlans();
    await signIn(page, base, seed.op.email);
    await page.getByRole('link', { name: '테스트베드' }).click();
    const credits = page.locator('section[aria-labelledby="credit-h"]');
    await credits.getByRole('heading', { name: '크레딧' }).waitFor();
    // Budgets of 1,000 (staged) and 100 (single) in transport & safety; the single pilot's 16 credits booked in range.
    const transport = credits.locator('tr[data-key="transport-safety"]');
    await transport.waitFor();
    assert.deepEqual(await transport.locator('td').allInnerTexts(), ['2', '1,100', '16', '1,084', '16', '1']);
    await credits.getByLabel('묶음 기준').selectOption('fundingLine');
    const national = credits.locator('tr[data-key="national"]');
    await national.waitFor();
    assert.equal(await national.locator('th').innerText(), '국비');
    assert.deepEqual(await national.locator('td').allInnerTexts(), ['1', '100', '16', '84', '16', '1']);
    assert.deepEqual(await credits.locator('tr[data-key="city"] td').allInnerTexts(), [
      '1',
      '1,000',
      '0',
      '1,000',
      '0',
      '0',
    ]);
    await assertFits(page, 'testbeds with credits (ko, 1280 px)');
    await credits.scrollIntoViewIfNeeded();
    await screenshot(page, '24-utilisation-credits-ko');
    await scan('credits (ko)');

    await page.getByRole('button', { name: 'English', exact: true }).click();
    await credits.getByRole('heading', { name: 'Credits' }).waitFor();
    await credits.getByRole('columnheader', { name: 'Funding line' }).waitFor();
    assert.equal(await national.locator('th').innerText(), 'National');
    await credits.getByLabel('Group by').selectOption('organization');
    await credits.getByRole('rowheader', { name: '빛고을 모빌리티 (E2E)' }).waitFor();
    assert.equal(await credits.locator('tfoot th').innerText(), 'Total');
    await assertFits(page, 'testbeds with credits (en, 1280 px)');
    await screenshot(page, '25-utilisation-credits-en');
    await scan('credits (en)');
  });
});
