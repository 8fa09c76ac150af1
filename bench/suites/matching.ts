/**
 * Matching benchmarks.
 *  1. Candidates for one pilot among 100,000 slots (200 testbeds × 500 slots, generated with generate_series),
 *     GET /v1/pilots/:id/candidates on the PostgreSQL server: p50 latency at one connection (target < 50 ms) and
 *     at 10 connections (target < 30 ms; with autocannon in this process on two cores, p50 there is about
 *     10 / throughput, so the target asks for about 340 requests a second of PostgreSQL and Node CPU together).
 *  2. Allocation of 2,000 pilots × 5,000 slots: the pure function (instance build + MIP + LP bound + greedy)
 *     in this process, and the whole POST /v1/allocation-runs on the server (reads, solve, 1,800-odd proposals
 *     and their events written in one transaction). Target < 10 s, gap to the LP bound ≤ 0.5 %.
 *  3. Plans for one pilot with 3 stages among the same 100,000 slots, GET /v1/pilots/:id/plans on the server:
 *     p50 latency, one connection. Target < 100 ms.
 *  4. Allocation over whole plans: 1,000 pilots with 2–3 stages (2–8 sessions each) over 10,000 slots, the pure
 *     function (plan search per pilot + MIP + bounds + greedy) and POST /v1/allocation-runs on the server.
 *     Target < 60 s, gap to the upper bound ≤ 1 %, gain over greedy reported.
 */
import pg from 'pg';
import { openDb } from '../../src/db/client.js';
import { ensureOperator } from '../../src/auth/service.js';
import {
  buildInstance,
  buildPlanInstance,
  PLANS_PER_PILOT,
  type PlanScene,
} from '../../src/matching/allocation-instance.js';
import { allocate, allocatePlans } from '../../src/matching/allocation.js';
import { SCARCE } from '../../src/matching/candidates.js';
import { fmt, json, load, startTarget, type LoadResult, type Target } from '../harness.js';
import { generateScene, generateStagedScene } from './matching-instance.js';
import { submitCandidatePilot } from './candidate-pilot.js';

export interface MatchingResults {
  candidates?: { slots: number; suitable: number; latency: LoadResult; loaded: LoadResult };
  plans?: { latency: LoadResult; plans: number; sessions: number };
  allocation?: { buildMs: number; solveMs: number; summary: Awaited<ReturnType<typeof allocate>>['summary'] };
  allocationApi?: { ms: number; summary: Record<string, unknown> };
  plansAllocation?: {
    buildMs: number;
    solveMs: number;
    summary: Awaited<ReturnType<typeof allocatePlans>>['summary'];
    sessions: SessionSpread;
  };
  plansAllocationApi?: { ms: number; summary: Record<string, unknown> };
}

/** Sessions a pilot's best plan has, over the pilots that have a plan: the shape of the instance. */
interface SessionSpread {
  min: number;
  max: number;
  mean: number;
}

/** The time limit the staged runs give the solver: the whole run must stay under a minute. */
const PLAN_RUN_LIMIT_SECONDS = 30;

function businessNumber(i: number): string {
  const d = String(200000000 + i).slice(-9);
  const w = [1, 3, 7, 1, 3, 7, 1, 3, 5];
  let sum = 0;
  for (let k = 0; k < 9; k++) sum += Number(d[k]) * w[k]!;
  sum += Math.floor((Number(d[8]) * 5) / 10);
  return d + ((10 - (sum % 10)) % 10);
}

async function signupOrg(base: string, kind: 'startup' | 'partner', i: number) {
  return (
    await json(`${base}/v1/auth/signup`, {
      method: 'POST',
      body: {
        organization: { name: `Bench ${kind} ${i}`, kind, businessNumber: businessNumber(i) },
        user: { email: `${kind}${i}@matching-bench.example`, password: 'bench password 1', name: 'Bench' },
      },
    })
  ).body as { token: string; organization: { id: string } };
}

/**
 * The candidates scene on a fresh target: a partner with 200 testbeds × 500 daily slots (100,000 slots, generated
 * with generate_series), a startup, and its submitted pilot (bench/suites/candidate-pilot.ts).
 */
export async function seedCandidateScene(t: Target, client: pg.Client) {
  const partner = await signupOrg(t.base, 'partner', 1);
  const startup = await signupOrg(t.base, 'startup', 2);
  await client.query(
    `INSERT INTO testbeds (organization_id, name, domains, capabilities, capacity, address, lat, lng)
     SELECT $1, 'Bench testbed ' || g,
            ARRAY[(ARRAY['transport-safety','health','public-admin','living-environment','culture'])[1 + g % 5]],
            CASE g % 3 WHEN 0 THEN ARRAY['gpu-cluster','edge-compute'] WHEN 1 THEN ARRAY['gpu-cluster'] ELSE ARRAY['v2x','lidar'] END,
            4, '광주광역시 북구 첨단과기로 123', 35.2 + (g % 10) * 0.01, 126.8 + (g % 7) * 0.01
       FROM generate_series(1, 200) g`,
    [partner.organization.id],
  );
  await client.query(
    `INSERT INTO slots (testbed_id, start_at, end_at, capacity, booked_units)
     SELECT t.id, timestamptz '2027-01-04T00:00:00Z' + k * interval '1 day',
            timestamptz '2027-01-04T00:00:00Z' + k * interval '1 day' + interval '8 hours', 4, k % 5
       FROM testbeds t CROSS JOIN generate_series(0, 499) k`,
  );
  // As a catalogue stands once autovacuum has passed (within a minute of a bulk load): statistics, and a visibility
  // map that lets the candidates query read slots from the index alone (migration 0011).
  await client.query('VACUUM ANALYZE');
  const slots = Number((await client.query('SELECT count(*) AS n FROM slots')).rows[0].n);
  const auth = { Authorization: `Bearer ${startup.token}` };
  const { pilotId, suitable } = await submitCandidatePilot(client, t.base, auth, 'Bench pilot');
  return { slots, suitable, auth, pilotId, url: `${t.base}/v1/pilots/${pilotId}/candidates?limit=20` };
}

async function candidatesOnServer(
  url: string,
  seconds: number,
  plans: boolean,
): Promise<NonNullable<MatchingResults['candidates']> & { plans: MatchingResults['plans'] }> {
  const t = await startTarget(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { slots, suitable, auth, url: url1 } = await seedCandidateScene(t, client);
    await load({ url: url1, headers: auth, seconds: 2, connections: 1 });
    const latency = await load({ url: url1, headers: auth, seconds, connections: 1 });
    const loaded = await load({ url: url1, headers: auth, seconds, connections: 10 });
    if (!plans) return { slots, suitable, latency, loaded, plans: undefined };
    // Three stages in order: two 8-hour GPU days, a day with V2X at least a day later (within ten), two edge days.
    const staged = (
      await json(`${t.base}/v1/pilots`, {
        method: 'POST',
        headers: auth,
        body: {
          title: 'Bench plan pilot',
          summary: 'Generated for the benchmark.',
          domain: 'transport-safety',
          requirements: {
            stages: [
              {
                key: 'train',
                capabilities: ['gpu-cluster'],
                units: 1,
                hours: 16,
                earliestStart: '2027-03-01T00:00:00Z',
                latestEnd: '2027-06-01T00:00:00Z',
              },
              {
                key: 'road',
                capabilities: ['v2x'],
                units: 1,
                hours: 8,
                earliestStart: '2027-03-01T00:00:00Z',
                latestEnd: '2027-06-01T00:00:00Z',
                after: { stage: 'train', minGapHours: 24, maxGapHours: 240 },
              },
              {
                key: 'edge',
                capabilities: ['edge-compute'],
                units: 1,
                hours: 16,
                earliestStart: '2027-03-01T00:00:00Z',
                latestEnd: '2027-06-01T00:00:00Z',
                after: { stage: 'road' },
              },
            ],
          },
        },
      })
    ).body as { id: string };
    await json(`${t.base}/v1/pilots/${staged.id}/submit`, { method: 'POST', headers: auth });
    const url2 = `${t.base}/v1/pilots/${staged.id}/plans?limit=5`;
    const sample = (await json(url2, { headers: auth })).body as { data: { sessions: unknown[] }[] };
    await load({ url: url2, headers: auth, seconds: 2, connections: 1 });
    const plansLatency = await load({ url: url2, headers: auth, seconds, connections: 1 });
    return {
      slots,
      suitable,
      latency,
      loaded,
      plans: { latency: plansLatency, plans: sample.data.length, sessions: sample.data[0]?.sessions.length ?? 0 },
    };
  } finally {
    await client.end();
    await t.stop();
  }
}

/**
 * The server for an allocation benchmark: the app, a direct client for bulk inserts, a partner and a startup
 * (signed up under numbers `first` and `first + 1`) and a signed-in operator.
 */
async function allocationServer(url: string, first: number) {
  const t = await startTarget(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const db = await openDb({ databaseUrl: url, dataDir: 'memory://', poolSize: 2 });
  const close = async () => {
    await db.close();
    await client.end();
    await t.stop();
  };
  try {
    const partner = await signupOrg(t.base, 'partner', first);
    const startup = await signupOrg(t.base, 'startup', first + 1);
    await ensureOperator(db, 'operator@matching-bench.example', 'bench password 1');
    const op = (
      await json(`${t.base}/v1/auth/login`, {
        method: 'POST',
        body: { email: 'operator@matching-bench.example', password: 'bench password 1' },
      })
    ).body as { token: string };
    return { t, client, partner, startup, op, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function allocationOnServer(url: string): Promise<MatchingResults['allocationApi']> {
  const { t, client, partner, startup, op, close } = await allocationServer(url, 3);
  try {
    const { pilots, offers } = generateScene(1, 2000, 5000);
    const beds = [...new Map(offers.map((o) => [o.testbedId, o])).values()];
    await client.query(
      `INSERT INTO testbeds (id, organization_id, name, domains, capabilities, capacity, address, lat, lng)
       SELECT x.id, $1, x.name, string_to_array(x.domains, ','), string_to_array(x.caps, ','), 4, '광주광역시', x.lat, x.lng
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[]) AS x(id, name, domains, caps, lat, lng)`,
      [
        partner.organization.id,
        beds.map((b) => b.testbedId),
        beds.map((b) => b.testbedName),
        beds.map((b) => b.testbed.domains.join(',')),
        beds.map((b) => b.testbed.capabilities.join(',')),
        beds.map((b) => b.testbed.lat),
        beds.map((b) => b.testbed.lng),
      ],
    );
    await client.query(
      `INSERT INTO slots (testbed_id, start_at, end_at, capacity, booked_units)
       SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::int[], $5::int[])`,
      [
        offers.map((o) => o.testbedId),
        offers.map((o) => o.start.toISOString()),
        offers.map((o) => o.end.toISOString()),
        offers.map((o) => o.capacity),
        offers.map((o) => o.bookedUnits),
      ],
    );
    await client.query(
      `INSERT INTO pilots (organization_id, title, summary, domain, capabilities, units, duration_hours, earliest_start, latest_end,
                           location_lat, location_lng, status, submitted_at)
       SELECT $1, 'Bench pilot ' || x.n, 'Generated.', x.domain, COALESCE(string_to_array(NULLIF(x.caps, ''), ','), '{}'), x.units, x.hours, x.es, x.le,
              x.lat, x.lng, 'submitted', now() - (x.n || ' seconds')::interval
         FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::float8[], $7::timestamptz[], $8::timestamptz[], $9::float8[], $10::float8[])
              AS x(n, domain, caps, units, hours, es, le, lat, lng)`,
      [
        startup.organization.id,
        pilots.map((_, i) => 2000 - i),
        pilots.map((p) => p.needs.domain),
        pilots.map((p) => p.needs.capabilities.join(',')),
        pilots.map((p) => p.needs.units),
        pilots.map((p) => p.needs.durationHours),
        pilots.map((p) => p.needs.earliestStart.toISOString()),
        pilots.map((p) => p.needs.latestEnd.toISOString()),
        pilots.map((p) => p.needs.location?.lat ?? null),
        pilots.map((p) => p.needs.location?.lng ?? null),
      ],
    );
    await client.query('ANALYZE');
    const started = performance.now();
    const run = await json(`${t.base}/v1/allocation-runs`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${op.token}` },
      body: { from: '2027-01-01T00:00:00Z', to: '2027-06-01T00:00:00Z', timeLimitSeconds: 10 },
    });
    const ms = performance.now() - started;
    return { ms, summary: (run.body as { summary: Record<string, unknown> }).summary };
  } finally {
    await close();
  }
}

/** Inserts a staged scene (testbeds with rates, slots, pilots with stages and budgets) and runs one allocation. */
async function plansAllocationOnServer(url: string, scene: PlanScene): Promise<MatchingResults['plansAllocationApi']> {
  const { t, client, partner, startup, op, close } = await allocationServer(url, 5);
  try {
    const { offers, pilots } = scene;
    const beds = [...new Map(offers.map((o) => [o.testbedId, o])).values()];
    await client.query(
      `INSERT INTO testbeds (id, organization_id, name, domains, capabilities, capacity, address, lat, lng, credit_rate)
       SELECT x.id, $1, x.name, string_to_array(x.domains, ','), string_to_array(x.caps, ','), 4, '광주광역시', x.lat, x.lng, x.rate
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[], $8::int[]) AS x(id, name, domains, caps, lat, lng, rate)`,
      [
        partner.organization.id,
        beds.map((b) => b.testbedId),
        beds.map((b) => b.testbedName),
        beds.map((b) => b.testbed.domains.join(',')),
        beds.map((b) => b.testbed.capabilities.join(',')),
        beds.map((b) => b.testbed.lat),
        beds.map((b) => b.testbed.lng),
        beds.map((b) => scene.rates[b.testbedId] ?? 1),
      ],
    );
    await client.query(
      `INSERT INTO slots (testbed_id, start_at, end_at, capacity, booked_units)
       SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::int[], $5::int[])`,
      [
        offers.map((o) => o.testbedId),
        offers.map((o) => o.start.toISOString()),
        offers.map((o) => o.end.toISOString()),
        offers.map((o) => o.capacity),
        offers.map((o) => o.bookedUnits),
      ],
    );
    // Stages stored as the API normalises them; the first-release columns hold their envelope.
    const stagesJson = pilots.map((p) =>
      JSON.stringify(
        p.stages.map((s) => ({
          key: s.key,
          capabilities: s.needs.capabilities,
          units: s.units,
          hours: s.hours,
          earliestStart: s.needs.earliestStart.toISOString(),
          latestEnd: s.needs.latestEnd.toISOString(),
          ...(s.needs.location ? { location: s.needs.location } : {}),
          sessionHours: { min: s.needs.durationHours, max: s.needs.maxSessionHours },
          ...(s.after ? { after: s.after } : {}),
        })),
      ),
    );
    const ids = (
      await client.query<{ id: string }>(
        `INSERT INTO pilots (organization_id, title, summary, domain, capabilities, units, duration_hours, earliest_start, latest_end,
                             location_lat, location_lng, status, submitted_at, stages)
         SELECT $1, 'Bench plan pilot ' || x.n, 'Generated.', x.domain, COALESCE(string_to_array(NULLIF(x.caps, ''), ','), '{}'), x.units, x.hours,
                x.es, x.le, x.lat, x.lng, 'submitted', now() - (x.n || ' seconds')::interval, x.stages
           FROM unnest($2::int[], $3::text[], $4::text[], $5::int[], $6::float8[], $7::timestamptz[], $8::timestamptz[], $9::float8[], $10::float8[], $11::jsonb[])
                WITH ORDINALITY AS x(n, domain, caps, units, hours, es, le, lat, lng, stages, i)
          ORDER BY x.i
         RETURNING id`,
        [
          startup.organization.id,
          pilots.map((_, i) => pilots.length - i),
          pilots.map((p) => p.domain),
          pilots.map((p) => [...new Set(p.stages.flatMap((s) => s.needs.capabilities))].join(',')),
          pilots.map((p) => Math.max(...p.stages.map((s) => s.units))),
          pilots.map((p) => p.stages.reduce((a, s) => a + s.hours, 0)),
          pilots.map((p) => new Date(Math.min(...p.stages.map((s) => s.needs.earliestStart.getTime()))).toISOString()),
          pilots.map((p) => new Date(Math.max(...p.stages.map((s) => s.needs.latestEnd.getTime()))).toISOString()),
          pilots.map((p) => p.stages.find((s) => s.needs.location)?.needs.location?.lat ?? null),
          pilots.map((p) => p.stages.find((s) => s.needs.location)?.needs.location?.lng ?? null),
          stagesJson,
        ],
      )
    ).rows.map((r) => r.id);
    const funded = pilots
      .map((p, i) => ({ id: ids[i]!, credits: p.remaining }))
      .filter((x): x is { id: string; credits: number } => x.credits !== null);
    await client.query(
      `INSERT INTO pilot_budgets (pilot_id, credits, funding_line) SELECT x.id, x.credits, 'city' FROM unnest($1::uuid[], $2::bigint[]) AS x(id, credits)`,
      [funded.map((f) => f.id), funded.map((f) => f.credits)],
    );
    await client.query('ANALYZE');
    const started = performance.now();
    const run = await json(`${t.base}/v1/allocation-runs`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${op.token}` },
      body: { from: '2027-01-01T00:00:00Z', to: '2027-06-01T00:00:00Z', timeLimitSeconds: PLAN_RUN_LIMIT_SECONDS },
    });
    const ms = performance.now() - started;
    if (run.status !== 201) throw new Error(`allocation run failed: ${run.status} ${JSON.stringify(run.body)}`);
    return { ms, summary: (run.body as { summary: Record<string, unknown> }).summary };
  } finally {
    await close();
  }
}

/** The parts of the suite, in the order they run; BENCH_MATCHING_PARTS (comma-separated) keeps some of them. */
export const MATCHING_PARTS = ['allocation', 'plans-allocation', 'candidates', 'plans'] as const;
type MatchingPart = (typeof MATCHING_PARTS)[number];

export async function runMatchingSuite(
  serverUrl: string | undefined,
  seconds: number,
  parts: readonly MatchingPart[] = MATCHING_PARTS,
): Promise<MatchingResults> {
  const out: MatchingResults = {};
  const scene = parts.includes('plans-allocation') ? generateStagedScene(1, 1000, 10000) : undefined;
  if (parts.includes('allocation')) {
    console.log('matching suite: allocation 2,000 × 5,000 in process…');
    const { pilots, offers } = generateScene(1, 2000, 5000);
    const t0 = performance.now();
    const instance = buildInstance(pilots, offers, SCARCE);
    const t1 = performance.now();
    const result = await allocate(instance, { method: 'optimal', timeLimitSeconds: 10 });
    const t2 = performance.now();
    out.allocation = { buildMs: t1 - t0, solveMs: t2 - t1, summary: result.summary };
  }
  if (scene) {
    console.log('matching suite: allocation of 1,000 staged pilots over 10,000 slots in process…');
    const t3 = performance.now();
    const planInstance = buildPlanInstance(scene, SCARCE);
    const t4 = performance.now();
    const planResult = await allocatePlans(planInstance, {
      method: 'optimal',
      timeLimitSeconds: PLAN_RUN_LIMIT_SECONDS,
    });
    const t5 = performance.now();
    const best = new Map<number, number>();
    for (const q of planInstance.plans) if (!best.has(q.pilot)) best.set(q.pilot, q.sessions.length);
    const counts = [...best.values()];
    out.plansAllocation = {
      buildMs: t4 - t3,
      solveMs: t5 - t4,
      summary: planResult.summary,
      sessions: {
        min: Math.min(...counts),
        max: Math.max(...counts),
        mean: counts.reduce((a, b) => a + b, 0) / counts.length,
      },
    };
  }
  if (serverUrl) {
    if (parts.includes('candidates') || parts.includes('plans')) {
      console.log('matching suite: candidates among 100,000 slots on the PostgreSQL server…');
      const { plans, ...candidates } = await candidatesOnServer(serverUrl, seconds, parts.includes('plans'));
      out.candidates = candidates;
      out.plans = plans;
    }
    if (parts.includes('allocation')) {
      console.log('matching suite: POST /v1/allocation-runs 2,000 × 5,000 on the PostgreSQL server…');
      out.allocationApi = await allocationOnServer(serverUrl);
    }
    if (scene) {
      console.log(
        'matching suite: POST /v1/allocation-runs, 1,000 staged pilots × 10,000 slots on the PostgreSQL server…',
      );
      out.plansAllocationApi = await plansAllocationOnServer(serverUrl, scene);
    }
  }
  return out;
}

const pct = (x: number) => `${fmt(x * 100, 2)} %`;

export function matchingSection(r: MatchingResults): string {
  const lines = ['## Matching', ''];
  if (r.candidates) {
    const c = r.candidates;
    lines.push(
      `Candidates for one pilot among ${fmt(c.slots)} slots (200 testbeds; ${fmt(c.suitable)} slots pass the pilot's hard filters), ` +
        '`GET /v1/pilots/:id/candidates?limit=20` on the PostgreSQL server. Targets: p50 < 50 ms at one connection, ' +
        '< 30 ms at 10 connections.',
      '',
      '| connections | req/s | p50 ms | p99 ms | errors |',
      '|---:|---:|---:|---:|---:|',
      `| 1 | ${fmt(c.latency.rps)} | **${fmt(c.latency.p50, 1)}** | ${fmt(c.latency.p99, 1)} | ${c.latency.errors + c.latency.non2xx} |`,
      `| 10 | ${fmt(c.loaded.rps)} | ${fmt(c.loaded.p50, 1)} | ${fmt(c.loaded.p99, 1)} | ${c.loaded.errors + c.loaded.non2xx} |`,
      '',
    );
    if (r.plans) {
      const p = r.plans.latency;
      lines.push(
        'Plans for one pilot with 3 stages in order (2 × 8 h GPU, then 8 h V2X one to ten days later, then 2 × 8 h edge) among ' +
          `the same slots, \`GET /v1/pilots/:id/plans?limit=5\` on the PostgreSQL server, one connection (${r.plans.plans} plans of ` +
          `${r.plans.sessions} sessions). Target: p50 < 100 ms.`,
        '',
        '| connections | req/s | p50 ms | p99 ms | errors |',
        '|---:|---:|---:|---:|---:|',
        `| 1 | ${fmt(p.rps)} | **${fmt(p.p50, 1)}** | ${fmt(p.p99, 1)} | ${p.errors + p.non2xx} |`,
        '',
      );
    }
  } else {
    lines.push('Candidates: no PostgreSQL server answered; not measured.', '');
  }
  if (r.allocation) {
    const s = r.allocation.summary;
    lines.push(
      `Allocation of ${fmt(s.pilots)} pilots × ${fmt(s.slots)} slots (generated, seed 1; ${fmt(s.pairs)} pilot–slot pairs after keeping each pilot's best 40). ` +
        'Targets: < 10 s, gap to the LP bound ≤ 0.5 %.',
      '',
      '| where | time | matched | objective (MIP) | greedy | gain over greedy | LP bound | gap to LP bound | gap to proven bound (source) | solver |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
      `| pure function (build ${fmt(r.allocation.buildMs)} ms + MIP, LP, greedy) | **${fmt((r.allocation.buildMs + r.allocation.solveMs) / 1000, 2)} s** | ${fmt(s.matched)} | ${fmt(s.objective, 3)} | ${fmt(s.greedyObjective, 3)} | +${fmt(s.gainOverGreedy, 3)} (${pct(s.gainOverGreedy / Math.max(1e-9, s.greedyObjective))}) | ${fmt(s.lpBound ?? NaN, 3)} | **${pct(s.lpGap ?? NaN)}** | ${pct(s.gap ?? NaN)} (${s.boundSource}) | ${s.solver.status} |`,
    );
    if (r.allocationApi) {
      const a = r.allocationApi.summary as {
        matched: number;
        objective: number;
        greedyObjective: number;
        gainOverGreedy: number;
        lpBound: number;
        lpGap: number;
        gap: number;
        boundSource: string;
        solver: { status: string };
        proposed: number;
      };
      lines.push(
        `| POST /v1/allocation-runs on the server (reads, solve, ${fmt(a.proposed)} proposals + events in one transaction) | **${fmt(r.allocationApi.ms / 1000, 2)} s** | ${fmt(a.matched)} | ${fmt(a.objective, 3)} | ${fmt(a.greedyObjective, 3)} | +${fmt(a.gainOverGreedy, 3)} (${pct(a.gainOverGreedy / Math.max(1e-9, a.greedyObjective))}) | ${fmt(a.lpBound, 3)} | **${pct(a.lpGap)}** | ${pct(a.gap)} (${a.boundSource}) | ${a.solver.status} |`,
      );
    }
  }
  if (r.plansAllocation) {
    const p = r.plansAllocation;
    const q = p.summary;
    const row = (where: string, secs: number, x: typeof q) =>
      `| ${where} | **${fmt(secs, 2)} s** | ${fmt(x.matched)} | ${fmt(x.sessions)} | ${fmt(x.credits)} | ${fmt(x.objective, 3)} | ${fmt(x.greedyObjective, 3)} | ` +
      `+${fmt(x.gainOverGreedy, 3)} (${pct(x.gainOverGreedy / Math.max(1e-9, x.greedyObjective))}) | ${fmt(x.upperBound ?? NaN, 3)} (${x.boundSource}) | ` +
      `**${pct(x.gap ?? NaN)}** | ${fmt(x.lpBound ?? NaN, 3)} / ${pct(x.lpGap ?? NaN)} | ${x.solver.status} |`;
    lines.push(
      '',
      `Allocation over whole plans: ${fmt(q.pilots)} pilots with 2–3 stages in order over ${fmt(q.slots)} slots (generated, seed 1; a pilot's best ` +
        `plan has ${p.sessions.min}–${p.sessions.max} sessions, ${fmt(p.sessions.mean, 1)} on average; ${fmt(q.plans)} plans considered, each pilot's ` +
        `best ${PLANS_PER_PILOT} from the plan search; 30 % of pilots on budgets of 100–400 credits, testbeds at 1–3 credits per unit-hour). ` +
        `Solver limit ${PLAN_RUN_LIMIT_SECONDS} s. Targets: < 60 s, gap to the upper bound ≤ 1 %. The bound covers the plans considered, not every ` +
        'plan a pilot might have.',
      '',
      '| where | time | pilots given a plan | sessions | credits | objective (MIP) | greedy | gain over greedy | upper bound (source) | gap to bound | LP bound / gap | solver |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
      row(`pure function (plan search ${fmt(p.buildMs)} ms + MIP, LP, greedy)`, (p.buildMs + p.solveMs) / 1000, q),
    );
    if (r.plansAllocationApi) {
      const a = r.plansAllocationApi.summary as unknown as typeof q & { proposed: number };
      lines.push(
        row(
          `POST /v1/allocation-runs on the server (reads, plan search, solve, proposals of ${fmt(a.proposed)} plans + events in one transaction)`,
          r.plansAllocationApi.ms / 1000,
          a,
        ),
      );
    }
  }
  return lines.join('\n');
}
