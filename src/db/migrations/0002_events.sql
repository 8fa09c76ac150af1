-- Transactional outbox: every state change that matters writes one row here in the same transaction as the
-- change, so an event exists exactly when its change committed. Subject columns (no foreign keys: events
-- outlive what they describe) let visibility be re-checked against current access when the event is read or
-- delivered.

CREATE TABLE events (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq             bigint GENERATED ALWAYS AS IDENTITY,
  type            text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  data            jsonb NOT NULL,
  -- Who may see it: 'public' every signed-in organisation; 'pilot' whoever may see pilot_id; 'parties' the
  -- pilot's owner and the testbed's owner; 'dataset' whoever may read dataset_id; 'organization' only
  -- organization_id. Operators see everything but 'organization' events of other organisations.
  visibility      text NOT NULL CHECK (visibility IN ('public', 'pilot', 'parties', 'dataset', 'organization')),
  organization_id uuid,
  pilot_id        uuid,
  testbed_id      uuid,
  dataset_id      uuid,
  CONSTRAINT events_seq_key UNIQUE (seq)
);
CREATE INDEX events_type_idx ON events (type, seq);
CREATE INDEX events_pilot_idx ON events (pilot_id) WHERE pilot_id IS NOT NULL;
CREATE INDEX events_organization_idx ON events (organization_id, seq);
