/**
 * A benchmark target process: the real app on one port and, in the same process, a bare Express app on
 * another that serves fixed JSON from memory with res.json — the baseline every API figure is divided by. The
 * bare app learns its bodies from POST /bare/fixture, so it answers with exactly what the real route produced.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDb } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { DeliveryWorker, workerSettings } from '../src/webhooks/worker.js';

const config = loadConfig({ ...process.env, DEMO_DATA: 'false', LOG_LEVEL: 'silent', AUTH_RATE_LIMIT: '1000000' });
const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 10 });
if (db.engine === 'postgres') await db.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
await migrate(db);
const app = createApp({ db, config, logger: pino({ level: 'silent' }) });
// BENCH_WORKER=true: the webhook delivery worker runs in this process, as `npm start` runs it by default.
const worker =
  process.env.BENCH_WORKER === 'true'
    ? new DeliveryWorker(db, workerSettings(config), pino({ level: 'warn' }))
    : undefined;
worker?.start();

const fixtures = new Map<string, { status: number; body: unknown }>();
const bare = express();
bare.use(express.json({ limit: '1mb' }));
bare.post('/bare/fixture', (req, res) => {
  const { name, status, body } = req.body as { name: string; status: number; body: unknown };
  fixtures.set(name, { status, body });
  res.status(204).end();
});
bare.all('/bare/:name', (req, res) => {
  const f = fixtures.get(req.params.name);
  if (!f) return void res.status(404).end();
  res.status(f.status).json(f.body);
});

const listen = (handler: express.Express | typeof app) =>
  new Promise<number>((resolve) => {
    const server = createServer(handler);
    server.keepAliveTimeout = 65_000;
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });

const port = await listen(app);
const barePort = await listen(bare);
process.stdout.write(JSON.stringify({ port, barePort, engine: db.engine }) + '\n');
process.on('SIGTERM', () => {
  void Promise.resolve(worker?.stop(100))
    .then(() => db.close())
    .finally(() => process.exit(0));
});
