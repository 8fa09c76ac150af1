/**
 * npx tsx bench/candidates-ab.ts <dir A> <dir B> — interleaved A/B of the matching suite's candidates request
 * (GET /v1/pilots/:id/candidates?limit=20, one pilot among 100,000 slots) between two checkouts of the project
 * (each with node_modules), on the bench server (BENCH_DATABASE_URL; its schema is dropped and rebuilt). Each round
 * starts each target in turn, seeds the scene, warms up and loads it at 1 and 10 connections; besides p50 and req/s
 * it reads the CPU time the target process and its PostgreSQL backends spent per request from /proc, which a noisy
 * shared machine disturbs far less than latency. AB_ROUNDS (default 3), BENCH_SECONDS (default 8). A variant may
 * set the target's environment: `dir,AUTH_CACHE_SECONDS=0`.
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import pg from 'pg';
import { SERVER_URL, alternating, cpuDuring, load, median, startTarget, type Target } from './harness.js';
import { seedCandidateScene } from './suites/matching.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const rounds = Number(process.env.AB_ROUNDS ?? 3);
const dirs = process.argv.slice(2);
if (dirs.length < 2) throw new Error('usage: bench/candidates-ab.ts <dir A> <dir B> [...]');

function startIn(variant: string): Promise<Target> {
  const [dir, ...settings] = variant.split(',');
  const env = Object.fromEntries(settings.map((s) => s.split('=', 2) as [string, string]));
  return startTarget(SERVER_URL, env, [], resolve(dir!));
}

interface Row {
  dir: string;
  round: number;
  connections: number;
  rps: number;
  p50: number;
  nodeMsPerReq: number;
  pgMsPerReq: number;
  load1: number;
}

const rows: Row[] = [];
for (const { round, dir } of alternating(dirs, rounds)) {
  const t = await startIn(dir);
  const client = new pg.Client({ connectionString: SERVER_URL });
  await client.connect();
  try {
    const scene = await seedCandidateScene(t, client);
    await load({ url: scene.url, headers: scene.auth, seconds: 2, connections: 10 });
    for (const connections of [1, 10]) {
      const {
        result: r,
        nodeMs,
        pgMs,
      } = await cpuDuring(client, t.child.pid!, () =>
        load({ url: scene.url, headers: scene.auth, seconds, connections }),
      );
      const n = r.rps * seconds;
      const row = {
        dir,
        round,
        connections,
        rps: r.rps,
        p50: r.p50,
        nodeMsPerReq: nodeMs / n,
        pgMsPerReq: pgMs / n,
        load1: loadavg()[0]!,
      };
      rows.push(row);
      console.log(
        `round ${round} ${dir}: ${connections} conn: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, ` +
          `CPU per request node ${row.nodeMsPerReq.toFixed(2)} ms + PostgreSQL ${row.pgMsPerReq.toFixed(2)} ms, ` +
          `load ${row.load1.toFixed(2)}${r.errors + r.non2xx ? `, ${r.errors + r.non2xx} errors` : ''}`,
      );
    }
  } finally {
    await client.end();
    await t.stop();
  }
}

console.log('\nmedians over rounds');
for (const dir of dirs) {
  for (const c of [1, 10]) {
    const rs = rows.filter((r) => r.dir === dir && r.connections === c);
    console.log(
      `${dir}, ${c} conn: ${median(rs.map((r) => r.rps)).toFixed(0)} req/s, p50 ${median(rs.map((r) => r.p50))} ms, ` +
        `node ${median(rs.map((r) => r.nodeMsPerReq)).toFixed(2)} ms/req, PostgreSQL ${median(rs.map((r) => r.pgMsPerReq)).toFixed(2)} ms/req, ` +
        `load ${median(rs.map((r) => r.load1)).toFixed(2)}`,
    );
  }
}
