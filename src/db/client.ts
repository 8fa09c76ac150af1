/**
 * One small interface over both engines: embedded PGlite (PostgreSQL compiled to WASM, in-process) and a
 * PostgreSQL server through node-postgres. Everything above this file speaks plain parameterised SQL.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { translatePgError } from './errors.js';

export interface QueryResult<T> {
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
  close(): Promise<void>;
}

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
  constructor(private readonly pool: pg.Pool) {}

  query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    return run(async () => {
      const r = await this.pool.query({ name: statementName(sql), text: sql, values: params });
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    });
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

  close(): Promise<void> {
    return this.pool.end();
  }
}

export interface DbOptions {
  databaseUrl?: string;
  /** Embedded database directory, or "memory://" for a throw-away one. */
  dataDir: string;
  poolSize?: number;
}

const CONNECT_TIMEOUT_MS = 10_000;

export async function openDb(options: DbOptions): Promise<Db> {
  if (options.databaseUrl) {
    // A server that stops answering (rather than refusing) must fail a request within seconds, not hang it.
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    // An idle client that errors (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const db = new ServerDb(pool);
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
      parsers: { [INT8]: (v: string) => Number(v), [NUMERIC]: (v: string) => Number(v) },
    });
    return new PgliteDb(pglite, lock);
  } catch (err) {
    lock?.release();
    throw err;
  }
}
