/**
 * One small interface over both engines: embedded PGlite (PostgreSQL compiled to WASM, in-process) and a
 * PostgreSQL server through node-postgres. Everything above this file speaks plain parameterised SQL.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import { PGlite, parse as pgliteParse, protocol } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { translatePgError } from './errors.js';

interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Runs a script of several statements without parameters (migrations, test resets). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly engine: 'pglite' | 'postgres';
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Calls onSignal after each commit of a transaction that ran pg_notify(channel, …): from any process on the
   * server, from this one on the embedded database (which only this process can open). On the server it is
   * also called when a lost listening connection is back, since signals sent meanwhile are gone. Resolves
   * with a function that stops listening.
   */
  listen(channel: string, onSignal: () => void): Promise<() => Promise<void>>;
  /**
   * query() for a hot statement outside any transaction, kept parsed by name: the server names every statement
   * anyway; the embedded database otherwise parses and plans each one anew, which for a large statement costs
   * far more than running it.
   */
  queryNamed<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /**
   * The same database through connections whose commits do not wait for the write-ahead log to reach disk
   * (synchronous_commit = off): what they commit is visible to everyone at once, as usual, but a crash of the
   * server may lose the last fraction of a second of it. Only for bookkeeping whose loss is repaired anyway (the
   * delivery worker's leases and results: a lost one means a delivery is sent again). Closed with this Db. On the
   * embedded database, where nothing waits for a disk flush at commit by the server, it is this Db.
   */
  withoutCommitWait(): Db;
  close(): Promise<void>;
}

const CHANNEL = /^[a-z_][a-z0-9_]*$/;

const INT8 = 20;
const NUMERIC = 1700;

// Counts and sums come back as int8/numeric; they are well inside double range here, so numbers beat strings.
pg.types.setTypeParser(INT8, (v) => Number(v));
pg.types.setTypeParser(NUMERIC, (v) => Number(v));

async function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translatePgError(err);
  }
}

class PgliteDb implements Db {
  readonly engine = 'pglite' as const;
  constructor(
    private readonly pglite: PGlite,
    private readonly lock?: DataDirLock,
  ) {}

  query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    return run(async () => {
      const r = await this.pglite.query<T>(sql, params);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    });
  }

  exec(sql: string): Promise<void> {
    return run(async () => {
      await this.pglite.exec(sql);
    });
  }

  /** Named statements of this database: name and parameter types, by text. */
  private readonly named = new Map<string, { name: string; types: number[] }>();

  queryNamed<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    const name = statementName(sql);
    if (!name) return this.query<T>(sql, params);
    const { serialize } = protocol;
    const pglite = this.pglite;
    // Like query(): not inside another caller's transaction, and alone on the connection.
    return run(() =>
      pglite._runExclusiveTransaction(() =>
        pglite.runExclusive(async () => {
          let statement = this.named.get(sql);
          if (!statement) {
            const described = await pglite.execProtocol(
              Buffer.concat([
                serialize.parse({ name, text: sql, types: [] }),
                serialize.describe({ type: 'S', name }),
                serialize.sync(),
              ]),
            );
            statement = { name, types: pgliteParse.parseDescribeStatementResults(described.messages) };
            this.named.set(sql, statement);
          }
          const types = statement.types;
          const values = params.map((v, i) => {
            if (v === null || v === undefined) return null;
            const serializer = pglite.serializers[types[i]!];
            return serializer ? (serializer(v) as string) : String(v);
          });
          const { messages } = await pglite.execProtocol(
            Buffer.concat([
              serialize.bind({ statement: statement.name, values }),
              serialize.describe({ type: 'P' }),
              serialize.execute({}),
              serialize.sync(),
            ]),
          );
          const r = pgliteParse.parseResults(messages, pglite.parsers)[0]!;
          return { rows: r.rows as T[], rowCount: r.affectedRows ?? r.rows.length };
        }),
      ),
    );
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return run(() =>
      this.pglite.transaction(async (tx) =>
        fn({
          query: async <R>(sql: string, params: unknown[] = []) => {
            const r = await run(() => tx.query<R>(sql, params));
            return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
          },
          exec: async (sql: string) => {
            await run(() => tx.exec(sql));
          },
        }),
      ),
    );
  }

  withoutCommitWait(): Db {
    return this;
  }

  async listen(channel: string, onSignal: () => void): Promise<() => Promise<void>> {
    if (!CHANNEL.test(channel)) throw new Error(`not a channel name: ${channel}`);
    // PGlite hands notifications to its listeners when the notifying transaction commits, in this process.
    const unlisten = await this.pglite.listen(channel, () => onSignal());
    return () => (this.pglite.closed ? Promise.resolve() : unlisten());
  }

  async close(): Promise<void> {
    try {
      await this.pglite.close();
    } finally {
      this.lock?.release();
    }
  }
}

/**
 * Named statements are parsed and planned once per connection and then reused; the name is a digest of the
 * text, so the same SQL always maps to the same statement. Our SQL is a fixed set of constant strings.
 */
const statementNames = new Map<string, string>();
const MAX_NAMED_STATEMENTS = 2000;
function statementName(sql: string): string | undefined {
  let name = statementNames.get(sql);
  if (!name) {
    // A runaway set of distinct texts would be a bug elsewhere; past the cap, statements simply go unnamed.
    if (statementNames.size >= MAX_NAMED_STATEMENTS) return undefined;
    name = 's' + createHash('sha1').update(sql).digest('hex').slice(0, 20);
    statementNames.set(sql, name);
  }
  return name;
}

class ServerDb implements Db {
  readonly engine = 'postgres' as const;
  private relaxed: ServerDb | undefined;
  constructor(
    private readonly pool: pg.Pool,
    private readonly connectionString: string,
    private readonly relaxedCommit = false,
  ) {}

  withoutCommitWait(): Db {
    if (this.relaxedCommit) return this;
    // A few connections of its own: the worker runs a claim and one statement of results at a time.
    this.relaxed ??= new ServerDb(
      serverPool(this.connectionString, RELAXED_POOL_SIZE, 'synchronous_commit=off'),
      this.connectionString,
      true,
    );
    return this.relaxed;
  }

  query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    return run(async () => {
      const r = await this.pool.query({ name: statementName(sql), text: sql, values: params });
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    });
  }

  queryNamed<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    return this.query<T>(sql, params);
  }

  exec(sql: string): Promise<void> {
    // Without parameters node-postgres uses the simple protocol, which accepts several statements.
    return run(async () => {
      await this.pool.query(sql);
    });
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await run(() => this.pool.connect());
    try {
      await client.query('BEGIN');
      const result = await fn({
        query: async <R>(sql: string, params: unknown[] = []) => {
          const r = await run(() => client.query({ name: statementName(sql), text: sql, values: params }));
          return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
        },
        exec: async (sql: string) => {
          await run(() => client.query(sql));
        },
      });
      await run(() => client.query('COMMIT'));
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw translatePgError(err);
    } finally {
      client.release();
    }
  }

  async listen(channel: string, onSignal: () => void): Promise<() => Promise<void>> {
    if (!CHANNEL.test(channel)) throw new Error(`not a channel name: ${channel}`);
    const listener = new Listener(this.connectionString, channel, onSignal);
    await listener.open();
    return () => listener.close();
  }

  async close(): Promise<void> {
    const relaxed = this.relaxed;
    this.relaxed = undefined;
    await Promise.all([this.pool.end(), relaxed?.close()]);
  }
}

const RELAXED_POOL_SIZE = 4;

function serverPool(connectionString: string, max: number, setting?: string): pg.Pool {
  // A server that stops answering (rather than refusing) must fail a request within seconds, not hang it.
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    ...(setting ? { options: `-c ${setting}` } : {}),
  });
  // An idle client that errors (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * LISTEN needs a session of its own, outside the pool. When that connection drops (server restart, network)
 * it reconnects every RECONNECT_MS and then signals once, as notifications sent meanwhile were not queued
 * for it; the caller's own polling covers the gap.
 */
const RECONNECT_MS = 1000;
class Listener {
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly connectionString: string,
    private readonly channel: string,
    private readonly onSignal: () => void,
  ) {}

  /** The first connection must work (a wrong URL should fail loudly); later ones are retried. */
  async open(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    const lost = () => this.lost(client);
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (m) => {
      if (m.channel === this.channel) this.onSignal();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (err) {
      client.removeListener('end', lost);
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  private lost(client: pg.Client): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.schedule();
  }

  private schedule(): void {
    if (this.retry || this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect().then(
        () => this.onSignal(),
        () => this.schedule(),
      );
    }, RECONNECT_MS);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

/**
 * PostgreSQL's default buffer cache (128 MB) is allocated and touched inside PGlite's WASM memory at start-up,
 * so it is resident whether used or not. The embedded database serves a laptop or a small site whose working set
 * is a few MB: 32 MB keeps it cached and takes about 100 MiB off the idle process (measured in bench/RESULTS.md).
 */
const EMBEDDED_SHARED_BUFFERS = '32MB';

export interface DbOptions {
  databaseUrl?: string;
  /** Embedded database directory, or "memory://" for a throw-away one. */
  dataDir: string;
  poolSize?: number;
}

const CONNECT_TIMEOUT_MS = 10_000;

export async function openDb(options: DbOptions): Promise<Db> {
  if (options.databaseUrl) {
    const db = new ServerDb(serverPool(options.databaseUrl, options.poolSize ?? 10), options.databaseUrl);
    await db.query('SELECT 1');
    return db;
  }
  let lock: DataDirLock | undefined;
  if (!options.dataDir.startsWith('memory://')) {
    mkdirSync(options.dataDir, { recursive: true });
    // Before PGlite reads the directory: a second process must not even open it.
    lock = lockDataDir(options.dataDir);
  }
  try {
    const pglite = await PGlite.create(options.dataDir, {
      extensions: { btree_gist },
      postgresqlconf: [`shared_buffers = ${EMBEDDED_SHARED_BUFFERS}`],
      parsers: { [INT8]: (v: string) => Number(v), [NUMERIC]: (v: string) => Number(v) },
    });
    return new PgliteDb(pglite, lock);
  } catch (err) {
    lock?.release();
    throw err;
  }
}
