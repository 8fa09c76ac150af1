/**
 * Dataset rules and transactions. An upload is committed in one transaction that takes the organisation's
 * dataset lock (quota and content addressing are per organisation), reuses or creates the blob row, moves the
 * temporary into place (rename) only for new content, inserts the version row and records dataset.uploaded.
 * If anything fails, the temporary or the freshly placed object is removed: no row without bytes, no bytes
 * without a row.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../core/principal.js';
import type { Db, Queryable } from '../db/client.js';
import { recordEvent } from '../events/outbox.js';
import type { DatasetListQuery as DatasetListQueryParams, DatasetUpload } from '../generated/schema-types.js';
import { AppError, forbidden, notFound, unprocessable } from '../core/errors.js';
import { decodeCursor, toPage } from '../core/cursor.js';
import type { BlobStore } from '../storage/index.js';
import { datasetVisibility, isOwner, pilotDatasetVisibility } from './access.js';
import { claimedMediaType, displayFileName } from './file-name.js';
import { DATASET_COLUMNS, toAccessLogDto, toDatasetDto, type AccessLogRow, type DatasetRow } from './presenter.js';
import { ALLOWED_MEDIA_TYPES } from './sniff.js';
import { quotaExceeded, type ReceivedFile } from './upload.js';

export type DatasetListQuery = DatasetListQueryParams & { limit: number };

interface PilotRef {
  id: string;
  organization_id: string;
}

/** Serialises the quota check and blob bookkeeping of one organisation. */
const lockOrganization = (tx: Queryable, orgId: string) =>
  tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('datasets:' || $1::text, 0))`, [orgId]);

async function visiblePilot(db: Queryable, principal: Principal, pilotId: string, lock = false): Promise<PilotRef> {
  const { rows } = await db.query<PilotRef>(
    `SELECT p.id, p.organization_id FROM pilots p WHERE p.id = $1 AND ${pilotDatasetVisibility(principal, 2)}${lock ? ' FOR UPDATE OF p' : ''}`,
    [pilotId, principal.organizationId],
  );
  const row = rows[0];
  if (!row) throw notFound('pilot');
  return row;
}

/** The pilot, when the principal may upload to it: 404 when it cannot see it, 403 when it is not the owner. */
export async function uploadablePilot(db: Queryable, principal: Principal, pilotId: string): Promise<PilotRef> {
  const pilot = await visiblePilot(db, principal, pilotId);
  if (!isOwner(principal, pilot))
    throw forbidden('Only the organisation that registered this pilot uploads its datasets.');
  return pilot;
}

export async function storageUsed(db: Queryable, orgId: string): Promise<number> {
  const { rows } = await db.query<{ used: number }>(
    'SELECT COALESCE(SUM(size_bytes), 0)::bigint AS used FROM dataset_blobs WHERE organization_id = $1',
    [orgId],
  );
  return Number(rows[0]!.used);
}

/** Checks a received file against the rules that need its content; throws without touching the temporary. */
export function checkReceived(file: Pick<ReceivedFile, 'size' | 'sha256' | 'sniffed'>, fields: DatasetUpload): void {
  if (file.size === 0) {
    throw new AppError(400, 'validation-failed', 'Validation failed', 'The file is empty.', {
      errors: [{ pointer: '/body/file', message: 'must not be empty' }],
    });
  }
  if (fields.sha256 && fields.sha256.toLowerCase() !== file.sha256) {
    throw unprocessable(
      'digest-mismatch',
      'The SHA-256 of the bytes received differs from the sha256 field; nothing was kept.',
      {
        expected: fields.sha256.toLowerCase(),
        received: file.sha256,
      },
    );
  }
  if (!ALLOWED_MEDIA_TYPES.has(file.sniffed.mediaType)) {
    throw new AppError(
      415,
      'unsupported-dataset-type',
      'Unsupported media type',
      `Content of type ${file.sniffed.mediaType} is not accepted as a dataset.`,
      {
        detectedMediaType: file.sniffed.mediaType,
        allowed: [...ALLOWED_MEDIA_TYPES],
      },
    );
  }
}

const storageKeyOf = (orgId: string, sha256: string, blobId: string) =>
  `${orgId}/${sha256.slice(0, 2)}/${sha256}-${blobId}`;

export async function commitUpload(
  db: Db,
  store: BlobStore,
  principal: Principal,
  pilotId: string,
  fields: DatasetUpload,
  file: ReceivedFile,
  quotaBytes: number,
  /** Runs inside the committing transaction, after the version row is written (resumable uploads mark theirs). */
  within?: (tx: Queryable, row: DatasetRow) => Promise<void>,
): Promise<DatasetRow> {
  let placed: string | undefined;
  try {
    return await db.transaction(async (tx) => {
      const pilot = await visiblePilot(tx, principal, pilotId, true);
      if (!isOwner(principal, pilot))
        throw forbidden('Only the organisation that registered this pilot uploads its datasets.');
      const orgId = pilot.organization_id;
      await lockOrganization(tx, orgId);
      const existing = await tx.query<{ id: string }>(
        'SELECT id FROM dataset_blobs WHERE organization_id = $1 AND sha256 = $2 FOR UPDATE',
        [orgId, file.sha256],
      );
      let blobId = existing.rows[0]?.id;
      if (blobId) {
        await store.discard(file.temp); // identical bytes already stored for this organisation
      } else {
        const used = await storageUsed(tx, orgId);
        if (used + file.size > quotaBytes) throw quotaExceeded(quotaBytes, used);
        blobId = randomUUID();
        placed = await store.commit(file.temp, storageKeyOf(orgId, file.sha256, blobId));
        await tx.query(
          'INSERT INTO dataset_blobs (id, organization_id, sha256, size_bytes, storage_key) VALUES ($1, $2, $3, $4, $5)',
          [blobId, orgId, file.sha256, file.size, placed],
        );
      }
      const name = fields.name.trim().normalize('NFC');
      const { fileName, extension } = displayFileName(file.originalName);
      const { rows } = await tx.query<DatasetRow>(
        `INSERT INTO datasets AS d (pilot_id, organization_id, name, version, description, sensitivity, legal_basis, blob_id, sha256,
                              size_bytes, media_type, encoding, file_name, claimed_media_type, claimed_extension, profile, created_by)
         VALUES ($1, $2, $3,
                 (SELECT COALESCE(MAX(version), 0) + 1 FROM datasets WHERE pilot_id = $1 AND name = $3),
                 $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         RETURNING ${DATASET_COLUMNS}`,
        [
          pilot.id,
          orgId,
          name,
          fields.description?.trim() || null,
          fields.sensitivity,
          fields.legalBasis?.trim() || null,
          blobId,
          file.sha256,
          file.size,
          file.sniffed.mediaType,
          file.sniffed.encoding,
          fileName,
          claimedMediaType(file.claimedType),
          extension,
          file.profile === null ? null : JSON.stringify(file.profile),
          principal.userId,
        ],
      );
      const row = rows[0]!;
      await recordDatasetEvent(tx, 'dataset.uploaded', row);
      if (within) await within(tx, row);
      return row;
    });
  } catch (err) {
    if (placed) await store.remove(placed).catch(() => undefined);
    else await store.discard(file.temp).catch(() => undefined);
    throw err;
  }
}

function recordDatasetEvent(tx: Queryable, type: 'dataset.uploaded' | 'dataset.deleted', row: DatasetRow) {
  return recordEvent(tx, {
    type,
    data: toDatasetDto(row),
    visibility: 'dataset',
    organizationId: row.organization_id,
    pilotId: row.pilot_id,
    datasetId: row.id,
  });
}

/** A live dataset the principal may read; 404 otherwise. */
export async function getVisibleDataset(
  db: Queryable,
  principal: Principal,
  id: string,
  options: { lock?: boolean; includeDeleted?: boolean } = {},
) {
  const { rows } = await db.query<DatasetRow>(
    `SELECT ${DATASET_COLUMNS} FROM datasets d
      WHERE d.id = $1 AND ${datasetVisibility(principal, 2)}${options.includeDeleted ? '' : ' AND d.deleted_at IS NULL'}${options.lock ? ' FOR UPDATE' : ''}`,
    [id, principal.organizationId],
  );
  const row = rows[0];
  if (!row) throw notFound('dataset');
  return row;
}

export async function listPilotDatasets(db: Db, principal: Principal, pilotId: string, q: DatasetListQuery) {
  await visiblePilot(db, principal, pilotId);
  const after = decodeCursor('datasets', q.cursor, ['time', 'uuid']);
  const { rows } = await db.query<DatasetRow>(
    `SELECT ${DATASET_COLUMNS} FROM datasets d
      WHERE d.pilot_id = $1 AND d.deleted_at IS NULL AND ${datasetVisibility(principal, 2)}
        AND ($3::text IS NULL OR d.name = $3)
        AND ($4::text IS NULL OR d.sensitivity = $4)
        AND ($5::timestamptz IS NULL OR (d.created_at, d.id) < ($5::timestamptz, $6::uuid))
      ORDER BY d.created_at DESC, d.id DESC
      LIMIT $7`,
    [
      pilotId,
      principal.organizationId,
      q.name?.normalize('NFC') ?? null,
      q.sensitivity ?? null,
      after?.[0] ?? null,
      after?.[1] ?? null,
      q.limit + 1,
    ],
  );
  return toPage('datasets', rows, q.limit, (r) => [r.created_at.toISOString(), r.id], toDatasetDto);
}

/** Every live version of the dataset's name on its pilot, newest first. */
export async function listVersions(db: Db, principal: Principal, id: string, q: { limit: number; cursor?: string }) {
  const current = await getVisibleDataset(db, principal, id);
  const after = decodeCursor(`dataset-versions:${current.pilot_id}:${current.name}`, q.cursor, ['int']);
  const { rows } = await db.query<DatasetRow>(
    `SELECT ${DATASET_COLUMNS} FROM datasets d
      WHERE d.pilot_id = $1 AND d.name = $3 AND d.deleted_at IS NULL AND ${datasetVisibility(principal, 2)}
        AND ($4::int IS NULL OR d.version < $4::int)
      ORDER BY d.version DESC
      LIMIT $5`,
    [current.pilot_id, principal.organizationId, current.name, after?.[0] ?? null, q.limit + 1],
  );
  return toPage(
    `dataset-versions:${current.pilot_id}:${current.name}`,
    rows,
    q.limit,
    (r) => [r.version],
    toDatasetDto,
  );
}

/** Soft-deletes one version; its bytes go when no live version in the organisation references them. */
export async function deleteDataset(db: Db, store: BlobStore, principal: Principal, id: string): Promise<void> {
  const removable = await db.transaction(async (tx) => {
    const row = await getVisibleDataset(tx, principal, id, { lock: true });
    if (!isOwner(principal, row)) throw forbidden('Only the organisation that uploaded this dataset may delete it.');
    await lockOrganization(tx, row.organization_id);
    await tx.query('UPDATE datasets SET deleted_at = now(), deleted_by = $2, blob_id = NULL WHERE id = $1', [
      id,
      principal.userId,
    ]);
    let key: string | undefined;
    if (row.blob_id) {
      const { rows } = await tx.query<{ storage_key: string }>(
        `DELETE FROM dataset_blobs b WHERE b.id = $1
            AND NOT EXISTS (SELECT 1 FROM datasets d WHERE d.blob_id = b.id AND d.deleted_at IS NULL)
          RETURNING storage_key`,
        [row.blob_id],
      );
      key = rows[0]?.storage_key;
    }
    await recordDatasetEvent(tx, 'dataset.deleted', row);
    return key;
  });
  // Keys embed the blob id, so a later upload of the same bytes gets a new path: removing after commit is safe.
  if (removable) await store.remove(removable).catch(() => undefined);
}

export async function blobKey(db: Queryable, row: DatasetRow): Promise<string> {
  const { rows } = await db.query<{ storage_key: string }>('SELECT storage_key FROM dataset_blobs WHERE id = $1', [
    row.blob_id,
  ]);
  const key = rows[0]?.storage_key;
  if (!key) throw notFound('dataset');
  return key;
}

export async function recordAccess(
  db: Queryable,
  principal: Principal,
  row: DatasetRow,
  range: string | undefined,
  clientIp: string | undefined,
) {
  await db.query(
    `INSERT INTO dataset_access_log (dataset_id, user_id, organization_id, via, action, byte_range, client_ip)
     VALUES ($1, $2, $3, $4, 'download', $5, $6)`,
    [row.id, principal.userId, principal.organizationId, principal.via, range?.slice(0, 200) ?? null, clientIp ?? null],
  );
}

export async function listAccessLog(db: Db, principal: Principal, id: string, q: { limit: number; cursor?: string }) {
  // The log outlives a soft delete: the owner and operators can still see who downloaded what.
  const row = await getVisibleDataset(db, principal, id, { includeDeleted: true });
  if (!isOwner(principal, row) && principal.orgKind !== 'operator') {
    throw forbidden("Only the dataset's owner and operators read its access log.");
  }
  const after = decodeCursor(`dataset-access:${id}`, q.cursor, ['time', 'uuid']);
  const { rows } = await db.query<AccessLogRow>(
    `SELECT id, dataset_id, user_id, organization_id, via, action, byte_range, at FROM dataset_access_log
      WHERE dataset_id = $1 AND ($2::timestamptz IS NULL OR (at, id) < ($2::timestamptz, $3::uuid))
      ORDER BY at DESC, id DESC LIMIT $4`,
    [id, after?.[0] ?? null, after?.[1] ?? null, q.limit + 1],
  );
  return toPage(`dataset-access:${id}`, rows, q.limit, (r) => [r.at.toISOString(), r.id], toAccessLogDto);
}

/**
 * Start-up: removes temporaries a crashed process left, and blobs that no live version references any more
 * (a pilot deleted with its datasets, a process killed between commit and removal).
 */
const ORPHAN_MIN_AGE_MS = 3600_000;

export async function sweepUploads(
  db: Db,
  store: BlobStore,
  tempMaxAgeSeconds: number,
): Promise<{ temporaries: number; blobs: number; orphans: number }> {
  const temporaries = await store.sweepTemp(tempMaxAgeSeconds * 1000);
  let keys: string[] = [];
  try {
    const { rows } = await db.query<{ storage_key: string }>(
      `DELETE FROM dataset_blobs b WHERE NOT EXISTS (SELECT 1 FROM datasets d WHERE d.blob_id = b.id AND d.deleted_at IS NULL)
       RETURNING storage_key`,
    );
    keys = rows.map((r) => r.storage_key);
  } catch {
    // A concurrent upload re-used a blob this sweep meant to remove (the live-has-blob CHECK refuses the
    // delete): leave it for the next start.
  }
  for (const key of keys) await store.remove(key).catch(() => undefined);
  // Objects without a blob row: a process killed between moving a file into place and committing its row.
  // That window is milliseconds, so only objects older than an hour are considered (another process may be
  // inside it right now).
  let orphans = 0;
  let batch: string[] = [];
  const flush = async () => {
    const { rows } = await db.query<{ storage_key: string }>(
      'SELECT storage_key FROM dataset_blobs WHERE storage_key = ANY($1::text[])',
      [batch],
    );
    const known = new Set(rows.map((r) => r.storage_key));
    for (const key of batch) {
      if (known.has(key)) continue;
      await store.remove(key).catch(() => undefined);
      orphans++;
    }
    batch = [];
  };
  for await (const key of store.listKeys(Math.max(tempMaxAgeSeconds * 1000, ORPHAN_MIN_AGE_MS))) {
    batch.push(key);
    if (batch.length >= 1000) await flush();
  }
  if (batch.length) await flush();
  return { temporaries, blobs: keys.length, orphans };
}
