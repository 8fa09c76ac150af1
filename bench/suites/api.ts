/**
 * GET /v1/testbeds (50 items, authenticated) and POST /v1/pilots, each against a bare Express route in the
 * same process serving the same JSON from memory. Reported as ratios, since absolute numbers on a shared
 * machine mean little.
 */
import { fmt, json, load, startTarget, type LoadResult, type Target } from '../harness.js';

export interface ApiRow {
  engine: string;
  operation: string;
  target: LoadResult;
  bare: LoadResult;
}

function nine(i: number): string {
  return String(100000000 + i).slice(-9);
}

function businessNumber(i: number): string {
  const d = nine(i);
  const w = [1, 3, 7, 1, 3, 7, 1, 3, 5];
  let sum = 0;
  for (let k = 0; k < 9; k++) sum += Number(d[k]) * w[k]!;
  sum += Math.floor((Number(d[8]) * 5) / 10);
  return d + ((10 - (sum % 10)) % 10);
}

/** What the measurements need from a seeded target: URLs, headers and the pilot body. */
export interface ApiFixture {
  listUrl: string;
  partnerAuth: Record<string, string>;
  startupAuth: Record<string, string>;
  pilotBody: string;
}

export async function runApiSuite(databaseUrl: string | undefined, seconds: number): Promise<ApiRow[]> {
  const t = await startTarget(databaseUrl);
  try {
    const { listUrl, partnerAuth, startupAuth, pilotBody: body } = await seedApiTarget(t);
    const rows: ApiRow[] = [];
    const post = { method: 'POST' as const, headers: startupAuth, body };
    // Warm both sides up on both operations before measuring: the first seconds of a path compile it, and a
    // POST measured cold (only the GET was warmed before) paid for that in the target alone.
    await load({ url: listUrl, headers: partnerAuth, seconds: 2 });
    await load({ url: `${t.bare}/bare/testbeds`, headers: partnerAuth, seconds: 2 });
    await load({ url: `${t.base}/v1/pilots`, ...post, seconds: 2 });
    await load({ url: `${t.bare}/bare/pilots`, ...post, seconds: 2 });
    rows.push({
      engine: t.engine,
      operation: 'GET /v1/testbeds (50 items)',
      target: await load({ url: listUrl, headers: partnerAuth, seconds }),
      bare: await load({ url: `${t.bare}/bare/testbeds`, headers: partnerAuth, seconds }),
    });
    rows.push({
      engine: t.engine,
      operation: 'POST /v1/pilots',
      target: await load({ url: `${t.base}/v1/pilots`, ...post, seconds }),
      bare: await load({ url: `${t.bare}/bare/pilots`, ...post, seconds }),
    });
    return rows;
  } finally {
    await t.stop();
  }
}

/** Two organisations, 60 testbeds, one pilot; teaches the bare app the exact bodies the real routes answered. */
export async function seedApiTarget(t: Target): Promise<ApiFixture> {
  const partner = (
    await json(`${t.base}/v1/auth/signup`, {
      method: 'POST',
      body: {
        organization: { name: 'Bench partner', kind: 'partner', businessNumber: businessNumber(1) },
        user: { email: 'partner@bench.example', password: 'bench password 1', name: 'Bench' },
      },
    })
  ).body as { token: string };
  const startup = (
    await json(`${t.base}/v1/auth/signup`, {
      method: 'POST',
      body: {
        organization: { name: 'Bench startup', kind: 'startup', businessNumber: businessNumber(2) },
        user: { email: 'startup@bench.example', password: 'bench password 2', name: 'Bench' },
      },
    })
  ).body as { token: string };
  const partnerAuth = { Authorization: `Bearer ${partner.token}` };
  const startupAuth = { Authorization: `Bearer ${startup.token}`, 'Content-Type': 'application/json' };
  for (let i = 0; i < 60; i++) {
    await json(`${t.base}/v1/testbeds`, {
      method: 'POST',
      headers: partnerAuth,
      body: {
        name: `Bench testbed ${i}`,
        description: 'Generated for the benchmark.',
        domains: ['transport-safety', 'health'],
        capabilities: ['gpu-cluster', 'edge-compute'],
        capacity: 4,
        location: { address: '광주광역시 북구 첨단과기로 123', lat: 35.22, lng: 126.84 },
      },
    });
  }
  const listUrl = `${t.base}/v1/testbeds?limit=50`;
  const list = await json(listUrl, { headers: partnerAuth });
  if ((list.body as { data: unknown[] }).data.length !== 50) throw new Error('expected 50 testbeds in the list');
  await json(`${t.bare}/bare/fixture`, { method: 'POST', body: { name: 'testbeds', status: 200, body: list.body } });

  const pilot = {
    title: 'Bench pilot',
    summary: 'Generated for the benchmark.',
    domain: 'transport-safety',
    subdomain: 'autonomous-driving',
    requirements: {
      capabilities: ['gpu-cluster'],
      units: 1,
      durationHours: 8,
      earliestStart: '2027-01-04T00:00:00Z',
      latestEnd: '2027-02-01T00:00:00Z',
    },
  };
  const created = await json(`${t.base}/v1/pilots`, { method: 'POST', headers: startupAuth, body: pilot });
  await json(`${t.bare}/bare/fixture`, { method: 'POST', body: { name: 'pilots', status: 201, body: created.body } });

  return { listUrl, partnerAuth, startupAuth, pilotBody: JSON.stringify(pilot) };
}

export function apiTable(rows: ApiRow[]): string {
  const lines = [
    '| database | operation | req/s | p50 ms | p99 ms | bare req/s | bare p50 ms | ratio (req/s vs bare) | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.engine} | ${r.operation} | ${fmt(r.target.rps)} | ${fmt(r.target.p50, 1)} | ${fmt(r.target.p99, 1)} | ${fmt(r.bare.rps)} | ${fmt(r.bare.p50, 1)} | **${fmt(r.target.rps / r.bare.rps, 2)}** | ${r.target.errors + r.target.non2xx} |`,
    );
  }
  return lines.join('\n');
}
