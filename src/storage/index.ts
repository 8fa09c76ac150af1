/** Picks the BlobStore for a configuration: the uploads directory, or an S3-compatible bucket (STORAGE=s3). */
import type { Config } from '../config.js';
import { LocalBlobStore } from './local.js';
import { S3BlobStore, s3Client } from './s3.js';
import type { BlobStore } from './store.js';

export type { BlobStore, TempObject } from './store.js';
export { TempLostError } from './store.js';

const stores = new Map<string, BlobStore>();

/** One store per directory (or endpoint and bucket) and process, shared by the app and the start-up sweep. */
export function blobStoreFor(config: Pick<Config, 'uploadsDir' | 's3'>): BlobStore {
  const s3 = config.s3;
  const id = s3 ? `s3:${s3.endpoint ?? ''}:${s3.bucket}` : config.uploadsDir;
  let store = stores.get(id);
  if (!store) {
    store = s3 ? new S3BlobStore(s3Client(s3), s3.bucket) : new LocalBlobStore(config.uploadsDir);
    stores.set(id, store);
  }
  return store;
}
