/**
 * Webhook fan-out to 10 endpoints on a local receiver that verifies every signature with `standardwebhooks`.
 *
 * On the PostgreSQL server: events recorded through the outbox (one transaction each, as the services do) and
 * delivered by one `npm run worker` process with its default settings; latency runs from the commit of each
 * event to its receipt. Rows: the poll-only worker (WEBHOOK_WAKE_UP=false, the behaviour before wake-up) at
 * 50 events/s; the waking worker at rising event rates (the latency curve); full load, 10,000 events as fast
 * as 4 writers commit them while the worker delivers; the drain of a backlog, 10,000 events committed first and
 * the worker started afterwards; and the baseline of the throughput figure, a bare loop in a child process that
 * signs and POSTs the drain's envelopes to the same receiver with no database.
 *
 * The throughput ratio is the drain's, the median of BENCH_WEBHOOK_DRAIN_ROUNDS rounds (default 5): each round
 * commits a new backlog, and the worker's drain and the bare loop run on it in an order that reverses every other
 * round; one run of each side moved by up to a fifth between runs, the bare loop's by more (12,400 to 21,000/s
 * within one hour on the same tree), so the median needs more rounds than three to settle. The bare loop has its
 * envelopes made before its clock starts and shares the two cores with nobody but the receiver, while during the
 * concurrent full-load row the worker shares them with PostgreSQL committing 4 writers' transactions, the writers
 * themselves and the receiver, and can deliver no faster than the events commit. The drain measures what the
 * worker costs per delivery: the events are there, PostgreSQL serves only the worker, and the clock runs from the
 * first receipt to the last.
 * BENCH_WEBHOOK_SCENARIOS (poll,rates,full,drain; default all) limits the rows, for A/B runs;
 * BENCH_WEBHOOK_WORKER names another worker entry file (an older tree, for A/B runs).
 *
 * On the embedded database the worker runs inside the API process (PGlite belongs to one process), so events
 * are made through the API (POST /v1/testbeds → testbed.created), and each rate gives two rows. The first runs
 * from sending the request: it includes the request's own wait for its turn on the database and its handling
 * before the commit, which the target (commit → receipt) does not. The second runs from the event's createdAt,
 * which the transaction sets when it starts (now()), so before its commit: it is an upper bound of commit →
 * receipt, read on the same machine's wall clock as the receipt (to the millisecond; createdAt is truncated to
 * it, which can only lengthen the figure). Both are kept. BENCH_WEBHOOK_TREE names another checkout to run the
 * API process from (an older tree, for A/B runs of these rows).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { openDb, type Db } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { toEventEnvelope, type EventRow } from '../../src/events/envelope.js';
import { recordEvent } from '../../src/events/outbox.js';
import { generateSecret } from '../../src/webhooks/signing.js';
import { alternating, fmt, json, median, startTarget } from '../harness.js';

export interface WebhookRow {
  database: string;
  scenario: string;
  /** Events per second asked of the writers; undefined = as fast as they go. */
  rate?: number;
  events: number;
  deliveries: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  badSignatures: number;
  duplicates: number;
}

export interface WebhookResults {
  rows: WebhookRow[];
  /** The bare loop: deliveries per second of the drain's envelopes, signed and POSTed with no database (median). */
  bare?: { deliveries: number; perSecond: number };
  /** Deliveries per second of the worker's drain and of the bare loop, round by round. */
  rounds?: { worker: number; bare: number }[];
}

/** The scenario name of the drain row, the one the throughput ratio is taken from. */
const DRAIN = 'drain';

const ENDPOINTS = 10;
/** Event rates of the latency curve (events/s; each event fans out to every endpoint). */
const RATES = [10, 50, 200, 500];

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Verifies, de-duplicates and times every delivery; `startAt` maps an event's key to when it was committed. */
class Receiver {
  readonly secrets: string[] = [];
  readonly startAt = new Map<string, number>();
  /** How a delivery is matched to startAt: by webhook-id, or by the subject id in the payload. */
  keyOf: (webhookId: string, body: Buffer) => string = (id) => id;
  latencies: number[] = [];
  /** From each event's createdAt (wall clock), when fromEvent is set. */
  fromEvent = false;
  eventLatencies: number[] = [];
  seen = new Set<string>();
  bad = 0;
  duplicates = 0;
  firstReceipt: number | undefined;
  lastReceipt = 0;
  private server = http.createServer((req, res) => {
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
      const body = Buffer.concat(chunks);
      try {
        new Webhook(this.secrets[endpoint]!).verify(body, headers);
      } catch {
        this.bad++;
      }
      const key = `${endpoint}:${headers['webhook-id']}`;
      if (this.seen.has(key)) this.duplicates++;
      else {
        this.seen.add(key);
        const started = this.startAt.get(this.keyOf(headers['webhook-id'], body));
        if (started !== undefined) this.latencies.push(now - started);
        if (this.fromEvent) {
          const { createdAt } = JSON.parse(body.toString('utf8')) as { createdAt: string };
          this.eventLatencies.push(performance.timeOrigin + now - Date.parse(createdAt));
        }
      }
      this.firstReceipt ??= now;
      this.lastReceipt = now;
      res.writeHead(204).end();
    });
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(i: number): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/e${i}`;
  }

  reset(): void {
    this.latencies = [];
    this.eventLatencies = [];
    this.seen = new Set();
    this.bad = 0;
    this.duplicates = 0;
    this.firstReceipt = undefined;
  }

  /**
   * Waits until `expected` distinct deliveries arrived (or 5 minutes passed) and makes the row; the clock runs
   * from `started`, or without it from the first receipt.
   */
  async row(
    database: string,
    scenario: string,
    events: number,
    started: number | undefined,
    rate?: number,
    latencies = this.latencies,
  ): Promise<WebhookRow> {
    const expected = events * ENDPOINTS;
    const deadline = Date.now() + 300_000;
    while (this.seen.size < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const seconds = (this.lastReceipt - (started ?? this.firstReceipt ?? this.lastReceipt)) / 1000;
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      `  ${database} ${scenario}: ${this.seen.size} deliveries in ${seconds.toFixed(1)} s, p50 ${percentile(sorted, 50).toFixed(1)} ms`,
    );
    return {
      database,
      scenario,
      rate,
      events,
      deliveries: this.seen.size,
      seconds,
      perSecond: this.seen.size / seconds,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      badSignatures: this.bad,
      duplicates: this.duplicates,
    };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

/** Calls `make(i)` `events` times from 4 writers: at `perSecond` overall when given, else flat out. */
async function paced(events: number, perSecond: number | undefined, make: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const t0 = performance.now();
  const writer = async () => {
    while (next < events) {
      const i = next++;
      if (perSecond) {
        const wait = t0 + (i * 1000) / perSecond - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await make(i);
    }
  };
  await Promise.all(Array.from({ length: 4 }, writer));
}

const eventsAt = (rate: number) => Math.max(200, Math.min(3000, rate * 6));

const scenarios = process.env.BENCH_WEBHOOK_SCENARIOS?.split(',') ?? ['poll', 'rates', 'full', 'drain'];
const workerEntry = process.env.BENCH_WEBHOOK_WORKER ?? 'src/worker.ts';

/** Extra node arguments of the worker (server) or API process (embedded): profiling, statement counting. */
function nodeArgs(): string[] {
  const args = process.env.BENCH_WEBHOOK_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  if (process.env.BENCH_WEBHOOK_STATEMENTS === 'true') args.push('--import', './bench/statement-count.mjs');
  return args;
}

export async function runWebhookSuite(
  databaseUrl: string,
  options: { events?: number; rates?: number[] } = {},
): Promise<WebhookResults> {
  const db = await openDb({ databaseUrl, dataDir: 'memory://', poolSize: 8 });
  await db.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
  await migrate(db);
  const receiver = await new Receiver().start();
  const { rows: orgs } = await db.query<{ id: string }>(
    `INSERT INTO organizations (name, kind) VALUES ('Bench partner (demo)', 'partner') RETURNING id`,
  );
  for (let i = 0; i < ENDPOINTS; i++) {
    receiver.secrets.push(generateSecret());
    await db.query(
      `INSERT INTO webhook_endpoints (organization_id, url, event_types, secret) VALUES ($1, $2, '{*}', $3)`,
      [orgs[0]!.id, receiver.url(i), receiver.secrets[i]],
    );
  }
  const out: WebhookResults = { rows: [] };
  const record = (i: number) => async () => {
    const e = await db.transaction((tx) =>
      recordEvent(tx, {
        type: 'testbed.updated',
        data: { id: '00000000-0000-4000-8000-000000000000', name: `Bench ${i}` },
        visibility: 'public',
      }),
    );
    receiver.startAt.set(e.id, performance.now());
  };
  const measure = async (scenario: string, events: number, rate: number | undefined) => {
    receiver.reset();
    const started = performance.now();
    await paced(events, rate, (i) => record(i)());
    console.log(`  ${scenario}: ${events} events committed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    out.rows.push(await receiver.row('postgres', scenario, events, started, rate));
  };
  const events = options.events ?? 10_000;
  try {
    if (scenarios.includes('poll')) {
      console.log('webhooks: poll-only worker…');
      await withWorker(databaseUrl, { WEBHOOK_WAKE_UP: 'false' }, db, async () => {
        await measure('poll only (500 ms), 50 events/s', 500, 50);
      });
    }
    if (scenarios.includes('rates') || scenarios.includes('full')) {
      console.log('webhooks: waking worker…');
      await withWorker(databaseUrl, {}, db, async () => {
        if (scenarios.includes('rates'))
          for (const rate of options.rates ?? RATES) await measure(`wake-up, ${rate} events/s`, eventsAt(rate), rate);
        if (scenarios.includes('full'))
          await measure(
            `wake-up, full load: ${fmt(events)} events as fast as 4 writers commit them`,
            events,
            undefined,
          );
      });
    }
    if (scenarios.includes('drain')) {
      // Each round commits a backlog with no worker running; then the worker drains it (the clock runs from its
      // first receipt) and the bare loop sends the same envelopes, in an order that reverses every other round.
      const rounds = Number(process.env.BENCH_WEBHOOK_DRAIN_ROUNDS ?? 5);
      console.log(`webhooks: drain of a backlog, ${rounds} rounds…`);
      const byRound: { worker: number; bare: number }[] = [];
      out.rounds = byRound;
      let firstSeq = 0;
      let bareDeliveries = 0;
      for (const { round, dir } of alternating(['worker', 'bare'], rounds)) {
        if (byRound.length < round) {
          // What the rows before left behind (settled deliveries' old versions, stale statistics) is cleared as
          // autovacuum would, which the benchmark server runs without: each round measures the worker, not them.
          await db.exec('VACUUM ANALYZE webhook_deliveries, webhook_attempts, events');
          firstSeq = await maxSeq(db);
          receiver.reset();
          const t0 = performance.now();
          await paced(events, undefined, (i) => record(i)());
          console.log(`  ${fmt(events)} events committed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
          receiver.startAt.clear();
          byRound.push({ worker: NaN, bare: NaN });
        }
        if (dir === 'worker') {
          receiver.reset();
          await withWorker(
            databaseUrl,
            {},
            db,
            async () => {
              const row = await receiver.row('postgres', DRAIN, events, undefined);
              out.rows.push({
                ...row,
                scenario: `drain, round ${round}: ${fmt(events)} events committed, then the worker started`,
              });
              byRound[round - 1]!.worker = row.perSecond;
            },
            false,
          );
        } else {
          const bare = await bareLoop(db, receiver, firstSeq);
          bareDeliveries = bare.deliveries;
          byRound[round - 1]!.bare = bare.perSecond;
        }
      }
      out.bare = { deliveries: bareDeliveries, perSecond: median(byRound.map((r) => r.bare)) };
    }
  } finally {
    await receiver.stop();
    await db.close();
  }
  return out;
}

async function maxSeq(db: Db): Promise<number> {
  return (await db.query<{ n: number }>('SELECT COALESCE(max(seq), 0)::int AS n FROM events')).rows[0]!.n;
}

/** Runs fn while one `npm run worker` process (default settings plus env) is up and, when `ready`, listening. */
async function withWorker(
  databaseUrl: string,
  env: Record<string, string>,
  db: Db,
  fn: () => Promise<void>,
  ready = true,
): Promise<void> {
  const worker = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs(), workerEntry], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'warn',
      WEBHOOK_ALLOW_NETWORKS: '127.0.0.0/8',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    // Started and migrated: it listens (or, polling only, has had time to start) before the clock runs.
    const deadline = Date.now() + 60_000;
    const listening = async () =>
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN webhook_deliveries'`,
        )
      ).rows[0]!.n > 0;
    if (ready && env.WEBHOOK_WAKE_UP === 'false') await new Promise((r) => setTimeout(r, 4000));
    else if (ready) while (!(await listening()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await fn();
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
  }
}

/** The same envelopes the worker sent in the drain row, signed and POSTed by a bare loop in a child process. */
async function bareLoop(db: Db, receiver: Receiver, afterSeq: number): Promise<NonNullable<WebhookResults['bare']>> {
  const { rows } = await db.query<EventRow>(
    'SELECT id, seq, type, created_at, data FROM events WHERE seq > $1 ORDER BY seq',
    [afterSeq],
  );
  const input = {
    endpoints: receiver.secrets.map((secret, i) => ({ url: receiver.url(i), secret })),
    events: rows.map((r) => ({ id: r.id, body: JSON.stringify(toEventEnvelope(r)) })),
  };
  receiver.reset();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/webhook-bare-loop.ts'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(JSON.stringify(input));
  let text = '';
  child.stdout.on('data', (c: Buffer) => (text += c.toString()));
  await new Promise((r) => child.once('exit', r));
  const result = JSON.parse(text) as { seconds: number; sent: number };
  console.log(`  bare loop: ${result.sent} deliveries in ${result.seconds.toFixed(1)} s`);
  return { deliveries: receiver.seen.size, perSecond: result.sent / result.seconds };
}

/** The embedded database: the API process with its in-process worker; events made through POST /v1/testbeds. */
export async function runEmbeddedWebhookSuite(rates = [10, 50]): Promise<WebhookRow[]> {
  const t = await startTarget(
    undefined,
    { BENCH_WORKER: 'true', WEBHOOK_ALLOW_NETWORKS: '127.0.0.0/8' },
    nodeArgs(),
    process.env.BENCH_WEBHOOK_TREE,
  );
  const receiver = await new Receiver().start();
  receiver.fromEvent = true;
  const rows: WebhookRow[] = [];
  try {
    const partner = (
      await json(`${t.base}/v1/auth/signup`, {
        method: 'POST',
        body: {
          organization: { name: 'Webhook bench', kind: 'partner', businessNumber: '1234567891' },
          user: { email: 'hooks@bench.example', password: 'bench password 4', name: 'Bench' },
        },
      })
    ).body as { token: string };
    const auth = { Authorization: `Bearer ${partner.token}` };
    for (let i = 0; i < ENDPOINTS; i++) {
      const ep = (
        await json(`${t.base}/v1/webhook-endpoints`, {
          method: 'POST',
          headers: auth,
          body: { url: receiver.url(i), eventTypes: ['testbed.created'] },
        })
      ).body as { secret: string };
      receiver.secrets.push(ep.secret);
    }
    // Deliveries are matched by the testbed name in the payload; the clock starts when the request is sent.
    receiver.keyOf = (_id, body) => (JSON.parse(body.toString('utf8')) as { data: { name: string } }).data.name;
    for (const rate of rates) {
      receiver.reset();
      const events = Math.max(100, rate * 5);
      const started = performance.now();
      await paced(events, rate, async (i) => {
        const name = `Hook bench ${rate}-${i}`;
        receiver.startAt.set(name, performance.now());
        await json(`${t.base}/v1/testbeds`, {
          method: 'POST',
          headers: auth,
          body: {
            name,
            domains: ['health'],
            capabilities: ['gpu-cluster'],
            capacity: 1,
            location: { address: '광주광역시 북구 첨단과기로 123', lat: 35.22, lng: 126.84 },
          },
        });
      });
      rows.push(
        await receiver.row('pglite', `wake-up, ${rate} events/s (from the API request)`, events, started, rate),
        await receiver.row(
          'pglite',
          `${rate} events/s (from the event's createdAt)`,
          events,
          started,
          rate,
          receiver.eventLatencies,
        ),
      );
    }
  } finally {
    await receiver.stop();
    await t.stop();
  }
  return rows;
}

/** A latency cell; a drain has none (its events waited for the worker to start). */
const ms = (n: number, bold = false) => (Number.isNaN(n) ? '–' : bold ? `**${fmt(n, 1)}**` : fmt(n, 1));

export function webhookTable(r: WebhookResults, embedded: WebhookRow[] = []): string {
  const lines = [
    '| database | scenario | deliveries | seconds | deliveries/s | p50 ms commit→receipt | p99 ms | bad signatures | duplicates |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of [...r.rows, ...embedded]) {
    lines.push(
      `| ${row.database} | ${row.scenario} | ${fmt(row.deliveries)} | ${fmt(row.seconds, 1)} | ${fmt(row.perSecond)} | ${ms(row.p50, true)} | ${ms(row.p99)} | ${row.badSignatures} | ${row.duplicates} |`,
    );
  }
  const drains = r.rows.filter((row) => row.scenario.startsWith(DRAIN));
  const full = r.rows.find((row) => row.rate === undefined && !row.scenario.startsWith(DRAIN));
  const rounds = r.rounds ?? [];
  if (r.bare && drains.length && rounds.length) {
    const ratio = median(rounds.map((x) => x.worker / x.bare));
    lines.push(
      '',
      `Throughput against the bare loop (the drain's ${fmt(drains[0]!.events)} envelopes × ${ENDPOINTS} endpoints, signed and ` +
        `POSTed with no database, one request in flight per endpoint, in a child process), ${rounds.length} rounds, each ` +
        `a new backlog, the two sides in an order that reverses every other round: worker draining the backlog ` +
        `${rounds.map((x) => fmt(x.worker)).join(', ')}/s, bare loop ${rounds.map((x) => fmt(x.bare)).join(', ')}/s; ` +
        `ratios ${rounds.map((x) => fmt(x.worker / x.bare, 2)).join(', ')}, median **${fmt(ratio, 2)}** (target ≥ 0.5)` +
        (full
          ? `; the concurrent full-load row, where the worker delivers while 4 writers commit and can go no faster than ` +
            `they do, is ${fmt(full.perSecond / r.bare.perSecond, 2)} of the bare loop's median.`
          : '.'),
    );
  }
  return lines.join('\n');
}
