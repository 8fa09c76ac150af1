/**
 * Candidates as the catalogue grows: GET /v1/pilots/:id/candidates?limit=20 for one pilot on the PostgreSQL
 * server with 10,000, 100,000 and 1,000,000 slots. The catalogue grows the way a programme does, by adding
 * testbeds (size / 500 of them, each with 500 daily slots), so the slots that pass the pilot's hard filters grow
 * with it; p50 at one connection and at ten.
 */
import pg from 'pg';
import { json, load, startTarget, type LoadResult } from '../harness.js';
import { submitCandidatePilot } from './candidate-pilot.js';

export interface CandidatesPoint {
  slots: number;
  testbeds: number;
  suitable: number;
  generateSeconds: number;
  one: LoadResult;
  ten: LoadResult;
}

const CANDIDATE_SIZES = (process.env.BENCH_CANDIDATE_SIZES ?? '10000,100000,1000000').split(',').map(Number);

function businessNumber(i: number): string {
  const d = String(300000000 + i).slice(-9);
  const w = [1, 3, 7, 1, 3, 7, 1, 3, 5];
  let sum = 0;
  for (let k = 0; k < 9; k++) sum += Number(d[k]) * w[k]!;
  sum += Math.floor((Number(d[8]) * 5) / 10);
  return d + ((10 - (sum % 10)) % 10);
}

async function signup(base: string, kind: 'startup' | 'partner', i: number) {
  return (
    await json(`${base}/v1/auth/signup`, {
      method: 'POST',
      body: {
        organization: { name: `Curve ${kind} ${i}`, kind, businessNumber: businessNumber(i) },
        user: { email: `${kind}${i}@curve-bench.example`, password: 'bench password 1', name: 'Bench' },
      },
    })
  ).body as { token: string; organization: { id: string } };
}

async function point(url: string, slots: number, seconds: number): Promise<CandidatesPoint> {
  const t = await startTarget(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const partner = await signup(t.base, 'partner', 1);
    const startup = await signup(t.base, 'startup', 2);
    const testbeds = Math.max(1, Math.round(slots / 500));
    const g0 = performance.now();
    await client.query(
      `INSERT INTO testbeds (organization_id, name, domains, capabilities, capacity, address, lat, lng)
       SELECT $1, 'Curve testbed ' || g,
              ARRAY[(ARRAY['transport-safety','health','public-admin','living-environment','culture'])[1 + g % 5]],
              CASE g % 3 WHEN 0 THEN ARRAY['gpu-cluster','edge-compute'] WHEN 1 THEN ARRAY['gpu-cluster'] ELSE ARRAY['v2x','lidar'] END,
              4, '광주광역시 북구 첨단과기로 123', 35.2 + (g % 10) * 0.01, 126.8 + (g % 7) * 0.01
         FROM generate_series(1, $2::int) g`,
      [partner.organization.id, testbeds],
    );
    // In chunks of testbeds, so one statement never holds a million rows of work at once.
    const { rows: ids } = await client.query<{ id: string }>('SELECT id FROM testbeds ORDER BY id');
    for (let i = 0; i < ids.length; i += 100) {
      await client.query(
        `INSERT INTO slots (testbed_id, start_at, end_at, capacity, booked_units)
         SELECT t, timestamptz '2027-01-04T00:00:00Z' + k * interval '1 day',
                timestamptz '2027-01-04T00:00:00Z' + k * interval '1 day' + interval '8 hours', 4, k % 5
           FROM unnest($1::uuid[]) t CROSS JOIN generate_series(0, 499) k`,
        [ids.slice(i, i + 100).map((r) => r.id)],
      );
    }
    // As the matching suite: the catalogue as autovacuum leaves it (statistics and the visibility map).
    await client.query('VACUUM ANALYZE');
    const generateSeconds = (performance.now() - g0) / 1000;
    const auth = { Authorization: `Bearer ${startup.token}` };
    const { pilotId, suitable } = await submitCandidatePilot(client, t.base, auth, 'Curve pilot');
    const u = `${t.base}/v1/pilots/${pilotId}/candidates?limit=20`;
    await load({ url: u, headers: auth, seconds: 2, connections: 1 });
    const one = await load({ url: u, headers: auth, seconds, connections: 1 });
    const ten = await load({ url: u, headers: auth, seconds, connections: 10 });
    console.log(
      `  ${slots} slots: generated in ${generateSeconds.toFixed(1)} s, p50 ${one.p50} ms (1 connection), ${ten.p50} ms (10)`,
    );
    return { slots, testbeds, suitable, generateSeconds, one, ten };
  } finally {
    await client.end();
    await t.stop();
  }
}

export async function runCandidatesCurve(
  url: string,
  seconds: number,
  sizes = CANDIDATE_SIZES,
): Promise<CandidatesPoint[]> {
  const out: CandidatesPoint[] = [];
  for (const slots of sizes) out.push(await point(url, slots, seconds));
  return out;
}
