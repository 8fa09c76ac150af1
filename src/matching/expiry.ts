/**
 * The hold expiry sweep. Live matches past expires_at read as expired at once (EFFECTIVE_STATUS); this sweep
 * makes it so for real: status expired, event match.expired, held units freed and offered to the waitlist, the
 * pilot's status settled. It runs beside the webhook worker in every process that runs one (and in
 * `npm run worker`); processes share the work through SKIP LOCKED, and a match leaves the live statuses in the
 * transaction that expires it, so no match is expired twice. There is no timer per hold.
 *
 * Lock order (pilots/lifecycle.ts): pilots, matches, slots. Due matches are found unlocked; their pilots and
 * then the matches themselves are taken with SKIP LOCKED, so a pilot being withdrawn or a match being decided is
 * never waited for (its live status already reads as expired; the next sweep finishes it); then their slots, in
 * id order.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import { expireMatch } from './holds.js';
import { settlePilot } from '../pilots/lifecycle.js';

/** Matches expired per transaction: short transactions keep locks brief. */
const BATCH = 50;

/** Expires up to `limit` due live matches in one transaction; returns how many it expired. */
export async function expireDueMatches(db: Db, limit = BATCH): Promise<number> {
  return (await expireBatch(db, limit)).expired;
}

/** One batch: how many due matches it found and how many of them it expired (the rest were busy elsewhere). */
async function expireBatch(db: Db, limit: number): Promise<{ found: number; expired: number }> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string; pilot_id: string }>(
      `SELECT id, pilot_id FROM matches
        WHERE status IN ('requested', 'proposed', 'accepted') AND expires_at <= now()
        ORDER BY expires_at, id LIMIT $1`,
      [limit],
    );
    if (!rows.length) return { found: 0, expired: 0 };
    // Pilots, matches, slots, each in id order; pilots and matches busy elsewhere are skipped.
    const { rows: free } = await tx.query<{ id: string }>(
      'SELECT id FROM pilots WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE SKIP LOCKED',
      [[...new Set(rows.map((m) => m.pilot_id))]],
    );
    const pilots = new Set(free.map((p) => p.id));
    const due = (
      await tx.query<{ id: string; pilot_id: string; slot_id: string }>(
        `SELECT id, pilot_id, slot_id FROM matches
          WHERE id = ANY($1::uuid[]) AND status IN ('requested', 'proposed', 'accepted') AND expires_at <= now()
          ORDER BY id FOR UPDATE SKIP LOCKED`,
        [rows.filter((m) => pilots.has(m.pilot_id)).map((m) => m.id)],
      )
    ).rows;
    await tx.query('SELECT id FROM slots WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE', [
      due.map((m) => m.slot_id),
    ]);
    const locked = new Set(due.map((m) => m.id));
    for (const m of rows) if (locked.has(m.id)) await expireMatch(tx, m.id);
    for (const pilotId of new Set(due.map((m) => m.pilot_id))) await settlePilot(tx, pilotId);
    return { found: rows.length, expired: due.length };
  });
}

/**
 * Sweeps until nothing is due; returns how many matches it expired. A full batch means more may be due; a batch
 * that expired nothing (all busy elsewhere) ends the sweep, so busy matches never make it spin.
 */
export async function sweepHolds(db: Db): Promise<number> {
  let total = 0;
  for (;;) {
    const { found, expired } = await expireBatch(db, BATCH);
    total += expired;
    if (found < BATCH || expired === 0) return total;
  }
}

export class HoldSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly everyMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = sweepHolds(this.db)
        .then((n) => {
          if (n) this.logger.info({ expired: n }, 'expired holds');
        })
        .catch((err: unknown) => this.logger.error({ err }, 'hold expiry sweep failed'))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
