-- Datasets (guarantee 3). Bytes live behind the storage interface (src/storage), never in the database.
--   * dataset_blobs: one row per distinct content in an organisation (content addressing: identical bytes
--     uploaded twice by one organisation are stored once). storage_key embeds the blob id, so a blob removed
--     and later uploaded again never shares a path with its predecessor.
--   * datasets: one row per version of a named dataset of a pilot; soft-deleted rows keep their metadata (and
--     their access log) but stop referencing bytes, which are removed when no live version references them.
--   * dataset_access_log: every download of personal/sensitive data, written before the first byte is sent.

CREATE TABLE dataset_blobs (
  id              uuid PRIMARY KEY,
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes      bigint NOT NULL CHECK (size_bytes > 0),
  storage_key     text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  CONSTRAINT dataset_blobs_org_sha_key UNIQUE (organization_id, sha256),
  CONSTRAINT dataset_blobs_storage_key_key UNIQUE (storage_key)
);

CREATE TABLE datasets (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pilot_id           uuid NOT NULL REFERENCES pilots (id) ON DELETE CASCADE,
  organization_id    uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  version            integer NOT NULL CHECK (version >= 1),
  description        text,
  sensitivity        text NOT NULL CHECK (sensitivity IN ('public', 'internal', 'personal', 'sensitive')),
  legal_basis        text,
  blob_id            uuid REFERENCES dataset_blobs (id) ON DELETE SET NULL,
  sha256             text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes         bigint NOT NULL CHECK (size_bytes > 0),
  media_type         text NOT NULL,
  encoding           text,
  file_name          text NOT NULL,
  claimed_media_type text,
  claimed_extension  text,
  profile            jsonb,
  created_by         uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at         timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  deleted_at         timestamptz,
  deleted_by         uuid REFERENCES users (id) ON DELETE SET NULL,
  CONSTRAINT datasets_version_key UNIQUE (pilot_id, name, version),
  CONSTRAINT datasets_legal_basis_check CHECK (sensitivity IN ('public', 'internal') OR legal_basis IS NOT NULL),
  CONSTRAINT datasets_live_has_blob_check CHECK (deleted_at IS NOT NULL OR blob_id IS NOT NULL)
);
CREATE INDEX datasets_pilot_idx ON datasets (pilot_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX datasets_blob_idx ON datasets (blob_id) WHERE deleted_at IS NULL;

CREATE TABLE dataset_access_log (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  dataset_id      uuid NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
  user_id         uuid REFERENCES users (id) ON DELETE SET NULL,
  organization_id uuid REFERENCES organizations (id) ON DELETE SET NULL,
  via             text NOT NULL CHECK (via IN ('session', 'api-key')),
  action          text NOT NULL CHECK (action IN ('download')),
  byte_range      text,
  client_ip       text,
  at              timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp())
);
CREATE INDEX dataset_access_log_dataset_idx ON dataset_access_log (dataset_id, at DESC, id DESC);
