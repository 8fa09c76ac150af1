-- Testbed operations: holds, blackouts, waitlists, extensions.
--   * Holds: a requested match, and an accepted proposal, hold their units. slots.held_units is raised and
--     lowered under the slot's row lock, like booked_units, and slots_held_units_check refuses any promise past
--     capacity (held + booked) whatever the code does. matches.held_units says how many units a match holds
--     (0 once it is decided, expired or never held), so releasing a hold twice is impossible.
--   * Blackouts make overlapping slots unbookable; `displaced` records what a blackout cancelled and re-offered.
--   * Waitlist entries wait per slot in seq order (first come, first served); one waiting entry per pilot and slot.

ALTER TABLE slots ADD COLUMN held_units integer NOT NULL DEFAULT 0;
ALTER TABLE slots ADD CONSTRAINT slots_held_units_check CHECK (held_units >= 0 AND booked_units + held_units <= capacity);

ALTER TABLE matches ADD COLUMN held_units integer NOT NULL DEFAULT 0 CONSTRAINT matches_held_units_check CHECK (held_units >= 0);
ALTER TABLE matches DROP CONSTRAINT matches_origin_check;
ALTER TABLE matches ADD CONSTRAINT matches_origin_check
  CHECK (origin IN ('request', 'allocation', 'reoffer', 'waitlist', 'extension'));
-- The expiry sweep walks live matches by due time.
CREATE INDEX matches_due_idx ON matches (expires_at) WHERE status IN ('requested', 'proposed', 'accepted');

CREATE TABLE blackouts (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  testbed_id  uuid NOT NULL REFERENCES testbeds (id) ON DELETE CASCADE,
  start_at    timestamptz NOT NULL,
  end_at      timestamptz NOT NULL,
  reason      text NOT NULL,
  displaced   jsonb NOT NULL DEFAULT '[]',
  created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  CONSTRAINT blackouts_range_check CHECK (start_at < end_at)
);
CREATE INDEX blackouts_testbed_range_idx ON blackouts USING gist (testbed_id, tstzrange(start_at, end_at, '[)'));

CREATE TABLE waitlist_entries (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq         bigint GENERATED ALWAYS AS IDENTITY,
  slot_id     uuid NOT NULL REFERENCES slots (id) ON DELETE CASCADE,
  pilot_id    uuid NOT NULL REFERENCES pilots (id) ON DELETE CASCADE,
  units       integer NOT NULL CHECK (units >= 1),
  stage       text NOT NULL DEFAULT 'main',
  status      text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'offered', 'cancelled')),
  match_id    uuid REFERENCES matches (id) ON DELETE SET NULL,
  created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  offered_at  timestamptz,
  cancelled_at timestamptz
);
CREATE UNIQUE INDEX waitlist_waiting_key ON waitlist_entries (slot_id, pilot_id) WHERE status = 'waiting';
CREATE INDEX waitlist_queue_idx ON waitlist_entries (slot_id, seq);
