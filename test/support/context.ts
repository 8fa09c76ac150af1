/**
 * One database per test run, shared by every test: embedded PGlite in memory by default, the PostgreSQL
 * server when DATABASE_URL is set. The schema is built from empty by the real migrations; tests reset rows.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { openDb, type Db } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { startTestS3, type TestS3 } from './s3-server.js';

export interface TestContext {
  db: Db;
  config: Config;
  app: App;
  api: () => supertest.Agent;
}

let current: TestContext | undefined;

/**
 * Dataset uploads of a test process go to a throw-away directory named after its pid, removed when it exits;
 * directories of processes that died by a signal are removed by the next one.
 */
const UPLOADS_ROOT = join(tmpdir(), 'ax-test-uploads');
let uploadsDir: string | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0); // a probe: sends nothing
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function testUploadsDir(): string {
  if (!uploadsDir) {
    mkdirSync(UPLOADS_ROOT, { recursive: true });
    for (const name of readdirSync(UPLOADS_ROOT)) {
      if (/^\d+$/.test(name) && !alive(Number(name)))
        rmSync(join(UPLOADS_ROOT, name), { recursive: true, force: true });
    }
    const dir = join(UPLOADS_ROOT, String(process.pid));
    mkdirSync(dir, { recursive: true });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    uploadsDir = dir;
  }
  return uploadsDir;
}

const S3_VARS = [
  'STORAGE',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_BUCKET',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'S3_FORCE_PATH_STYLE',
];

let s3: TestS3 | undefined;
/** The S3 server of this run when STORAGE=s3 (started by startContext), for tests that inspect the bucket. */
export const testS3 = () => s3;

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ...Object.fromEntries(S3_VARS.map((k) => [k, process.env[k]])),
    DATABASE_URL: process.env.DATABASE_URL,
    UPLOADS_DIR: overrides.UPLOADS_DIR ?? testUploadsDir(),
    DEMO_DATA: 'false',
    LOG_LEVEL: 'silent',
    AUTH_RATE_LIMIT: '100000',
    // Tests change sessions behind the app's back (expiry, revocation by SQL); the cache has its own tests.
    AUTH_CACHE_SECONDS: '0',
    ...overrides,
  });
}

export async function startContext(): Promise<TestContext> {
  if (process.env.STORAGE === 's3' && !process.env.S3_ENDPOINT) {
    // The suite brings its own S3-protocol server; children started by tests inherit these settings.
    s3 = await startTestS3();
    Object.assign(process.env, {
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: s3.bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    });
  }
  const config = testConfig();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: 'memory://', poolSize: 20 });
  if (db.engine === 'postgres') await db.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
  await migrate(db);
  const app = createApp({ db, config, logger: pino({ level: 'silent' }) });
  current = { db, config, app, api: () => supertest.agent(app) };
  return current;
}

export async function stopTestS3(): Promise<void> {
  await s3?.close();
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
