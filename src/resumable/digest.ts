/**
 * The SHA-256 of a resumable upload, computed while its PATCH bodies stream in. After each PATCH the hash
 * state (hash-wasm's saved SHA-256 context) is stored with the upload's record, together with the offset it
 * covers, so whichever process receives the next PATCH continues it and the last byte needs no read of the
 * whole upload. The state is trusted only when its offset is exactly the upload's: a crash between writing the
 * bytes and saving the state, a PATCH that failed half-way, or bytes written past this wrapper leave the state
 * behind (or ahead) of the bytes, and the finish then reads the stored bytes from the state's offset (or from
 * the start) instead of taking the state's word for them.
 */
import { Transform, type Readable } from 'node:stream';
import { DataStore, type Upload } from '@tus/utils';
import { createHash } from 'node:crypto';
import { createSHA256, type IHasher } from 'hash-wasm';
import type { Queryable } from '../db/client.js';
import { threadHash, type ThreadHash } from './hash-thread.js';

interface SavedDigest {
  offset: number;
  state: Buffer | null;
}

async function savedDigest(db: Queryable, id: string): Promise<SavedDigest | undefined> {
  const { rows } = await db.query<{ digest_offset: string; digest_state: Buffer | Uint8Array | null }>(
    'SELECT digest_offset::text, digest_state FROM resumable_uploads WHERE id = $1',
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { offset: Number(row.digest_offset), state: row.digest_state ? Buffer.from(row.digest_state) : null };
}

/** Moves the saved state from one offset to the next; a state saved meanwhile by someone else wins. */
async function saveDigest(db: Queryable, id: string, from: number, to: number, state: Uint8Array | null) {
  await db.query(
    `UPDATE resumable_uploads SET digest_offset = $3, digest_state = $4 WHERE id = $1 AND digest_offset = $2`,
    [id, from, to, state === null ? null : Buffer.from(state)],
  );
}

/** A hasher continuing the saved state; undefined when the state cannot be loaded (another hash-wasm build). */
async function hasherAt(saved: SavedDigest | undefined): Promise<IHasher | undefined> {
  const hasher = await createSHA256();
  hasher.init();
  try {
    if (saved?.state) hasher.load(saved.state);
  } catch {
    return undefined;
  }
  return hasher;
}

/** A hash of an upload's bytes from `offset` on; update() it with the bytes from there, then digest(). */
export interface ResumedDigest {
  offset: number;
  update(chunk: Uint8Array): void;
  digest(): string;
}

/** The saved hash of an upload when it covers at most `size` bytes, else a fresh one from the first byte. */
export async function resumeDigest(db: Queryable, id: string, size: number): Promise<ResumedDigest> {
  const saved = await savedDigest(db, id);
  const usable = saved && saved.offset > 0 && saved.offset <= size && saved.state ? saved : undefined;
  const hasher = usable ? await hasherAt(usable) : undefined;
  if (hasher) {
    return {
      offset: usable!.offset,
      update: (chunk) => void hasher.update(chunk),
      digest: () => hasher.digest('hex'),
    };
  }
  // Nothing to continue: the whole file is read, with the process's native SHA-256.
  const native = createHash('sha256');
  return { offset: 0, update: (chunk) => void native.update(chunk), digest: () => native.digest('hex') };
}

/**
 * A tus DataStore that passes every call to the store holding the bytes and, on write, hashes what the PATCH
 * appends when the saved state covers exactly the bytes before it; the new state is saved only when the store
 * holds exactly the bytes hashed.
 */
export class DigestingStore extends DataStore {
  constructor(
    private readonly inner: DataStore,
    private readonly db: Queryable,
  ) {
    super();
    this.extensions = inner.extensions;
  }

  override create(upload: Upload): Promise<Upload> {
    return this.inner.create(upload);
  }

  override remove(id: string): Promise<void> {
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
    const saved = await savedDigest(this.db, id);
    if (!saved || saved.offset !== offset) {
      // A state ahead of the bytes (they were lost and are being sent again) describes bytes that may differ:
      // drop it. One behind them stays, and the finish reads the bytes it does not cover.
      if (saved && saved.offset > offset) await saveDigest(this.db, id, saved.offset, 0, null);
      return this.inner.write(stream, id, offset);
    }
    const hash = threadHash(saved.state);
    let hashed = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hashed += chunk.length;
        const wait = hash.update(chunk);
        if (wait) void wait.then(() => cb(null, chunk));
        else cb(null, chunk);
      },
    });
    stream.once('error', (err) => tap.destroy(err));
    let end: number;
    try {
      end = await this.inner.write(stream.pipe(tap), id, offset);
    } catch (err) {
      // The store kept a prefix of what was hashed: the state holds for it only if that prefix is all of it.
      const held = await this.inner.getUpload(id).then(
        (u) => u.offset,
        () => -1,
      );
      if (held === offset + hashed) await this.advance(id, offset, held, hash).catch(() => undefined);
      else hash.drop();
      throw err;
    }
    if (end === offset + hashed) await this.advance(id, offset, end, hash);
    else hash.drop();
    return end;
  }

  /** Saves the state after the bytes hashed; one that cannot be computed (an unloadable state) is dropped. */
  private async advance(id: string, from: number, to: number, hash: ThreadHash) {
    let state: Uint8Array;
    try {
      state = await hash.save();
    } catch {
      await saveDigest(this.db, id, from, 0, null);
      return;
    }
    await saveDigest(this.db, id, from, to, state);
  }
}
