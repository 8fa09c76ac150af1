/**
 * One database per test run, shared by every test: embedded PGlite in memory by default, the PostgreSQL
 * server when DATABASE_URL is set. The schema is built from empty by the real migrations; tests reset rows.
 */
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { openDb, type Db } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';

export interface TestContext {
  db: Db;
  config: Config;
  app: App;
  api: () => supertest.Agent;
}

let current: TestContext | undefined;

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: process.env.DATABASE_URL,
    DEMO_DATA: 'false',
    LOG_LEVEL: 'silent',
    AUTH_RATE_LIMIT: '100000',
    // Tests change sessions behind the app's back (expiry, revocation by SQL); the cache has its own tests.
    AUTH_CACHE_SECONDS: '0',
    ...overrides,
  });
}

export async function startContext(): Promise<TestContext> {
  const config = testConfig();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: 'memory://', poolSize: 20 });
  if (db.engine === 'postgres') await db.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
  await migrate(db);
  const app = createApp({ db, config, logger: pino({ level: 'silent' }) });
  current = { db, config, app, api: () => supertest.agent(app) };
  return current;
}

export function ctx(): TestContext {
  if (!current) throw new Error('test context not started');
  return current;
}

/** Every table but the migrations ledger, emptied between tests. */
export async function resetDatabase(db: Db): Promise<void> {
  const { rows } = await db.query<{ tablename: string }>(
    `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'`,
  );
  if (rows.length) await db.exec(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} CASCADE`);
}
