-- Foundation: organisations, users, credentials, pilots, testbeds, slots, and the HTTP bookkeeping tables
-- (idempotency records, rate-limit counters) that must be shared by every API process.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE organizations (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind            text NOT NULL CHECK (kind IN ('startup', 'partner', 'operator')),
  business_number text CHECK (business_number ~ '^[0-9]{10}$'),
  demo            boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  CONSTRAINT organizations_business_number_key UNIQUE (business_number)
);

CREATE TABLE users (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  email           text NOT NULL CHECK (email = lower(email)),
  name            text NOT NULL,
  password_hash   text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  CONSTRAINT users_email_key UNIQUE (email)
);
CREATE INDEX users_organization_idx ON users (organization_id);

-- Login sessions and API keys are bearer secrets; only their SHA-256 is stored.
CREATE TABLE sessions (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash  text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  expires_at  timestamptz NOT NULL,
  revoked_at  timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE api_keys (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name            text NOT NULL,
  prefix          text NOT NULL,
  key_hash        text NOT NULL UNIQUE,
  scopes          text[] NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  last_used_at    timestamptz,
  revoked_at      timestamptz
);
CREATE INDEX api_keys_organization_idx ON api_keys (organization_id, created_at DESC, id DESC);

CREATE TABLE pilots (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  title            text NOT NULL,
  summary          text NOT NULL,
  domain           text NOT NULL,
  subdomain        text,
  capabilities     text[] NOT NULL DEFAULT '{}',
  units            integer NOT NULL CHECK (units >= 1),
  duration_hours   double precision NOT NULL CHECK (duration_hours > 0),
  earliest_start   timestamptz NOT NULL,
  latest_end       timestamptz NOT NULL,
  location_address text,
  location_lat     double precision CHECK (location_lat BETWEEN -90 AND 90),
  location_lng     double precision CHECK (location_lng BETWEEN -180 AND 180),
  status           text NOT NULL DEFAULT 'draft'
                   CHECK (status IN ('draft', 'submitted', 'matched', 'booked', 'active', 'completed', 'withdrawn')),
  version          integer NOT NULL DEFAULT 1,
  demo             boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at       timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  submitted_at     timestamptz,
  withdrawn_at     timestamptz,
  CONSTRAINT pilots_window_check CHECK (earliest_start < latest_end),
  CONSTRAINT pilots_duration_fits_check
    CHECK (duration_hours * interval '1 hour' <= latest_end - earliest_start)
);
CREATE INDEX pilots_organization_idx ON pilots (organization_id, created_at DESC, id DESC);
CREATE INDEX pilots_listing_idx ON pilots (created_at DESC, id DESC);
CREATE INDEX pilots_status_idx ON pilots (status, domain);

CREATE TABLE testbeds (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name            text NOT NULL,
  description     text NOT NULL DEFAULT '',
  domains         text[] NOT NULL CHECK (cardinality(domains) >= 1),
  capabilities    text[] NOT NULL DEFAULT '{}',
  capacity        integer NOT NULL CHECK (capacity >= 1),
  address         text NOT NULL,
  lat             double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
  lng             double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
  version         integer NOT NULL DEFAULT 1,
  demo            boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);
CREATE INDEX testbeds_listing_idx ON testbeds (created_at DESC, id DESC);
CREATE INDEX testbeds_domains_idx ON testbeds USING gin (domains);
CREATE INDEX testbeds_capabilities_idx ON testbeds USING gin (capabilities);

-- booked_units is kept by the booking transactions; the CHECK makes over-booking impossible whatever the code
-- does, and the exclusion constraint refuses two slots of one testbed that overlap in time.
CREATE TABLE slots (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  testbed_id   uuid NOT NULL REFERENCES testbeds (id) ON DELETE CASCADE,
  series_id    uuid,
  start_at     timestamptz NOT NULL,
  end_at       timestamptz NOT NULL,
  capacity     integer NOT NULL CHECK (capacity >= 1),
  booked_units integer NOT NULL DEFAULT 0,
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at   timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  CONSTRAINT slots_range_check CHECK (start_at < end_at),
  CONSTRAINT slots_booked_units_check CHECK (booked_units BETWEEN 0 AND capacity),
  CONSTRAINT slots_no_overlap EXCLUDE USING gist (testbed_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&)
);
CREATE INDEX slots_testbed_start_idx ON slots (testbed_id, start_at, id);
CREATE INDEX slots_start_idx ON slots (start_at);

CREATE TABLE idempotency_keys (
  principal       text NOT NULL,
  key             text NOT NULL,
  method          text NOT NULL,
  path            text NOT NULL,
  request_hash    text NOT NULL,
  status_code     integer,
  response_body   jsonb,
  response_headers jsonb,
  created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  expires_at      timestamptz NOT NULL,
  PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

CREATE TABLE rate_limits (
  key      text PRIMARY KEY,
  hits     integer NOT NULL,
  reset_at timestamptz NOT NULL
);
