/** Opens the database, brings the schema up to date and applies the start-up settings. Shared by server and worker entries. */
import type { Logger } from 'pino';
import { ensureOperator } from './auth/service.js';
import type { Config } from './config.js';
import { openDb, type Db } from './db/client.js';
import { migrate } from './db/migrate.js';
import { sweepUploads } from './datasets/service.js';
import { sweepResumable } from './resumable/store.js';
import { blobStoreFor } from './storage/index.js';
import { loadDemoData } from './demo/seed.js';

export async function bootstrap(config: Config, logger: Logger): Promise<Db> {
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const applied = await migrate(db);
  logger.info({ engine: db.engine, applied }, 'database ready');
  // Temporaries a crashed upload left, and bytes no dataset version references any more.
  const swept = await sweepUploads(db, blobStoreFor(config), config.uploadTempMaxAgeSeconds);
  if (swept.temporaries || swept.blobs || swept.orphans) logger.info(swept, 'upload storage swept');
  const expired = await sweepResumable(db, config);
  if (expired) logger.info({ expired }, 'expired resumable uploads removed');
  if (config.adminEmail && config.adminPassword) {
    const op = await ensureOperator(db, config.adminEmail, config.adminPassword);
    logger.info({ email: config.adminEmail, created: op.created }, 'operator user ensured from ADMIN_EMAIL');
  }
  if (config.demoData) {
    const summary = await loadDemoData(db);
    // A restart finds the catalogue in place; saying "loaded" with every count at 0 would read as a failure.
    const added = Object.values(summary).some((n) => n > 0);
    logger.info(summary, added ? 'demo data loaded' : 'demo data already present; nothing added');
  }
  return db;
}
