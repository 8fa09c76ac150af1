/**
 * Resumable upload records: which pilot and organisation an upload belongs to, when it expires, and the
 * dataset version it became. Every API process sharing the database sees the same records, so an upload
 * begun on one process is resumed on another under the same rules.
 */
import type { Principal } from '../core/principal.js';
import type { Db, Queryable } from '../db/client.js';
import type { DatasetUpload } from '../generated/schema-types.js';
import { AppError, validationFailed } from '../core/errors.js';
import type { Validator } from '../http/validation.js';

export interface ResumableRow {
  id: string;
  pilot_id: string;
  organization_id: string;
  size_bytes: string;
  expires_at: Date;
  dataset_id: string | null;
}

/** The contract's metadata keys; tus clients add filename and filetype (kept as the file's name and type). */
const FIELD_KEYS = ['name', 'sensitivity', 'legalBasis', 'description', 'sha256'] as const;

export interface UploadMetadata {
  fields: DatasetUpload;
  originalName: string;
  claimedType: string;
}

/** Parses tus Upload-Metadata (`key base64,key base64`) into its pairs; 400 when it is not well formed. */
export function parseMetadataHeader(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (header === undefined || header.trim() === '') return out;
  for (const pair of header.split(',')) {
    const m = /^\s*([\x21-\x2b\x2d-\x7e]+)(?: ([A-Za-z0-9+/]*={0,2}))?\s*$/.exec(pair);
    if (!m || Object.hasOwn(out, m[1]!)) {
      throw new AppError(
        400,
        'invalid-upload-metadata',
        'Bad request',
        'Upload-Metadata must be comma-separated "key base64(value)" pairs, each key once.',
      );
    }
    const value = Buffer.from(m[2] ?? '', 'base64').toString('utf8');
    if (value.includes('\uFFFD') || value.includes('\u0000')) {
      throw new AppError(
        400,
        'invalid-upload-metadata',
        'Bad request',
        `The value of "${m[1]!}" in Upload-Metadata is not UTF-8 text.`,
      );
    }
    out[m[1]!] = value;
  }
  return out;
}

/** The dataset fields of an upload's metadata, checked against the same schema as single-request uploads. */
export function metadataFields(
  validator: Validator,
  metadata: Record<string, string | null | undefined>,
): UploadMetadata {
  const raw: Record<string, string> = {};
  for (const k of FIELD_KEYS) {
    const v = metadata[k];
    if (typeof v === 'string') raw[k] = v;
  }
  let fields: DatasetUpload;
  try {
    fields = validator.check<DatasetUpload>('body', 'dataset-upload.json', raw);
  } catch (err) {
    if (err instanceof AppError && Array.isArray(err.extra.errors)) {
      const errors = (err.extra.errors as { pointer: string; message: string }[]).map((e) => ({
        pointer: e.pointer.replace(/^\/body/, '/header/Upload-Metadata'),
        message: e.message,
      }));
      throw validationFailed(errors, 'Upload-Metadata is not valid.');
    }
    throw err;
  }
  return {
    fields,
    originalName: (metadata.filename ?? '').slice(0, 1000) || 'upload',
    claimedType: (metadata.filetype ?? '').slice(0, 200) || 'application/octet-stream',
  };
}

export async function recordUpload(
  db: Queryable,
  id: string,
  pilot: { id: string; organization_id: string },
  principal: Principal,
  size: number,
  expirySeconds: number,
) {
  await db.query(
    `INSERT INTO resumable_uploads (id, pilot_id, organization_id, created_by, size_bytes, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
    [id, pilot.id, pilot.organization_id, principal.userId, size, expirySeconds],
  );
}

/** The caller's upload on this pilot; someone else's upload URL is as unknown as a made-up one (404). */
export async function ownUpload(
  db: Queryable,
  principal: Principal,
  pilotId: string,
  id: string,
): Promise<ResumableRow> {
  const { rows } = await db.query<ResumableRow>(
    `SELECT id, pilot_id, organization_id, size_bytes::text, expires_at, dataset_id FROM resumable_uploads
      WHERE id = $1 AND pilot_id = $2 AND organization_id = $3`,
    [id, pilotId, principal.organizationId],
  );
  const row = rows[0];
  if (!row)
    throw new AppError(
      404,
      'not-found',
      'Not found',
      'No upload with that id exists on this pilot, or it is not yours.',
    );
  return row;
}

/** Raised inside the committing transaction when another request committed the same upload first. */
class AlreadyCommitted extends Error {
  constructor(readonly uploadId: string) {
    super(`upload ${uploadId} was committed by another request`);
  }
}

/** Marks the upload committed; exactly once, even when two processes finish the same upload at once. */
export async function markCommitted(tx: Queryable, id: string, datasetId: string) {
  const res = await tx.query('UPDATE resumable_uploads SET dataset_id = $2 WHERE id = $1 AND dataset_id IS NULL', [
    id,
    datasetId,
  ]);
  if (res.rowCount !== 1) throw new AlreadyCommitted(id);
}

export async function committedDataset(db: Queryable, id: string): Promise<string | undefined> {
  const { rows } = await db.query<{ dataset_id: string | null }>(
    'SELECT dataset_id FROM resumable_uploads WHERE id = $1',
    [id],
  );
  return rows[0]?.dataset_id ?? undefined;
}

export async function forgetUpload(db: Queryable, id: string) {
  await db.query('DELETE FROM resumable_uploads WHERE id = $1 AND dataset_id IS NULL', [id]);
}

/** Unfinished uploads past their expiry: their records go, and the caller removes their bytes. */
export async function expiredUploads(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    'DELETE FROM resumable_uploads WHERE dataset_id IS NULL AND expires_at < now() RETURNING id',
  );
  return rows.map((r) => r.id);
}
