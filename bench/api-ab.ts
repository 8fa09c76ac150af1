/**
 * npx tsx bench/api-ab.ts <dir A> <dir B> — interleaved A/B of the api suite between two checkouts of the project
 * (each with node_modules), on the bench server (BENCH_API_DATABASE_URL, else BENCH_DATABASE_URL; its schema is
 * dropped and rebuilt). Each round starts each target in turn, seeds it like the api suite, warms up, and loads
 * GET /v1/testbeds (50 items) and POST /v1/pilots at 10 connections, each followed by its bare route. Besides the
 * ratio it reads the CPU time the target process and its PostgreSQL backends spent per request from /proc, which a
 * noisy shared machine disturbs far less than throughput, and counts the statements per request from
 * pg_stat_database (xact_commit, which counts autovacuum's too: an upper bound; bench/statement-count.mjs counts
 * exactly). AB_ROUNDS (default 2), BENCH_SECONDS (default 4).
 */
import { resolve } from 'node:path';
import pg from 'pg';
import { SERVER_URL, alternating, cpuDuring, load, median, startTarget, type LoadResult } from './harness.js';
import { seedApiTarget } from './suites/api.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const rounds = Number(process.env.AB_ROUNDS ?? 2);
const url = process.env.BENCH_API_DATABASE_URL ?? SERVER_URL;
const dirs = process.argv.slice(2);
if (dirs.length < 2) throw new Error('usage: bench/api-ab.ts <dir A> <dir B> [...]');

interface Row {
  dir: string;
  op: string;
  ratio: number;
  rps: number;
  nodeMsPerReq: number;
  pgMsPerReq: number;
  xactPerReq: number;
}

const rows: Row[] = [];
for (const { round, dir } of alternating(dirs, rounds)) {
  const t = await startTarget(url, {}, [], resolve(dir));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const f = await seedApiTarget(t);
    const post = { method: 'POST' as const, headers: f.startupAuth, body: f.pilotBody, seconds };
    // Warm-up as in the api suite: each operation on both sides.
    for (const [url, opts] of [
      [f.listUrl, { headers: f.partnerAuth }],
      [`${t.bare}/bare/testbeds`, { headers: f.partnerAuth }],
      [`${t.base}/v1/pilots`, post],
      [`${t.bare}/bare/pilots`, post],
    ] as const) {
      await load({ url, ...opts, seconds: 2 });
    }
    const measure = async (op: string, run: () => Promise<LoadResult>, bare: () => Promise<LoadResult>) => {
      const xacts = async () => {
        await client.query('SELECT pg_stat_clear_snapshot()');
        const { rows } = await client.query<{ n: string }>(
          'SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()',
        );
        return Number(rows[0]!.n);
      };
      const x0 = await xacts();
      const { result: r, nodeMs, pgMs } = await cpuDuring(client, t.child.pid!, run);
      // Statistics reach pg_stat_database when a backend goes idle (at most a second later).
      await new Promise((ok) => setTimeout(ok, 1100));
      const x1 = await xacts();
      const b = await bare();
      const n = r.rps * seconds;
      const row: Row = {
        dir,
        op,
        ratio: r.rps / b.rps,
        rps: r.rps,
        nodeMsPerReq: nodeMs / n,
        pgMsPerReq: pgMs / n,
        xactPerReq: (x1 - x0 - 3) / n,
      };
      rows.push(row);
      console.log(
        `round ${round} ${dir} ${op}: ${r.rps.toFixed(0)} req/s vs bare ${b.rps.toFixed(0)}: ratio ${row.ratio.toFixed(2)}, ` +
          `CPU per request node ${row.nodeMsPerReq.toFixed(2)} ms + PostgreSQL ${row.pgMsPerReq.toFixed(2)} ms, ` +
          `${row.xactPerReq.toFixed(2)} transactions per request${r.errors + r.non2xx ? `, ${r.errors + r.non2xx} errors` : ''}`,
      );
    };
    await measure(
      'GET',
      () => load({ url: f.listUrl, headers: f.partnerAuth, seconds }),
      () => load({ url: `${t.bare}/bare/testbeds`, headers: f.partnerAuth, seconds }),
    );
    await measure(
      'POST',
      () => load({ url: `${t.base}/v1/pilots`, ...post }),
      () => load({ url: `${t.bare}/bare/pilots`, ...post }),
    );
  } finally {
    await client.end();
    await t.stop();
  }
}

console.log('\nmedians over rounds');
for (const dir of dirs) {
  for (const op of ['GET', 'POST']) {
    const rs = rows.filter((r) => r.dir === dir && r.op === op);
    console.log(
      `${dir} ${op}: ratio ${median(rs.map((r) => r.ratio)).toFixed(2)}, ${median(rs.map((r) => r.rps)).toFixed(0)} req/s, ` +
        `node ${median(rs.map((r) => r.nodeMsPerReq)).toFixed(2)} ms/req, PostgreSQL ${median(rs.map((r) => r.pgMsPerReq)).toFixed(2)} ms/req, ` +
        `${median(rs.map((r) => r.xactPerReq)).toFixed(2)} transactions/req`,
    );
  }
}
