/**
 * The delivery worker. Any number of them (one inside each API process by default, or `npm run worker`
 * processes) share the deliveries through PostgreSQL:
 *
 *   claim    one short transaction: lock endpoints that have due work (FOR NO KEY UPDATE SKIP LOCKED, so two
 *            workers never claim for the same endpoint at once and neither waits), count what is already in
 *            flight to each, and lease their oldest due deliveries (FOR UPDATE SKIP LOCKED) up to the
 *            per-endpoint bound. The lease (locked_until) outlives the request deadline; a worker that dies
 *            mid-delivery leaves deliveries that fall due again when it runs out.
 *   deliver  outside any transaction: re-check that the endpoint's organisation may still see the event, sign
 *            (Standard Webhooks) and POST with the hardened sender.
 *   settle   log the attempt; on 2xx succeed (successes of a lane are logged and settled in batches, one statement
 *            each, while the lane's next requests go out), otherwise in one transaction schedule the next attempt
 *            (with jitter, no sooner than Retry-After) or fail; 410 Gone, or failing for too long, disables the endpoint.
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
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { OrgKind } from '../core/principal.js';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { EventType, EventVisibility } from '../events/catalog.js';
import { toEventEnvelope } from '../events/envelope.js';
import { DELIVERY_SIGNAL } from '../events/outbox.js';
import { eventVisibility } from '../events/visibility.js';
import { Sender, type SendResult } from './sender.js';
import { disableEndpoint } from './service.js';
import { activeSecrets, signatureHeader } from './signing.js';
import { AddressPolicy } from './ssrf.js';

/** Deliveries one lane claims for its endpoint at once. */
const BATCH = 20;
/** A lane stops taking new deliveries this long before its lease could run out mid-request. */
const LEASE_MARGIN_MS = 2000;
/**
 * After a claim that found nothing it could take, database signals are coalesced for this long: under a burst
 * every commit signals, and while each endpoint already has its bound in flight another claim would find
 * nothing again. A lane that finishes wakes the worker at once regardless.
 */
const SIGNAL_GAP_MS = 5;

const isSuccess = (r: SendResult) => r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300;

interface Success {
  job: Job;
  attemptedAt: Date;
  result: SendResult;
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
export function retryDelaySeconds(schedule: number[], attempt: number, random = Math.random): number | undefined {
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
  /** While the loop sleeps: end the sleep now, or on a database signal (coalesced after an empty claim). */
  private onFreed: (() => void) | undefined;
  private onSignal: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private asleep = false;
  /** Lanes' successes waiting for the statement that records them, and that statement while it runs. */
  private successQueue: { batch: Success[]; resolve: (kept: boolean) => void; reject: (err: unknown) => void }[] = [];
  private writingSuccesses: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly settings: WorkerSettings,
    private readonly logger: Logger,
  ) {
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
    let total = 0;
    for (;;) {
      const started = await this.claimAndStart(this.settings.concurrency - this.active.size);
      await Promise.allSettled([...this.active]);
      if (!started) return total;
      total += started;
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
      // Claimed a full batch: there may be more. Otherwise sleep until signalled, a slot frees, or the poll.
      if (started > 0 && started === free && this.active.size < this.settings.concurrency) continue;
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
    const lanes = await this.claim(free);
    for (const lane of lanes) {
      const p: Promise<void> = this.runLane(lane)
        .catch((err: unknown) =>
          this.logger.error({ err, endpoint: lane[0]?.endpoint_id }, 'webhook delivery failed unexpectedly'),
        )
        .finally(() => {
          this.active.delete(p);
          this.wakeNow();
        });
      this.active.add(p);
    }
    return lanes.length;
  }

  /**
   * Claims up to `free` lanes: one endpoint each, with up to BATCH of its oldest due deliveries, all under one
   * claim token and lease. A lane sends its deliveries one after another, so it is one request in flight.
   */
  private async claim(free: number): Promise<Job[][]> {
    const s = this.settings;
    const first = s.retrySchedule[0] ?? 0;
    const due = `d.status = 'pending' AND (d.locked_until IS NULL OR d.locked_until < now())
      AND d.next_attempt_at + CASE WHEN d.attempt_count = 0 THEN make_interval(secs => $1) ELSE interval '0' END <= now()`;
    const jobs = await this.db.transaction(async (tx) => {
      const { rows: endpoints } = await tx.query<{ id: string }>(
        `SELECT e.id FROM webhook_endpoints e
          WHERE e.status = 'enabled'
            AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND ${due})
          ORDER BY e.claimed_at NULLS FIRST
          LIMIT $2
          FOR NO KEY UPDATE OF e SKIP LOCKED`,
        [first, free],
      );
      if (!endpoints.length) return [];
      // A new statement, so a new snapshot: it sees every lease committed by whoever held these locks before us.
      const { rows: busy } = await tx.query<{ endpoint_id: string; lanes: number }>(
        `SELECT endpoint_id, count(DISTINCT claim_token)::int AS lanes FROM webhook_deliveries
          WHERE endpoint_id = ANY($1::uuid[]) AND locked_until IS NOT NULL AND locked_until >= now() GROUP BY endpoint_id`,
        [endpoints.map((e) => e.id)],
      );
      const lanes = new Map(busy.map((b) => [b.endpoint_id, b.lanes]));
      const open = endpoints.filter((e) => (lanes.get(e.id) ?? 0) < s.endpointConcurrency);
      if (!open.length) return [];
      const { rows } = await tx.query<Job>(
        `WITH lane AS (
           SELECT * FROM unnest($2::uuid[], $3::uuid[]) AS l(endpoint_id, token)
         ), picked AS (
           SELECT d.id, lane.token FROM lane,
             LATERAL (SELECT d.id FROM webhook_deliveries d WHERE d.endpoint_id = lane.endpoint_id AND ${due}
                       ORDER BY d.event_seq, d.created_at LIMIT $4 FOR UPDATE SKIP LOCKED) d
         ), touched AS (
           UPDATE webhook_endpoints SET claimed_at = now() WHERE id = ANY($2::uuid[])
         )
         UPDATE webhook_deliveries d SET locked_until = now() + make_interval(secs => $5), claim_token = picked.token, updated_at = now()
           FROM picked, events ev, webhook_endpoints w, organizations o
          WHERE d.id = picked.id AND ev.id = d.event_id AND w.id = d.endpoint_id AND o.id = w.organization_id
         RETURNING d.id, d.claim_token, d.attempt_count, d.event_seq, ev.id AS event_id, ev.type, ev.created_at, ev.data, ev.visibility,
                   w.id AS endpoint_id, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at, w.organization_id, o.kind AS org_kind`,
        [first, open.map((e) => e.id), open.map(() => randomUUID()), BATCH, s.leaseSeconds],
      );
      return rows;
    });
    const byLane = new Map<string, Job[]>();
    for (const j of jobs.sort((a, b) => a.event_seq - b.event_seq))
      byLane.set(j.claim_token, [...(byLane.get(j.claim_token) ?? []), j]);
    return [...byLane.values()];
  }

  /**
   * Sends a lane's deliveries in order; hands back what it cannot finish well inside its lease. Successes are
   * recorded behind the sends: while one batch of them commits (one statement), the next requests go out and
   * their successes queue for the following commit, so a busy endpoint pays a commit per batch rather than per
   * delivery. A failure, a skip, a hand-back or the lane's end first waits for what is queued; a claim found
   * lost (endpoint disabled or deleted meanwhile) stops the lane within one commit.
   */
  private async runLane(lane: Job[]): Promise<void> {
    const leaseEnds = performance.now() + this.settings.leaseSeconds * 1000;
    const queued: Success[] = [];
    let recording: Promise<void> | undefined;
    let lost = false;
    let failure: unknown;
    const record = () => {
      if (recording || !queued.length) return;
      const batch = queued.splice(0);
      recording = this.recordSuccesses(batch)
        .then(
          (kept) => {
            if (!kept) lost = true;
          },
          (err: unknown) => {
            lost = true;
            failure ??= err;
          },
        )
        .finally(() => {
          recording = undefined;
          record();
        });
    };
    const drain = async () => {
      while (recording) await recording;
    };
    try {
      for (const [i, job] of lane.entries()) {
        if (lost) break;
        const last = performance.now() + this.settings.timeoutMs + LEASE_MARGIN_MS;
        if (i > 0 && (last > leaseEnds || this.stopping)) {
          await drain();
          const rest = lane.slice(i);
          await this.db.query(
            `UPDATE webhook_deliveries SET locked_until = NULL, claim_token = NULL, updated_at = now() WHERE id = ANY($1::uuid[]) AND claim_token = $2`,
            [rest.map((j) => j.id), job.claim_token],
          );
          return;
        }
        const sent = await this.attempt(job);
        if (sent && isSuccess(sent.result)) {
          queued.push({ job, ...sent });
          record();
          continue;
        }
        await drain();
        if (lost) break;
        // Skipped (no longer visible) or failed: settled on its own, in order after the successes before it.
        const kept = sent ? await this.settleFailure(job, sent.attemptedAt, sent.result) : await this.skip(job);
        if (!kept) break;
      }
    } finally {
      await drain();
    }
    if (failure) throw failure;
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
    const r = await this.db.query(
      `UPDATE webhook_deliveries SET status = 'skipped', last_error = 'the endpoint''s organisation may no longer see this event',
              locked_until = NULL, claim_token = NULL, completed_at = now(), updated_at = now()
        WHERE id = $1 AND claim_token = $2`,
      [job.id, job.claim_token],
    );
    return r.rowCount > 0;
  }

  /** One attempt: undefined when the event is no longer visible to the endpoint's organisation (nothing sent). */
  private async attempt(job: Job): Promise<{ attemptedAt: Date; result: SendResult } | undefined> {
    if (!(await this.stillVisible(job))) return undefined;
    const body = JSON.stringify(
      toEventEnvelope({ id: job.event_id, type: job.type, created_at: job.created_at, data: job.data }),
    );
    const now = new Date();
    const headers = {
      'webhook-id': job.event_id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': signatureHeader(activeSecrets(job, now), job.event_id, now, body),
    };
    const attemptedAt = new Date();
    return { attemptedAt, result: await this.sender.send(job.url, headers, body) };
  }

  /**
   * Logs a lane's batch of successful attempts and settles them; false when some claim was lost meanwhile (their
   * attempts are logged, nothing else changes). Batches of every lane share the worker's statements: one is
   * written at a time, and whatever the lanes hand in meanwhile goes into the next, so ten endpoints receiving
   * the same event cost one commit, not ten (on the embedded database, where statements take turns, this is
   * most of a delivery's cost).
   */
  private recordSuccesses(batch: Success[]): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.successQueue.push({ batch, resolve, reject });
      this.writeQueuedSuccesses();
    });
  }

  private writeQueuedSuccesses(): void {
    if (this.writingSuccesses || !this.successQueue.length) return;
    const waiting = this.successQueue.splice(0);
    this.writingSuccesses = this.writeSuccesses(waiting.flatMap((w) => w.batch))
      .then(
        (settled) => {
          for (const w of waiting) w.resolve(w.batch.every((b) => settled.has(b.job.id)));
        },
        (err: unknown) => {
          for (const w of waiting) w.reject(err);
        },
      )
      .finally(() => {
        this.writingSuccesses = undefined;
        this.writeQueuedSuccesses();
      });
  }

  /** One statement (atomic on its own): log every attempt, settle those whose claim holds; the ids settled. */
  private async writeSuccesses(batch: Success[]): Promise<Set<string>> {
    const { rows } = await this.db.query<{ id: string }>(
      `WITH done AS (
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::int[], $5::text[], $6::bool[], $7::int[], $8::uuid[])
                    AS x(id, attempted_at, duration_ms, status_code, response_body, response_truncated, attempt, claim_token)
       ), attempt AS (
         INSERT INTO webhook_attempts (delivery_id, attempted_at, duration_ms, status_code, error, response_body, response_truncated)
         SELECT x.id, x.attempted_at, x.duration_ms, x.status_code, NULL, x.response_body, x.response_truncated FROM done x
          WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = x.id)
       ), settled AS (
         UPDATE webhook_deliveries d SET status = 'succeeded', attempt_count = x.attempt, last_error = NULL, locked_until = NULL,
                claim_token = NULL, updated_at = now(), completed_at = now()
           FROM done x
          WHERE d.id = x.id AND d.claim_token = x.claim_token RETURNING d.id, d.endpoint_id
       ), cleared AS (
         UPDATE webhook_endpoints SET failing_since = NULL WHERE id IN (SELECT endpoint_id FROM settled) AND failing_since IS NOT NULL
       )
       SELECT id FROM settled`,
      [
        batch.map((b) => b.job.id),
        batch.map((b) => b.attemptedAt),
        batch.map((b) => b.result.durationMs),
        batch.map((b) => b.result.statusCode),
        batch.map((b) => b.result.body),
        batch.map((b) => b.result.truncated),
        batch.map((b) => b.job.attempt_count + 1),
        batch.map((b) => b.job.claim_token),
      ],
    );
    return new Set(rows.map((r) => r.id));
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
