/**
 * The delivery worker. Any number of them (one inside each API process by default, or `npm run worker`
 * processes) share the deliveries through PostgreSQL:
 *
 *   claim    one short transaction: lock endpoints that have due work (FOR NO KEY UPDATE SKIP LOCKED, so two
 *            workers never claim for the same endpoint at once and neither waits), count the lanes open on
 *            each (webhook_lanes), and lease their oldest due deliveries (FOR UPDATE SKIP LOCKED) up to the
 *            per-endpoint bound, opening a lane for each. The lease (locked_until) outlives the request
 *            deadline; a worker that dies mid-delivery leaves deliveries that fall due again when it runs out.
 *            On the embedded database, where statements run one at a time on one connection, the claim is a
 *            single statement.
 *   deliver  outside any transaction: re-check that the endpoint's organisation may still see the event, sign
 *            (Standard Webhooks) and POST with the hardened sender.
 *   settle   log the attempt; on 2xx succeed (successes of a lane are logged and settled in batches, one statement
 *            each, while the lane's next requests go out), otherwise in one transaction schedule the next attempt
 *            (with jitter, no sooner than Retry-After) or fail; 410 Gone, or failing for too long, disables the
 *            endpoint.
 *   go on    the statement settling a lane's successes also leases its endpoint's next due deliveries to the same
 *            lane, so a busy endpoint needs no claim transaction between batches; under a backlog it goes out
 *            halfway through a batch, so the lane never waits for it (see runLane).
 *
 * Within one endpoint deliveries are claimed in event order; with the default bound of one in flight per
 * endpoint they also arrive in event order, except that a delivery waiting for a retry lets later ones pass.
 *
 * An idle worker sleeps until told: the transaction that creates deliveries signals DELIVERY_SIGNAL at commit
 * (LISTEN/NOTIFY on the server, PGlite's in-process notification on the embedded database), and a lane that
 * finishes frees capacity. The poll (pollMs) remains as the safety net for retries that fall due, leases that
 * run out, and signals lost while a listening connection was down. Signals only trigger a claim: every
 * guarantee above still rests on the claim's locks and leases, whoever is woken.
 */
import type { Logger } from 'pino';
import type { OrgKind } from '../core/principal.js';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { EventType, EventVisibility } from '../events/catalog.js';
import { toEventEnvelope } from '../events/envelope.js';
import { DELIVERY_SIGNAL } from '../events/outbox.js';
import { eventVisibility } from '../events/visibility.js';
import { Sender, type SendLine, type SendResult } from './sender.js';
import { disableEndpoint } from './service.js';
import { activeSecrets, signatureHeader } from './signing.js';
import { AddressPolicy } from './ssrf.js';

/** Deliveries one lane claims for its endpoint at once. */
const BATCH = 20;
/**
 * Deliveries a lane takes when it goes on after a full batch (a backlog). Each batch costs a statement, mostly a
 * fixed cost whatever its size, so larger batches mean fewer statements per delivery (100 → 500: about 30 %
 * less database CPU per delivery in the drain of the benchmark).
 */
const BACKLOG_BATCH = 500;
/**
 * A lane writes its successes once this many are queued, or the oldest of them has waited WRITE_AFTER_MS (looked
 * at as each success comes in), unless a statement taking its next batch carries them first.
 */
const WRITE_AT = BACKLOG_BATCH;
const WRITE_AFTER_MS = 1000;
/**
 * Under a backlog a lane goes on from the last event it took (`event_seq` after it) rather than from the start of
 * its endpoint's queue: every delivery settled leaves index entries of its pending versions behind until vacuum,
 * and a scan from the start steps over all of them, so each batch would cost more than the last. Every
 * FULL_SCAN_EVERY rounds, and whenever a batch was not full, it looks from the start again, which picks up retries
 * that fell due and deliveries whose events committed late with a lower seq.
 */
const FULL_SCAN_EVERY = 5;
/** A lane stops taking new deliveries this long before its lease could run out mid-request. */
const LEASE_MARGIN_MS = 2000;
/**
 * After a claim that found nothing it could take, database signals are coalesced for this long: under a burst
 * every commit signals, and while each endpoint already has its bound in flight another claim would find
 * nothing again. A lane that finishes wakes the worker at once regardless.
 */
const SIGNAL_GAP_MS = 5;
/** On the embedded database, the longest a write of successes waits for answers still in flight by default. */
const GATHER_MS = 5;

/**
 * Batches a lane may take for its endpoint, when the worker's last claim ran out of lanes, before it ends and the
 * endpoint goes back to the claim's least-recently-claimed order, so that endpoints waiting for a lane are served.
 * While lanes are to spare nobody waits for one, and a lane goes on as long as its endpoint has work.
 */
const MAX_ROUNDS = 5;

/**
 * The order a lane takes its endpoint's due deliveries in: event order, and a redelivery after the delivery it
 * repeats. The due index is in this order, so a lease reads its batch and stops (test/webhook-lanes.test.ts).
 */
export const DUE_ORDER = 'd.event_seq, d.created_at';

/** A delivery is due: pending, not leased, and its time has come (the first attempt after retrySchedule[0]). */
const due = (firstDelayParam: number) => `d.status = 'pending' AND (d.locked_until IS NULL OR d.locked_until < now())
  AND d.next_attempt_at + CASE WHEN d.attempt_count = 0 THEN make_interval(secs => $${firstDelayParam}) ELSE interval '0' END
      <= now()`;

/** Leases the deliveries of a `picked (id, token)` CTE under their lane's token; returns them as jobs. */
const LEASE_PICKED = (leaseSecondsParam: number) =>
  `UPDATE webhook_deliveries d
      SET locked_until = now() + make_interval(secs => $${leaseSecondsParam}), claim_token = picked.token, updated_at = now()
     FROM picked, events ev, webhook_endpoints w, organizations o
    WHERE d.id = picked.id AND ev.id = d.event_id AND w.id = d.endpoint_id AND o.id = w.organization_id
   RETURNING d.id, d.claim_token, d.attempt_count, d.event_seq,
             ev.id AS event_id, ev.type, ev.created_at, ev.data, ev.visibility,
             w.id AS endpoint_id, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at, w.organization_id,
             o.kind AS org_kind`;

/**
 * Fewer live lanes on the endpoint than the bound in parameter $boundParam. A lane is a row of webhook_lanes from
 * the claim that opens it until it ends, its lease running as long as its deliveries' (see 0014_webhook_lanes.sql).
 */
const UNDER_BOUND = (endpoint: string, boundParam: number) =>
  `(SELECT count(*) FROM webhook_lanes b WHERE b.endpoint_id = ${endpoint} AND b.locked_until >= now()) < $${boundParam}`;

/**
 * Opens, or extends, the lease of each lane of a `lane (endpoint_id, token)` CTE that `picked` gave deliveries: a
 * lane's lease runs as long as its deliveries'. A lane going on writes its row again should a claim have removed it
 * meanwhile (its worker stalled past the lease), so that a lane holding deliveries always counts.
 */
const LANE_LEASE = (leaseSecondsParam: number) =>
  `INSERT INTO webhook_lanes (token, endpoint_id, locked_until)
   SELECT lane.token, lane.endpoint_id, now() + make_interval(secs => $${leaseSecondsParam}) FROM lane
    WHERE EXISTS (SELECT 1 FROM picked WHERE picked.token = lane.token)
   ON CONFLICT (token) DO UPDATE SET locked_until = EXCLUDED.locked_until`;

/**
 * Leases lanes: `lanes` selects (endpoint_id, token) rows; each gets up to $4 of its endpoint's oldest due
 * deliveries (first-attempt delay $1, lease $5 seconds), and its endpoint's claimed_at is touched.
 */
const leaseLanes = (lanes: string) => `WITH lane AS MATERIALIZED (${lanes}
  ), picked AS (
    SELECT d.id, lane.token FROM lane,
      LATERAL (SELECT d.id FROM webhook_deliveries d WHERE d.endpoint_id = lane.endpoint_id AND ${due(1)}
                ORDER BY ${DUE_ORDER} LIMIT $4 FOR UPDATE SKIP LOCKED) d
  ), touched AS (
    UPDATE webhook_endpoints SET claimed_at = now() WHERE id IN (SELECT endpoint_id FROM lane)
  ), opened AS (
    ${LANE_LEASE(5)}
  ), expired AS (
    -- Lanes of workers that died, whose leases ran out.
    DELETE FROM webhook_lanes x WHERE x.endpoint_id IN (SELECT endpoint_id FROM lane) AND x.locked_until < now()
  )
  ${LEASE_PICKED(5)}`;

/** Jobs by lane (claim token), each lane in event order. */
function byLane(jobs: Job[]): Job[][] {
  const lanes = new Map<string, Job[]>();
  for (const j of jobs.sort((a, b) => a.event_seq - b.event_seq)) {
    const lane = lanes.get(j.claim_token);
    if (lane) lane.push(j);
    else lanes.set(j.claim_token, [j]);
  }
  return [...lanes.values()];
}

/**
 * A lane asking to go on with its endpoint: taken only if all `expected` of its batch were still its own; up to
 * `size` deliveries, after event seq `after` (null: from the start of the endpoint's queue). With `last`, the lane
 * ends unless it gets some: the same statement closes it (deletes its row of webhook_lanes).
 */
interface LaneNext {
  endpointId: string;
  token: string;
  expected: number;
  size: number;
  after: number | null;
  last: boolean;
}

const isSuccess = (r: SendResult) => r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300;

interface Success {
  job: Job;
  attemptedAt: Date;
  result: SendResult;
  /** performance.now() when it was queued for writing. */
  queuedAt: number;
}

interface Job {
  id: string;
  claim_token: string;
  attempt_count: number;
  event_seq: number;
  event_id: string;
  type: EventType;
  created_at: Date;
  data: unknown;
  visibility: EventVisibility;
  endpoint_id: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  organization_id: string;
  org_kind: OrgKind;
}

export interface WorkerSettings {
  retrySchedule: number[];
  concurrency: number;
  endpointConcurrency: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  leaseSeconds: number;
  pollMs: number;
  /** Sleep until signalled (LISTEN/NOTIFY, or in-process on the embedded database); false = poll only. */
  wakeUp: boolean;
  disableAfterSeconds: number;
  allowNetworks: string[];
  /**
   * The longest a write of successes waits for the requests still in flight (see gatherSuccesses); by default
   * GATHER_MS on the embedded database and none on the server.
   */
  gatherMs?: number;
}

export const workerSettings = (c: Config): WorkerSettings => ({
  retrySchedule: c.webhookRetrySchedule,
  concurrency: c.webhookConcurrency,
  endpointConcurrency: c.webhookEndpointConcurrency,
  timeoutMs: c.webhookTimeoutMs,
  connectTimeoutMs: c.webhookConnectTimeoutMs,
  leaseSeconds: c.webhookLeaseSeconds,
  pollMs: c.webhookPollMs,
  wakeUp: c.webhookWakeUp,
  disableAfterSeconds: c.webhookDisableAfterSeconds,
  allowNetworks: c.webhookAllowNetworks,
});

/** Delay before attempt number `attempt` (0-based), jittered by ±10 % so a fleet of retries spreads out. */
function retryDelaySeconds(schedule: number[], attempt: number, random = Math.random): number | undefined {
  const base = schedule[attempt];
  if (base === undefined) return undefined;
  return base * (0.9 + 0.2 * random());
}

export class DeliveryWorker {
  private readonly sender: Sender;
  private readonly active = new Set<Promise<void>>();
  private running = false;
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  /** Set when capacity was freed, or a delivery signalled, while the loop was not asleep. */
  private freed = false;
  private signalled = false;
  /** Database signals received so far; a lane compares it across its last statement. */
  private signals = 0;
  /** The last claim took as many lanes as it could: more may be due. */
  private claimedAll = false;
  /** Lanes of this worker running now, by endpoint. */
  private readonly serving = new Map<string, number>();
  /** Attempts made so far (runOnce counts them). */
  private attempts = 0;
  /** While the loop sleeps: end the sleep now, or on a database signal (coalesced after an empty claim). */
  private onFreed: (() => void) | undefined;
  private onSignal: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private asleep = false;
  /** Lanes' successes waiting for the statement that records them, and that statement while it runs. */
  private successQueue: {
    batch: Success[];
    next: LaneNext | undefined;
    resolve: (r: { kept: boolean; next: Job[] }) => void;
    reject: (err: unknown) => void;
  }[] = [];
  private writingSuccesses: Promise<void> | undefined;
  /** Requests in flight now, and what ends a write's wait for them (see gatherSuccesses). */
  private sending = 0;
  private onAnswered: (() => void) | undefined;
  /**
   * Claims, leases and results go through connections that do not wait for the disk at commit: losing the last
   * of them in a crash of the server only means a delivery is sent again, which a crash of the worker between a
   * send and its commit means anyway (at least once; receivers de-duplicate by webhook-id). Waiting for the flush
   * was most of what a delivery cost on the server. Failures (which may disable an endpoint and record an event)
   * commit as everything else does.
   */
  private readonly book: Db;

  constructor(
    private readonly db: Db,
    private readonly settings: WorkerSettings,
    private readonly logger: Logger,
  ) {
    this.book = db.withoutCommitWait();
    this.sender = new Sender({
      policy: new AddressPolicy(settings.allowNetworks),
      timeoutMs: settings.timeoutMs,
      connectTimeoutMs: settings.connectTimeoutMs,
    });
  }

  get inFlight(): number {
    return this.active.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Stops claiming, then waits up to graceMs for deliveries in flight; what is left is re-leased elsewhere later. */
  async stop(graceMs = this.settings.timeoutMs): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.wakeNow();
    await this.loopDone;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.active]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    await this.sender.close().catch(() => undefined);
  }

  /**
   * Delivers what is due until nothing is (retries that fall due meanwhile included); resolves with the number
   * of attempts made. For tests and tools; a running worker does the same continuously.
   */
  async runOnce(): Promise<number> {
    const before = this.attempts;
    for (;;) {
      const started = await this.claimAndStart(this.settings.concurrency - this.active.size);
      await Promise.allSettled([...this.active]);
      if (!started) return this.attempts - before;
    }
  }

  /** Resolves once the running loop has nothing to do and sleeps (at once if it does now; for tests and tools). */
  whenIdle(): Promise<void> {
    if (this.asleep) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeNow(): void {
    this.freed = true;
    this.onFreed?.();
  }

  private wakeOnSignal(): void {
    this.signals++;
    this.signalled = true;
    this.onSignal?.();
  }

  private async loop(): Promise<void> {
    let unlisten: (() => Promise<void>) | undefined;
    if (this.settings.wakeUp) {
      try {
        unlisten = await this.db.listen(DELIVERY_SIGNAL, () => this.wakeOnSignal());
      } catch (err) {
        this.logger.warn({ err }, 'cannot listen for delivery signals; polling only');
      }
    }
    try {
      await this.work();
    } finally {
      await unlisten?.().catch(() => undefined);
    }
  }

  private async work(): Promise<void> {
    while (this.running) {
      this.freed = false;
      this.signalled = false;
      let started = 0;
      const free = this.settings.concurrency - this.active.size;
      if (free > 0) {
        try {
          started = await this.claimAndStart(free);
        } catch (err) {
          this.logger.error({ err }, 'claiming webhook deliveries failed');
        }
      }
      this.claimedAll = started > 0 && started === free;
      // Claimed a full batch: there may be more. Otherwise sleep until signalled, a slot frees, or the poll.
      if (this.claimedAll && this.active.size < this.settings.concurrency) continue;
      if (!this.running) break;
      await this.sleep(started > 0 ? 0 : performance.now() + SIGNAL_GAP_MS);
    }
  }

  /** Sleeps until capacity frees (at once), a database signal (not before quietUntil), or the poll interval. */
  private sleep(quietUntil: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let gap: NodeJS.Timeout | undefined;
      const done = () => {
        this.asleep = false;
        clearTimeout(poll);
        clearTimeout(gap);
        this.onFreed = undefined;
        this.onSignal = undefined;
        resolve();
      };
      const poll = setTimeout(done, this.settings.pollMs);
      this.onFreed = done;
      this.onSignal = () => {
        const wait = quietUntil - performance.now();
        if (wait <= 0) done();
        else gap ??= setTimeout(done, wait);
      };
      // Whatever happened while the last claim ran counts now.
      if (this.freed) done();
      else if (this.signalled) this.onSignal();
      else {
        this.asleep = true;
        for (const w of this.idleWaiters.splice(0)) w();
      }
    });
  }

  private async claimAndStart(free: number): Promise<number> {
    if (free <= 0) return 0;
    const lanes = this.db.engine === 'pglite' ? await this.claimAlone(free) : await this.claim(free);
    for (const lane of lanes) {
      let again = true;
      const endpoint = lane[0]!.endpoint_id;
      this.serving.set(endpoint, (this.serving.get(endpoint) ?? 0) + 1);
      const p: Promise<void> = this.runLane(lane)
        .then((more) => {
          again = more;
        })
        .catch((err: unknown) => this.logger.error({ err, endpoint }, 'webhook delivery failed unexpectedly'))
        .finally(() => {
          this.active.delete(p);
          const left = (this.serving.get(endpoint) ?? 1) - 1;
          if (left > 0) this.serving.set(endpoint, left);
          else this.serving.delete(endpoint);
          // A lane that ended because its endpoint had nothing more due frees a slot nobody is waiting for: a claim
          // now would find nothing that a signal has not announced (polling alone, it might).
          if (again || !this.settings.wakeUp || this.claimedAll) this.wakeNow();
        });
      this.active.add(p);
    }
    return lanes.length;
  }

  /**
   * Claims up to `free` lanes: one endpoint each, with up to BATCH of its oldest due deliveries, all under one
   * claim token and lease. A lane sends its deliveries one after another, so it is one request in flight.
   * Endpoints this worker already serves up to the per-endpoint bound are not even looked at.
   */
  private async claim(free: number): Promise<Job[][]> {
    const s = this.settings;
    const jobs = await this.book.transaction(async (tx) => {
      const { rows: endpoints } = await tx.query<{ id: string }>(
        `SELECT e.id FROM webhook_endpoints e
          WHERE e.status = 'enabled' AND e.id <> ALL($3::uuid[])
            AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND ${due(1)})
          ORDER BY e.claimed_at NULLS FIRST
          LIMIT $2
          FOR NO KEY UPDATE OF e SKIP LOCKED`,
        [s.retrySchedule[0] ?? 0, free, this.fullyServed()],
      );
      if (!endpoints.length) return [];
      // A new statement, so a new snapshot: it sees every lease committed by whoever held these locks before us.
      const { rows } = await tx.query<Job>(
        leaseLanes(
          `SELECT l.id AS endpoint_id, gen_random_uuid() AS token FROM unnest($2::uuid[]) AS l(id)
            WHERE ${UNDER_BOUND('l.id', 3)}`,
        ),
        [s.retrySchedule[0] ?? 0, endpoints.map((e) => e.id), s.endpointConcurrency, BATCH, s.leaseSeconds],
      );
      return rows;
    });
    return byLane(jobs);
  }

  /**
   * The claim on the embedded database, in one statement. There every statement runs alone on the one
   * connection, so the statement's snapshot already holds every lease committed before it, and nothing can commit
   * between its reading them and its leasing: the lock and the second snapshot the server needs buy nothing here,
   * while each statement and transaction costs the API its turn on the connection.
   */
  private async claimAlone(free: number): Promise<Job[][]> {
    const s = this.settings;
    const { rows } = await this.book.queryNamed<Job>(
      leaseLanes(
        `SELECT e.id AS endpoint_id, gen_random_uuid() AS token FROM webhook_endpoints e
          WHERE e.status = 'enabled' AND e.id <> ALL($6::uuid[])
            AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND ${due(1)})
            AND ${UNDER_BOUND('e.id', 3)}
          ORDER BY e.claimed_at NULLS FIRST
          LIMIT $2`,
      ),
      [s.retrySchedule[0] ?? 0, free, s.endpointConcurrency, BATCH, s.leaseSeconds, this.fullyServed()],
    );
    return byLane(rows);
  }

  /** Endpoints this worker's own lanes already serve up to the per-endpoint bound: no claim could open another. */
  private fullyServed(): string[] {
    return [...this.serving].filter(([, lanes]) => lanes >= this.settings.endpointConcurrency).map(([id]) => id);
  }

  /**
   * Sends a lane's deliveries in order; hands back what it cannot finish well inside its lease. Successes are
   * recorded behind the sends, in batches: a statement of them is written when WRITE_AT are queued or the oldest
   * has waited WRITE_AFTER_MS, and whatever is queued goes with the statement that takes the lane's next batch.
   * The statements are the database's largest cost per delivery and mostly a fixed one, so under a backlog a lane
   * pays about one per batch. A failure, a skip, a hand-back or the lane's end first writes and waits for what is
   * queued; a claim found lost (endpoint disabled or deleted meanwhile) stops the lane within one statement.
   * Successes sent but not yet written when a worker dies are sent again once their lease runs out, as a delivery
   * in flight is (at least once; receivers de-duplicate by webhook-id).
   *
   * A lane goes on with its endpoint without a claim: within MAX_ROUNDS, a statement that records successes also
   * leases the endpoint's next due deliveries to the same lane (same claim token). Under a backlog (a full batch)
   * that statement goes out halfway through the batch, so the next batch is there when this one ends and the lane
   * never waits for it; otherwise the batch's last success is held for it. The lane's token holds leases without
   * a break (the new ones are taken while the old ones run), so to every claim the endpoint stays one lane, and
   * the deliveries are taken oldest first, as a claim takes them. Resolves with whether the worker should claim
   * again now: false when the endpoint simply had nothing more due and no signal came after the lane last looked.
   */
  private async runLane(first: Job[]): Promise<boolean> {
    let lane = first;
    const token = first[0]!.claim_token;
    // Whether a statement has closed the lane (deleted its row); otherwise the lane's end does.
    let closed = false;
    let asked = BATCH;
    let leaseEnds = performance.now() + this.settings.leaseSeconds * 1000;
    const queued: Success[] = [];
    let recording: Promise<void> | undefined;
    let lost = false;
    let failure: unknown;
    // The batch's last success is held for the statement that also takes the next batch: a statement of earlier
    // successes that ends meanwhile must not take it along.
    let holding = false;
    // The statement taking the next batch while this one is sent (under a backlog), and when it was sent.
    let ahead: { result: Promise<{ kept: boolean; next: Job[] }>; sentAt: number } | undefined;
    const record = (force: boolean) => {
      if (recording || holding || !queued.length) return;
      if (!force && queued.length < WRITE_AT && performance.now() - queued[0]!.queuedAt < WRITE_AFTER_MS) return;
      const batch = queued.splice(0);
      recording = this.recordSuccesses(batch)
        .then(
          (r) => {
            if (!r.kept) lost = true;
          },
          (err: unknown) => {
            lost = true;
            failure ??= err;
          },
        )
        .finally(() => {
          recording = undefined;
          record(false);
        });
    };
    // Writes what is queued (unless held) and waits for every statement of the lane's successes.
    const drain = async () => {
      for (record(true); recording; record(true)) await recording;
      if (ahead) await ahead.result.catch(() => undefined);
    };
    const handBack = async (jobs: Job[]) => {
      if (!jobs.length) return;
      await this.book.query(
        `UPDATE webhook_deliveries SET locked_until = NULL, claim_token = NULL, updated_at = now() WHERE id = ANY($1::uuid[]) AND claim_token = $2`,
        [jobs.map((j) => j.id), jobs[0]!.claim_token],
      );
    };
    /** The next batch taken ahead, handed back when the lane ends before it gets to it. */
    const takenAhead = async (): Promise<Job[]> => {
      const taken = ahead;
      ahead = undefined;
      return taken ? ((await taken.result.catch(() => undefined))?.next ?? []) : [];
    };
    // The lane's requests go one after another, so they share one deadline timer and the endpoint's parsed URL.
    const line = this.sender.line();
    try {
      for (let round = 1; ; round++) {
        holding = false;
        const backlog = lane.length >= asked;
        const more = (round < MAX_ROUNDS || !this.claimedAll) && !this.stopping;
        const after = backlog && round % FULL_SCAN_EVERY !== 0 ? lane[lane.length - 1]!.event_seq : null;
        const size = backlog ? BACKLOG_BATCH : BATCH;
        const endpointId = lane[0]!.endpoint_id;
        const halfway = backlog && more ? Math.ceil(lane.length / 2) : -1;
        for (const [i, job] of lane.entries()) {
          if (lost) break;
          const last = performance.now() + this.settings.timeoutMs + LEASE_MARGIN_MS;
          if (i > 0 && (last > leaseEnds || this.stopping)) {
            await drain();
            await handBack([...lane.slice(i), ...(await takenAhead())]);
            return true;
          }
          if (i === halfway && queued.length && !ahead && !this.stopping) {
            // Under a backlog: record what is queued and take the next batch now, while this one goes on.
            const batch = queued.splice(0);
            const next = { endpointId, token, expected: batch.length, size, after, last: false };
            ahead = { result: this.recordSuccesses(batch, next), sentAt: performance.now() };
          }
          const sent = await this.attempt(job, line);
          if (sent && isSuccess(sent.result)) {
            queued.push({ job, ...sent, queuedAt: performance.now() });
            // Without a batch taken ahead, the batch's last success waits for the statement that takes the next.
            if (i < lane.length - 1 || ahead) record(false);
            else holding = true;
            continue;
          }
          await drain();
          if (lost) break;
          // Skipped (no longer visible) or failed: settled on its own, in order after the successes before it.
          const kept = sent ? await this.settleFailure(job, sent.attemptedAt, sent.result) : await this.skip(job);
          if (!kept) break;
        }
        if (ahead && !lost) {
          const { result, sentAt } = ahead;
          ahead = undefined;
          const r = await result;
          if (!r.kept) return true;
          if (r.next.length) {
            // The next batch is here: the successes still queued go with a later statement.
            holding = false;
            asked = size;
            lane = r.next;
            leaseEnds = sentAt + this.settings.leaseSeconds * 1000;
            continue;
          }
        }
        // A statement of earlier successes still running ends first; what is queued, the held success included,
        // goes with the statement that takes the next batch.
        while (recording) await recording;
        holding = false;
        if (failure) throw failure;
        // Lost, or the batch ended with a failure or a skip: the lane ends and the worker claims afresh.
        if (lost || !queued.length) {
          await handBack(await takenAhead());
          return true;
        }
        const batch = queued.splice(0);
        const signals = this.signals;
        // Asking for nothing more (size 0) when the lane may not go on: the statement then only closes it.
        const next = { endpointId, token, expected: batch.length, size: more ? size : 0, after, last: true };
        const sentAt = performance.now();
        const r = await this.recordSuccesses(batch, next);
        closed = !r.next.length;
        if (!r.kept) return true;
        // Nothing more due: claim again only if signalled since the statement looked (it may have missed that), or
        // if it looked only past the last event taken.
        if (!r.next.length) return !more || after !== null || this.signals !== signals;
        asked = size;
        lane = r.next;
        leaseEnds = sentAt + this.settings.leaseSeconds * 1000;
      }
    } finally {
      line.close();
      await drain();
      await handBack(await takenAhead()).catch(() => undefined);
      // Should this fail too, the lane stops counting when its lease runs out.
      if (!closed) await this.book.query('DELETE FROM webhook_lanes WHERE token = $1', [token]).catch(() => undefined);
    }
  }

  private async stillVisible(job: Job): Promise<boolean> {
    if (job.visibility === 'public') return true;
    const audience = { organizationId: job.organization_id, orgKind: job.org_kind };
    const r = await this.db.query(`SELECT 1 FROM events ev WHERE ev.id = $1 AND ${eventVisibility(audience, 2)}`, [
      job.event_id,
      job.organization_id,
    ]);
    return r.rows.length > 0;
  }

  /** Marks a delivery the organisation may no longer see as skipped; false when the claim was lost. */
  private async skip(job: Job): Promise<boolean> {
    const r = await this.book.query(
      `UPDATE webhook_deliveries SET status = 'skipped', last_error = 'the endpoint''s organisation may no longer see this event',
              locked_until = NULL, claim_token = NULL, completed_at = now(), updated_at = now()
        WHERE id = $1 AND claim_token = $2`,
      [job.id, job.claim_token],
    );
    return r.rowCount > 0;
  }

  /** One attempt: undefined when the event is no longer visible to the endpoint's organisation (nothing sent). */
  private async attempt(job: Job, line: SendLine): Promise<{ attemptedAt: Date; result: SendResult } | undefined> {
    if (job.visibility !== 'public' && !(await this.stillVisible(job))) return undefined;
    this.attempts++;
    const body = JSON.stringify(
      toEventEnvelope({ id: job.event_id, type: job.type, created_at: job.created_at, data: job.data }),
    );
    const now = new Date();
    const headers = {
      'webhook-id': job.event_id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signatureHeader(activeSecrets(job, now), job.event_id, now, body),
    };
    this.sending++;
    try {
      return { attemptedAt: now, result: await line.send(job.url, headers, body) };
    } finally {
      if (--this.sending === 0) this.onAnswered?.();
    }
  }

  /**
   * Logs a lane's batch of successful attempts and settles them; kept is false when some claim was lost meanwhile
   * (their attempts are logged, nothing else changes). With `next`, the same statement leases the endpoint's next
   * due deliveries to the lane, if every one of the batch was still its own. Batches of every lane share the
   * worker's statements: one is written at a time, and whatever the lanes hand in meanwhile goes into the next,
   * so ten endpoints receiving the same event cost one commit, not ten (on the embedded database, where
   * statements take turns, this is most of a delivery's cost).
   */
  private recordSuccesses(batch: Success[], next?: LaneNext): Promise<{ kept: boolean; next: Job[] }> {
    return new Promise((resolve, reject) => {
      this.successQueue.push({ batch, next, resolve, reject });
      this.writeQueuedSuccesses();
    });
  }

  /**
   * Writes what is queued, after the I/O already waiting has been read (setImmediate): on the embedded database a
   * statement holds the event loop while it runs, so answers that arrived meanwhile would otherwise each get a
   * statement of their own as soon as the previous one ends.
   */
  private writeQueuedSuccesses(): void {
    if (this.writingSuccesses || !this.successQueue.length) return;
    this.writingSuccesses = this.gatherSuccesses().then(async () => {
      const waiting = this.successQueue.splice(0);
      try {
        const { settled, leased } = await this.writeSuccesses(
          waiting.flatMap((w) => w.batch),
          waiting.flatMap((w) => (w.next ? [w.next] : [])),
        );
        for (const w of waiting) {
          const kept = w.batch.every((b) => settled.has(b.job.id));
          w.resolve({ kept, next: (w.next && leased.get(w.next.token)) ?? [] });
        }
      } catch (err) {
        for (const w of waiting) w.reject(err);
      } finally {
        this.writingSuccesses = undefined;
        this.writeQueuedSuccesses();
      }
    });
  }

  /**
   * Resolves when the successes queued should be written. On the embedded database every statement costs the
   * whole process several milliseconds of its one connection whatever its size, and the requests of one event
   * to its endpoints are answered a few milliseconds apart: writing as soon as the first answer is in made about
   * two statements per event. There the write waits until no request is in flight (each answer read and handed
   * in) or gatherMs passed, whichever comes first, so an event's answers share one statement. On the server,
   * where the statement runs on a connection of its own while the worker goes on, it waits for nothing more.
   */
  private async gatherSuccesses(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const gatherMs = this.settings.gatherMs ?? (this.db.engine === 'pglite' ? GATHER_MS : 0);
    if (gatherMs <= 0) return;
    const until = performance.now() + gatherMs;
    while (this.sending > 0 && !this.stopping) {
      const wait = until - performance.now();
      if (wait <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.onAnswered = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.onAnswered = undefined;
      // The last answer's lane hands its success in on the next turns of the event loop.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * One statement (atomic on its own): log every attempt, settle those whose claim holds, and lease each
   * continuing lane's next deliveries when its whole batch was settled, extending the lane's own lease with
   * theirs; a lane at its `last` that gets none is closed. Returns the ids settled and the jobs leased.
   */
  private async writeSuccesses(
    batch: Success[],
    lanes: LaneNext[],
  ): Promise<{ settled: Set<string>; leased: Map<string, Job[]> }> {
    const s = this.settings;
    const { rows } = await this.book.queryNamed<Job & { settled_ids: string[] | null }>(
      `WITH done AS (
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::int[], $5::text[], $6::bool[], $7::int[],
                              $8::uuid[])
                    AS x(id, attempted_at, duration_ms, status_code, response_body, response_truncated, attempt,
                         claim_token)
       ), attempt AS (
         INSERT INTO webhook_attempts
                (delivery_id, attempted_at, duration_ms, status_code, error, response_body, response_truncated)
         SELECT x.id, x.attempted_at, x.duration_ms, x.status_code, NULL, x.response_body, x.response_truncated
           FROM done x
          -- A lookup per attempt (OFFSET 0 keeps the subquery from becoming a join): as a join, a batch of a few
          -- thousand had the planner read and hash the whole table.
          WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = x.id OFFSET 0)
       ), settled AS (
         UPDATE webhook_deliveries d SET status = 'succeeded', attempt_count = x.attempt, last_error = NULL,
                locked_until = NULL, claim_token = NULL, updated_at = now(), completed_at = now()
           FROM done x
          -- The ids again as an index condition, for the same reason.
          WHERE d.id = ANY($1::uuid[]) AND d.id = x.id AND d.claim_token = x.claim_token
         RETURNING d.id, d.endpoint_id, x.claim_token AS token
       ), cleared AS (
         UPDATE webhook_endpoints SET failing_since = NULL
          WHERE id IN (SELECT endpoint_id FROM settled) AND failing_since IS NOT NULL
       ), lane AS (
         SELECT l.endpoint_id, l.token, l.size, l.after
           FROM unnest($9::uuid[], $10::uuid[], $11::int[], $13::int[], $15::bigint[])
                AS l(endpoint_id, token, expected, size, after)
          WHERE l.expected = (SELECT count(*) FROM settled s WHERE s.token = l.token)
       ), picked AS (
         SELECT d.id, lane.token FROM lane JOIN webhook_endpoints e ON e.id = lane.endpoint_id AND e.status = 'enabled',
           LATERAL (SELECT d.id FROM webhook_deliveries d
                     WHERE d.endpoint_id = lane.endpoint_id AND d.event_seq > COALESCE(lane.after, -1) AND ${due(12)}
                     ORDER BY ${DUE_ORDER} LIMIT lane.size FOR UPDATE SKIP LOCKED) d
       ), leased AS (
         ${LEASE_PICKED(14)}
       ), extended AS (
         ${LANE_LEASE(14)}
       ), ended AS (
         DELETE FROM webhook_lanes
          WHERE token IN (SELECT u.token FROM unnest($10::uuid[], $16::bool[]) AS u(token, last) WHERE u.last)
            AND token NOT IN (SELECT token FROM picked)
       )
       -- The ids settled once, on the first row: each row's copy of the array would be parsed again.
       SELECT CASE WHEN l.n IS NULL OR l.n = 1 THEN s.ids END AS settled_ids, l.*
         FROM (SELECT array_agg(id)::text[] AS ids FROM settled) s
         LEFT JOIN (SELECT leased.*, row_number() OVER () AS n FROM leased) l ON true
        ORDER BY l.n`,
      [
        batch.map((b) => b.job.id),
        batch.map((b) => b.attemptedAt),
        batch.map((b) => b.result.durationMs),
        batch.map((b) => b.result.statusCode),
        batch.map((b) => b.result.body),
        batch.map((b) => b.result.truncated),
        batch.map((b) => b.job.attempt_count + 1),
        batch.map((b) => b.job.claim_token),
        lanes.map((l) => l.endpointId),
        lanes.map((l) => l.token),
        lanes.map((l) => l.expected),
        s.retrySchedule[0] ?? 0,
        lanes.map((l) => l.size),
        s.leaseSeconds,
        lanes.map((l) => l.after),
        lanes.map((l) => l.last),
      ],
    );
    const jobs = rows.filter((r) => r.id !== null);
    const leased = new Map<string, Job[]>();
    for (const lane of byLane(jobs)) leased.set(lane[0]!.claim_token, lane);
    return { settled: new Set(rows[0]?.settled_ids ?? []), leased };
  }

  /** Logs a failed attempt and schedules the next (or fails the delivery); false when the claim was lost meanwhile. */
  private async settleFailure(job: Job, attemptedAt: Date, r: SendResult): Promise<boolean> {
    const error = r.error ?? `HTTP ${r.statusCode}`;
    const attempt = job.attempt_count + 1;
    let delay = retryDelaySeconds(this.settings.retrySchedule, attempt);
    if (delay !== undefined && r.retryAfterSeconds !== null) delay = Math.max(delay, r.retryAfterSeconds);
    const status = delay === undefined ? 'failed' : 'pending';
    return this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO webhook_attempts (delivery_id, attempted_at, duration_ms, status_code, error, response_body, response_truncated)
         SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $1)`,
        [job.id, attemptedAt, r.durationMs, r.statusCode, error, r.body, r.truncated],
      );
      const settled = await tx.query(
        `UPDATE webhook_deliveries
            SET status = $3, attempt_count = $4, last_error = $5, locked_until = NULL, claim_token = NULL, updated_at = now(),
                next_attempt_at = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $6) ELSE next_attempt_at END,
                completed_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END
          WHERE id = $1 AND claim_token = $2`,
        [job.id, job.claim_token, status, attempt, error, delay ?? 0],
      );
      // Lost the lease (the endpoint was disabled or deleted meanwhile): the attempt is logged, nothing else changes.
      if (!settled.rowCount) return false;
      const { rows } = await tx.query<{ failing_since: Date; long: boolean }>(
        `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, now()) WHERE id = $1
         RETURNING failing_since, failing_since <= now() - make_interval(secs => $2) AS long`,
        [job.endpoint_id, this.settings.disableAfterSeconds],
      );
      const endpoint = { id: job.endpoint_id, organization_id: job.organization_id, url: job.url };
      if (r.statusCode === 410) {
        await disableEndpoint(tx, endpoint, 'the endpoint answered 410 Gone', { notify: true });
      } else if (rows[0]?.long) {
        await disableEndpoint(tx, endpoint, `failing without a success since ${rows[0].failing_since.toISOString()}`, {
          notify: true,
        });
      } else return true;
      return false;
    });
  }
}
