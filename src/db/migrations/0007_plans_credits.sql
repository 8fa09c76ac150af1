-- Plans and credits.
--   * pilots.stages holds the normalised stages of a multi-stage pilot (NULL: the first-release shape, whose one
--     stage `main` is derived from the columns); the columns keep an envelope of the stages (union of
--     capabilities, largest units, summed hours, earliest start, latest end) so existing readers keep working.
--   * Budgets: committed is raised in the approval transaction under the pilot's row lock, and the CHECK
--     pilot_budgets_committed_check refuses any spending past the credits whatever the code does — the same
--     standard as slots.booked_units. Lowering credits below committed hits the same CHECK.
--   * A booking's credits are fixed when it is confirmed.
--   * Matches gain the stage they serve and the group (one plan asked for or proposed together) they belong to.

ALTER TABLE pilots ADD COLUMN stages jsonb;

ALTER TABLE testbeds ADD COLUMN credit_rate integer NOT NULL DEFAULT 1
  CONSTRAINT testbeds_credit_rate_check CHECK (credit_rate BETWEEN 0 AND 1000000);

CREATE TABLE pilot_budgets (
  pilot_id     uuid PRIMARY KEY REFERENCES pilots (id) ON DELETE CASCADE,
  credits      bigint NOT NULL CONSTRAINT pilot_budgets_credits_check CHECK (credits >= 0),
  committed    bigint NOT NULL DEFAULT 0 CONSTRAINT pilot_budgets_committed_nonneg_check CHECK (committed >= 0),
  funding_line text CHECK (funding_line IN ('national', 'city', 'private')),
  note         text,
  updated_by   uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at   timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at   timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  CONSTRAINT pilot_budgets_committed_check CHECK (committed <= credits)
);
CREATE INDEX pilot_budgets_funding_idx ON pilot_budgets (funding_line);

ALTER TABLE bookings ADD COLUMN credits bigint NOT NULL DEFAULT 0 CONSTRAINT bookings_credits_check CHECK (credits >= 0);
ALTER TABLE bookings ADD COLUMN refunded boolean NOT NULL DEFAULT false;

ALTER TABLE matches ADD COLUMN stage text NOT NULL DEFAULT 'main';
ALTER TABLE matches ADD COLUMN group_id uuid;
CREATE INDEX matches_group_idx ON matches (group_id) WHERE group_id IS NOT NULL;
