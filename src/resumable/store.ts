/**
 * Where resumable uploads keep their bytes until they finish: a @tus/file-store directory under UPLOADS_DIR,
 * or with STORAGE=s3 a @tus/s3-store multipart upload in the bucket (so any process sharing the bucket and the
 * database can resume it). Also the sweep of expired ones.
 */
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FileStore } from '@tus/file-store';
import { S3Store } from '@tus/s3-store';
import type { DataStore } from '@tus/utils';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { expiredUploads } from './service.js';

export interface ResumableStore {
  datastore: DataStore;
  read(id: string): Promise<Readable>;
  /** Where a file store keeps an upload's bytes (absent on S3). */
  localPath?(id: string): string;
}

const stores = new Map<string, ResumableStore>();

/** The store of resumable uploads for a configuration (one per directory or bucket and process). */
export function resumableStore(config: Pick<Config, 'uploadsDir' | 'uploadExpirySeconds' | 's3'>): ResumableStore {
  const s3 = config.s3;
  const id = s3 ? `s3:${s3.endpoint ?? ''}:${s3.bucket}` : join(config.uploadsDir, 'resumable');
  let store = stores.get(id);
  if (store) return store;
  const expirationPeriodInMilliseconds = config.uploadExpirySeconds * 1000;
  if (s3) {
    const datastore = new S3Store({
      expirationPeriodInMilliseconds,
      // Object tags are not supported by every S3-compatible store; expiry is kept in PostgreSQL instead.
      useTags: false,
      s3ClientConfig: {
        bucket: s3.bucket,
        region: s3.region,
        ...(s3.endpoint ? { endpoint: s3.endpoint } : {}),
        forcePathStyle: s3.forcePathStyle,
        ...(s3.accessKeyId && s3.secretAccessKey
          ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }
          : {}),
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      },
    });
    store = { datastore, read: (uploadId) => datastore.read(uploadId) };
  } else {
    const datastore = new FileStore({ directory: id, expirationPeriodInMilliseconds });
    store = {
      datastore,
      read: async (uploadId) => datastore.read(uploadId),
      localPath: (uploadId) => join(id, uploadId),
    };
  }
  stores.set(id, store);
  return store;
}

/** Removes unfinished uploads past their expiry: their records, and their bytes (also bytes without a record). */
export async function sweepResumable(
  db: Db,
  config: Pick<Config, 'uploadsDir' | 'uploadExpirySeconds' | 's3'>,
): Promise<number> {
  const { datastore } = resumableStore(config);
  const ids = await expiredUploads(db);
  for (const id of ids) await datastore.remove(id).catch(() => undefined);
  const files = await datastore.deleteExpired().catch(() => 0);
  return Math.max(ids.length, files);
}
