/**
 * The operator console end to end, in Debian's headless Chromium driven by playwright-core, against a real
 * server on an ephemeral port over the shared test database: sign in, find a submitted pilot, run an
 * allocation, approve a proposal (after the startup accepts it), see the booking on the testbed's calendar;
 * switch language; no serious or critical axe-core violations. Screenshots go to test/artifacts/.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import supertest from 'supertest';
import { ctx } from './support/context.js';
import { ensureConsoleBuilt, launchChromium, screenshot, type LaunchedBrowser } from './support/console-browser.js';
import { assertFits, axeViolations, describeViolations, literal, openConsole, signIn } from './support/console-page.js';
import { seedConsole } from './support/console-seed.js';
import { createPilot, createSlot, createTestbed, DAY, signup } from './support/factories.js';

const TEXT = {
  ko: {
    domain: '분야',
    run: '배정 실행',
    zeroMatch: '매칭된 파일럿이 없습니다',
    oneProposal: '배정 실행 완료: 제안 1건',
    approve: '승인',
    reject: '거절',
  },
  en: {
    domain: 'Domain',
    run: 'Run allocation',
    zeroMatch: 'No pilot was matched',
    oneProposal: 'Allocation finished: 1 proposal',
    approve: 'Approve',
    reject: 'Reject',
  },
};

describe('Operator console in headless Chromium', function () {
  this.timeout(120_000);
  let server: http.Server;
  let base: string;
  let chromium: LaunchedBrowser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async function () {
    this.timeout(180_000);
    ensureConsoleBuilt();
    server = http.createServer(ctx().app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/console/`;
    chromium = await launchChromium();
  });

  beforeEach(async () => {
    page = await chromium.context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      // A refused request shows up as a console error too; only script errors matter here.
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) pageErrors.push(msg.text());
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed')
      await screenshot(page, `failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`).catch(
        () => undefined,
      );
    await page?.close();
    assert.deepEqual(pageErrors.splice(0), [], 'no script errors in the page');
  });

  after(async () => {
    await chromium?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('serves the page no-cache and the hashed assets as immutable, under the CSP', async () => {
    const api = supertest(ctx().app);
    const index = await api.get('/console/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /text\/html/);
    assert.equal(index.headers['cache-control'], 'no-cache');
    assert.ok(index.headers.etag, 'index.html has an ETag to revalidate against');
    assert.match(String(index.headers['content-security-policy']), /script-src 'self'/);
    const assets = [...index.text.matchAll(/\/console\/assets\/[\w.-]+\.(?:js|css)/g)].map((m) => m[0]);
    assert.ok(assets.length >= 2, 'index.html names its script and stylesheet');
    for (const asset of assets) {
      const res = await api.get(asset);
      assert.equal(res.status, 200, asset);
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable', asset);
    }
    assert.equal((await api.get('/console')).status, 200);
    const missing = await api.get('/console/assets/missing-0000.js');
    assert.equal(missing.status, 404);
    assert.match(String(missing.headers['content-type']), /application\/problem\+json/);
  });

  it('signs in, finds a submitted pilot, runs an allocation, approves a proposal and shows the booking on the calendar', async () => {
    const seed = await seedConsole();
    await signIn(page, base, seed.op.email);

    // Queue: the submitted pilots, searchable; the draft is not among them.
    await page.getByRole('row', { name: literal(seed.pilot.title) }).waitFor();
    await page.getByRole('row', { name: literal(seed.otherPilot.title) }).waitFor();
    assert.equal(await page.getByText('작성 중인 파일럿 (E2E)').count(), 0);
    await screenshot(page, '01-queue');
    await page.getByRole('searchbox', { name: '검색' }).fill('콕핏');
    await page.getByRole('row', { name: literal(seed.otherPilot.title) }).waitFor({ state: 'detached' });
    await page
      .getByRole('row', { name: literal(seed.pilot.title) })
      .getByRole('button', { name: '후보 슬롯' })
      .click();
    await page.getByRole('heading', { name: `${seed.pilot.title} — 후보 슬롯` }).waitFor();
    await page.locator('.cand').first().waitFor();
    await screenshot(page, '02-queue-candidates');

    // Matching: run an allocation for the transport & safety domain.
    await page.getByRole('link', { name: '매칭' }).click();
    await page.getByRole('heading', { level: 1, name: '매칭' }).waitFor();
    // A scope with nothing to allocate: the problem+json comes back readable, in Korean.
    await page.getByLabel('분야').selectOption('culture');
    await page.getByRole('button', { name: '배정 실행' }).click();
    await page.getByRole('alert').filter({ hasText: '배정할 파일럿이나 빈 슬롯이 없습니다' }).waitFor();
    await page.getByLabel('분야').selectOption('transport-safety');
    await page.getByRole('button', { name: '배정 실행' }).click();
    await page.getByRole('heading', { name: '실행 요약' }).waitFor();
    const proposal = page.locator('tr[data-match-id]', { hasText: seed.pilot.title });
    await proposal.waitFor();
    assert.equal(await proposal.getAttribute('data-status'), 'proposed');
    assert.ok(
      await proposal.getByRole('button', { name: `승인: ${seed.pilot.title}` }).isDisabled(),
      'a proposal waits for the startup',
    );
    await screenshot(page, '03-matching-run');

    // The startup accepts the proposal through the API; the operator refreshes and approves it.
    const matchId = await proposal.getAttribute('data-match-id');
    const accepted = await supertest(ctx().app).post(`/v1/matches/${matchId}/accept`).set(seed.startup.auth);
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    await page
      .getByRole('region', { name: '제안' })
      .waitFor()
      .catch(() => undefined);
    await page.locator('section[aria-labelledby="prop-h"]').getByRole('button', { name: '새로 고침' }).click();
    await page.locator(`tr[data-match-id="${matchId}"][data-status="accepted"]`).first().waitFor();
    await page
      .locator(`section[aria-labelledby="prop-h"] tr[data-match-id="${matchId}"]`)
      .getByRole('button', { name: `승인: ${seed.pilot.title}` })
      .click();
    await page
      .locator(`section[aria-labelledby="prop-h"] tr[data-match-id="${matchId}"][data-status="approved"]`)
      .waitFor();
    await page.getByText('승인했습니다.').waitFor();
    await screenshot(page, '04-matching-approved');

    // Testbeds: the calendar opens on the week of the simulator's next booking (next week), no paging needed.
    await page.getByRole('link', { name: literal(`예약 생성됨 → ${seed.testbed.name}`) }).click();
    await page.getByRole('heading', { level: 1, name: '테스트베드' }).waitFor();
    assert.equal(await page.getByLabel('테스트베드 선택').inputValue(), seed.testbed.id);
    const booking = page.locator('.week .booking', { hasText: seed.pilot.title });
    await booking.waitFor();
    await page.locator('.slot', { hasText: '1/2 단위 예약' }).first().waitFor();
    await page.getByRole('img', { name: /분야별 가동률 막대 그래프/ }).waitFor();
    await screenshot(page, '05-testbeds-week');
    await page.getByRole('button', { name: '월', exact: true }).click();
    // The month names the booked pilot, not just a count.
    await page.locator('.month .month-bookings', { hasText: seed.pilot.title }).first().waitFor();
    await screenshot(page, '06-testbeds-month');
  });

  it('switches to English with domain labels from /v1/domains, and passes axe on every screen', async () => {
    const seed = await seedConsole();
    // A webhook endpoint with one delivery (the test ping; no worker runs here, so nothing leaves the machine).
    const api = supertest(ctx().app);
    const endpoint = await api
      .post('/v1/webhook-endpoints')
      .set(seed.op.auth)
      .send({
        url: 'https://hooks.example.kr/ax-registry',
        eventTypes: ['booking.confirmed', 'match.proposed'],
        description: '프로그램 사무국 알림',
      });
    assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
    const ping = await api.post(`/v1/webhook-endpoints/${endpoint.body.id}/test`).set(seed.op.auth);
    assert.ok(ping.status < 300, JSON.stringify(ping.body));

    await signIn(page, base, seed.op.email);
    const violations: string[] = [];
    const scan = async (screen: string) => {
      const found = await axeViolations(page);
      if (found.length) violations.push(describeViolations(screen, found));
    };

    await page.getByRole('row', { name: literal(seed.pilot.title) }).waitFor();
    await scan('queue (ko)');

    // Keyboard: the first Tab reaches the skip link, which moves focus to the main content.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), '본문으로 건너뛰기');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');

    await page.getByRole('button', { name: 'English', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Queue' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await page
      .getByRole('row', { name: literal(seed.pilot.title) })
      .getByText('Transport & safety')
      .waitFor();
    await page.getByRole('button', { name: /^Health/ }).waitFor();
    await screenshot(page, '07-queue-en');
    await scan('queue (en)');

    await page.getByRole('link', { name: 'Testbeds' }).click();
    await page.getByRole('heading', { level: 1, name: 'Testbeds' }).waitFor();
    await page.locator('.week').waitFor();
    await page.getByRole('img', { name: /Bar chart of utilisation by domain/ }).waitFor();
    await scan('testbeds');
    await page.getByRole('button', { name: 'Month' }).click();
    await page.locator('table.month').waitFor();
    await scan('testbeds (month)');

    await page.getByRole('link', { name: 'Matching' }).click();
    await page.getByRole('button', { name: 'Run allocation' }).click();
    await page.locator('tr[data-match-id]').first().waitFor();
    await scan('matching');
    // Bulk: both domains' proposals selected at once and rejected in one go.
    const proposals = page.locator('section[aria-labelledby="prop-h"]');
    await proposals.locator('tr[data-match-id]').nth(1).waitFor();
    await proposals.getByRole('checkbox', { name: 'Select all' }).check();
    await proposals.getByRole('button', { name: 'Reject selected (2)' }).click();
    await proposals.getByText('2 done, 0 failed').waitFor();
    await proposals.locator('tr[data-status="rejected"]').nth(1).waitFor();

    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { level: 1, name: 'Webhooks' }).waitFor();
    await page.locator('tr[data-delivery-id]').first().waitFor();
    await screenshot(page, '08-webhooks-en');
    await scan('webhooks');
    const before = await page.locator('tr[data-delivery-id]').count();
    await page.getByRole('button', { name: 'Redeliver: webhook.test' }).first().click();
    await page.getByText('Redelivery scheduled.').waitFor();
    await page.waitForFunction((n) => document.querySelectorAll('tr[data-delivery-id]').length === n + 1, before);

    // Back to Korean; the choice survives a reload, and so does the session (sessionStorage).
    await page.getByRole('button', { name: '한국어', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: '웹훅' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: '웹훅' }).waitFor();

    // Tablet width: the screens still lay out (no horizontal scroll of the page itself).
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.getByRole('link', { name: '테스트베드' }).click();
    await page.locator('.week').waitFor();
    await screenshot(page, '09-testbeds-tablet');
    assert.ok(
      await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1),
      'no page-wide horizontal scroll at tablet width',
    );
    await scan('testbeds (tablet)');

    // Sign out: back to the sign-in form, the token gone.
    await page.getByRole('button', { name: '로그아웃' }).click();
    await page.getByRole('heading', { name: '로그인' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('ax-console.token')), null);
    await screenshot(page, '00-sign-in');
    await scan('sign-in');

    assert.equal(violations.join('\n'), '', 'no serious or critical axe violations');
  });

  it('fits its tables at 1400 and 1280 px in both languages, explains empty results, and says "1 unit"', async () => {
    const seed = await seedConsole();
    const api = supertest(ctx().app);
    // The simulator's first slot booked (so the calendar and the utilisation table have something to show).
    const slots = await api.get(`/v1/testbeds/${seed.testbed.id}/slots`).set(seed.op.auth);
    const requested = await api
      .post(`/v1/pilots/${seed.pilot.id}/matches`)
      .set(seed.startup.auth)
      .send({ slotId: slots.body.data[0].id });
    assert.equal(requested.status, 201, JSON.stringify(requested.body));
    assert.equal((await api.post(`/v1/matches/${requested.body.id}/approve`).set(seed.op.auth)).status, 200);
    // A public-administration testbed with slots, and a pilot needing a capability it lacks: no candidate,
    // and an allocation over that domain matches nobody.
    const sandbox = await createTestbed(seed.op, {
      name: '민원 문서 샌드박스 (E2E)',
      domains: ['public-admin'],
      capabilities: ['document-corpus'],
      capacity: 1,
    });
    for (let d = 0; d < 2; d++) {
      const start = new Date(seed.slotStart.getTime() + d * DAY);
      const end = new Date(start.getTime() + 8 * 3_600_000);
      await createSlot(seed.op, sandbox.id, start.toISOString(), end.toISOString(), 1);
    }
    const orphanPilot = { title: '라이다 민원 파일럿 (E2E)', domain: 'public-admin', subdomain: undefined };
    const orphan = await createPilot(seed.startup, orphanPilot, {
      capabilities: ['lidar'],
      durationHours: 4,
      earliestStart: new Date(Date.now() + 3_600_000).toISOString(),
      latestEnd: new Date(Date.now() + 30 * DAY).toISOString(),
    });
    assert.equal((await api.post(`/v1/pilots/${orphan.id}/submit`).set(seed.startup.auth)).status, 200);
    // The newest testbed has no slot at all: the calendar must not open on it.
    const bare = await createTestbed(seed.op, { name: '슬롯 없는 새 테스트베드 (E2E)' });

    await signIn(page, base, seed.op.email);
    for (const lang of ['ko', 'en'] as const) {
      if (lang === 'en') {
        await page.getByRole('button', { name: 'English', exact: true }).click();
        await page.waitForFunction(() => document.documentElement.lang === 'en');
      }
      const text = TEXT[lang];
      for (const width of [1400, 1280]) {
        await page.setViewportSize({ width, height: 900 });
        const where = `${lang} at ${width} px`;

        await page.goto(`${base}#/queue`);
        await page.getByRole('row', { name: literal(orphan.title as string) }).waitFor();
        await assertFits(page, `queue, ${where}`);

        await page.goto(`${base}#/testbeds`);
        await page.locator('.week').waitFor();
        const opened = await page.locator('select[name="testbed"]').inputValue();
        assert.notEqual(opened, bare.id, `the calendar opened on a testbed without slots (${where})`);
        await page.locator('.week .booking', { hasText: seed.pilot.title }).waitFor();
        await page.locator('.util table').waitFor();
        await assertFits(page, `testbeds, ${where}`);
        const cut = await page.evaluate(() =>
          [...document.querySelectorAll<SVGTextElement>('.chart-label')]
            .filter((l) => l.getBBox().x < 0)
            .map((l) => l.textContent),
        );
        assert.deepEqual(cut, [], `chart labels cut off (${where})`);

        await page.goto(`${base}#/matching`);
        await page.getByLabel(text.domain).selectOption('public-admin');
        await page.getByRole('button', { name: text.run }).click();
        await page.locator('.zero-match', { hasText: text.zeroMatch }).waitFor();
        await page.getByLabel(text.domain).selectOption('');
        await page.getByRole('button', { name: text.run }).click();
        await page.getByText(text.oneProposal, { exact: true }).waitFor();
        const rows = page.locator('section[aria-labelledby="prop-h"] tr[data-match-id]');
        const proposal = rows.filter({ hasText: seed.otherPilot.title });
        await proposal.waitFor();
        await assertFits(page, `matching, ${where}`);
        const card = await page.locator('section[aria-labelledby="prop-h"]').boundingBox();
        for (const name of [text.approve, text.reject]) {
          const label = `${name}: ${seed.otherPilot.title}`;
          const button = await proposal.getByRole('button', { name: label }).boundingBox();
          const inside = card && button && button.x + button.width <= card.x + card.width;
          assert.ok(inside, `${name} lies outside the proposals card (${where})`);
        }
        await screenshot(page, `11-matching-${lang}-${width}`);
        // Rejected, the pilot is free again for the next round's run.
        const id = await proposal.getAttribute('data-match-id');
        assert.equal((await api.post(`/v1/matches/${id}/reject`).set(seed.op.auth)).status, 200);
      }
    }

    // English: plural forms, explanations of empty results, and a factor that does not apply said in words.
    await page.goto(`${base}#/queue`);
    const orphanRow = page.getByRole('row', { name: literal(orphan.title as string) });
    await orphanRow.getByRole('button', { name: 'Candidates' }).click();
    const why = page.locator('.no-candidates');
    // The server explains an empty list per stage (`unmet`); a first-release pilot is the one stage `main`.
    await why.getByText('No slot meets the requirements.').waitFor();
    assert.match(await why.innerText(), /^main: \S.+/m);
    await orphanRow.getByRole('button', { name: 'Hide candidates' }).click();
    const otherRow = page.getByRole('row', { name: literal(seed.otherPilot.title) });
    await otherRow.getByRole('button', { name: 'Candidates' }).click();
    await page.locator('.cand').first().waitFor();
    const candidates = await page.locator('.candidates').innerText();
    assert.match(candidates, /not scored \(the pilot gave no location\)/);
    assert.doesNotMatch(candidates, /–\s*×/, 'no cryptic "– × 0" factor row');
    await screenshot(page, '12-queue-no-candidates-en');
    const body = await page.locator('main').innerText();
    assert.match(body, /\b1 unit\b/);
    await page.goto(`${base}#/testbeds/${seed.testbed.id}`);
    await page.locator('.week .booking').first().waitFor();
    const calendar = await page.locator('main').innerText();
    assert.match(calendar, /\b1 booking\b/);
    for (const bad of [/\b1 units\b/, /\b1 bookings\b/, /\b1 proposals\b/, /\b1 slots\b/]) {
      assert.doesNotMatch(body + calendar, bad);
    }
  });

  it('gives a partner its own view: testbeds, and a webhook endpoint added with its secret shown once', async () => {
    const seed = await seedConsole();
    const partner = await signup('partner', { name: '무등 클라우드 (E2E)' });
    const owned = await createTestbed(partner, {
      name: '파트너 GPU 클러스터 (E2E)',
      domains: ['transport-safety'],
      capabilities: ['gpu-cluster'],
      capacity: 4,
    });
    const end = new Date(seed.slotStart.getTime() + 8 * 3_600_000);
    await createSlot(partner, owned.id, seed.slotStart.toISOString(), end.toISOString(), 4);

    await signIn(page, base, partner.email);
    await page.getByRole('button', { name: 'English', exact: true }).click();
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole('link', { name: 'Testbeds' }).click();
    await page.locator('.week').waitFor();
    // Partners do not get the operators' utilisation report.
    assert.equal(await page.locator('#util-h').count(), 0);
    await page.goto(`${base}#/testbeds/${owned.id}`);
    await page.locator('.slot', { hasText: '0/4 units booked' }).first().waitFor();
    await assertFits(page, 'partner testbeds');

    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByText('No endpoints registered.').waitFor();
    const form = page.locator('form.new-endpoint');
    await form.getByLabel('URL').fill('https://hooks.example.kr/partner');
    await form.getByLabel('match.requested').check();
    await form.getByRole('button', { name: 'Add', exact: true }).click();
    const secret = await form.locator('code.secret').innerText();
    assert.match(secret, /^whsec_/);
    await page.locator('.endpoint', { hasText: 'https://hooks.example.kr/partner' }).waitFor();
    const endpoints = await supertest(ctx().app).get('/v1/webhook-endpoints').set(partner.auth);
    const subscribed = endpoints.body.data.map((e: { eventTypes: string[] }) => [...e.eventTypes].sort());
    assert.deepEqual(subscribed, [['booking.confirmed', 'match.requested']]);
    // A refused URL comes back as a readable problem, and nothing is added.
    await form.getByLabel('URL').fill('http://127.0.0.1/hook');
    await form.getByRole('button', { name: 'Add', exact: true }).click();
    await form.getByRole('alert').waitFor();
    assert.equal((await supertest(ctx().app).get('/v1/webhook-endpoints').set(partner.auth)).body.data.length, 1);
    await assertFits(page, 'partner webhooks');
    await screenshot(page, '13-partner-webhooks-en');
  });

  it('shows a problem+json error readably when sign-in fails', async () => {
    await openConsole(page, base);
    await page.getByLabel('이메일').fill('nobody@example.kr');
    await page.getByLabel('비밀번호').fill('wrong password');
    await page.getByRole('button', { name: '로그인', exact: true }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    assert.match(text, /이메일 또는 비밀번호가 올바르지 않습니다/);
    assert.match(text, /HTTP 401/);
    assert.match(text, /Email or password is wrong/, "the server's detail is shown too");
    await screenshot(page, '10-sign-in-error');
  });
});
