/**
 * The small storage interface datasets are kept behind. Writes always go to a temporary object first and are
 * moved into place under their final key only when complete and checked, so a reader never sees a partial
 * object and a crash leaves at worst a temporary that the start-up sweep removes. The local directory is the
 * default (a shared volume in a cluster); an S3-compatible store fits the same shape (multipart upload as the
 * temporary, CompleteMultipartUpload as the commit, AbortMultipartUpload as the discard).
 */
import type { Readable, Writable } from 'node:stream';

/** The temporary object vanished before its commit (removed from outside the process). */
export class TempLostError extends Error {
  constructor(readonly tempId: string) {
    super(`temporary object ${tempId} vanished before its commit`);
    this.name = 'TempLostError';
  }
}

export interface TempObject {
  readonly id: string;
  /** Where the bytes go. Ends (or errors) like any Writable; sync() makes the written bytes durable. */
  readonly stream: Writable;
  /** Makes the written bytes durable; call after the stream finished and before commit. */
  sync(): Promise<void>;
}

export interface ByteRange {
  /** Inclusive, as in HTTP Range. */
  start: number;
  end: number;
}

export interface BlobStore {
  /** A new temporary object to stream into; sizeHint (bytes, when known) lets a store size its parts. */
  createTemp(sizeHint?: number): Promise<TempObject>;
  /**
   * Atomically moves a finished temporary object into place under key, or keeps it where it is when the store
   * writes objects in place (S3); answers the key the object now has, which the caller records.
   */
  commit(temp: TempObject, key: string): Promise<string>;
  /** Removes a temporary object (idempotent). */
  discard(temp: TempObject): Promise<void>;
  /**
   * Takes over finished bytes of `size` bytes kept beside the store, which becomes a temporary like any other:
   * a file on the same file system is renamed (local), an object in the same bucket is copied server-side (S3).
   * The source stays where it was on S3 (the caller removes it); TempLostError when it is gone.
   */
  adopt(source: string, size: number): Promise<TempObject>;
  /** Streams an object, or a byte range of it. */
  read(key: string, range?: ByteRange): Readable;
  exists(key: string): Promise<boolean>;
  /** Removes an object (idempotent). */
  remove(key: string): Promise<void>;
  /**
   * Removes temporary objects older than minAgeMs that no live process owns (left by crashed processes; a
   * process sharing the storage keeps its own); returns how many.
   */
  sweepTemp(minAgeMs: number): Promise<number>;
  /** Keys of the objects last written more than minAgeMs ago. */
  listKeys(minAgeMs: number): AsyncIterable<string>;
}
