/** Picks the BlobStore for a configuration. Only the local directory exists today; an S3 store would be chosen here. */
import type { Config } from '../config.js';
import { LocalBlobStore } from './local.js';
import type { BlobStore } from './store.js';

export type { BlobStore, ByteRange, TempObject } from './store.js';

const stores = new Map<string, BlobStore>();

/** One store per directory and process, shared by the app and the start-up sweep. */
export function blobStoreFor(config: Pick<Config, 'uploadsDir'>): BlobStore {
  let store = stores.get(config.uploadsDir);
  if (!store) {
    store = new LocalBlobStore(config.uploadsDir);
    stores.set(config.uploadsDir, store);
  }
  return store;
}
