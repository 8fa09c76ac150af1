/**
 * tus 1.0 resumable uploads (core, creation, termination, expiration) at /v1/pilots/{id}/uploads, spoken by
 * @tus/server over its file store (UPLOADS_DIR) or S3 store (STORAGE=s3): see store.ts.
 * Before the library sees a request, the route applies the rules of single-request uploads: authentication,
 * the datasets:write scope, the pilot's owner, valid metadata (sensitivity and legal basis), the size limit and
 * the quota, and that the upload URL belongs to the caller. The SHA-256 is computed while the PATCH bodies
 * stream in (digest.ts). When the last byte arrives, the head is read for the type (and the whole file only
 * for a tabular profile), the checks of single-request uploads run, the file is taken over by dataset storage
 * without a copy through this process (rename, or S3 CopyObject), and committed as a dataset version in one
 * transaction with its dataset.uploaded event; the final PATCH answers Dataset-Id. Errors are problem+json.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Server, type Upload } from '@tus/server';
import type { Request, Response } from 'express';
import { NodeRequest, sendNodeResponse } from 'srvx/node';
import type { Principal } from '../core/principal.js';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { checkReceived, commitUpload, storageUsed, uploadablePilot } from '../datasets/service.js';
import { fileTooLarge, inspectStored, quotaExceeded } from '../datasets/upload.js';
import { AppError, isProblemCode, problemType, uploadInterrupted, type ProblemCode } from '../core/errors.js';
import { sendProblem } from '../http/errors.js';
import type { ApiRouter } from '../http/route.js';
import { blobStoreFor, TempLostError } from '../storage/index.js';
import { tusCorsOptions } from '../http/cors.js';
import { DigestingStore } from './digest.js';
import { uploadLocker } from './locker.js';
import { resumableStore } from './store.js';
import {
  committedDataset,
  forgetUpload,
  markCommitted,
  metadataFields,
  ownUpload,
  parseMetadataHeader,
  recordUpload,
} from './service.js';

const TAG = 'Datasets';
const TUS_VERSION = '1.0.0';

interface Pending {
  principal: Principal;
  pilot: { id: string; organization_id: string };
  size?: number;
}

/** What a tus status means, for the problem+json the route answers instead of the library's plain text. */
const TUS_PROBLEMS: Record<number, [ProblemCode, string]> = {
  400: ['bad-request', 'Bad request'],
  403: ['forbidden', 'Forbidden'],
  404: ['not-found', 'Not found'],
  409: ['upload-offset-mismatch', 'Conflict'],
  410: ['upload-expired', 'Gone'],
  412: ['tus-version-unsupported', 'Precondition failed'],
  413: ['file-too-large', 'Payload too large'],
  415: ['unsupported-media-type', 'Unsupported media type'],
};

export function resumableRoutes(api: ApiRouter, db: Db, config: Config): void {
  const blobs = blobStoreFor(config);
  const resumable = resumableStore(config);
  const { datastore } = resumable;
  const pending = new WeakMap<IncomingMessage, Pending>();
  const nodeReq = (req: unknown) => (req as { node?: { req: IncomingMessage } }).node?.req;

  const digesting = new DigestingStore(datastore);
  const tus = new Server({
    path: '/v1/pilots',
    datastore: digesting,
    maxSize: config.resumableMaxBytes,
    namingFunction: () => randomUUID(),
    locker: uploadLocker(config),
    ...tusCorsOptions(config.corsOrigins),
    // Relative to the request path: /v1/pilots/{id}/uploads/{uploadId}.
    generateUrl: (req, { id }) => `${new URL(req.url).pathname.replace(/\/+$/, '')}/${id}`,
    onUploadCreate: async (req, upload) => {
      const ctx = pending.get(nodeReq(req)!)!;
      await recordUpload(db, upload.id, ctx.pilot, ctx.principal, upload.size!, config.uploadExpirySeconds);
      return {};
    },
    onUploadFinish: async (req, upload) => {
      const ctx = pending.get(nodeReq(req)!)!;
      const datasetId = await finish(ctx, upload);
      return { headers: { 'Dataset-Id': datasetId } };
    },
    onResponseError: (_req, err) => {
      if (err instanceof AppError) return { status_code: err.status, body: JSON.stringify(problemBody(err)) };
      if (err instanceof TempLostError)
        return { status_code: 503, body: JSON.stringify(problemBody(uploadInterrupted())) };
      return undefined;
    },
  });

  /** Reads the finished upload through the dataset pipeline and commits it; removes it either way. */
  const finishing = new Map<string, Promise<string>>();
  /** One finish per upload in this process: concurrent requests for it share the one commit. */
  function finish(ctx: Pending, upload: Upload): Promise<string> {
    let running = finishing.get(upload.id);
    if (!running) {
      running = finishOnce(ctx, upload).finally(() => finishing.delete(upload.id));
      finishing.set(upload.id, running);
    }
    return running;
  }

  async function finishOnce(ctx: Pending, upload: Upload): Promise<string> {
    const meta = metadataFields(api.validator, upload.metadata ?? {});
    try {
      const size = upload.size!;
      // The digest is the hash this process kept while the PATCHes arrived; only the head (for the type) is
      // read, and the rest only for a tabular profile or when that hash does not cover every byte.
      const hash = digesting.resumeDigest(upload.id, size);
      const { sniffed, profile } = await inspectStored(size, (s, e) => resumable.read(upload.id, s, e), hash);
      const received = { sha256: hash.digest(), size, sniffed, profile };
      checkReceived(received, meta.fields);
      // Local storage renames the file into place, S3 copies the object server-side: never written twice.
      const temp = await blobs.adopt(resumable.location(upload.id), size);
      const file = { ...received, temp, originalName: meta.originalName, claimedType: meta.claimedType };
      const row = await commitUpload(
        db,
        blobs,
        ctx.principal,
        ctx.pilot.id,
        meta.fields,
        file,
        config.uploadQuotaBytes,
        (tx, r) => markCommitted(tx, upload.id, r.id),
      );
      await datastore.remove(upload.id).catch(() => undefined);
      return row.id;
    } catch (err) {
      // Another request (or process) finished this upload first; its tus copy may be gone under our reader.
      const committed = await committedDataset(db, upload.id).catch(() => undefined);
      if (committed) return committed;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TempLostError(upload.id);
      // Whole or nothing: an upload refused at the end (digest, type, quota) is gone, its record with it.
      if (err instanceof AppError && err.status < 500) {
        await datastore.remove(upload.id).catch(() => undefined);
        await forgetUpload(db, upload.id).catch(() => undefined);
      }
      throw err;
    }
  }

  /** Hands the request to the tus server; plain-text errors become problem+json with the tus headers kept. */
  async function delegate(req: Request, res: Response, ctx: Pending): Promise<void> {
    pending.set(req, ctx);
    const answer = await tus.handleWeb(new NodeRequest({ req, res }) as unknown as globalThis.Request);
    if (answer.status < 400) {
      await sendNodeResponse(res, answer);
      return;
    }
    const text = await answer.text();
    for (const [k, v] of answer.headers) if (k !== 'content-length' && k !== 'content-type') res.setHeader(k, v);
    let problem: AppError;
    try {
      const body = JSON.parse(text) as Record<string, unknown>;
      const { type: _t, title, status: _s, detail, code, ...extra } = body;
      // Our own problems, serialised by problemBody for the tus server to pass on; anything else is the server's.
      if (typeof code !== 'string' || !isProblemCode(code)) throw new TypeError('not a problem of ours');
      problem = new AppError(answer.status, code, String(title), String(detail), extra);
    } catch {
      const [code, title] =
        TUS_PROBLEMS[answer.status] ??
        (answer.status >= 500 ? ['internal', 'Internal server error'] : ['bad-request', 'Bad request']);
      problem = new AppError(answer.status, code, title, text.trim() || title);
    }
    if (answer.status === 412) res.setHeader('Tus-Version', TUS_VERSION);
    if (answer.status === 503 || answer.status === 423) res.setHeader('Retry-After', '1');
    sendProblem(res, problem, req.id ? `urn:request:${String(req.id)}` : undefined);
  }

  function requireTus(req: Request): void {
    if (req.get('Tus-Resumable') !== TUS_VERSION) {
      throw new AppError(412, 'tus-version-unsupported', 'Precondition failed', `Send Tus-Resumable: ${TUS_VERSION}.`, {
        tusVersion: TUS_VERSION,
      });
    }
  }

  const common = { tag: TAG, auth: 'datasets:write' as const };
  const tusHeaders = ['Tus-Resumable'];

  api.mount(
    {
      ...common,
      method: 'post',
      path: '/v1/pilots/{id}/uploads',
      operationId: 'createResumableUpload',
      summary: 'Begin a resumable upload (tus 1.0 creation)',
      description: [
        'tus 1.0 (core, creation, termination, expiration): any tus client (tus-js-client, Uppy) works.',
        'Upload-Metadata carries the dataset fields of a single-request upload: `name`, `sensitivity`,',
        "`legalBasis` (personal and sensitive data), `description`, `sha256`, plus the client's `filename` and",
        "`filetype`. The answer's Location is the upload URL for HEAD, PATCH and DELETE. Limits:",
        "`RESUMABLE_MAX_BYTES` and the organisation's quota (413). An unfinished upload expires",
        '`UPLOAD_EXPIRY_SECONDS` after its creation (`Upload-Expires`).',
      ].join(' '),
      headerParams: ['TusResumable', 'UploadLength', 'UploadMetadata'],
      success: {
        status: 201,
        description: 'Created; PATCH the bytes to Location.',
        headers: ['Location', 'Upload-Expires', ...tusHeaders],
      },
      errors: [412, 413],
    },
    async (req, res, params) => {
      const pilot = await uploadablePilot(db, req.principal!, params.id);
      requireTus(req);
      const lengthHeader = req.get('Upload-Length');
      if (lengthHeader === undefined || !/^\d{1,16}$/.test(lengthHeader) || Number(lengthHeader) === 0) {
        throw new AppError(
          400,
          'validation-failed',
          'Validation failed',
          'Upload-Length must be the size of the file in bytes (deferred lengths are not accepted).',
          {
            errors: [{ pointer: '/header/Upload-Length', message: 'must be a positive integer' }],
          },
        );
      }
      const size = Number(lengthHeader);
      if (size > config.resumableMaxBytes) throw fileTooLarge(config.resumableMaxBytes);
      metadataFields(api.validator, parseMetadataHeader(req.get('Upload-Metadata')));
      const used = await storageUsed(db, pilot.organization_id);
      if (used + size > config.uploadQuotaBytes) throw quotaExceeded(config.uploadQuotaBytes, used);
      await delegate(req, res, { principal: req.principal!, pilot, size });
    },
  );

  /** The upload addressed by the URL, when it is the caller's and still resumable; answers committed ones. */
  async function addressed(req: Request, params: { id: string; uploadId: string }) {
    const pilot = await uploadablePilot(db, req.principal!, params.id);
    requireTus(req);
    const row = await ownUpload(db, req.principal!, pilot.id, params.uploadId);
    if (!row.dataset_id && row.expires_at.getTime() < Date.now()) {
      await datastore.remove(row.id).catch(() => undefined);
      await forgetUpload(db, row.id);
      throw new AppError(
        410,
        'upload-expired',
        'Gone',
        'The upload expired before it was finished; its bytes were removed.',
      );
    }
    return { pilot, row };
  }

  api.mount(
    {
      ...common,
      method: 'head',
      path: '/v1/pilots/{id}/uploads/{uploadId}',
      operationId: 'getResumableUploadOffset',
      summary: 'How many bytes of a resumable upload the server holds (tus HEAD)',
      description: 'A finished upload answers its full length and the `Dataset-Id` of the version it became.',
      headerParams: ['TusResumable'],
      success: {
        status: 200,
        description: 'The offset to resume from.',
        headers: ['Upload-Offset', 'Upload-Length', 'Upload-Expires', 'Dataset-Id', ...tusHeaders],
      },
      errors: [410, 412, 423],
    },
    async (req, res, params) => {
      const { pilot, row } = await addressed(req, params);
      let datasetId = row.dataset_id;
      if (!datasetId) {
        // Every byte is here but the process that received the last one died before committing: commit now,
        // so a client that resumes (HEAD, then nothing left to send) still learns its Dataset-Id.
        const running = finishing.get(row.id);
        const held = running ? undefined : await datastore.getUpload(row.id).catch(() => undefined);
        if (running) datasetId = await running;
        else if (held && held.size !== undefined && held.offset === held.size) {
          datasetId = await finish({ principal: req.principal!, pilot }, held);
        } else datasetId = (await committedDataset(db, row.id)) ?? null; // finished meanwhile by another request
      }
      if (datasetId) {
        res
          .status(200)
          .set({
            'Tus-Resumable': TUS_VERSION,
            'Upload-Offset': row.size_bytes,
            'Upload-Length': row.size_bytes,
            'Dataset-Id': datasetId,
            'Cache-Control': 'no-store',
          })
          .end();
        return;
      }
      await delegate(req, res, { principal: req.principal!, pilot });
    },
  );

  api.mount(
    {
      ...common,
      method: 'patch',
      path: '/v1/pilots/{id}/uploads/{uploadId}',
      operationId: 'appendResumableUpload',
      summary: 'Append bytes to a resumable upload at Upload-Offset (tus PATCH)',
      description:
        'The answer to the PATCH that brings the last byte carries `Dataset-Id`, the committed dataset version.',
      headerParams: ['TusResumable', 'UploadOffset'],
      rawBody: {
        mediaType: 'application/offset+octet-stream',
        description: 'The next bytes of the file, from Upload-Offset.',
      },
      success: {
        status: 204,
        description: 'Appended; Upload-Offset is the new offset.',
        headers: ['Upload-Offset', 'Upload-Expires', 'Dataset-Id', ...tusHeaders],
      },
      errors: [409, 410, 412, 413, 415, 422, 423],
    },
    async (req, res, params) => {
      const { pilot, row } = await addressed(req, params);
      if (row.dataset_id) {
        throw new AppError(
          409,
          'upload-offset-mismatch',
          'Conflict',
          'The upload is finished; nothing more can be appended.',
          { uploadOffset: Number(row.size_bytes) },
        );
      }
      await delegate(req, res, { principal: req.principal!, pilot });
    },
  );

  api.mount(
    {
      ...common,
      method: 'delete',
      path: '/v1/pilots/{id}/uploads/{uploadId}',
      operationId: 'terminateResumableUpload',
      summary: 'Abandon a resumable upload and remove its bytes (tus termination)',
      headerParams: ['TusResumable'],
      success: { status: 204, description: 'Terminated.', headers: tusHeaders },
      errors: [409, 410, 412, 423],
    },
    async (req, res, params) => {
      const { pilot, row } = await addressed(req, params);
      if (row.dataset_id) {
        throw new AppError(
          409,
          'upload-finished',
          'Conflict',
          'The upload is finished and became a dataset version; delete the dataset instead.',
          { datasetId: row.dataset_id },
        );
      }
      await delegate(req, res, { principal: req.principal!, pilot });
      if (res.statusCode === 204) await forgetUpload(db, row.id);
    },
  );
}

function problemBody(err: AppError) {
  return {
    type: problemType(err.code),
    title: err.title,
    status: err.status,
    detail: err.detail,
    code: err.code,
    ...err.extra,
  };
}
