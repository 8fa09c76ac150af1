-- Leases without index writes. A lane leases its deliveries by setting locked_until and claim_token on them, and
-- the per-endpoint bound counted live lanes through an index on exactly those columns, so every lease was an
-- update that could not be HOT: a new entry in each of the five indexes of the table for every delivery leased
-- (inserting index entries, and the bottom-up deletion of those left behind, was 38.7 % of the database's time in
-- the drain of a backlog). The lanes are now rows of their own, one per claim token, which the bound counts; no
-- index of webhook_deliveries covers the lease columns, and the table leaves room on each page, so a lease is a HOT
-- update.
CREATE TABLE webhook_lanes (
  -- The claim token its deliveries are leased under.
  token         uuid PRIMARY KEY,
  endpoint_id   uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  -- As long as the leases of its deliveries: a lane whose worker died stops counting when they run out.
  locked_until  timestamptz NOT NULL
);
CREATE INDEX webhook_lanes_endpoint_idx ON webhook_lanes (endpoint_id, locked_until);
-- Lanes in flight now, carried over from the leases.
INSERT INTO webhook_lanes (token, endpoint_id, locked_until)
SELECT claim_token, endpoint_id, max(locked_until) FROM webhook_deliveries
 WHERE claim_token IS NOT NULL AND locked_until IS NOT NULL
 GROUP BY claim_token, endpoint_id
ON CONFLICT (token) DO NOTHING;
DROP INDEX webhook_deliveries_leased_idx;
-- A HOT update needs room on the row's page for its new version; pages written from now on keep 30 % free.
ALTER TABLE webhook_deliveries SET (fillfactor = 70);
