/**
 * npm run bench — every benchmark, on the embedded database and (when one answers) the PostgreSQL server,
 * written to bench/RESULTS.md, with the cost curves drawn in bench/curves.svg. Each figure is a ratio against
 * a baseline measured in the same run. BENCH_SECONDS sets the length of each measurement (default 8);
 * BENCH_ONLY=api,matching,webhooks,uploads,curves,memory limits the suites (the others keep their last section
 * and their last data in bench/results.json, from which the chart is drawn); BENCH_MATCHING_PARTS=allocation,
 * plans-allocation,candidates,plans limits the matching suite (a limited run prints its figures and leaves the
 * section in RESULTS.md as it was); BENCH_API_RUNS (default 3) repeats
 * the API suite on the server, BENCH_API_DATABASE_URL (default: the bench server's database) names its database;
 * BENCH_UPLOAD_SIZES (MiB, default 1,16,128,1024) sets the upload curve; BENCH_RESUMABLE_ROUNDS (default 3) the
 * rounds of the resumable suite, whose figures are medians.
 * Webhooks: BENCH_WEBHOOK_EVENTS (full-load events, default 10,000), BENCH_WEBHOOK_RATES and
 * BENCH_WEBHOOK_EMBEDDED_RATES (events/s, comma-separated), BENCH_WEBHOOK_DATABASE_URL (default: ax_bench_webhooks
 * on the bench server), BENCH_WEBHOOK_NODE_ARGS (extra node arguments of the worker or embedded API process, e.g.
 * --cpu-prof), BENCH_WEBHOOK_STATEMENTS=true (each of those processes prints its statements by kind on exit),
 * BENCH_WEBHOOK_SCENARIOS (server rows: poll,rates,full,drain; default all), BENCH_WEBHOOK_WORKER (the worker's entry
 * file, default src/worker.ts: another tree's for A/B runs), BENCH_WEBHOOK_TREE (another checkout to run the embedded
 * rows' API process from, for A/B runs), BENCH_WEBHOOK_DRAIN_ROUNDS (rounds of the drain and the bare loop, default 5).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { chartSvg, compact, type Panel } from './chart.js';
import { SERVER_URL, fmt, serverAvailable, startTarget } from './harness.js';
import { runAllocationCurve, type AllocationPoint } from './suites/allocation-curve.js';
import { apiTable, runApiSuite, type ApiRow } from './suites/api.js';
import { resumableTable, runResumableSuite } from './suites/resumable.js';
import { runCandidatesCurve, type CandidatesPoint } from './suites/candidates-curve.js';
import { runUploadSuite, uploadTable, type UploadRow } from './suites/uploads.js';
import {
  runEmbeddedWebhookSuite,
  runWebhookSuite,
  webhookTable,
  type WebhookResults,
  type WebhookRow,
} from './suites/webhooks.js';
import { MATCHING_PARTS, matchingSection, runMatchingSuite } from './suites/matching.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const only = process.env.BENCH_ONLY?.split(',');
const wants = (name: string) => !only || only.includes(name);
const MiB = 1024 * 1024;

/** What the chart is drawn from; kept across runs limited by BENCH_ONLY. */
interface Data {
  webhooks?: { server: WebhookResults; embedded: WebhookRow[] };
  candidates?: CandidatesPoint[];
  allocation?: AllocationPoint[];
  uploads?: UploadRow[];
}
const DATA_FILE = 'bench/results.json';
const data: Data = existsSync(DATA_FILE) ? (JSON.parse(readFileSync(DATA_FILE, 'utf8')) as Data) : {};

/**
 * Sections by suite, in report order; a run limited by BENCH_ONLY keeps the others from the last full run.
 * `notes` is written by hand (the reading of a run: where curves bend and why) and always kept.
 */
const ORDER = ['api', 'memory', 'matching', 'webhooks', 'uploads', 'resumable', 'curves', 'notes'];
const sections = new Map<string, string>();
const put = (name: string, text: string) => sections.set(name, `<!-- suite:${name} -->\n${text}`);
const started = new Date();
const server = (await serverAvailable()) ? SERVER_URL : undefined;
if (!server) console.warn(`no PostgreSQL server at ${SERVER_URL}; server figures skipped`);

if (wants('api')) {
  const rows: (ApiRow & { run?: number })[] = [];
  console.log('api suite on the embedded database…');
  rows.push(...(await runApiSuite(undefined, seconds)));
  const runs = Number(process.env.BENCH_API_RUNS ?? 3);
  // BENCH_API_DATABASE_URL names another database for the server runs (the target drops and rebuilds its schema).
  const apiUrl = process.env.BENCH_API_DATABASE_URL ?? server;
  const apiServer = apiUrl && (await serverAvailable(apiUrl)) ? apiUrl : undefined;
  for (let run = 1; apiServer && run <= runs; run++) {
    console.log(`api suite on the PostgreSQL server, run ${run} of ${runs}…`);
    rows.push(
      ...(await runApiSuite(apiServer, seconds)).map((r) => ({ ...r, operation: `${r.operation}, run ${run}` })),
    );
  }
  put(
    'api',
    '## API throughput against a bare Express route\n\n' +
      'autocannon, 10 connections, ' +
      seconds +
      ' s per measurement, after a 2 s warm-up of each operation on both sides; the bare route is in the same ' +
      'process as the service and serves the identical JSON from memory. The server figures are three consecutive runs, ' +
      'each with its own target process and its own baseline. Targets: GET on the server ≥ 0.5, POST on the server ≥ 0.25, ' +
      'GET on the embedded database ≥ 0.25.\n\n' +
      apiTable(rows),
  );
}

if (wants('memory')) {
  console.log('memory: idle RSS of the embedded database…');
  put('memory', await memorySection());
}

if (wants('webhooks')) {
  // Its own database: the suite drops and rebuilds the schema, and worker processes share it.
  // BENCH_WEBHOOK_DATABASE_URL names another database for it (its schema is dropped and rebuilt too).
  const url = new URL(process.env.BENCH_WEBHOOK_DATABASE_URL ?? SERVER_URL);
  if (!process.env.BENCH_WEBHOOK_DATABASE_URL) url.pathname = '/ax_bench_webhooks';
  const rates = (name: string) => process.env[name]?.split(',').filter(Boolean).map(Number);
  const embedded = await runEmbeddedWebhookSuite(rates('BENCH_WEBHOOK_EMBEDDED_RATES'));
  if (await serverAvailable(url.toString())) {
    console.log('webhooks suite on the PostgreSQL server…');
    const r = await runWebhookSuite(url.toString(), {
      events: Number(process.env.BENCH_WEBHOOK_EVENTS ?? 10_000),
      rates: rates('BENCH_WEBHOOK_RATES'),
    });
    data.webhooks = { server: r, embedded };
    put(
      'webhooks',
      '## Webhook fan-out: 10 endpoints on a local receiver\n\n' +
        'On the server, events are recorded through the outbox (one transaction each) and one `npm run worker` process ' +
        'with default settings (16 lanes, one request in flight per endpoint, wake-up on LISTEN/NOTIFY, 500 ms poll as ' +
        'the safety net) delivers them to a receiver in the benchmark process that verifies every signature with ' +
        '`standardwebhooks`. Latency runs from the commit of the event to its receipt; under full load it includes the ' +
        'time spent waiting in the backlog. The first row is the worker with wake-up turned off (`WEBHOOK_WAKE_UP=false`), ' +
        'as it was before. On the embedded database the worker runs in the API process and events are made by ' +
        "`POST /v1/testbeds`, and each rate has two rows: from sending that request (which includes the request's own " +
        "wait for the database and its handling before the commit), and from the event's `createdAt`, set when its " +
        'transaction starts and so before the commit: an upper bound of commit → receipt, the figure the target speaks ' +
        "of, on the same machine's clock as the receipt. Throughput is measured on the drain of a " +
        'backlog: 10,000 events committed first, then the worker started, deliveries per second from its first receipt ' +
        'to its last; the bare loop sends the same envelopes. Each round makes a new backlog and runs both sides, in an ' +
        "order that reverses every other round, and the figure is the median of the rounds' ratios. The full-load row, where the worker delivers while 4 writers " +
        'commit, is kept but is no throughput figure: there the worker can go no faster than the events commit, and it ' +
        'shares the two cores with PostgreSQL committing them and with the writers, while the bare loop has its ' +
        'envelopes made in advance and no database. Targets: p50 < 25 ms and p99 < 100 ms at 50 events/s on both ' +
        'databases; drain throughput ≥ 0.5 × the bare loop.\n\n' +
        webhookTable(r, embedded),
    );
  } else console.warn('no PostgreSQL server: webhooks suite skipped');
}

if (wants('matching')) {
  // Its own database, like the webhooks suite: the target server drops and rebuilds the schema.
  // BENCH_MATCHING_DATABASE_URL names another database for it (its schema is dropped and rebuilt too).
  const url = new URL(process.env.BENCH_MATCHING_DATABASE_URL ?? SERVER_URL);
  if (!process.env.BENCH_MATCHING_DATABASE_URL) url.pathname = '/ax_bench_matching';
  const matchingServer = (await serverAvailable(url.toString())) ? url.toString() : undefined;
  const parts = process.env.BENCH_MATCHING_PARTS?.split(',').filter(Boolean);
  for (const p of parts ?? []) {
    if (!(MATCHING_PARTS as readonly string[]).includes(p)) throw new Error(`BENCH_MATCHING_PARTS: unknown part ${p}`);
  }
  const section = matchingSection(
    await runMatchingSuite(matchingServer, seconds, parts as (typeof MATCHING_PARTS)[number][] | undefined),
  );
  // Some parts only: printed, while RESULTS.md keeps the last whole section.
  if (parts) console.log(section);
  else put('matching', section);
}

if (wants('uploads')) {
  // Upload speed is disk- and CPU-bound, not database-bound: the embedded database is enough.
  const sizes = (process.env.BENCH_UPLOAD_SIZES ?? '1,16,128,1024').split(',').map((m) => Number(m) * MiB);
  const rows: UploadRow[] = [];
  for (const bytes of sizes) {
    console.log(`uploads suite on the embedded database: ${bytes / MiB} MiB…`);
    rows.push(...(await runUploadSuite(undefined, bytes)));
  }
  data.uploads = rows;
  put(
    'uploads',
    '## Dataset upload against a direct disk write\n\n' +
      'One file per size (BENCH_UPLOAD_SIZES, default 1, 16, 128 and 1,024 MiB) uploaded as multipart/form-data to the server ' +
      'in a child process (streamed through sha256, type sniffing and a temporary file, fsync, rename, row commit), against ' +
      'copying the same file to the same disk with fsync in the benchmark process. RSS sampled every 10 ms from /proc. ' +
      'Targets at 1 GiB: ratio ≥ 0.7, peak RSS growth < 64 MiB.\n\n' +
      uploadTable(rows),
  );
}

if (wants('resumable')) {
  console.log('resumable and S3 suite on the embedded database…');
  put(
    'resumable',
    '## Resumable uploads and S3 storage\n\n' +
      'One file (BENCH_UPLOAD_BYTES, default 1 GiB) to the server in a child process. tus uploads use tus-js-client ' +
      'with 64 MiB chunks; the server hashes each PATCH body as it arrives, sniffs the type from the first 64 KiB at ' +
      'the last byte and takes the file over by a rename (local) or a server-side CopyObject (S3), with no read-back ' +
      '(src/resumable/digest.ts). The S3 server is s3rver (files on the same ' +
      'disk) started by the benchmark; the SDK baseline writes the same file to it with lib-storage (8 MiB parts, ' +
      'two in flight), as the server does. Both clients stream the file with 1 MiB reads. Each figure is the median ' +
      'of BENCH_RESUMABLE_ROUNDS rounds (default 3), the order of the measurements reversed every other round, ' +
      '`sync` before each. RSS sampled every 10 ms from /proc.\n\n' +
      resumableTable(await runResumableSuite()),
  );
}

if (wants('curves')) {
  console.log('curves: allocation time and gap by size…');
  data.allocation = await runAllocationCurve();
  const url = new URL(SERVER_URL);
  url.pathname = '/ax_bench_matching';
  if (await serverAvailable(url.toString())) {
    console.log('curves: candidates by catalogue size on the PostgreSQL server…');
    data.candidates = await runCandidatesCurve(url.toString(), Math.max(3, Math.round(seconds / 2)));
  }
  put('curves', curvesSection());
}

writeFileSync(DATA_FILE, JSON.stringify(data, null, 1) + '\n');
writeFileSync(
  'bench/curves.svg',
  chartSvg(`Cost as work grows (npm run bench, ${started.toISOString().slice(0, 10)})`, panels()),
);

const header = [
  '# Benchmark results',
  '',
  `Run ${started.toISOString()} on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}. ` +
    'Machines are shared and noisy: read the ratios, not the absolute numbers. Cost curves: [curves.svg](curves.svg).',
  '',
].join('\n');
const kept = previousSections();
const body = ORDER.map((name) => sections.get(name) ?? kept.get(name))
  .filter((s): s is string => s !== undefined)
  .join('\n\n');
writeFileSync('bench/RESULTS.md', header + '\n' + body + '\n');
console.log(header + '\n' + [...sections.values()].join('\n\n'));

/** The sections of the current RESULTS.md, keyed by suite (marked with an HTML comment each). */
function previousSections(): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync('bench/RESULTS.md')) return out;
  const text = readFileSync('bench/RESULTS.md', 'utf8');
  for (const m of text.matchAll(/<!-- suite:(\w+) -->\n([\s\S]*?)(?=\n<!-- suite:|$)/g))
    out.set(m[1]!, `<!-- suite:${m[1]} -->\n${m[2]!.trimEnd()}`);
  return out;
}

/** Idle RSS of the API process on the embedded database: on its first start (initdb) and on a restart. */
async function memorySection(): Promise<string> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'ax-bench-rss-'));
  const rss = (pid: number) =>
    Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  const idle = async () => {
    const t = await startTarget(undefined, { DATA_DIR: dir });
    try {
      await new Promise((r) => setTimeout(r, 2000));
      return rss(t.child.pid!);
    } finally {
      await t.stop();
    }
  };
  try {
    const first = await idle();
    const again = await idle();
    return [
      '## Idle memory on the embedded database',
      '',
      'RSS of the API process (bench target: app, migrations applied, no requests) 2 s after it is ready, read from /proc. ' +
        'PGlite runs PostgreSQL in WASM inside the process; its buffer cache is set to 32 MB (PostgreSQL’s default is 128 MB, ' +
        'all of it resident). The first start also runs initdb, whose memory the process keeps.',
      '',
      '| start | RSS |',
      '|---|---:|',
      `| first start on an empty directory (initdb) | ${fmt(first)} MiB |`,
      `| restart on the same directory | **${fmt(again)} MiB** |`,
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function curvesSection(): string {
  const lines = ['## Cost curves', '', 'Drawn in [curves.svg](curves.svg) from bench/results.json.', ''];
  const a = data.allocation ?? [];
  if (a.length) {
    lines.push(
      '### Allocation time and gap by size',
      '',
      'Pure allocation (instance build, MIP with a 10 s limit, LP bound, greedy) on generated scenes, seed 1.',
      '',
      '| pilots × slots | pairs | build ms | solve s | total s | matched | gap to LP bound | gain over greedy | solver |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---|',
      ...a.map(
        (p) =>
          `| ${fmt(p.pilots)} × ${fmt(p.slots)} | ${fmt(p.pairs)} | ${fmt(p.buildMs)} | ${fmt(p.solveMs / 1000, 2)} | **${fmt((p.buildMs + p.solveMs) / 1000, 2)}** | ${fmt(p.matched)} | ${fmt(p.gap * 100, 2)} % | ${fmt(p.gainOverGreedy * 100, 2)} % | ${p.status} |`,
      ),
      '',
    );
  }
  const c = data.candidates ?? [];
  if (c.length) {
    lines.push(
      '### Candidates by catalogue size',
      '',
      '`GET /v1/pilots/:id/candidates?limit=20` on the PostgreSQL server; testbeds = slots / 500, 500 daily slots each.',
      '',
      '| slots | testbeds | pass the hard filters | generated in | p50 ms, 1 connection | req/s, 1 | p50 ms, 10 connections | req/s, 10 |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...c.map(
        (p) =>
          `| ${fmt(p.slots)} | ${fmt(p.testbeds)} | ${fmt(p.suitable)} | ${fmt(p.generateSeconds, 1)} s | **${fmt(p.one.p50, 1)}** | ${fmt(p.one.rps)} | ${fmt(p.ten.p50, 1)} | ${fmt(p.ten.rps)} |`,
      ),
      '',
    );
  }
  return lines.join('\n').trimEnd();
}

function panels(): Panel[] {
  const c = data.candidates ?? [];
  const a = data.allocation ?? [];
  const u = data.uploads ?? [];
  const w = data.webhooks;
  const rated = (rows: WebhookRow[], db: string) =>
    rows.filter((r) => r.database === db && r.rate !== undefined && r.scenario.startsWith('wake-up'));
  return [
    {
      title: 'Candidates vs catalogue size',
      xLabel: 'slots (log)',
      yLabel: 'p50 latency, ms (log)',
      xLog: true,
      yLog: true,
      series: [
        { name: '1 connection', points: c.map((p) => [p.slots, p.one.p50]) },
        { name: '10 connections', points: c.map((p) => [p.slots, p.ten.p50]) },
      ],
      target: { y: 30, label: 'target p50 30 ms (10 connections, 100k)' },
    },
    {
      title: 'Allocation vs problem size',
      xLabel: 'pilots × slots (log)',
      yLabel: 'seconds (log)',
      xLog: true,
      yLog: true,
      xTick: compact,
      series: [
        {
          name: 'total (build + MIP + LP + greedy)',
          points: a.map((p) => [p.pilots * p.slots, (p.buildMs + p.solveMs) / 1000]),
        },
        {
          name: 'gap to LP bound, % (same axis)',
          points: a.map((p) => [p.pilots * p.slots, Math.max(0.001, p.gap * 100)]),
        },
      ],
      target: { y: 10, label: 'solver limit 10 s' },
    },
    {
      title: 'Upload throughput vs file size',
      xLabel: 'file size, MiB (log)',
      yLabel: 'MiB/s',
      xLog: true,
      series: [
        { name: 'HTTP upload (multipart, sha256, fsync)', points: u.map((r) => [r.bytes / MiB, r.uploadMBps]) },
        { name: 'direct disk write + fsync', points: u.map((r) => [r.bytes / MiB, r.directMBps]) },
      ],
    },
    {
      title: 'Webhook latency vs event rate (10 endpoints)',
      xLabel: 'events/s (log)',
      yLabel: 'commit → receipt, ms (log)',
      xLog: true,
      yLog: true,
      series: w
        ? [
            { name: 'server p50', points: rated(w.server.rows, 'postgres').map((r) => [r.rate!, r.p50]) },
            { name: 'server p99', points: rated(w.server.rows, 'postgres').map((r) => [r.rate!, r.p99]) },
            { name: 'embedded p50 (from request)', points: rated(w.embedded, 'pglite').map((r) => [r.rate!, r.p50]) },
            { name: 'embedded p99 (from request)', points: rated(w.embedded, 'pglite').map((r) => [r.rate!, r.p99]) },
          ]
        : [],
      target: { y: 25, label: 'target p50 25 ms at 50/s' },
    },
  ];
}
