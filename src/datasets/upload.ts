/**
 * Receiving an upload: multer parses the multipart body and hands the file part to DatasetStorageEngine, which
 * streams it through an UploadMeter (sha256, size, the head for sniffing, the tabular profile) into a
 * temporary object of the BlobStore. Nothing here decides where the bytes finally live: the service moves the
 * temporary into place inside the transaction that commits the row, or discards it.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import multer from 'multer';
import type { DatasetProfile } from '../generated/schema-types.js';
import { AppError, validationFailed } from '../core/errors.js';
import type { BlobStore, TempObject } from '../storage/index.js';
import { createProfiler, type Profiler } from './profile.js';
import { HEAD_BYTES, sniff, type Sniffed } from './sniff.js';

export interface ReceivedFile {
  temp: TempObject;
  sha256: string;
  size: number;
  sniffed: Sniffed;
  profile: DatasetProfile | null;
  originalName: string;
  claimedType: string;
}

export const fileTooLarge = (maxBytes: number) =>
  new AppError(
    413,
    'file-too-large',
    'Payload too large',
    `The file is larger than the ${maxBytes} bytes this service accepts.`,
    { maxBytes },
  );

export const quotaExceeded = (quotaBytes: number, usedBytes: number) =>
  new AppError(
    413,
    'storage-quota-exceeded',
    'Payload too large',
    "The file does not fit in your organisation's storage quota.",
    {
      quotaBytes,
      usedBytes,
    },
  );

/** Hashes, counts, keeps the head and feeds the profiler, passing every chunk on unchanged. */
class UploadMeter extends Transform {
  readonly hash: Hash = createHash('sha256');
  size = 0;
  private headChunks: Buffer[] = [];
  private headLength = 0;
  head: Buffer | undefined;
  sniffed: Sniffed | undefined;
  private profiler: Profiler | undefined;

  constructor(
    private readonly limit: number,
    private readonly overLimit: () => Error,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  private async settleHead(complete: boolean): Promise<void> {
    this.head = Buffer.concat(this.headChunks, this.headLength);
    this.headChunks = [];
    this.sniffed = await sniff(this.head.subarray(0, HEAD_BYTES), complete);
    this.profiler = createProfiler(this.sniffed);
    if (this.profiler) await this.profiler.write(this.head);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limit) return cb(this.overLimit());
    this.hash.update(chunk);
    if (!this.head) {
      this.headChunks.push(chunk);
      this.headLength += chunk.length;
      if (this.headLength < HEAD_BYTES) return cb(null, chunk);
      this.settleHead(false).then(() => cb(null, chunk), cb);
      return;
    }
    if (!this.profiler) return cb(null, chunk);
    this.profiler.write(chunk).then(() => cb(null, chunk), cb);
  }

  override _flush(cb: TransformCallback): void {
    (async () => {
      if (!this.head) await this.settleHead(true);
    })().then(() => cb(), cb);
  }

  async profile(): Promise<DatasetProfile | null> {
    return this.profiler ? this.profiler.finish() : null;
  }
}

interface StoredInfo {
  received: ReceivedFile;
}

/**
 * What a file already stored (a finished resumable upload) is, from reads of it rather than a stream through
 * the meter: sniffed from its head as UploadMeter sniffs, profiled (tabular content only, which needs every
 * byte) from a full read. The caller's hash is fed the bytes from hash.offset on, in the same pass when there
 * is one; with hash.offset at the end of the file, a file that is not tabular is read only for its head.
 */
export async function inspectStored(
  size: number,
  read: (start: number, end?: number) => Promise<NodeJS.ReadableStream>,
  hash: { offset: number; update(chunk: Uint8Array): void },
): Promise<{ sniffed: Sniffed; profile: DatasetProfile | null }> {
  const headEnd = Math.min(size, HEAD_BYTES);
  const headChunks: Buffer[] = [];
  for await (const chunk of await read(0, headEnd - 1)) headChunks.push(chunk as Buffer);
  // UploadMeter sniffs the whole file only when it ends before HEAD_BYTES.
  const sniffed = await sniff(Buffer.concat(headChunks).subarray(0, headEnd), size < HEAD_BYTES);
  const profiler = createProfiler(sniffed);
  const start = profiler ? 0 : hash.offset;
  if (start < size) {
    let position = start;
    for await (const data of await read(start)) {
      const chunk = data as Buffer;
      const skip = hash.offset - position;
      if (skip < chunk.length) hash.update(skip > 0 ? chunk.subarray(skip) : chunk);
      position += chunk.length;
      if (profiler) await profiler.write(chunk);
    }
    if (position !== size) throw new Error(`stored file is ${position} bytes, expected ${size}`);
  }
  return { sniffed, profile: profiler ? await profiler.finish() : null };
}

/** multer StorageEngine writing into temporaries of our BlobStore. */
class DatasetStorageEngine implements multer.StorageEngine {
  /** Files still streaming: when multer gives up on a request (malformed or cut-short body), they are stopped. */
  private readonly inFlight = new Set<{ stop(err: Error): void; settled: Promise<unknown> }>();

  constructor(
    private readonly store: BlobStore,
    private readonly limit: number,
    private readonly overLimit: () => Error,
  ) {}

  _handleFile(
    req: Request,
    file: Express.Multer.File,
    cb: (error?: unknown, info?: Partial<Express.Multer.File>) => void,
  ): void {
    this.receive(req, file).then(
      (received) => cb(null, { received } as unknown as Partial<Express.Multer.File>),
      (err: unknown) => cb(err),
    );
  }

  private async receive(req: Request, file: Express.Multer.File): Promise<ReceivedFile> {
    const temp = await this.store.createTemp();
    const meter = new UploadMeter(this.limit, this.overLimit);
    // A client that goes away mid-file must not leave the pipeline (and the temporary) waiting forever.
    const onClose = () => {
      if (!req.readableEnded)
        meter.destroy(
          new AppError(400, 'request-aborted', 'Request aborted', 'The client closed the request mid-upload.'),
        );
    };
    req.once('close', onClose);
    let release!: () => void;
    const entry = {
      stop: (err: Error) => meter.destroy(err),
      settled: new Promise<void>((resolve) => (release = resolve)),
    };
    this.inFlight.add(entry);
    try {
      await pipeline(file.stream, meter, temp.stream);
      await temp.sync();
      return {
        temp,
        sha256: meter.hash.digest('hex'),
        size: meter.size,
        sniffed: meter.sniffed!,
        profile: await meter.profile(),
        originalName: file.originalname,
        claimedType: file.mimetype,
      };
    } catch (err) {
      await this.store.discard(temp).catch(() => undefined);
      throw err;
    } finally {
      req.off('close', onClose);
      this.inFlight.delete(entry);
      release();
    }
  }

  /** Stops every file still streaming and waits until their temporaries are gone. */
  async abortAll(): Promise<void> {
    const pending = [...this.inFlight];
    for (const p of pending)
      p.stop(new AppError(400, 'malformed-multipart', 'Malformed multipart body', 'The upload was abandoned.'));
    await Promise.all(pending.map((p) => p.settled));
  }

  _removeFile(_req: Request, file: Express.Multer.File, cb: (error: Error | null) => void): void {
    const info = file as unknown as StoredInfo;
    if (!info.received) return cb(null);
    this.store.discard(info.received.temp).then(
      () => cb(null),
      (err: Error) => cb(err),
    );
  }
}

const BUSBOY_MALFORMED = /multipart|boundary|unexpected end|malformed|part header/i;

function translate(err: unknown, fileField: string, maxBytes: number): unknown {
  if (err instanceof AppError) return err;
  if (err instanceof multer.MulterError) {
    const pointer = `/body/${err.field ?? fileField}`;
    switch (err.code) {
      case 'LIMIT_FILE_SIZE':
        return fileTooLarge(maxBytes);
      case 'LIMIT_FILE_COUNT':
        return validationFailed(
          [{ pointer: `/body/${fileField}`, message: 'only one file may be sent' }],
          'Send exactly one file.',
        );
      case 'LIMIT_UNEXPECTED_FILE':
        return validationFailed(
          [{ pointer, message: `is not a file field; send the file as "${fileField}"` }],
          'Send exactly one file.',
        );
      case 'LIMIT_FIELD_VALUE':
        return validationFailed([{ pointer, message: 'is too long' }]);
      default:
        return new AppError(
          400,
          'malformed-multipart',
          'Malformed multipart body',
          'The multipart/form-data body has too many or malformed parts.',
        );
    }
  }
  const message = err instanceof Error ? err.message : '';
  if (/request (aborted|closed)/i.test(message)) {
    return new AppError(400, 'request-aborted', 'Request aborted', 'The client closed the request mid-upload.');
  }
  if (BUSBOY_MALFORMED.test(message)) {
    return new AppError(
      400,
      'malformed-multipart',
      'Malformed multipart body',
      'The multipart/form-data body is malformed or was cut short.',
    );
  }
  return err;
}

export interface ReceivedUpload {
  fields: Record<string, unknown>;
  file: ReceivedFile | undefined;
}

/**
 * Parses the multipart request; text fields come back unvalidated, the file as a temporary object. The quota
 * is checked when the upload commits, not here: identical bytes already stored cost nothing, which only the
 * finished digest can tell.
 */
export async function receiveUpload(
  req: Request,
  res: Response,
  store: BlobStore,
  fileField: string,
  maxBytes: number,
): Promise<ReceivedUpload> {
  const engine = new DatasetStorageEngine(store, maxBytes, () => fileTooLarge(maxBytes));
  const middleware = multer({
    storage: engine,
    limits: {
      fileSize: maxBytes,
      files: 1,
      fields: 10,
      parts: 12,
      fieldSize: 8 * 1024,
      fieldNameSize: 100,
      headerPairs: 20,
    },
    // Browsers and curl send UTF-8 file names in filename="…"; busboy would read them as latin1.
    defParamCharset: 'utf8',
    // Larger buffers between socket, parser and file stream: fewer pause/resume round trips on big files
    // (busboy's 16 KiB default halves upload throughput); still a fixed, small amount of memory per upload.
    highWaterMark: 1024 * 1024,
    fileHwm: 1024 * 1024,
  } as multer.Options).single(fileField);
  try {
    await new Promise<void>((resolve, reject) => {
      middleware(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
    });
  } catch (err) {
    await engine.abortAll();
    throw translate(err, fileField, maxBytes);
  }
  const stored = req.file as unknown as StoredInfo | undefined;
  return { fields: { ...(req.body as Record<string, unknown>) }, file: stored?.received };
}
