-- tus resumable uploads: who may resume, append to or cancel an upload, and the version it became. The bytes
-- live in the storage backend; this row is what every API process sharing the database agrees on.
CREATE TABLE resumable_uploads (
  id              uuid PRIMARY KEY,
  pilot_id        uuid NOT NULL REFERENCES pilots (id) ON DELETE CASCADE,
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  created_by      uuid REFERENCES users (id) ON DELETE SET NULL,
  size_bytes      bigint NOT NULL CHECK (size_bytes > 0),
  created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  expires_at      timestamptz NOT NULL,
  dataset_id      uuid REFERENCES datasets (id) ON DELETE SET NULL
);
CREATE INDEX resumable_uploads_expires ON resumable_uploads (expires_at) WHERE dataset_id IS NULL;
