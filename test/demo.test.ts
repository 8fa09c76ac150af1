import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { pino } from 'pino';
import { isValidBusinessNumber } from '../src/auth/business-number.js';
import { OPERATOR_ORG_NAME, ensureOperator } from '../src/auth/service.js';
import { bootstrap } from '../src/bootstrap.js';
import { DOMAINS, isCapability, isSubdomainOf } from '../src/domains/catalog.js';
import { DEMO_OPERATOR, DEMO_PASSWORD, DEMO_PILOTS, DEMO_USERS } from '../src/demo/data.js';
import { loadDemoData } from '../src/demo/seed.js';
import { ctx, testConfig } from './support/context.js';

const DAY_MS = 86_400_000;
const TABLES = ['organizations', 'users', 'testbeds', 'slots', 'pilots'] as const;

async function rowCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLES) {
    out[t] = (await ctx().db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`)).rows[0]!.n;
  }
  return out;
}

const currentWeekStart = (now = new Date()) =>
  DateTime.fromJSDate(now, { zone: 'Asia/Seoul' }).startOf('week').toJSDate();

async function login(email: string, password = DEMO_PASSWORD) {
  return ctx().api().post('/v1/auth/login').send({ email, password });
}

describe('demo data', () => {
  describe('a first load', () => {
    it('publishes at least 8 testbeds, marked demo, covering all five domains, located in Gwangju', async () => {
      const counts = await loadDemoData(ctx().db);
      assert.ok(counts.testbeds! >= 8, JSON.stringify(counts));
      const { rows } = await ctx().db.query<{
        name: string;
        description: string;
        domains: string[];
        capabilities: string[];
        lat: number;
        lng: number;
        demo: boolean;
        capacity: number;
      }>('SELECT name, description, domains, capabilities, lat, lng, demo, capacity FROM testbeds');
      assert.equal(rows.length, counts.testbeds);
      const covered = new Set(rows.flatMap((r) => r.domains));
      assert.deepEqual([...covered].sort(), DOMAINS.map((d) => d.code).sort());
      for (const t of rows) {
        assert.equal(t.demo, true, t.name);
        assert.match(t.name, /\[데모/, t.name);
        assert.match(t.name, /\(.*demo\)/, t.name);
        assert.ok(t.capabilities.length > 0 && t.capabilities.every(isCapability), t.name);
        assert.ok(t.lat > 35.0 && t.lat < 35.3 && t.lng > 126.6 && t.lng < 127.05, `${t.name} is not in Gwangju`);
        assert.ok(t.capacity >= 1);
      }
      // The real phase-1 facilities are there, described with the public facts.
      const text = rows.map((r) => `${r.name} ${r.description}`).join('\n');
      assert.match(text, /88\.5 PF/);
      assert.match(text, /77/);
      assert.match(text, /자율주행 시뮬레이터/);
      assert.match(text, /첨단3지구/);
    });

    it('opens slots on every testbed from the start of the current week (Asia/Seoul) for at least 30 days', async () => {
      const before = new Date();
      const counts = await loadDemoData(ctx().db);
      const monday = currentWeekStart(before);
      const { rows } = await ctx().db.query<{ name: string; first: Date; last: Date; n: number; over: number }>(
        `SELECT t.name, min(s.start_at) AS first, max(s.end_at) AS last, count(*)::int AS n,
                count(*) FILTER (WHERE s.capacity > t.capacity OR s.booked_units <> 0)::int AS over
           FROM testbeds t LEFT JOIN slots s ON s.testbed_id = t.id GROUP BY t.id, t.name`,
      );
      assert.equal(
        rows.reduce((sum, r) => sum + r.n, 0),
        counts.slots,
      );
      for (const r of rows) {
        assert.ok(r.n > 0, `${r.name} has no slots`);
        assert.ok(r.first.getTime() >= monday.getTime(), `${r.name} starts before this week`);
        assert.ok(r.first.getTime() < monday.getTime() + 7 * DAY_MS, `${r.name} has nothing this week`);
        assert.ok(r.last.getTime() - monday.getTime() >= 30 * DAY_MS, `${r.name} ends ${r.last.toISOString()}`);
        assert.ok(r.last.getTime() - before.getTime() >= 30 * DAY_MS, `${r.name}: fewer than 30 days ahead`);
        assert.equal(r.over, 0, `${r.name} has slots above its capacity or pre-booked`);
      }
    });

    it('registers partners and startups with valid business numbers, and the operator organisation', async () => {
      await loadDemoData(ctx().db);
      const { rows } = await ctx().db.query<{
        name: string;
        kind: string;
        business_number: string | null;
        demo: boolean;
      }>('SELECT name, kind, business_number, demo FROM organizations');
      const byKind = (k: string) => rows.filter((r) => r.kind === k);
      assert.ok(byKind('partner').length >= 2 && byKind('partner').length <= 3);
      assert.ok(byKind('startup').length >= 3 && byKind('startup').length <= 4);
      assert.equal(byKind('operator').length, 1);
      assert.equal(byKind('operator')[0]!.name, OPERATOR_ORG_NAME);
      for (const o of [...byKind('partner'), ...byKind('startup')]) {
        assert.equal(o.demo, true, o.name);
        assert.match(o.name, /\[데모\].*\(fictional demo\)/);
        assert.ok(o.business_number && isValidBusinessNumber(o.business_number), `${o.name}: ${o.business_number}`);
      }
      const users = await ctx().db.query<{ email: string; kind: string }>(
        'SELECT u.email, o.kind FROM users u JOIN organizations o ON o.id = u.organization_id',
      );
      assert.ok(users.rows.every((u) => u.email.endsWith('@ax-valley.example')));
      for (const kind of ['operator', 'partner', 'startup']) {
        assert.ok(
          users.rows.some((u) => u.kind === kind),
          `no ${kind} user`,
        );
      }
    });

    it('registers pilots in all five domains and several states, each one a testbed could host', async () => {
      const counts = await loadDemoData(ctx().db);
      const { rows } = await ctx().db.query<{
        id: string;
        title: string;
        domain: string;
        subdomain: string;
        capabilities: string[];
        units: number;
        duration_hours: number;
        earliest_start: Date;
        latest_end: Date;
        status: string;
        demo: boolean;
        submitted_at: Date | null;
        withdrawn_at: Date | null;
        org_kind: string;
        stages:
          | {
              capabilities: string[];
              units: number;
              sessionHours?: { min?: number };
              earliestStart: string;
              latestEnd: string;
            }[]
          | null;
      }>(`SELECT p.*, o.kind AS org_kind FROM pilots p JOIN organizations o ON o.id = p.organization_id`);
      assert.equal(rows.length, counts.pilots);
      assert.deepEqual([...new Set(rows.map((p) => p.domain))].sort(), DOMAINS.map((d) => d.code).sort());
      assert.deepEqual([...new Set(rows.map((p) => p.status))].sort(), ['draft', 'submitted', 'withdrawn']);
      const titles = rows.map((p) => p.title).join('\n');
      for (const line of [
        '딥러닝 기반 자율주행 아키텍처',
        '공간인지 AI 콕핏',
        '다중모달 시니어 마음돌봄 영상 생성',
        '모두의 AI 플랫폼',
        'AI 이노스페이스',
      ]) {
        assert.ok(titles.includes(line), `no pilot on the programme line "${line}"`);
      }
      for (const p of rows) {
        assert.equal(p.demo, true);
        assert.equal(p.org_kind, 'startup');
        assert.ok(isSubdomainOf(p.domain, p.subdomain), `${p.title}: ${p.subdomain}`);
        assert.ok(p.capabilities.every(isCapability), p.title);
        assert.ok(p.earliest_start.getTime() > Date.now(), `${p.title} window starts in the past`);
        assert.equal(p.submitted_at !== null, p.status !== 'draft', p.title);
        assert.equal(p.withdrawn_at !== null, p.status === 'withdrawn', p.title);
        // Some active testbed offers every capability, the units, and one slot long enough inside the window
        // (for a multi-stage pilot: for every stage, a slot as long as its shortest session).
        const needs = p.stages
          ? p.stages.map(
              (s) => [s.capabilities, s.units, s.sessionHours?.min ?? 0, s.earliestStart, s.latestEnd] as const,
            )
          : [[p.capabilities, p.units, p.duration_hours, p.earliest_start, p.latest_end] as const];
        for (const [caps, units, hours, start, end] of needs) {
          const host = await ctx().db.query(
            `SELECT 1 FROM testbeds t JOIN slots s ON s.testbed_id = t.id
              WHERE t.capabilities @> $1::text[] AND $2 = ANY (t.domains) AND s.capacity >= $3
                AND s.end_at - s.start_at >= make_interval(secs => $4 * 3600)
                AND s.start_at >= $5 AND s.end_at <= $6 LIMIT 1`,
            [caps, p.domain, units, hours, start, end],
          );
          assert.equal(host.rows.length, 1, `no demo slot could host "${p.title}"`);
        }
      }
    });

    it('lets every demo user sign in with the documented password and see their own pilots', async () => {
      await loadDemoData(ctx().db);
      for (const u of DEMO_USERS) {
        const res = await login(u.email);
        assert.equal(res.status, 200, `${u.email}: ${JSON.stringify(res.body)}`);
        const me = await ctx().api().get('/v1/me').set('Authorization', `Bearer ${res.body.token}`);
        assert.equal(me.status, 200);
        const pilots = await ctx().api().get('/v1/pilots').set('Authorization', `Bearer ${res.body.token}`);
        assert.equal(pilots.status, 200, JSON.stringify(pilots.body));
        const own = DEMO_PILOTS.filter((p) => p.organizationId === u.organizationId).map((p) => p.id);
        if (me.body.role === 'startup') {
          assert.deepEqual(pilots.body.data.map((p: { id: string }) => p.id).sort(), own.sort());
        }
      }
      const wrong = await login(DEMO_USERS[0]!.email, 'not-the-demo-password');
      assert.equal(wrong.status, 401);
    });
  });

  describe('the operator', () => {
    it('creates the demo operator (and the programme office) when there is no operator at all', async () => {
      const counts = await loadDemoData(ctx().db);
      const res = await login(DEMO_OPERATOR.email);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const me = await ctx().api().get('/v1/me').set('Authorization', `Bearer ${res.body.token}`);
      assert.equal(me.body.role, 'operator');
      assert.equal(counts.users, DEMO_USERS.length + 1);
      // ensureOperator later joins the same organisation, which owns the operator's demo testbeds.
      const later = await ensureOperator(ctx().db, 'ops@gwangju.go.kr', 'a real operator password');
      const owned = await ctx().db.query('SELECT 1 FROM testbeds WHERE organization_id = $1', [later.organizationId]);
      assert.ok(owned.rows.length >= 3);
    });

    it('reuses an existing operator organisation and creates no demo operator', async () => {
      const op = await ensureOperator(ctx().db, 'ops@gwangju.go.kr', 'a real operator password');
      const counts = await loadDemoData(ctx().db);
      assert.equal(counts.users, DEMO_USERS.length);
      const demoOp = await ctx().db.query('SELECT 1 FROM users WHERE email = $1', [DEMO_OPERATOR.email]);
      assert.equal(demoOp.rows.length, 0);
      const orgs = await ctx().db.query(`SELECT id FROM organizations WHERE kind = 'operator'`);
      assert.deepEqual(orgs.rows, [{ id: op.organizationId }]);
      const owned = await ctx().db.query('SELECT 1 FROM testbeds WHERE organization_id = $1', [op.organizationId]);
      assert.ok(owned.rows.length >= 3);
    });
  });

  describe('loading again', () => {
    it('inserts nothing the second time and leaves every row count unchanged', async () => {
      const first = await loadDemoData(ctx().db);
      const after = await rowCounts();
      for (const t of TABLES) assert.equal(after[t], first[t], t);
      const second = await loadDemoData(ctx().db);
      assert.deepEqual(second, { organizations: 0, users: 0, testbeds: 0, slots: 0, pilots: 0 });
      assert.deepEqual(await rowCounts(), after);
    });

    it('keeps what users changed since: an edited pilot, a deactivated testbed', async () => {
      const monday = currentWeekStart();
      await loadDemoData(ctx().db);
      await ctx().db.query(`UPDATE pilots SET status = 'withdrawn', withdrawn_at = now() WHERE id = $1`, [
        DEMO_PILOTS[0]!.id,
      ]);
      const { rows } = await ctx().db.query<{ id: string }>(
        `UPDATE testbeds SET status = 'inactive' WHERE name LIKE '%XR%' RETURNING id`,
      );
      const counts = await loadDemoData(ctx().db, { now: new Date(Date.now() + 14 * DAY_MS) });
      const pilot = await ctx().db.query<{ status: string }>('SELECT status FROM pilots WHERE id = $1', [
        DEMO_PILOTS[0]!.id,
      ]);
      assert.equal(pilot.rows[0]!.status, 'withdrawn');
      const last = await ctx().db.query<{ last: Date }>('SELECT max(end_at) AS last FROM slots WHERE testbed_id = $1', [
        rows[0]!.id,
      ]);
      assert.ok(
        last.rows[0]!.last.getTime() <= monday.getTime() + 42 * DAY_MS,
        'slots were added to an inactive testbed',
      );
      assert.ok(counts.slots! > 0);
    });

    it('on a later day adds only the slots new at the end of the horizon, skipping any that would overlap', async () => {
      await loadDemoData(ctx().db);
      // An owner replaced one demo slot with a longer one of their own that overlaps the demo pattern.
      const victim = (
        await ctx().db.query<{ id: string; testbed_id: string; start_at: Date }>(
          `SELECT s.id, s.testbed_id, s.start_at FROM slots s JOIN testbeds t ON t.id = s.testbed_id
            WHERE t.name LIKE '%시뮬레이터%' ORDER BY s.start_at DESC LIMIT 1`,
        )
      ).rows[0]!;
      await ctx().db.query('DELETE FROM slots WHERE id = $1', [victim.id]);
      await ctx().db.query(
        `INSERT INTO slots (testbed_id, start_at, end_at, capacity) VALUES ($1, $2::timestamptz - interval '1 hour', $2::timestamptz + interval '3 hours', 1)`,
        [victim.testbed_id, victim.start_at],
      );
      const same = await loadDemoData(ctx().db);
      assert.equal(same.slots, 0);

      const before = await rowCounts();
      const later = new Date(Date.now() + 9 * DAY_MS);
      const counts = await loadDemoData(ctx().db, { now: later });
      const after = await rowCounts();
      assert.ok(counts.slots! > 0, 'the horizon did not move');
      assert.equal(after.slots, before.slots! + counts.slots!);
      assert.deepEqual({ ...after, slots: 0 }, { ...before, slots: 0 });
      const again = await loadDemoData(ctx().db, { now: later });
      assert.equal(again.slots, 0);
    });
  });

  describe('at start-up', function () {
    // Two bootstraps of a fresh embedded database, one loading the demo catalogue: minutes on a loaded machine.
    this.timeout(300_000);
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    it('is loaded by bootstrap when DEMO_DATA is true, and not when it is false', async () => {
      dir = mkdtempSync(join(tmpdir(), 'ax-demo-'));
      const logger = pino({ level: 'silent' });
      // With DATABASE_URL set this is the shared test database; without, an embedded one in a temp directory.
      const off = await bootstrap(testConfig({ DATA_DIR: dir, DEMO_DATA: 'false' }), logger);
      try {
        const none = await off.query<{ n: number }>('SELECT count(*)::int AS n FROM testbeds');
        assert.equal(none.rows[0]!.n, 0);
      } finally {
        await off.close();
      }
      const on = await bootstrap(testConfig({ DATA_DIR: dir, DEMO_DATA: 'true' }), logger);
      try {
        const some = await on.query<{ n: number }>('SELECT count(*)::int AS n FROM testbeds WHERE demo');
        assert.ok(some.rows[0]!.n >= 8);
      } finally {
        await on.close();
      }
    });

    it('says the catalogue was already present on a restart instead of "loaded" with every count at 0', async () => {
      dir = mkdtempSync(join(tmpdir(), 'ax-demo-'));
      const lines: { msg: string; testbeds?: number }[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
      for (let start = 0; start < 2; start++) {
        const db = await bootstrap(testConfig({ DATA_DIR: dir, DEMO_DATA: 'true' }), logger);
        await db.close();
      }
      const demo = lines.filter((l) => /^demo data/.test(l.msg));
      assert.deepEqual(
        demo.map((l) => l.msg),
        ['demo data loaded', 'demo data already present; nothing added'],
      );
      assert.ok(demo[0]!.testbeds! >= 8, 'the first start reports what it added');
      assert.equal(demo[1]!.testbeds, 0);
    });
  });

  describe('plans on the demo data', () => {
    it("gives the README's example pilot (8 simulator hours in 4-hour sessions) candidates and plans", async () => {
      await loadDemoData(ctx().db);
      const signup = await ctx()
        .api()
        .post('/v1/auth/signup')
        .send({
          organization: { name: '빛고을 모빌리티', kind: 'startup', businessNumber: '124-81-00998' },
          user: { email: 'dev@example.kr', password: 'a long passphrase', name: 'Kim' },
        });
      assert.equal(signup.status, 201, JSON.stringify(signup.body));
      const auth = { Authorization: `Bearer ${signup.body.token}` };
      // The README computes the same window with date(1): from a week to five weeks from now, whole days in UTC.
      const day = (d: number) => `${new Date(Date.now() + d * DAY_MS).toISOString().slice(0, 10)}T00:00:00Z`;
      const created = await ctx()
        .api()
        .post('/v1/pilots')
        .set(auth)
        .send({
          title: 'Space-aware AI cockpit field study',
          summary: 'Driver attention on the large simulator.',
          domain: 'transport-safety',
          subdomain: 'ai-cockpit',
          requirements: {
            stages: [
              {
                key: 'simulator',
                capabilities: ['driving-simulator'],
                units: 1,
                hours: 8,
                sessionHours: { max: 4 },
                earliestStart: day(7),
                latestEnd: day(35),
              },
            ],
          },
        });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal((await ctx().api().post(`/v1/pilots/${created.body.id}/submit`).set(auth)).status, 200);
      const candidates = await ctx().api().get(`/v1/pilots/${created.body.id}/candidates`).set(auth);
      assert.ok(candidates.body.data.length > 0, JSON.stringify(candidates.body));
      const plans = await ctx().api().get(`/v1/pilots/${created.body.id}/plans`).set(auth);
      assert.ok(plans.body.data.length > 0, JSON.stringify(plans.body));
      assert.equal(plans.body.data[0].sessions.length, 2, 'two 4-hour sessions');
    });

    it('gives the multi-stage demo pilots plans within their budgets', async () => {
      await loadDemoData(ctx().db);
      await ensureOperator(ctx().db, 'ops-demo@gwangju.go.kr', 'a long passphrase');
      const login = await ctx()
        .api()
        .post('/v1/auth/login')
        .send({ email: 'ops-demo@gwangju.go.kr', password: 'a long passphrase' });
      const auth = { Authorization: `Bearer ${login.body.token}` };
      for (const p of DEMO_PILOTS.filter((x) => x.stages && x.status === 'submitted')) {
        const res = await ctx().api().get(`/v1/pilots/${p.id}/plans`).set(auth);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.ok(res.body.data.length > 0, `${p.title}: ${JSON.stringify(res.body.unmet)}`);
        assert.deepEqual(
          [...new Set(res.body.data[0].sessions.map((s: { stage: string }) => s.stage))],
          p.stages!.map((s) => s.key),
        );
        assert.ok(res.body.data[0].credits <= p.budget!.credits);
        const pilot = await ctx().api().get(`/v1/pilots/${p.id}`).set(auth);
        assert.equal(pilot.body.budget.credits, p.budget!.credits);
      }
    });
  });
});
