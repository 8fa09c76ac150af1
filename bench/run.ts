/**
 * npm run bench — every benchmark, on the embedded database and (when one answers) the PostgreSQL server,
 * written to bench/RESULTS.md. Each figure is a ratio against a baseline measured in the same run.
 * BENCH_SECONDS sets the length of each measurement (default 8); BENCH_ONLY=api limits the suites.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { SERVER_URL, serverAvailable } from './harness.js';
import { apiTable, runApiSuite, type ApiRow } from './suites/api.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const only = process.env.BENCH_ONLY?.split(',');
const wants = (name: string) => !only || only.includes(name);

const sections: string[] = [];
const started = new Date();
const server = (await serverAvailable()) ? SERVER_URL : undefined;
if (!server) console.warn(`no PostgreSQL server at ${SERVER_URL}; server figures skipped`);

if (wants('api')) {
  const rows: ApiRow[] = [];
  for (const url of server ? [undefined, server] : [undefined]) {
    console.log(`api suite on ${url ? 'the PostgreSQL server' : 'the embedded database'}…`);
    rows.push(...(await runApiSuite(url, seconds)));
  }
  sections.push(
    '## API throughput against a bare Express route\n\n' +
      'autocannon, 10 connections, ' + seconds + ' s per measurement, after a 2 s warm-up; the bare route is in the same ' +
      'process as the service and serves the identical JSON from memory. Target: GET on the server ≥ 0.4.\n\n' +
      apiTable(rows),
  );
}

const header = [
  '# Benchmark results',
  '',
  `Run ${started.toISOString()} on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}. ` +
    'Machines are shared and noisy: read the ratios, not the absolute numbers.',
  '',
].join('\n');
writeFileSync('bench/RESULTS.md', header + '\n' + sections.join('\n\n') + '\n');
console.log(header + '\n' + sections.join('\n\n'));
