/** Shared pieces of the benchmarks: a target server in a child process, autocannon runs, and result tables. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import pg from 'pg';

export interface Target {
  engine: string;
  base: string;
  bare: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export const SERVER_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/ax_bench';

/** Creates the benchmark database on the server when missing; false when no server answers. */
export async function serverAvailable(url = SERVER_URL): Promise<boolean> {
  const target = new URL(url);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  try {
    await client.connect();
    const name = target.pathname.slice(1);
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startTarget(
  databaseUrl?: string,
  extraEnv: Record<string, string> = {},
  nodeArgs: string[] = [],
  /** Another checkout of the project to run the target from (A/B runs); this one by default. */
  cwd?: string,
): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ax-bench-'));
  const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: dataDir, ...extraEnv };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  else delete env.DATABASE_URL;
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'bench/server.ts'], {
    ...(cwd ? { cwd } : {}),
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const { port, barePort, engine } = JSON.parse(line) as { port: number; barePort: number; engine: string };
  return {
    engine,
    base: `http://127.0.0.1:${port}`,
    bare: `http://127.0.0.1:${barePort}`,
    child,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export async function load(opts: {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  seconds?: number;
  connections?: number;
}): Promise<LoadResult> {
  const r = await autocannon({
    url: opts.url,
    method: opts.method ?? 'GET',
    headers: opts.headers,
    body: opts.body,
    duration: opts.seconds ?? 8,
    connections: opts.connections ?? 10,
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

export async function json(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
) {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { 'Content-Type': 'application/json', ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${init.method ?? 'GET'} ${url} → ${res.status}: ${text}`);
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * The checkouts of an A/B comparison, `rounds` times over, in an order that reverses every other round, so that
 * neither side always runs first on a machine that warms up or tires.
 */
export function* alternating(dirs: string[], rounds: number): Generator<{ round: number; dir: string }> {
  for (let round = 1; round <= rounds; round++) {
    for (const dir of round % 2 ? dirs : [...dirs].reverse()) yield { round, dir };
  }
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const TICK_MS = 10; // USER_HZ = 100 on Linux

/** CPU time (user + system) a process has used, from /proc; 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/**
 * Runs fn and answers with the CPU it cost the target process (`pid`) and the PostgreSQL backends of the
 * client's database other than the client's own (those serving the target).
 */
export async function cpuDuring<T>(
  client: pg.Client,
  pid: number,
  fn: () => Promise<T>,
): Promise<{ result: T; nodeMs: number; pgMs: number }> {
  const backends = async () =>
    (
      await client.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      )
    ).rows.map((r) => r.pid);
  const before = new Map((await backends()).map((p) => [p, cpuMs(p)]));
  const node0 = cpuMs(pid);
  const result = await fn();
  const nodeMs = cpuMs(pid) - node0;
  let pgMs = 0;
  for (const p of await backends()) pgMs += cpuMs(p) - (before.get(p) ?? 0);
  return { result, nodeMs, pgMs };
}
