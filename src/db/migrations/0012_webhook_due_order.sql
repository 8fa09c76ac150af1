-- A lane leases its endpoint's oldest due deliveries in (event_seq, created_at) order, LIMIT a batch. The due
-- index held only (endpoint_id, event_seq), so the plan fetched every pending delivery of the endpoint from the
-- heap and sorted them all to take the first batch: under a backlog of 10,000 per endpoint, about twenty rows read
-- for each delivery leased, and more the longer the backlog. With created_at in the index the scan is already in
-- that order and stops once the batch is locked.
DROP INDEX webhook_deliveries_due_idx;
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (endpoint_id, event_seq, created_at) WHERE status = 'pending';
