/** Entry point: config → database → migrations → app → listen, and a graceful shutdown on SIGTERM/SIGINT. */
import { createServer } from 'node:http';
import { createApp } from './app.js';
import { limitServer } from './http/body-deadlines.js';
import { bootstrap } from './bootstrap.js';
import { loadConfigOrExit } from './config.js';
import { DataDirLockedError } from './db/data-dir-lock.js';
import { createLogger } from './observability/logger.js';
import { DeliveryWorker, workerSettings } from './webhooks/worker.js';
import { HoldSweeper } from './matching/expiry.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  const db = await bootstrap(config, logger);
  const readiness = { shuttingDown: false };
  const app = createApp({ db, config, logger, readiness });
  const server = createServer(app);
  server.headersTimeout = 60_000;
  // Large dataset uploads may take long: bodies are bounded by the idle and body deadlines of the app instead.
  server.requestTimeout = 0;
  limitServer(server, config.maxConnections);
  // Webhook deliveries run in this process unless WEBHOOK_WORKER=false (then run npm run worker beside it).
  const worker = config.webhookWorker ? new DeliveryWorker(db, workerSettings(config), logger) : undefined;
  worker?.start();
  // Hold expiry runs wherever webhook delivery runs; any number of processes may sweep (SKIP LOCKED).
  const sweeper = config.webhookWorker ? new HoldSweeper(db, config.holdSweepMs, logger) : undefined;
  sweeper?.start();
  server.listen(config.port, () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    logger.info(
      { port, engine: db.engine },
      `AX Testbed Registry listening on http://localhost:${port} (docs at /docs)`,
    );
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    readiness.shuttingDown = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    // The worker stops claiming now; deliveries in flight get the grace period, and whatever is cut short falls
    // due again (in another process, or after a restart) when its lease runs out.
    const workerStopped = Promise.all([worker?.stop(config.shutdownGraceSeconds * 1000), sweeper?.stop()]);
    const force = setTimeout(() => {
      logger.warn('grace period over; closing remaining connections');
      server.closeAllConnections();
    }, config.shutdownGraceSeconds * 1000);
    force.unref();
    server.close(() => {
      Promise.resolve(workerStopped)
        .then(() => db.close())
        .catch((err: unknown) => logger.error({ err }, 'closing the database failed'))
        .finally(() => {
          logger.info('stopped');
          process.exit(0);
        });
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const text =
    err instanceof DataDirLockedError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`Start-up failed: ${text}\n`);
  process.exit(1);
});
