-- Matching and booking. Guarantee 1 lives here, in the database, not only in TypeScript:
--   * slots.booked_units is raised in the booking transaction under the slot's row lock, and its CHECK
--     (booked_units BETWEEN 0 AND capacity, from 0001) refuses any over-booking whatever the code does;
--   * bookings_pilot_no_overlap refuses two confirmed bookings of one pilot that overlap in time.

CREATE TABLE allocation_runs (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id),
  created_by      uuid NOT NULL REFERENCES users (id),
  method          text NOT NULL CHECK (method IN ('optimal', 'greedy')),
  params          jsonb NOT NULL,
  summary         jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);
CREATE INDEX allocation_runs_created_idx ON allocation_runs (created_at DESC, id DESC);

CREATE TABLE matches (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pilot_id          uuid NOT NULL REFERENCES pilots (id) ON DELETE CASCADE,
  slot_id           uuid NOT NULL REFERENCES slots (id) ON DELETE CASCADE,
  testbed_id        uuid NOT NULL REFERENCES testbeds (id) ON DELETE CASCADE,
  units             integer NOT NULL CHECK (units >= 1),
  -- requested: a startup asked for the slot; proposed: an allocation run suggested it; accepted: the startup
  -- took a proposal; approved: the testbed owner or an operator approved (a booking exists); rejected,
  -- expired, cancelled: closed.
  status            text NOT NULL CHECK (status IN ('requested', 'proposed', 'accepted', 'approved', 'rejected', 'expired', 'cancelled')),
  origin            text NOT NULL CHECK (origin IN ('request', 'allocation')),
  allocation_run_id uuid REFERENCES allocation_runs (id) ON DELETE SET NULL,
  score             double precision,
  breakdown         jsonb,
  reasons           jsonb,
  version           integer NOT NULL DEFAULT 1,
  created_at        timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at        timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  expires_at        timestamptz,
  accepted_at       timestamptz,
  decided_at        timestamptz,
  decided_by        uuid REFERENCES users (id)
);
CREATE INDEX matches_pilot_idx ON matches (pilot_id, created_at DESC);
CREATE INDEX matches_testbed_idx ON matches (testbed_id, status);
CREATE INDEX matches_run_idx ON matches (allocation_run_id);
CREATE INDEX matches_listing_idx ON matches (created_at DESC, id DESC);
-- One live match per pilot and slot: a second request for the same slot is a 409, not a duplicate row.
CREATE UNIQUE INDEX matches_live_pair_key ON matches (pilot_id, slot_id) WHERE status IN ('requested', 'proposed', 'accepted');

CREATE TABLE bookings (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  match_id     uuid NOT NULL REFERENCES matches (id),
  pilot_id     uuid NOT NULL REFERENCES pilots (id) ON DELETE CASCADE,
  slot_id      uuid NOT NULL REFERENCES slots (id),
  testbed_id   uuid NOT NULL REFERENCES testbeds (id),
  units        integer NOT NULL CHECK (units >= 1),
  -- Copied from the slot when booked, so the pilot overlap constraint can see the times.
  start_at     timestamptz NOT NULL,
  end_at       timestamptz NOT NULL,
  status       text NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed', 'cancelled')),
  created_at   timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  cancelled_at timestamptz,
  cancelled_by uuid REFERENCES users (id),
  cancel_reason text,
  CONSTRAINT bookings_match_key UNIQUE (match_id),
  CONSTRAINT bookings_range_check CHECK (start_at < end_at),
  CONSTRAINT bookings_pilot_no_overlap
    EXCLUDE USING gist (pilot_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) WHERE (status = 'confirmed')
);
CREATE INDEX bookings_testbed_idx ON bookings (testbed_id, start_at);
CREATE INDEX bookings_slot_idx ON bookings (slot_id) WHERE status = 'confirmed';
CREATE INDEX bookings_listing_idx ON bookings (created_at DESC, id DESC);
CREATE INDEX bookings_pilot_idx ON bookings (pilot_id, created_at DESC);
CREATE INDEX bookings_range_idx ON bookings (start_at, end_at) WHERE status = 'confirmed';

-- Calendar feeds: calendar apps cannot send bearer headers, so each testbed may have a secret feed URL.
CREATE TABLE calendar_feeds (
  testbed_id  uuid PRIMARY KEY REFERENCES testbeds (id) ON DELETE CASCADE,
  token_hash  text NOT NULL UNIQUE,
  created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);
