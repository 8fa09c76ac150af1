/** What leaves the process about a dataset: never the blob id, storage key or deletion bookkeeping. */
import type { Dataset, DatasetProfile, DatasetSensitivity } from '../generated/schema-types.js';

export interface DatasetRow {
  id: string;
  pilot_id: string;
  organization_id: string;
  name: string;
  version: number;
  description: string | null;
  sensitivity: DatasetSensitivity;
  legal_basis: string | null;
  blob_id: string | null;
  sha256: string;
  size_bytes: number;
  media_type: string;
  encoding: string | null;
  file_name: string;
  claimed_media_type: string | null;
  claimed_extension: string | null;
  profile: DatasetProfile | null;
  created_by: string | null;
  created_at: Date;
  deleted_at: Date | null;
}

export const DATASET_COLUMNS = `d.id, d.pilot_id, d.organization_id, d.name, d.version, d.description, d.sensitivity, d.legal_basis,
  d.blob_id, d.sha256, d.size_bytes, d.media_type, d.encoding, d.file_name, d.claimed_media_type, d.claimed_extension,
  d.profile, d.created_by, d.created_at, d.deleted_at`;

export function toDatasetDto(row: DatasetRow): Dataset {
  return {
    id: row.id,
    pilotId: row.pilot_id,
    organizationId: row.organization_id,
    name: row.name,
    version: row.version,
    description: row.description,
    sensitivity: row.sensitivity,
    legalBasis: row.legal_basis,
    fileName: row.file_name,
    sizeBytes: Number(row.size_bytes),
    sha256: row.sha256,
    mediaType: row.media_type,
    encoding: row.encoding,
    claimedMediaType: row.claimed_media_type,
    claimedExtension: row.claimed_extension,
    profile: row.profile,
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
  };
}

export interface AccessLogRow {
  id: string;
  dataset_id: string;
  user_id: string | null;
  organization_id: string | null;
  via: 'session' | 'api-key';
  action: 'download';
  byte_range: string | null;
  at: Date;
}

export const toAccessLogDto = (r: AccessLogRow) => ({
  id: r.id,
  datasetId: r.dataset_id,
  userId: r.user_id,
  organizationId: r.organization_id,
  via: r.via,
  action: r.action,
  range: r.byte_range,
  at: r.at.toISOString(),
});
