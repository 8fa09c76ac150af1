import { pipeline } from 'node:stream/promises';
import { create as contentDisposition } from 'content-disposition';
import type { Request, Response } from 'express';
import rangeParser from 'range-parser';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { DatasetUpload } from '../generated/schema-types.js';
import { AppError, validationFailed } from '../core/errors.js';
import { etagOf } from '../core/etag.js';
import { schema, type ApiRouter } from '../http/route.js';
import { blobStoreFor } from '../storage/index.js';
import { isAudited } from './access.js';
import { toDatasetDto, type DatasetRow } from './presenter.js';
import {
  blobKey,
  checkReceived,
  commitUpload,
  deleteDataset,
  getVisibleDataset,
  listAccessLog,
  listPilotDatasets,
  listVersions,
  recordAccess,
  uploadablePilot,
  type DatasetListQuery,
} from './service.js';
import { ALLOWED_MEDIA_TYPES } from './sniff.js';
import { receiveUpload } from './upload.js';

const TAG = 'Datasets';
const FILE_FIELD = 'file';
const ONE = { status: 200, description: 'The dataset version.', schema: 'dataset.json', headers: ['ETag'] };

/** Metadata rows never change (a new upload is a new version), so the ETag only needs the id. */
const metadataEtag = (row: DatasetRow) => etagOf(row.id, 1);
/** The content ETag is the content hash: the same bytes have the same tag under every version. */
const contentEtag = (row: DatasetRow) => `"${row.sha256}"`;

/** What a download may be served as: the type sniffed at upload, or octet-stream when nothing more was known. */
const CONTENT_TYPES = ['application/octet-stream', ...ALLOWED_MEDIA_TYPES];

const CHARSET: Record<string, string> = { 'utf-8': 'utf-8', cp949: 'euc-kr' };

function contentType(row: DatasetRow): string {
  const charset = row.encoding ? CHARSET[row.encoding] : undefined;
  return charset && /^(text\/|application\/(json|x-ndjson))/.test(row.media_type)
    ? `${row.media_type}; charset=${charset}`
    : row.media_type;
}

function ifNoneMatchHits(req: Request, etag: string): boolean {
  const header = req.get('If-None-Match');
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

/** Dataset uploads, downloads and their access log. */
export function datasetRoutes(api: ApiRouter, db: Db, config: Config): void {
  const store = blobStoreFor(config);

  api.add(
    {
      method: 'post',
      path: '/v1/pilots/{id}/datasets',
      operationId: 'uploadDataset',
      summary: 'Upload a dataset file (multipart/form-data, streamed)',
      description: [
        'Streams the `file` part to storage while computing its SHA-256 and size; the file is kept only if the whole',
        'body arrived and, when `sha256` is sent, only if it matches (else 422 `digest-mismatch`). The type is sniffed',
        'from the content and must be one the registry accepts (else 415). CSV/TSV (UTF-8 or CP949) and NDJSON files get',
        'a profile. Uploading again under the same `name` makes the next version. Limits: `UPLOAD_MAX_BYTES` per file',
        '(413 `file-too-large`) and `UPLOAD_QUOTA_BYTES` per organisation (413 `storage-quota-exceeded`).',
      ].join(' '),
      tag: TAG,
      auth: 'datasets:write',
      multipart: { fields: 'dataset-upload.json', file: FILE_FIELD, fileDescription: 'The dataset file; exactly one.' },
      success: { ...ONE, status: 201, description: 'The stored dataset version.', headers: ['ETag', 'Location'] },
      errors: [413, 415, 422],
    },
    async ({ principal, params, req, res }) => {
      const pilot = await uploadablePilot(db, principal, params.id);
      const { fields, file } = await receiveUpload(req, res, store, FILE_FIELD, config.uploadMaxBytes);
      let row: DatasetRow;
      try {
        const body = api.validator.check<DatasetUpload>('body', 'dataset-upload.json', fields);
        if (!file)
          throw validationFailed(
            [{ pointer: `/body/${FILE_FIELD}`, message: 'is required' }],
            'Send the dataset as a file part named "file".',
          );
        checkReceived(file, body);
        row = await commitUpload(db, store, principal, pilot.id, body, file, config.uploadQuotaBytes);
      } catch (err) {
        if (file) await store.discard(file.temp).catch(() => undefined);
        throw err;
      }
      res.location(`/v1/datasets/${row.id}`);
      res.status(201).set('ETag', metadataEtag(row)).json(toDatasetDto(row));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/pilots/{id}/datasets',
      operationId: 'listPilotDatasets',
      summary: "List a pilot's datasets (every live version), newest first",
      description: 'Partners owning a testbed booked by the pilot see only its public and internal datasets.',
      tag: TAG,
      auth: 'datasets:read',
      query: schema<DatasetListQuery>('dataset-list-query.json'),
      success: { status: 200, description: 'A page of dataset versions.', schema: 'dataset-list.json' },
    },
    async ({ principal, params, query, res }) => {
      res.json(await listPilotDatasets(db, principal, params.id, query));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/datasets/{id}',
      operationId: 'getDataset',
      summary: 'Read a dataset version (metadata and profile)',
      tag: TAG,
      auth: 'datasets:read',
      success: ONE,
    },
    async ({ principal, params, res }) => {
      const row = await getVisibleDataset(db, principal, params.id);
      res.set('ETag', metadataEtag(row)).json(toDatasetDto(row));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/datasets/{id}/versions',
      operationId: 'listDatasetVersions',
      summary: 'List every live version of this dataset name on its pilot, newest first',
      tag: TAG,
      auth: 'datasets:read',
      query: schema<{ limit: number; cursor?: string }>('list-query.json'),
      success: { status: 200, description: 'A page of versions.', schema: 'dataset-list.json' },
    },
    async ({ principal, params, query, res }) => {
      res.json(await listVersions(db, principal, params.id, query));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/datasets/{id}/content',
      operationId: 'downloadDataset',
      summary: 'Download the bytes (Range, ETag, Content-Disposition)',
      description:
        'Single byte ranges answer 206; several ranges are served as one spanning range. Downloads of personal and sensitive data are written to the access log before the first byte is sent.',
      tag: TAG,
      auth: 'datasets:read',
      success: {
        status: 200,
        description: 'The whole file, in the media type sniffed at upload.',
        mediaTypes: CONTENT_TYPES,
        headers: ['ETag', 'Repr-Digest', 'Content-Disposition', 'Accept-Ranges'],
      },
      otherResponses: [
        {
          status: 206,
          description: 'The requested byte range; Repr-Digest is the digest of the whole file.',
          mediaTypes: CONTENT_TYPES,
          headers: ['ETag', 'Repr-Digest', 'Content-Range', 'Content-Disposition'],
        },
        { status: 304, description: 'If-None-Match matched: the copy you have is current.', headers: ['ETag'] },
      ],
      errors: [416],
    },
    async ({ principal, params, req, res }) => {
      const row = await getVisibleDataset(db, principal, params.id);
      await sendContent(req, res, row, async (range) => {
        if (isAudited(row.sensitivity)) await recordAccess(db, principal, row, range, req.ip);
      });
    },
  );

  api.add(
    {
      method: 'delete',
      path: '/v1/datasets/{id}',
      operationId: 'deleteDataset',
      summary: 'Delete a dataset version (soft delete; bytes go when no version references them)',
      tag: TAG,
      auth: 'datasets:write',
      success: { status: 204, description: 'Deleted.' },
    },
    async ({ principal, params, res }) => {
      await deleteDataset(db, store, principal, params.id);
      res.status(204).end();
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/datasets/{id}/access-log',
      operationId: 'getDatasetAccessLog',
      summary: 'Who downloaded this personal or sensitive dataset, newest first',
      description: "For the dataset's owner and operators; kept after the dataset is deleted.",
      tag: TAG,
      auth: 'datasets:read',
      query: schema<{ limit: number; cursor?: string }>('list-query.json'),
      success: { status: 200, description: 'A page of access records.', schema: 'dataset-access-log.json' },
    },
    async ({ principal, params, query, res }) => {
      res.json(await listAccessLog(db, principal, params.id, query));
    },
  );

  async function sendContent(
    req: Request,
    res: Response,
    row: DatasetRow,
    audit: (range: string | undefined) => Promise<void>,
  ): Promise<void> {
    const size = Number(row.size_bytes);
    const etag = contentEtag(row);
    res.set({
      ETag: etag,
      'Accept-Ranges': 'bytes',
      'Content-Type': contentType(row),
      'Content-Disposition': contentDisposition(row.file_name, { type: 'attachment' }),
      'Cache-Control': isAudited(row.sensitivity) ? 'private, no-store' : 'private, no-cache',
    });
    if (ifNoneMatchHits(req, etag)) {
      res.status(304).end();
      return;
    }
    const key = await blobKey(db, row);
    let rangeHeader = req.get('Range');
    const ifRange = req.get('If-Range');
    if (rangeHeader && ifRange && ifRange.trim() !== etag) rangeHeader = undefined; // changed since: send it all
    let start = 0;
    let end = size - 1;
    let partial = false;
    if (rangeHeader) {
      const parsed = rangeParser(size, rangeHeader, { combine: true });
      if (parsed === -1) {
        res.set('Content-Range', `bytes */${size}`);
        throw new AppError(
          416,
          'range-not-satisfiable',
          'Range not satisfiable',
          `The file has ${size} bytes; no requested range lies within it.`,
          { sizeBytes: size },
        );
      }
      if (parsed !== -2 && parsed.type === 'bytes' && parsed.length > 0) {
        // Several ranges are answered as the one range spanning them (allowed by RFC 9110 §14.2).
        start = Math.min(...parsed.map((r) => r.start));
        end = Math.max(...parsed.map((r) => r.end));
        partial = true;
      }
    }
    if (req.method === 'HEAD') {
      res.status(partial ? 206 : 200).set('Content-Length', String(end - start + 1));
      if (partial) res.set('Content-Range', `bytes ${start}-${end}/${size}`);
      res.end();
      return;
    }
    await audit(partial ? rangeHeader : undefined);
    res.status(partial ? 206 : 200).set('Content-Length', String(end - start + 1));
    if (partial) res.set('Content-Range', `bytes ${start}-${end}/${size}`);
    // Repr-Digest is of the representation (the whole file), not of this part (RFC 9530 §3), so it is sent on
    // 206 too: a client resuming a download checks the reassembled file against it.
    res.set('Repr-Digest', `sha-256=:${Buffer.from(row.sha256, 'hex').toString('base64')}:`);
    try {
      await pipeline(store.read(key, { start, end }), res);
    } catch (err) {
      // The client went away or the object vanished mid-stream: nothing more can be said on this response.
      if (!res.headersSent) throw err;
      res.destroy();
    }
  }
}
