/**
 * The SHA-256 of a resumable upload, computed while its PATCH bodies stream in. The process receiving a PATCH
 * continues the hash it holds for that upload when the hash covers exactly the bytes before the PATCH, and
 * keeps it afterwards only when the store holds exactly the bytes hashed (a PATCH cut short keeps a prefix of
 * what was hashed, which the count tells). Offsets of a tus upload only grow and bytes are never rewritten, so
 * a hash at the upload's offset covers its bytes. A hash that does not match — another process received a
 * PATCH in between, a PATCH failed half-way, this process restarted — is never continued: the finish then
 * reads the stored bytes and hashes them instead.
 *
 * The hash stays in the process, with the native SHA-256: a saveable state in PostgreSQL (a WebAssembly
 * SHA-256 that can export its state) would let another process continue it, but costs four to five times the
 * CPU of the native hash on every byte, more than reading the file once more when the rare switch happens
 * (docs/decisions.md).
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { DataStore, type Upload } from '@tus/utils';

const MAX_RUNNING = 10_000;

/** A hash of an upload's bytes from `offset` on; update() it with the bytes from there, then digest(). */
export interface ResumedDigest {
  offset: number;
  update(chunk: Uint8Array): void;
  digest(): string;
}

/**
 * A tus DataStore that passes every call to the store holding the bytes and, on write, hashes what the PATCH
 * appends when this process's hash covers exactly the bytes before it.
 */
export class DigestingStore extends DataStore {
  /** Hashes of the uploads this process is receiving, with the offset each covers. Bounded: oldest go first. */
  private readonly running = new Map<string, { offset: number; hash: Hash }>();

  constructor(private readonly inner: DataStore) {
    super();
    this.extensions = inner.extensions;
  }

  private keep(id: string, offset: number, hash: Hash) {
    this.running.delete(id);
    if (this.running.size >= MAX_RUNNING) this.running.delete(this.running.keys().next().value!);
    this.running.set(id, { offset, hash });
  }

  /** The hash held of an upload when it covers `size` bytes, else a fresh one from the first byte. */
  resumeDigest(id: string, size: number): ResumedDigest {
    const held = this.running.get(id);
    this.running.delete(id);
    const hash = held?.offset === size ? held.hash : createHash('sha256');
    return {
      offset: held?.offset === size ? size : 0,
      update: (chunk) => void hash.update(chunk),
      digest: () => hash.digest('hex'),
    };
  }

  override create(upload: Upload): Promise<Upload> {
    return this.inner.create(upload);
  }

  override remove(id: string): Promise<void> {
    this.running.delete(id);
    return this.inner.remove(id);
  }

  override getUpload(id: string): Promise<Upload> {
    return this.inner.getUpload(id);
  }

  override declareUploadLength(id: string, length: number): Promise<void> {
    return this.inner.declareUploadLength(id, length);
  }

  override deleteExpired(): Promise<number> {
    return this.inner.deleteExpired();
  }

  override getExpiration(): number {
    return this.inner.getExpiration();
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const held = this.running.get(id);
    this.running.delete(id);
    const hash = held?.offset === offset ? held.hash : offset === 0 ? createHash('sha256') : undefined;
    if (!hash) return this.inner.write(stream, id, offset);
    let hashed = 0;
    const tap = new Transform({
      highWaterMark: 1024 * 1024,
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        hashed += chunk.length;
        cb(null, chunk);
      },
    });
    stream.once('error', (err) => tap.destroy(err));
    let end: number;
    try {
      end = await this.inner.write(stream.pipe(tap), id, offset);
    } catch (err) {
      // The store kept a prefix of what was hashed: the hash holds for it only if that prefix is all of it.
      const stored = await this.inner.getUpload(id).then(
        (u) => u.offset,
        () => -1,
      );
      if (stored === offset + hashed) this.keep(id, stored, hash);
      throw err;
    }
    if (end === offset + hashed) this.keep(id, end, hash);
    return end;
  }
}
