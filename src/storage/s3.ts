/**
 * BlobStore on an S3-compatible object store (AWS, NCP Object Storage, MinIO, Ceph). A temporary is an S3
 * multipart upload under objects/<owner>~<uuid> (lib-storage: parts stream out while the bytes arrive, memory
 * bounded by part size × queue), invisible to readers until CompleteMultipartUpload at sync(). The object is
 * then under its final key already, so commit copies nothing: it answers that key, which the service records
 * in the blob row inside its transaction. A crash between the two leaves an object without a row, which the
 * start-up sweep removes once it is an hour old; a crash mid-upload leaves an incomplete multipart upload,
 * which the sweep aborts once its owner is gone (or after a day when the store cannot tell).
 */
import { randomUUID } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { isLiveOnThisHost, ownerOf, processOwner } from './owner.js';
import { TempLostError, type BlobStore, type ByteRange, type TempObject } from './store.js';

export interface S3Settings {
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
}

const PREFIX = 'objects/';
/**
 * S3 allows 10,000 parts; 8 MiB parts reach 70 GiB, larger files get larger parts (sizeHint). lib-storage holds a
 * part being filled and queueSize parts in flight in memory, so the part size bounds an upload's memory: with
 * 16 MiB parts a 1 GiB upload grew the process by up to 67 MiB, over the 64 MiB allowed.
 */
const MIN_PART = 8 * 1024 * 1024;
const MAX_PARTS = 9_000;
/** The largest object a single CopyObject copies. */
const COPY_MAX = 5 * 1024 ** 3;
/** An incomplete multipart upload whose owner cannot be judged is abandoned after this long. */
const ABANDONED_MS = 24 * 3600_000;

export function s3Client(s: S3Settings): S3Client {
  return new S3Client({
    region: s.region,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    forcePathStyle: s.forcePathStyle,
    ...(s.accessKeyId && s.secretAccessKey
      ? { credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } }
      : {}),
    // S3-compatible stores (NCP, older MinIO, Ceph) refuse the SDK's default streaming CRC32 trailers;
    // integrity is checked end to end with SHA-256 by the service anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

const notFound = (err: unknown) =>
  err instanceof S3ServiceException &&
  (err.$metadata.httpStatusCode === 404 || err.name === 'NoSuchKey' || err.name === 'NotFound');

export class S3BlobStore implements BlobStore {
  private readonly uploads = new Map<string, { upload: Upload; done: Promise<unknown> }>();

  constructor(
    readonly client: S3Client,
    readonly bucket: string,
  ) {}

  private objectKey(key: string): string {
    if (
      !/^[A-Za-z0-9][A-Za-z0-9._~/-]*$/.test(key) ||
      key.split('/').some((p) => p === '..' || p === '.' || p === '')
    ) {
      throw new Error(`invalid storage key ${key}`);
    }
    return key.startsWith(PREFIX) ? key : PREFIX + key;
  }

  async createTemp(sizeHint?: number): Promise<TempObject> {
    const id = `${processOwner()}~${randomUUID()}`;
    const body = new PassThrough({ highWaterMark: 1024 * 1024 });
    const partSize = Math.max(MIN_PART, Math.ceil((sizeHint ?? 0) / MAX_PARTS));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: PREFIX + id, Body: body },
      partSize,
      queueSize: 2,
      leavePartsOnError: false,
    });
    const done = upload.done();
    // A failed upload stops reading its body: fail the writer too instead of leaving it waiting for drain.
    done.catch((err: Error) => body.destroy(err));
    this.uploads.set(id, { upload, done });
    // The body ends when the stream finishes; completion waits for the last part and CompleteMultipartUpload.
    return {
      id,
      stream: body,
      sync: async () => {
        await done;
      },
    };
  }

  /**
   * A server-side CopyObject into a new temporary key: no byte passes through this process. Objects above the
   * 5 GiB CopyObject limit are streamed through once instead (GetObject into a multipart temporary).
   */
  async adopt(source: string, size: number): Promise<TempObject> {
    if (size > COPY_MAX) {
      const temp = await this.createTemp(size);
      try {
        const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: source }));
        await pipeline(res.Body as Readable, temp.stream);
        await temp.sync();
        return temp;
      } catch (err) {
        await this.discard(temp);
        if (notFound(err)) throw new TempLostError(temp.id);
        throw err;
      }
    }
    const id = `${processOwner()}~${randomUUID()}`;
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: PREFIX + id,
          CopySource: `${this.bucket}/${encodeURIComponent(source)}`,
        }),
      );
    } catch (err) {
      if (notFound(err)) throw new TempLostError(id);
      throw err;
    }
    const stream = new PassThrough();
    stream.end();
    return { id, stream, sync: async () => undefined };
  }

  async commit(temp: TempObject, _key: string): Promise<string> {
    const key = PREFIX + temp.id;
    this.uploads.delete(temp.id);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (notFound(err)) throw new TempLostError(temp.id);
      throw err;
    }
    return key;
  }

  async discard(temp: TempObject): Promise<void> {
    const live = this.uploads.get(temp.id);
    this.uploads.delete(temp.id);
    if (live) {
      temp.stream.destroy();
      await live.upload.abort().catch(() => undefined);
      await live.done.catch(() => undefined);
    }
    await this.client
      .send(new DeleteObjectCommand({ Bucket: this.bucket, Key: PREFIX + temp.id }))
      .catch(() => undefined);
  }

  read(key: string, range?: ByteRange): Readable {
    const out = new PassThrough({ highWaterMark: 256 * 1024 });
    this.client
      .send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      )
      .then(
        (res) => {
          const body = res.Body as Readable;
          body.on('error', (err) => out.destroy(err));
          out.on('close', () => body.destroy());
          body.pipe(out);
        },
        (err: Error) => out.destroy(err),
      );
    return out;
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return true;
    } catch (err) {
      if (notFound(err)) return false;
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async *listKeys(minAgeMs: number): AsyncIterable<string> {
    const now = Date.now();
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: PREFIX, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key && o.LastModified && now - o.LastModified.getTime() >= minAgeMs) yield o.Key;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Aborts incomplete multipart uploads that no live upload of this process owns and that began more than a
   * day ago, or more than minAgeMs ago for those of a process that is gone. Stores without
   * ListMultipartUploads (some test servers) are left to their lifecycle rules.
   */
  async sweepTemp(minAgeMs: number): Promise<number> {
    let removed = 0;
    const now = Date.now();
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: PREFIX,
            KeyMarker: keyMarker,
            UploadIdMarker: idMarker,
          }),
        );
        for (const u of page.Uploads ?? []) {
          if (!u.Key || !u.UploadId || !u.Initiated) continue;
          const id = u.Key.slice(PREFIX.length);
          if (this.uploads.has(id)) continue;
          const age = now - u.Initiated.getTime();
          const owner = ownerOf(id);
          const ownerGone = owner !== undefined && owner !== processOwner() && !isLiveOnThisHost(owner);
          if (age < ABANDONED_MS && !(ownerGone && age >= minAgeMs)) continue;
          await this.client
            .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }))
            .catch(() => undefined);
          removed++;
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        idMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NotImplemented' || err.$metadata.httpStatusCode === 501))
        return removed;
      throw err;
    }
    return removed;
  }
}
