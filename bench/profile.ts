/**
 * npm run bench:profile — where a request's CPU time goes. Starts the benchmark target under `node --cpu-prof`,
 * seeds it like the api suite, loads one operation with autocannon (10 connections), stops the target so V8
 * writes the profile, and prints the top self-time entries by function and by package/folder.
 *
 * PROFILE_DATABASE=pglite|postgres (default postgres when a server answers), PROFILE_OP=list|create|both|candidates
 * (candidates: the matching suite's pilot among 100,000 slots, GET /v1/pilots/:id/candidates?limit=20; server only),
 * BENCH_SECONDS (default 8). The .cpuprofile files stay in bench/profiles/ (git-ignored) for Chrome DevTools.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SERVER_URL, load, serverAvailable, startTarget } from './harness.js';
import pg from 'pg';
import { seedApiTarget } from './suites/api.js';
import { seedCandidateScene } from './suites/matching.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

/**
 * Self time by function and by package/folder of a .cpuprofile, largest first; only samples inside window
 * (µs on the monotonic clock, which V8's timestamps and process.hrtime share) when given, so start-up is left out.
 */
export function summarise(
  profile: CpuProfile,
  window?: [number, number],
): { byFunction: SelfTime[]; byPlace: SelfTime[]; totalMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window[0] || at > window[1])) continue;
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  let total = 0;
  const fn = new Map<string, number>();
  const place = new Map<string, number>();
  for (const [id, ms] of self) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    total += ms;
    const where = placeOf(url, functionName);
    const name = `${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`;
    fn.set(name, (fn.get(name) ?? 0) + ms);
    place.set(where, (place.get(where) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, ms, share: ms / total }));
  return { byFunction: sorted(fn), byPlace: sorted(place), totalMs: total };
}

/** node_modules/<package>, a folder of ours (src/auth), node:internals, or the V8 bucket (GC, native). */
function placeOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return url;
  const ours = /\/(src|bench)\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]!.split('/').slice(0, -1).join('/') || ours[2]}`;
  return url;
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 8);
  const engine = process.env.PROFILE_DATABASE ?? ((await serverAvailable()) ? 'postgres' : 'pglite');
  const op = process.env.PROFILE_OP ?? 'list';
  const dir = resolve('bench/profiles', `${engine}-${op}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const t = await startTarget(engine === 'postgres' ? SERVER_URL : undefined, {}, [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
  ]);
  const us = () => Number(process.hrtime.bigint() / 1000n);
  let window: [number, number];
  try {
    if (op === 'candidates') {
      if (engine !== 'postgres') throw new Error('PROFILE_OP=candidates needs the PostgreSQL server');
      const client = new pg.Client({ connectionString: SERVER_URL });
      await client.connect();
      const scene = await seedCandidateScene(t, client).finally(() => client.end());
      await load({ url: scene.url, headers: scene.auth, seconds: 2 });
      const from = us();
      await load({ url: scene.url, headers: scene.auth, seconds });
      window = [from, us()];
    } else {
      const f = await seedApiTarget(t);
      // Warm up (JIT, pool, caches) outside the window.
      await load({ url: f.listUrl, headers: f.partnerAuth, seconds: 2 });
      const from = us();
      if (op === 'list' || op === 'both') await load({ url: f.listUrl, headers: f.partnerAuth, seconds });
      if (op === 'create' || op === 'both') {
        await load({ url: `${t.base}/v1/pilots`, method: 'POST', headers: f.startupAuth, body: f.pilotBody, seconds });
      }
      window = [from, us()];
    }
  } finally {
    await t.stop();
  }
  const file = readdirSync(dir).find((n) => n.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir}`);
  const s = summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, window);
  const show = (title: string, rows: SelfTime[], n: number) => {
    console.log(`\n${title} (of ${s.totalMs.toFixed(0)} ms busy)`);
    for (const r of rows.slice(0, n))
      console.log(`${(r.share * 100).toFixed(1).padStart(5)} %  ${r.ms.toFixed(0).padStart(6)} ms  ${r.name}`);
  };
  console.log(`profile of ${op} on ${engine}: ${join(dir, file)}`);
  show('self time by function', s.byFunction, 25);
  show('self time by package or folder', s.byPlace, 20);
  if (process.env.PROFILE_KEEP === 'false') rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
