/**
 * Resumable uploads over tus 1.0 at /v1/pilots/:id/uploads (tus-js-client). Kept apart from the single-request
 * path so it can be read, and replaced, on its own. Unfinished uploads' URLs are kept in a JSON file
 * (tus-js-client's FileUrlStorage) keyed by the file's path, size and mtime, so running the same upload again
 * after an interruption continues from the server's offset. The final PATCH answer names the new dataset in
 * its Dataset-Id header.
 */
import { createReadStream } from 'node:fs';
import * as tus from 'tus-js-client';
import type { AxClient } from './client.js';
import type { Dataset, DatasetFields, UploadOptions, UploadResult } from './transfer.js';

interface UrlStorageCtor {
  new (path: string): NonNullable<tus.UploadOptions['urlStorage']>;
}

const UPLOADS_PATH = '/v1/pilots/{id}/uploads';

/**
 * True when the service takes tus uploads for this pilot. tus discovery (OPTIONS answering Tus-Version) is
 * tried first, for servers and proxies that speak it; the service itself answers OPTIONS without tus headers,
 * so its OpenAPI document decides: it declares the creation operation wherever the endpoint exists.
 */
export async function offersTus(client: AxClient, pilotId: string): Promise<boolean> {
  const url = `${client.baseUrl}${UPLOADS_PATH.replace('{id}', encodeURIComponent(pilotId))}`;
  try {
    const res = await client.fetch(new Request(url, { method: 'OPTIONS', headers: client.headers() }));
    await res.body?.cancel();
    if (res.ok && (res.headers.get('Tus-Version') ?? '').split(',').some((v) => v.trim() === '1.0.0')) return true;
  } catch {
    // Unreachable or refused: the document below still answers.
  }
  try {
    const res = await client.fetch(new Request(`${client.baseUrl}/openapi.json`, { headers: client.headers() }));
    if (!res.ok) {
      await res.body?.cancel();
      return false;
    }
    const doc = (await res.json()) as { paths?: Record<string, Record<string, unknown> | undefined> };
    return Boolean(doc.paths?.[UPLOADS_PATH]?.post);
  } catch {
    return false;
  }
}

export async function uploadResumable(
  client: AxClient,
  pilotId: string,
  path: string,
  size: number,
  fields: DatasetFields,
  opts: UploadOptions,
): Promise<UploadResult> {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (typeof v === 'string') metadata[k] = v;
  const FileUrlStorage = (tus as unknown as { FileUrlStorage: UrlStorageCtor }).FileUrlStorage;
  let datasetId: string | undefined;
  let resumed = false;
  await new Promise<void>((resolve, reject) => {
    const upload = new tus.Upload(createReadStream(path) as unknown as Buffer, {
      endpoint: `${client.baseUrl}/v1/pilots/${encodeURIComponent(pilotId)}/uploads`,
      metadata,
      uploadSize: size,
      chunkSize: 64 * 1024 * 1024,
      headers: client.headers(),
      retryDelays: [0, 1000, 3000, 5000, 10000],
      ...(opts.resumeStore
        ? {
            urlStorage: new FileUrlStorage(opts.resumeStore),
            storeFingerprintForResuming: true,
            removeFingerprintOnSuccess: true,
          }
        : {}),
      onProgress: (bytes, total) => opts.onProgress?.({ bytes, total }),
      onAfterResponse: (_req, res) => {
        datasetId = res.getHeader('Dataset-Id') ?? datasetId;
      },
      onSuccess: () => resolve(),
      onError: reject,
    });
    void upload.findPreviousUploads().then((previous) => {
      const last = previous[0];
      if (last) {
        resumed = true;
        upload.resumeFromPreviousUpload(last);
      }
      upload.start();
    }, reject);
  });
  if (!datasetId) throw new Error('The upload finished but the server named no Dataset-Id.');
  const res = await client.send('GET', `/v1/datasets/${encodeURIComponent(datasetId)}`);
  return { dataset: (await res.json()) as Dataset, method: 'tus', resumed };
}
