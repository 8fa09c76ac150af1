/**
 * Entry of a delivery worker on its own (npm run worker): config → database → migrations → deliver until
 * SIGTERM/SIGINT. Any number may run beside the API processes on one PostgreSQL; they share the outbox
 * through SELECT … FOR UPDATE SKIP LOCKED (see src/webhooks/worker.ts).
 */
import { bootstrap } from './bootstrap.js';
import { loadConfigOrExit } from './config.js';
import { createLogger } from './observability/logger.js';
import { DeliveryWorker, workerSettings } from './webhooks/worker.js';
import { configureHolds } from './matching/holds.js';
import { HoldSweeper } from './matching/expiry.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  // The API process seeds demo data and the operator; a worker only needs the schema.
  const db = await bootstrap({ ...config, demoData: false, adminEmail: undefined, adminPassword: undefined }, logger);
  const worker = new DeliveryWorker(db, workerSettings(config), logger);
  worker.start();
  configureHolds(config);
  const sweeper = new HoldSweeper(db, config.holdSweepMs, logger);
  sweeper.start();
  logger.info({ engine: db.engine, pid: process.pid }, 'webhook delivery worker started');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker shutting down: finishing deliveries in flight');
    Promise.all([worker.stop(config.shutdownGraceSeconds * 1000), sweeper.stop()])
      .then(() => db.close())
      .catch((err: unknown) => logger.error({ err }, 'worker shutdown failed'))
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`Worker start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
