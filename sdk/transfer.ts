/**
 * Dataset uploads and downloads, streamed from and to disk so memory stays flat whatever the file size.
 * An upload goes over tus (resumable, sdk/tus.ts) when the server offers it at /v1/pilots/:id/uploads, and
 * otherwise as one multipart/form-data request built here as a stream, so progress can be reported.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AxClient } from './client.js';
import type { components, operations } from './generated/openapi.js';
import { problemFrom } from './problem.js';
import { RETRYABLE, backoffMs, sleep } from './retry.js';
import { offersTus, uploadResumable } from './tus.js';

export type Dataset = components['schemas']['Dataset'];
/** The text fields of a dataset upload, as the document declares them beside the file part. */
export type DatasetFields = Omit<
  NonNullable<operations['uploadDataset']['requestBody']>['content']['multipart/form-data'],
  'file'
>;

export interface Progress {
  bytes: number;
  total: number;
}

export interface UploadOptions {
  /** Defaults to the file's base name. */
  name?: string;
  sensitivity: DatasetFields['sensitivity'];
  legalBasis?: string;
  description?: string;
  onProgress?: (p: Progress) => void;
  /** Where tus keeps unfinished uploads' URLs between runs (a JSON file); without it nothing is resumed. */
  resumeStore?: string;
  /** false: always one multipart request, even where tus is offered. */
  resumable?: boolean;
}

export interface UploadResult {
  dataset: Dataset;
  /** 'tus' when the bytes went through the resumable protocol, 'multipart' for one request. */
  method: 'tus' | 'multipart';
  /** True when an earlier interrupted run's upload was continued (tus only). */
  resumed: boolean;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Uploads a file as a dataset of a pilot; the server checks the sha256 computed here before keeping it. */
export async function uploadDataset(
  client: AxClient,
  pilotId: string,
  path: string,
  opts: UploadOptions,
): Promise<UploadResult> {
  const size = (await stat(path)).size;
  const fields: DatasetFields = {
    name: opts.name ?? basename(path),
    sensitivity: opts.sensitivity,
    ...(opts.legalBasis ? { legalBasis: opts.legalBasis } : {}),
    ...(opts.description ? { description: opts.description } : {}),
    sha256: await sha256File(path),
  };
  if (opts.resumable !== false && (await offersTus(client, pilotId))) {
    return uploadResumable(client, pilotId, path, size, fields, opts);
  }
  return {
    dataset: await uploadMultipart(client, pilotId, path, size, fields, opts.onProgress),
    method: 'multipart',
    resumed: false,
  };
}

const quoted = (s: string) => s.replace(/[\r\n"\\]/g, (c) => encodeURIComponent(c));

/** One multipart/form-data request: text fields first, then the file streamed, with an exact Content-Length. */
async function uploadMultipart(
  client: AxClient,
  pilotId: string,
  path: string,
  size: number,
  fields: DatasetFields,
  onProgress?: (p: Progress) => void,
): Promise<Dataset> {
  const boundary = `axv-${randomUUID()}`;
  let head = '';
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'string') head += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  }
  head +=
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoted(basename(path))}"; ` +
    `filename*=UTF-8''${encodeURIComponent(basename(path))}\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const length = Buffer.byteLength(head) + size + Buffer.byteLength(tail);
  const url = `${client.baseUrl}/v1/pilots/${encodeURIComponent(pilotId)}/datasets`;

  // Not through the client's retrying fetch: a stream cannot be replayed, so each attempt reopens the file.
  for (let attempt = 0; ; attempt++) {
    let sent = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sent += chunk.length;
        onProgress?.({ bytes: sent, total: size });
        done(null, chunk);
      },
    });
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from(head);
      yield* createReadStream(path).pipe(counter);
      yield Buffer.from(tail);
    }
    const res = await fetch(url, {
      method: 'POST',
      headers: client.headers({
        'Content-Type': `multipart/form-data; boundary=${boundary}`,
        'Content-Length': String(length),
      }),
      body: Readable.toWeb(Readable.from(body())) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit);
    if (RETRYABLE.has(res.status) && attempt < client.retry.retries) {
      await res.body?.cancel();
      await sleep(backoffMs(attempt + 1, res.headers.get('Retry-After'), client.retry));
      continue;
    }
    if (!res.ok) throw await problemFrom(res);
    return (await res.json()) as Dataset;
  }
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  mediaType: string | null;
}

/** The hex SHA-256 in a Repr-Digest header (RFC 9530), if it has one. */
function reprDigestSha256(header: string | null): string | undefined {
  const m = header ? /(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):/.exec(header) : null;
  return m ? Buffer.from(m[1]!, 'base64').toString('hex') : undefined;
}

/**
 * Streams a dataset's bytes to `dest` through a temporary file beside it, checks them against the server's
 * Repr-Digest, and only then renames: `dest` is the whole, verified file or is left untouched.
 */
export async function downloadDataset(
  client: AxClient,
  datasetId: string,
  dest: string,
  onProgress?: (p: Progress) => void,
): Promise<DownloadResult> {
  const res = await client.send('GET', `/v1/datasets/${encodeURIComponent(datasetId)}/content`);
  const total = Number(res.headers.get('Content-Length') ?? 0);
  const expected = reprDigestSha256(res.headers.get('Repr-Digest'));
  const temp = `${dest}.${process.pid}.part`;
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      hash.update(chunk);
      onProgress?.({ bytes, total });
      done(null, chunk);
    },
  });
  try {
    if (!res.body) throw new Error('The download had no body.');
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      tap,
      createWriteStream(temp),
    );
    const sha256 = hash.digest('hex');
    if (expected && expected !== sha256)
      throw new Error(`The download's SHA-256 ${sha256} does not match the server's ${expected}.`);
    await rename(temp, dest);
    return { bytes, sha256, mediaType: res.headers.get('Content-Type') };
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
