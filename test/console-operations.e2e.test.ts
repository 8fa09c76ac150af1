/**
 * Testbed operations on the console's calendar, in headless Chromium against a real server: held and available
 * units per slot, the waitlist (count, and its order for an operator), a blackout added from a day of the week
 * (refused readably when it ends before it starts), shown over the week with the booking it cancelled and the
 * re-offer made, then removed; a partner manages blackouts on its own testbed only. Korean and English, axe
 * (serious/critical), nothing wider than its box at 1280 px.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import supertest from 'supertest';
import { ctx } from './support/context.js';
import { ensureConsoleBuilt, launchChromium, screenshot, type LaunchedBrowser } from './support/console-browser.js';
import { assertFits, axeViolations, describeViolations, literal, signIn } from './support/console-page.js';
import { seedConsole, type ConsoleSeed } from './support/console-seed.js';
import { createPilot, createSlot, createTestbed, DAY, signup, type Actor } from './support/factories.js';

const HOUR = 3_600_000;
const api = () => supertest(ctx().app);

/** The value a datetime-local input shows for an instant, in KST. */
const kstInput = (at: Date) => new Date(at.getTime() + 9 * HOUR).toISOString().slice(0, 16);

interface SlotDto {
  id: string;
  start: string;
}

async function slotsOf(actor: Actor, testbedId: string): Promise<SlotDto[]> {
  const res = await api().get(`/v1/testbeds/${testbedId}/slots`).set(actor.auth);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body.data as SlotDto[]).sort((a, b) => a.start.localeCompare(b.start));
}

async function submitted(seed: ConsoleSeed, title: string, requirements: Record<string, unknown> = {}) {
  const window = {
    earliestStart: new Date(Date.now() + HOUR).toISOString(),
    latestEnd: new Date(Date.now() + 30 * DAY).toISOString(),
  };
  const pilot = await createPilot(seed.startup, { title }, { ...window, durationHours: 8, ...requirements });
  const res = await api().post(`/v1/pilots/${pilot.id}/submit`).set(seed.startup.auth);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { id: pilot.id, title };
}

/**
 * The simulator's week: Monday booked (1 of 2 units), Tuesday held whole by a requested match with two pilots
 * waiting for it, in this order.
 */
async function busyWeek(seed: ConsoleSeed) {
  const [monday, tuesday] = await slotsOf(seed.op, seed.testbed.id);
  const match = await api()
    .post(`/v1/pilots/${seed.pilot.id}/matches`)
    .set(seed.startup.auth)
    .send({ slotId: monday!.id });
  assert.equal(match.status, 201, JSON.stringify(match.body));
  const approved = await api().post(`/v1/matches/${match.body.id}/approve`).set(seed.op.auth);
  assert.equal(approved.status, 200, JSON.stringify(approved.body));

  const holder = await submitted(seed, '보류 중인 두 단위 파일럿 (E2E)', { units: 2 });
  const hold = await api().post(`/v1/pilots/${holder.id}/matches`).set(seed.startup.auth).send({ slotId: tuesday!.id });
  assert.equal(hold.status, 201, JSON.stringify(hold.body));
  const waiting = [
    await submitted(seed, '첫째로 기다리는 파일럿 (E2E)'),
    await submitted(seed, '둘째로 기다리는 파일럿 (E2E)'),
  ];
  for (const [i, w] of waiting.entries()) {
    const joined = await api().post(`/v1/slots/${tuesday!.id}/waitlist`).set(seed.startup.auth).send({ pilotId: w.id });
    assert.equal(joined.status, 201, JSON.stringify(joined.body));
    assert.equal(joined.body.position, i + 1);
  }
  return { monday: monday!, tuesday: tuesday!, waiting };
}

describe('Testbed operations in the console (headless Chromium)', function () {
  this.timeout(120_000);
  let server: http.Server;
  let base: string;
  let chromium: LaunchedBrowser;
  let page: Page;
  const pageErrors: string[] = [];
  const violations: string[] = [];
  const scan = async (screen: string) => {
    const found = await axeViolations(page);
    if (found.length) violations.push(describeViolations(screen, found));
  };

  before(async function () {
    this.timeout(180_000);
    ensureConsoleBuilt();
    server = http.createServer(ctx().app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/console/`;
    chromium = await launchChromium({ width: 1280, height: 900 });
  });

  beforeEach(async () => {
    page = await chromium.context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      // A refused request (the bad blackout) shows up as a console error too; only script errors matter here.
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) pageErrors.push(msg.text());
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      const name = `failed-ops-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`;
      await screenshot(page, name).catch(() => undefined);
    }
    await page?.close();
    assert.deepEqual(pageErrors.splice(0), [], 'no script errors in the page');
    assert.equal(violations.splice(0).join('\n'), '', 'no serious or critical axe violations');
  });

  after(async () => {
    await chromium?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('shows held units and the waitlist, adds a blackout from a day with what it displaced, removes it', async () => {
    const seed = await seedConsole();
    const { monday, tuesday, waiting } = await busyWeek(seed);
    const mondayStart = new Date(monday.start); // 10:00 KST
    const dayStart = new Date(mondayStart.getTime() - 10 * HOUR);

    await signIn(page, base, seed.op.email);
    await page.goto(`${base}#/testbeds/${seed.testbed.id}`);
    // The calendar opens on the week of the next booking: Monday's.
    const mondaySlot = page.locator(`.slot[data-slot-id="${monday.id}"]`);
    const tuesdaySlot = page.locator(`.slot[data-slot-id="${tuesday.id}"]`);
    await mondaySlot.getByText('1/2 단위 예약').waitFor();
    await mondaySlot.getByText('보류 0 · 가능 1').waitFor();
    await mondaySlot.locator('.booking', { hasText: seed.pilot.title }).waitFor();
    await tuesdaySlot.getByText('0/2 단위 예약').waitFor();
    await tuesdaySlot.getByText('보류 2 · 가능 0').waitFor();
    assert.match((await tuesdaySlot.getAttribute('class')) ?? '', /slot-full/, 'a slot held whole is full');

    // The waitlist: how many wait, and for an operator who, first come first served.
    await tuesdaySlot.getByText('대기 2명').click();
    const order = tuesdaySlot.getByRole('list', { name: '대기 순서' }).getByRole('listitem');
    await order.nth(1).waitFor();
    assert.deepEqual(
      (await order.allInnerTexts()).map((s) => s.split('\n')[0]!.trim()),
      waiting.map((w) => w.title),
    );
    await page.getByRole('heading', { name: '블랙아웃', exact: true }).waitFor();
    await page.getByText('이 기간에 블랙아웃이 없습니다.').waitFor();
    await assertFits(page, 'calendar with waitlist (ko, 1280 px)');
    await scan('calendar with waitlist (ko)');
    await screenshot(page, '20-ops-waitlist-ko');

    // A blackout from Monday's column: the form starts from that whole KST day.
    await page
      .getByRole('button', { name: /블랙아웃 추가$/ })
      .first()
      .click();
    const form = page.locator('form.blackout-form');
    assert.equal(await form.getByLabel('시작 (KST)').inputValue(), kstInput(dayStart));
    assert.equal(await form.getByLabel('종료 (KST)').inputValue(), kstInput(new Date(dayStart.getTime() + DAY)));
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'blackout-reason');

    // Ending before it starts: the server's problem+json, readable, and nothing created.
    await form.getByLabel('시작 (KST)').fill(kstInput(new Date(mondayStart.getTime() + 8 * HOUR)));
    await form.getByLabel('종료 (KST)').fill(kstInput(mondayStart));
    await form.getByLabel('사유').fill('정기 점검 (E2E)');
    await form.getByRole('button', { name: '블랙아웃 추가', exact: true }).click();
    const alert = form.getByRole('alert');
    await alert.getByText('입력값이 올바르지 않습니다').waitFor();
    assert.match(await alert.innerText(), /HTTP 400/);
    assert.match(await alert.innerText(), /\/body\/end: must be later than start/);
    await screenshot(page, '21-ops-blackout-invalid-ko');
    const none = await api().get(`/v1/testbeds/${seed.testbed.id}/blackouts`).set(seed.op.auth);
    assert.deepEqual(none.body.data, []);

    // 09:00–19:00 on Monday: the booking is cancelled and its pilot re-offered another slot.
    await form.getByLabel('시작 (KST)').fill(kstInput(new Date(mondayStart.getTime() - HOUR)));
    await form.getByLabel('종료 (KST)').fill(kstInput(new Date(mondayStart.getTime() + 9 * HOUR)));
    await form.getByRole('button', { name: '블랙아웃 추가', exact: true }).click();
    await page.getByText('블랙아웃을 추가했습니다. 취소된 예약 1건, 재제안 1건.').waitFor();
    assert.equal(await form.getByRole('alert').count(), 0, 'the earlier problem is gone');
    assert.equal(await form.getByLabel('사유').inputValue(), '', 'the form is ready for the next one');
    const created = (await api().get(`/v1/testbeds/${seed.testbed.id}/blackouts`).set(seed.op.auth)).body.data;
    assert.equal(created.length, 1);
    assert.equal(created[0].displaced.length, 1);
    const reofferId = created[0].displaced[0].reofferMatchId as string;
    assert.ok(reofferId, 'the pilot was re-offered');

    // Over the week: the band on Monday, the slot blocked, the booking gone from it.
    await page
      .locator('.week .blackout-band', { hasText: '정기 점검 (E2E)' })
      .getByText('블랙아웃 09:00–19:00')
      .waitFor();
    await mondaySlot.getByText('차단: 정기 점검 (E2E)').waitFor();
    await mondaySlot.getByText('0/2 단위 예약').waitFor();
    assert.equal(await mondaySlot.locator('.booking').count(), 0);
    // What it displaced: the pilot, the cancelled booking's time, and the re-offer with its slot and status.
    const row = page.getByRole('row', { name: literal('정기 점검 (E2E)') });
    const displaced = row.locator('.displaced', { hasText: seed.pilot.title });
    await displaced.getByText('재제안함').waitFor();
    const reoffer = (await api().get(`/v1/matches/${reofferId}`).set(seed.op.auth)).body;
    assert.equal(reoffer.status, 'proposed');
    assert.equal(reoffer.origin, 'reoffer');
    assert.notEqual(reoffer.slotId, monday.id);
    await displaced.getByText(/^대안 .* · 제안됨$/).waitFor();
    await assertFits(page, 'calendar with a blackout (ko, 1280 px)');
    await scan('calendar with a blackout (ko)');
    await screenshot(page, '22-ops-blackout-ko');

    // The month marks the day too.
    await page.getByRole('button', { name: '월', exact: true }).click();
    await page.locator('table.month .month-blackout').first().waitFor();
    await scan('month with a blackout (ko)');
    await page.getByRole('button', { name: '주', exact: true }).click();

    // English.
    await page.getByRole('button', { name: 'English', exact: true }).click();
    await page.getByRole('heading', { name: 'Blackouts', exact: true }).waitFor();
    await page.getByText('Blackout added: 1 booking cancelled, 1 re-offered.').waitFor();
    await tuesdaySlot.getByText('2 held · 0 available').waitFor();
    await tuesdaySlot.getByText('2 pilots waiting').waitFor();
    await mondaySlot.getByText('Blocked: 정기 점검 (E2E)').waitFor();
    await displaced.getByText('Re-offered').waitFor();
    await displaced.getByText(/^alternative .* · Proposed$/).waitFor();
    await page.getByText('Blackout 09:00–19:00').waitFor();
    await assertFits(page, 'calendar with a blackout (en, 1280 px)');
    await scan('calendar with a blackout (en)');
    await screenshot(page, '23-ops-blackout-en');

    // Removed: the slot is open again; the cancelled booking stays cancelled, the re-offer stays open.
    await page.getByRole('button', { name: 'Delete blackout: 정기 점검 (E2E)' }).click();
    await page.getByText('Blackout removed. Cancelled bookings stay cancelled.').waitFor();
    await page.getByText('No blackouts in this period.').waitFor();
    await mondaySlot.getByText('0 held · 2 available').waitFor();
    assert.equal(await mondaySlot.getByText(/^Blocked/).count(), 0);
    assert.equal(await page.locator('.blackout-band').count(), 0);
    const after = await api().get(`/v1/testbeds/${seed.testbed.id}/blackouts`).set(seed.op.auth);
    assert.deepEqual(after.body.data, []);
    assert.equal((await api().get(`/v1/matches/${reofferId}`).set(seed.op.auth)).body.status, 'proposed');
  });

  it("lets a partner manage blackouts of its own testbed only, and shows it no one else's waitlist", async () => {
    const seed = await seedConsole();
    const { tuesday } = await busyWeek(seed);
    // The operator's blackout on the simulator, over Wednesday.
    const wednesday = new Date(new Date(tuesday.start).getTime() + DAY);
    const opBlackout = await api()
      .post(`/v1/testbeds/${seed.testbed.id}/blackouts`)
      .set(seed.op.auth)
      .send({
        start: wednesday.toISOString(),
        end: new Date(wednesday.getTime() + 8 * HOUR).toISOString(),
        reason: '전원 공사 (E2E)',
      });
    assert.equal(opBlackout.status, 201, JSON.stringify(opBlackout.body));

    const partner = await signup('partner', { name: '무등 클라우드 (E2E)' });
    const owned = await createTestbed(partner, {
      name: '파트너 GPU 클러스터 (E2E)',
      domains: ['transport-safety'],
      capabilities: ['gpu-cluster'],
      capacity: 4,
    });
    const slotEnd = new Date(seed.slotStart.getTime() + 8 * HOUR);
    await createSlot(partner, owned.id, seed.slotStart.toISOString(), slotEnd.toISOString(), 4);

    await signIn(page, base, partner.email);
    // Someone else's testbed: its blackouts are shown, but neither what they displaced, nor a form, nor a waitlist.
    await page.goto(`${base}#/testbeds/${seed.testbed.id}`);
    await page.locator('.week .blackout-band', { hasText: '전원 공사 (E2E)' }).waitFor();
    const row = page.getByRole('row', { name: literal('전원 공사 (E2E)') });
    await row.getByText('테스트베드 소유 기관과 운영자만 볼 수 있습니다.').waitFor();
    const tuesdaySlot = page.locator(`.slot[data-slot-id="${tuesday.id}"]`);
    await tuesdaySlot.getByText('보류 2 · 가능 0').waitFor();
    assert.equal(await tuesdaySlot.getByText(/^대기/).count(), 0, 'no partial waitlist count');
    assert.equal(await page.locator('form.blackout-form').count(), 0);
    assert.equal(await page.getByRole('button', { name: /블랙아웃 (추가|삭제)/ }).count(), 0);
    await scan('partner, another testbed');

    // Its own testbed: a blackout added from the form, displacing nothing.
    await page.goto(`${base}#/testbeds/${owned.id}`);
    await page.locator('.slot', { hasText: '0/4 단위 예약' }).waitFor();
    const form = page.locator('form.blackout-form');
    await form.getByLabel('시작 (KST)').fill(kstInput(new Date(seed.slotStart.getTime() + 2 * HOUR)));
    await form.getByLabel('종료 (KST)').fill(kstInput(new Date(seed.slotStart.getTime() + 4 * HOUR)));
    await form.getByLabel('사유').fill('냉각 장치 교체 (E2E)');
    await form.getByRole('button', { name: '블랙아웃 추가', exact: true }).click();
    await page.getByText('블랙아웃을 추가했습니다. 취소된 예약 0건, 재제안 0건.').waitFor();
    const own = page.getByRole('row', { name: literal('냉각 장치 교체 (E2E)') });
    await own.getByRole('cell', { name: '없음', exact: true }).waitFor();
    await page.locator('.slot', { hasText: '차단: 냉각 장치 교체 (E2E)' }).waitFor();
    await page.getByText('블랙아웃 12:00–14:00').waitFor();
    await assertFits(page, 'partner calendar (ko, 1280 px)');
    await scan('partner, own testbed');
    await screenshot(page, '24-ops-partner-ko');
    const listed = await api().get(`/v1/testbeds/${owned.id}/blackouts`).set(partner.auth);
    assert.deepEqual(
      listed.body.data.map((b: { reason: string }) => b.reason),
      ['냉각 장치 교체 (E2E)'],
    );
  });
});
