/** Where resumable uploads keep their bytes until they finish, and the sweep of expired ones. */
import { join } from 'node:path';
import { FileStore } from '@tus/file-store';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { expiredUploads } from './service.js';

const stores = new Map<string, FileStore>();

/** The file store of resumable uploads for a configuration (one per directory and process). */
export function resumableStore(config: Pick<Config, 'uploadsDir' | 'uploadExpirySeconds'>): FileStore {
  const directory = join(config.uploadsDir, 'resumable');
  let store = stores.get(directory);
  if (!store) {
    store = new FileStore({ directory, expirationPeriodInMilliseconds: config.uploadExpirySeconds * 1000 });
    stores.set(directory, store);
  }
  return store;
}

/** Removes unfinished uploads past their expiry: their records, and their bytes (also bytes without a record). */
export async function sweepResumable(db: Db, config: Pick<Config, 'uploadsDir' | 'uploadExpirySeconds'>): Promise<number> {
  const store = resumableStore(config);
  const ids = await expiredUploads(db);
  for (const id of ids) await store.remove(id).catch(() => undefined);
  const files = await store.deleteExpired().catch(() => 0);
  return Math.max(ids.length, files);
}
