-- The running SHA-256 of a resumable upload: the hash state (hash-wasm's saved SHA-256 context) after the
-- first digest_offset bytes, saved after each PATCH that appended them. Any process continues it from here, so
-- the last PATCH needs no read of the whole upload. A state whose offset differs from the upload's is never
-- continued: the finish reads the bytes from digest_offset (or from the start) instead.
ALTER TABLE resumable_uploads
  ADD COLUMN digest_offset bigint NOT NULL DEFAULT 0 CHECK (digest_offset >= 0),
  ADD COLUMN digest_state  bytea;
