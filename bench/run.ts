/**
 * npm run bench — every benchmark, on the embedded database and (when one answers) the PostgreSQL server,
 * written to bench/RESULTS.md. Each figure is a ratio against a baseline measured in the same run.
 * BENCH_SECONDS sets the length of each measurement (default 8); BENCH_ONLY=api limits the suites.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { SERVER_URL, serverAvailable } from './harness.js';
import { apiTable, runApiSuite, type ApiRow } from './suites/api.js';
import { resumableTable, runResumableSuite } from './suites/resumable.js';
import { runUploadSuite, uploadTable } from './suites/uploads.js';
import { runWebhookSuite, webhookTable } from './suites/webhooks.js';
import { matchingSection, runMatchingSuite } from './suites/matching.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const only = process.env.BENCH_ONLY?.split(',');
const wants = (name: string) => !only || only.includes(name);

/** Sections by suite, in report order; a run limited by BENCH_ONLY keeps the others from the last full run. */
const ORDER = ['api', 'matching', 'webhooks', 'uploads', 'resumable'];
const sections = new Map<string, string>();
const put = (name: string, text: string) => sections.set(name, `<!-- suite:${name} -->\n${text}`);
const started = new Date();
const server = (await serverAvailable()) ? SERVER_URL : undefined;
if (!server) console.warn(`no PostgreSQL server at ${SERVER_URL}; server figures skipped`);

if (wants('api')) {
  const rows: ApiRow[] = [];
  for (const url of server ? [undefined, server] : [undefined]) {
    console.log(`api suite on ${url ? 'the PostgreSQL server' : 'the embedded database'}…`);
    rows.push(...(await runApiSuite(url, seconds)));
  }
  put(
    'api',
    '## API throughput against a bare Express route\n\n' +
      'autocannon, 10 connections, ' + seconds + ' s per measurement, after a 2 s warm-up; the bare route is in the same ' +
      'process as the service and serves the identical JSON from memory. Target: GET on the server ≥ 0.4.\n\n' +
      apiTable(rows),
  );
}

if (wants('webhooks')) {
  // Its own database: the suite drops and rebuilds the schema, and worker processes share it.
  const url = new URL(SERVER_URL);
  url.pathname = '/ax_bench_webhooks';
  if (await serverAvailable(url.toString())) {
    console.log('webhooks suite on the PostgreSQL server…');
    const rows = await runWebhookSuite(url.toString());
    put(
      'webhooks',
      '## Webhook fan-out: 10 endpoints on a local receiver\n\n' +
        'Events recorded through the outbox (one transaction each) and fanned out to 10 endpoints; one `npm run worker` ' +
        'process with default settings (16 lanes, one request in flight per endpoint, 500 ms poll) delivers them to a receiver in the ' +
        'benchmark process that verifies every signature with `standardwebhooks`. Latency runs from the commit of the ' +
        'event to its receipt; under full load it includes the time spent waiting in the backlog.\n\n' +
        webhookTable(rows),
    );
  } else console.warn('no PostgreSQL server: webhooks suite skipped');
}

if (wants('matching')) {
  // Its own database, like the webhooks suite: the target server drops and rebuilds the schema.
  // BENCH_MATCHING_DATABASE_URL names another database for it (its schema is dropped and rebuilt too).
  const url = new URL(process.env.BENCH_MATCHING_DATABASE_URL ?? SERVER_URL);
  if (!process.env.BENCH_MATCHING_DATABASE_URL) url.pathname = '/ax_bench_matching';
  const matchingServer = (await serverAvailable(url.toString())) ? url.toString() : undefined;
  put('matching', matchingSection(await runMatchingSuite(matchingServer, seconds)));
}

if (wants('uploads')) {
  // Upload speed is disk- and CPU-bound, not database-bound: the embedded database is enough.
  console.log('uploads suite on the embedded database…');
  const rows = await runUploadSuite(undefined);
  put(
    'uploads',
    '## Dataset upload against a direct disk write\n\n' +
      'One file (BENCH_UPLOAD_BYTES, default 1 GiB) uploaded as multipart/form-data to the server in a child process ' +
      '(streamed through sha256, type sniffing and a temporary file, fsync, rename, row commit), against copying the ' +
      'same file to the same disk with fsync in the benchmark process. RSS sampled every 10 ms from /proc.\n\n' +
      uploadTable(rows),
  );
}

if (wants('resumable')) {
  console.log('resumable and S3 suite on the embedded database…');
  put(
    'resumable',
    '## Resumable uploads and S3 storage\n\n' +
      'One file (BENCH_UPLOAD_BYTES, default 1 GiB) to the server in a child process. tus uploads use tus-js-client ' +
      'with 64 MiB chunks; at the last byte the server reads the file back once through the dataset pipeline (the ' +
      'digest state cannot move between processes) into dataset storage. The S3 server is s3rver (files on the same ' +
      'disk) started by the benchmark; the SDK baseline writes the same file to it with lib-storage (16 MiB parts, ' +
      'two in flight), as the server does. RSS sampled every 10 ms from /proc.\n\n' +
      resumableTable(await runResumableSuite()),
  );
}

const header = [
  '# Benchmark results',
  '',
  `Run ${started.toISOString()} on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}. ` +
    'Machines are shared and noisy: read the ratios, not the absolute numbers.',
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
  for (const m of text.matchAll(/<!-- suite:(\w+) -->\n([\s\S]*?)(?=\n<!-- suite:|$)/g)) out.set(m[1]!, `<!-- suite:${m[1]} -->\n${m[2]!.trimEnd()}`);
  return out;
}
