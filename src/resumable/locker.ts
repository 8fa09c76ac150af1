/**
 * One writer per upload at a time, across every API process sharing the database (the @tus/server locker).
 *
 * In a process, requests for one upload queue on an in-memory lock; on the PostgreSQL server each holder also
 * takes a session-level advisory lock on a connection of its own (the lock session), so a request on another
 * process waits for it. tus asks a holder to stop when a newer request for the same upload arrives (a client
 * retrying after a broken connection must not wait for the old request to time out): in the process through
 * the holder's release callback, as @tus/server's MemoryLocker does, and from another process by NOTIFY on
 * the lock session. The holder then ends its write gracefully within @tus/server's lockDrainTimeout, keeping
 * the bytes it received, and answers its client with the offset it reached. A request that still cannot have
 * the lock after the wait answers 423 `upload-locked`.
 *
 * Advisory locks die with their session: a crashed process, or one whose connection to the database broke,
 * holds nothing. When the lock session breaks, every holder in the process is asked to stop at once (another
 * process may now take its uploads over). The session sets TCP keepalives so that the server notices a
 * vanished host within seconds, and closes itself when no lock has been held for a while.
 * On the embedded database (one process only) the in-memory lock is all there is.
 */
import pg from 'pg';
import type { Lock, Locker, RequestRelease } from '@tus/utils';
import { AppError } from '../core/errors.js';
import type { Config } from '../config.js';
import { DbError, translatePgError } from '../db/errors.js';

/** The channel on which a process asks the holder of an upload's lock to let go; the payload is the upload id. */
const CHANNEL = 'tus_upload_release';
/** Advisory lock keys of uploads, in the same form as the other advisory locks of the service. */
const KEY = `hashtextextended('tus-upload:' || $1::text, 0)`;
/** First pause between attempts on a lock another process holds; doubled up to POLL_MAX_MS. */
const POLL_MIN_MS = 20;
const POLL_MAX_MS = 250;
/** Ask the other process again this often, in case a notification was missed (its session reconnecting). */
const ASK_AGAIN_MS = 1000;
/** An unused lock session closes after this long. */
const SESSION_IDLE_MS = 30_000;
/** Longest wait for a lock; a waiting request reads nothing, so it stays well inside the body's idle deadline. */
const MAX_WAIT_MS = 10_000;

/** The locker for @tus/server: across processes on the PostgreSQL server, in memory on the embedded database. */
export function uploadLocker(config: Pick<Config, 'databaseUrl' | 'requestIdleTimeoutSeconds'>): Locker {
  const timeoutMs = Math.min(MAX_WAIT_MS, (config.requestIdleTimeoutSeconds * 1000) / 2);
  return new UploadLocker(timeoutMs, config.databaseUrl ? new LockSession(config.databaseUrl) : undefined);
}

function uploadLocked(waitedMs: number): AppError {
  return new AppError(
    423,
    'upload-locked',
    'Locked',
    `Another request is writing this upload and did not let go within ${Math.round(waitedMs / 100) / 10} s; ` +
      'ask HEAD for the offset and send again.',
  );
}

interface Holder {
  requestRelease: RequestRelease;
  /** Resolves when this holder lets go (or gives up trying). */
  gone: Promise<void>;
  done: () => void;
  /** The lock session that holds its advisory lock (undefined: none, or lost). */
  session?: pg.Client;
}

class UploadLocker implements Locker {
  private readonly holders = new Map<string, Holder>();
  private waiting = 0;

  constructor(
    readonly timeoutMs: number,
    private readonly session?: LockSession,
  ) {
    session?.attach(
      (id) => void this.holders.get(id)?.requestRelease(),
      (client) => {
        for (const holder of this.holders.values()) {
          if (holder.session !== client) continue;
          holder.session = undefined;
          void holder.requestRelease();
        }
      },
    );
  }

  newLock(id: string): Lock {
    let holder: Holder | undefined;
    return {
      lock: async (signal, requestRelease) => {
        holder = await this.acquire(id, signal, requestRelease);
      },
      unlock: async () => {
        if (!holder) throw new Error(`unlocking upload ${id}, which this request does not hold`);
        const h = holder;
        holder = undefined;
        await this.release(id, h);
      },
    };
  }

  private async acquire(id: string, signal: AbortSignal, requestRelease: RequestRelease): Promise<Holder> {
    const started = Date.now();
    const deadline = started + this.timeoutMs;
    let pause = POLL_MIN_MS;
    let askedAt = -Infinity;
    this.waiting++;
    try {
      for (;;) {
        if (signal.aborted) throw uploadLocked(Date.now() - started);
        const local = this.holders.get(id);
        if (local) {
          // A request of this process holds it (or is taking it): ask it to stop.
          await local.requestRelease();
        } else {
          let done!: () => void;
          const gone = new Promise<void>((resolve) => (done = resolve));
          const holder: Holder = { requestRelease, gone, done };
          this.holders.set(id, holder);
          let client: pg.Client | undefined;
          try {
            client = this.session ? await this.session.tryLock(id) : undefined;
          } catch (err) {
            this.forget(id, holder);
            throw err;
          }
          if (!this.session || client) {
            holder.session = client;
            return holder;
          }
          // Another process holds it: ask it to stop (again now and then), and try again shortly.
          this.forget(id, holder);
          if (Date.now() - askedAt >= ASK_AGAIN_MS) {
            askedAt = Date.now();
            await this.session.ask(id);
          }
        }
        if (Date.now() >= deadline) throw uploadLocked(Date.now() - started);
        if (local) await until(local.gone, deadline, signal);
        else {
          await until(sleep(pause), deadline, signal);
          pause = Math.min(pause * 2, POLL_MAX_MS);
        }
      }
    } finally {
      this.waiting--;
      this.session?.idle(this.holders.size === 0 && this.waiting === 0);
    }
  }

  private async release(id: string, holder: Holder): Promise<void> {
    try {
      // The advisory lock first: until it is gone, no other request of this process may take the upload.
      if (holder.session) await this.session?.unlock(holder.session, id);
    } finally {
      this.forget(id, holder);
      this.session?.idle(this.holders.size === 0 && this.waiting === 0);
    }
  }

  private forget(id: string, holder: Holder): void {
    if (this.holders.get(id) === holder) this.holders.delete(id);
    holder.done();
  }
}

/** Resolves when p does, at the deadline, or when signal aborts; whichever comes first. */
function until(p: Promise<unknown>, deadline: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      resolve();
    }
    signal.addEventListener('abort', finish, { once: true });
    void p.then(finish, finish);
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The connection that holds this process's upload locks and hears requests to release them. Opened on the
 * first lock, closed after SESSION_IDLE_MS without one. Queries on it run one at a time, in order.
 */
class LockSession {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private onRelease: (id: string) => void = () => undefined;
  private onLost: (client: pg.Client) => void = () => undefined;

  constructor(private readonly connectionString: string) {}

  attach(onRelease: (id: string) => void, onLost: (client: pg.Client) => void): void {
    this.onRelease = onRelease;
    this.onLost = onLost;
  }

  /** Takes the upload's advisory lock: answers the session that holds it, or undefined when another does. */
  async tryLock(id: string): Promise<pg.Client | undefined> {
    const client = await this.connect();
    const { rows } = await run(() => client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${KEY}) AS ok`, [id]));
    return rows[0]?.ok ? client : undefined;
  }

  async unlock(client: pg.Client, id: string): Promise<void> {
    // A lost session released everything already; a new one never held this lock.
    if (client !== this.client) return;
    await client.query(`SELECT pg_advisory_unlock(${KEY})`, [id]).catch(() => undefined);
  }

  /** Asks whichever process holds the upload's lock to let go. */
  async ask(id: string): Promise<void> {
    const client = await this.connect();
    await run(() => client.query('SELECT pg_notify($1, $2)', [CHANNEL, id]));
  }

  /** Told after each lock and unlock whether any lock is held or awaited; closes the session after a while if not. */
  idle(unused: boolean): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (!unused || !this.client) return;
    this.idleTimer = setTimeout(() => void this.close(), SESSION_IDLE_MS);
    this.idleTimer.unref();
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private connect(): Promise<pg.Client> {
    clearTimeout(this.idleTimer);
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.connectionString,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      // The server drops a vanished host's session, and with it its locks, within about 25 s.
      options: '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3',
    });
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      this.onLost(client);
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (m) => {
      if (m.channel === CHANNEL && m.payload) this.onRelease(m.payload);
    });
    try {
      await run(() => client.connect());
      await run(() => client.query(`LISTEN ${CHANNEL}`));
    } catch (err) {
      client.removeListener('end', lost);
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    return client;
  }
}

/** The database's errors as the API answers them: an unreachable database is 503 `database-unavailable`. */
async function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const e = translatePgError(err);
    if (e instanceof DbError && e.kind === 'unavailable') {
      throw new AppError(
        503,
        'database-unavailable',
        'Service unavailable',
        'The database cannot be reached right now; retry later.',
      );
    }
    throw e;
  }
}
