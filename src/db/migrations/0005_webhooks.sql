-- Partner webhooks. Deliveries are fanned out from the outbox inside the transaction that records the event
-- (src/events/outbox.ts), so a delivery exists exactly when its event committed; workers claim due deliveries
-- per endpoint under row locks with SKIP LOCKED and hold a lease (locked_until) while the request is in flight,
-- so a crashed worker's deliveries become due again when the lease runs out.

-- The transaction id of the writer orders the event feed: GET /v1/events returns only events whose writer
-- committed before every transaction still running (txid below the snapshot's xmin), so a poller's cursor
-- never skips an event that commits late with a smaller seq.
ALTER TABLE events ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_feed_idx ON events (txid, seq);

CREATE TABLE webhook_endpoints (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id       uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  url                   text NOT NULL CHECK (length(url) <= 2048),
  description           text NOT NULL DEFAULT '',
  -- Event types this endpoint receives; '{*}' means every type.
  event_types           text[] NOT NULL CHECK (cardinality(event_types) >= 1),
  -- HMAC keys must be usable to sign, so they cannot be hashed; they never leave the process after creation
  -- or rotation. previous_secret signs too until previous_secret_expires_at (rotation grace).
  secret                text NOT NULL,
  previous_secret       text,
  previous_secret_expires_at timestamptz,
  status                text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
  disabled_reason       text,
  disabled_at           timestamptz,
  -- First failed attempt since the last success; an endpoint failing for long enough is disabled.
  failing_since         timestamptz,
  -- When a worker last claimed work for this endpoint: endpoints with due work are served oldest-claim first.
  claimed_at            timestamptz,
  version               integer NOT NULL DEFAULT 1,
  created_at            timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at            timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);
CREATE INDEX webhook_endpoints_org_idx ON webhook_endpoints (organization_id, created_at DESC, id DESC);
CREATE INDEX webhook_endpoints_enabled_idx ON webhook_endpoints (status) WHERE status = 'enabled';

CREATE TABLE webhook_deliveries (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  endpoint_id     uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_id        uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  event_seq       bigint NOT NULL,
  -- pending: waiting for (another) attempt; succeeded: a 2xx arrived; failed: attempts exhausted, or the
  -- endpoint was disabled; skipped: the endpoint's organisation may no longer see the event.
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed', 'skipped')),
  attempt_count   integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  -- Lease of the worker that claimed the delivery; the claim token guards its completion.
  locked_until    timestamptz,
  claim_token     uuid,
  last_error      text,
  redelivery_of   uuid REFERENCES webhook_deliveries (id) ON DELETE SET NULL,
  created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  completed_at    timestamptz
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (endpoint_id, event_seq) WHERE status = 'pending';
-- What is in flight to an endpoint, without walking its whole backlog.
CREATE INDEX webhook_deliveries_leased_idx ON webhook_deliveries (endpoint_id, claim_token) WHERE locked_until IS NOT NULL;
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempted_at  timestamptz NOT NULL,
  duration_ms   integer NOT NULL,
  status_code   integer,
  error         text,
  -- The first 1 KiB of the response body, as text.
  response_body text NOT NULL DEFAULT '',
  response_truncated boolean NOT NULL DEFAULT false
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, attempted_at);
