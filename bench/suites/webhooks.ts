/**
 * Webhook fan-out on the PostgreSQL server: events recorded through the outbox (one transaction each, as the
 * services do), fanned out to 10 endpoints on a local receiver that verifies every signature, delivered by one
 * `npm run worker` process with its default settings. Reports deliveries per second and the latency from the
 * commit of each event to its receipt, at full load (a backlog builds, so latency includes queueing) and at a
 * light steady rate (the latency a receiver normally sees, dominated by the poll interval).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { openDb, type Db } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { recordEvent } from '../../src/events/outbox.js';
import { generateSecret } from '../../src/webhooks/signing.js';
import { fmt } from '../harness.js';

export interface WebhookRow {
  scenario: string;
  events: number;
  deliveries: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  badSignatures: number;
  duplicates: number;
}

const ENDPOINTS = 10;

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runWebhookSuite(databaseUrl: string, options: { events?: number; light?: number } = {}): Promise<WebhookRow[]> {
  const db = await openDb({ databaseUrl, dataDir: 'memory://', poolSize: 8 });
  await db.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
  await migrate(db);
  const secrets: string[] = [];
  const commitAt = new Map<string, number>();
  const latencies: number[] = [];
  const seen = new Set<string>();
  let bad = 0;
  let duplicates = 0;
  let lastReceipt = 0;
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = performance.now();
      const endpoint = Number(/^\/e(\d+)$/.exec(req.url ?? '')?.[1]);
      const headers = {
        'webhook-id': String(req.headers['webhook-id']),
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature']),
      };
      try {
        new Webhook(secrets[endpoint]!).verify(Buffer.concat(chunks), headers);
      } catch {
        bad++;
      }
      const key = `${endpoint}:${headers['webhook-id']}`;
      if (seen.has(key)) duplicates++;
      else {
        seen.add(key);
        const committed = commitAt.get(headers['webhook-id']);
        if (committed !== undefined) latencies.push(now - committed);
      }
      lastReceipt = now;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO organizations (name, kind) VALUES ('Bench partner (demo)', 'partner') RETURNING id`,
  );
  for (let i = 0; i < ENDPOINTS; i++) {
    secrets.push(generateSecret());
    await db.query(`INSERT INTO webhook_endpoints (organization_id, url, event_types, secret) VALUES ($1, $2, '{*}', $3)`, [
      rows[0]!.id,
      `http://127.0.0.1:${port}/e${i}`,
      secrets[i],
    ]);
  }
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', WEBHOOK_ALLOW_NETWORKS: '127.0.0.0/8' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const out: WebhookRow[] = [];
  try {
    const measure = async (scenario: string, events: number, perSecond: number | undefined) => {
      latencies.length = 0;
      seen.clear();
      bad = 0;
      duplicates = 0;
      const started = performance.now();
      await produce(db, events, perSecond, commitAt);
      const expected = events * ENDPOINTS;
      const deadline = Date.now() + 300_000;
      while (seen.size < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const seconds = (lastReceipt - started) / 1000;
      latencies.sort((a, b) => a - b);
      out.push({
        scenario,
        events,
        deliveries: seen.size,
        seconds,
        perSecond: seen.size / seconds,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        badSignatures: bad,
        duplicates,
      });
      console.log(`  ${scenario}: ${seen.size} deliveries in ${seconds.toFixed(1)} s`);
    };
    // Let the worker start and migrate before the clock runs.
    await new Promise((r) => setTimeout(r, 2500));
    await measure(`light load: ${options.light ?? 500} events at 50/s`, options.light ?? 500, 50);
    await measure(`full load: ${options.events ?? 10_000} events as fast as 4 writers commit them`, options.events ?? 10_000, undefined);
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    receiver.closeAllConnections();
    receiver.close();
    await db.close();
  }
  return out;
}

/** Records events, one transaction each, from 4 writers; at perSecond overall when given, else flat out. */
async function produce(db: Db, events: number, perSecond: number | undefined, commitAt: Map<string, number>): Promise<void> {
  let next = 0;
  const t0 = performance.now();
  const writer = async () => {
    while (next < events) {
      const i = next++;
      if (perSecond) {
        const due = t0 + (i * 1000) / perSecond;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const e = await db.transaction((tx) =>
        recordEvent(tx, { type: 'testbed.updated', data: { id: '00000000-0000-4000-8000-000000000000', name: `Bench ${i}` }, visibility: 'public' }),
      );
      commitAt.set(e.id, performance.now());
    }
  };
  await Promise.all(Array.from({ length: 4 }, writer));
}

export function webhookTable(rows: WebhookRow[]): string {
  const lines = [
    '| scenario | deliveries | seconds | deliveries/s | p50 ms commit→receipt | p99 ms | bad signatures | duplicates |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.scenario} | ${fmt(r.deliveries)} | ${fmt(r.seconds, 1)} | **${fmt(r.perSecond)}** | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.badSignatures} | ${r.duplicates} |`,
    );
  }
  return lines.join('\n');
}

