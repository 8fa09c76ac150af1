/**
 * The shapes the console reads, from schemas/*.json. Fields the console can live without are optional, so a
 * server that adds or has not yet filled a field does not break a screen.
 */
export interface Label {
  ko: string;
  en: string;
}

export interface Domain {
  code: string;
  label: Label;
  subdomains?: { code: string; label: Label }[];
}

export interface Capability {
  code: string;
  label: Label;
  scarce?: boolean;
}

export type Role = 'startup' | 'partner' | 'operator';

export interface Me {
  user: { id: string; email: string; name: string };
  organization: { id: string; name: string; kind: Role };
  role: Role;
  scopes?: string[];
}

export interface Pilot {
  id: string;
  organizationId?: string;
  title: string;
  summary?: string;
  domain: string;
  subdomain?: string | null;
  status: string;
  requirements: {
    capabilities?: string[];
    units?: number;
    durationHours?: number;
    earliestStart?: string;
    latestEnd?: string;
    location?: { lat?: number; lng?: number; address?: string } | null;
  };
  submittedAt?: string | null;
  createdAt?: string;
  demo?: boolean;
}

export interface Testbed {
  id: string;
  organizationId?: string;
  name: string;
  description?: string;
  domains?: string[];
  capabilities?: string[];
  capacity?: number;
  status?: string;
  location?: { address?: string };
}

export interface Slot {
  id: string;
  testbedId: string;
  start: string;
  end: string;
  capacity: number;
  bookedUnits?: number;
  availableUnits?: number;
}

export interface Booking {
  id: string;
  matchId?: string;
  pilotId: string;
  slotId: string;
  testbedId: string;
  units: number;
  start: string;
  end: string;
  status?: string;
}

export interface Factor {
  value?: number | null;
  weight?: number;
  [detail: string]: unknown;
}

export type Breakdown = Record<string, Factor | undefined>;

export interface Match {
  id: string;
  pilotId: string;
  slotId: string;
  testbedId: string;
  units?: number;
  status: string;
  origin?: string;
  allocationRunId?: string | null;
  start?: string;
  end?: string;
  score?: number | null;
  breakdown?: Breakdown | null;
  reasons?: string[];
  bookingId?: string | null;
  expiresAt?: string | null;
  stage?: string;
  groupId?: string | null;
}

export interface RunSummary {
  pilots?: number;
  slots?: number;
  pairs?: number;
  matched?: number;
  sessions?: number;
  credits?: number;
  objective?: number;
  greedyObjective?: number;
  upperBound?: number | null;
  gap?: number | null;
  gainOverGreedy?: number;
  method?: string;
  solver?: { name?: string; status?: string; timedOut?: boolean; fallback?: string | null; note?: string | null };
  durationMs?: number;
  proposed?: number;
  skipped?: number;
}

export interface AllocationRun {
  id: string;
  method?: string;
  summary: RunSummary;
  proposals?: Match[];
  createdAt?: string;
}

export interface Candidate {
  slotId: string;
  testbedId: string;
  testbedName?: string;
  start: string;
  end: string;
  availableUnits?: number;
  score: number;
  breakdown?: Breakdown;
  reasons?: string[];
}

/** Why a stage of a pilot has no candidate (sent with an empty candidate list once plans exist). */
export interface Unmet {
  stage: string;
  reason: string;
  slotsConsidered?: number;
  excluded?: Record<string, number>;
}

export interface UtilizationRow {
  key: string;
  label?: string;
  offeredUnitHours: number;
  bookedUnitHours: number;
  utilization: number | null;
  slots?: number;
  bookings?: number;
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  description?: string;
  eventTypes?: string[];
  status?: string;
  disabledReason?: string | null;
  failingSince?: string | null;
}

export interface DeliveryAttempt {
  attemptedAt: string;
  statusCode?: number | null;
  durationMs?: number;
  error?: string | null;
}

export interface Delivery {
  id: string;
  endpointId?: string;
  eventId?: string;
  eventType: string;
  status: string;
  attemptCount?: number;
  nextAttemptAt?: string | null;
  lastError?: string | null;
  redeliveryOf?: string | null;
  createdAt: string;
  attempts?: DeliveryAttempt[];
}

// ---- Testbed operations: schemas/blackout.json, blackout-create.json, waitlist-entry.json (exact shapes) ----

/** schemas/blackout.json: time a testbed is out of service, half-open [start, end). */
export interface Blackout {
  id: string;
  testbedId: string;
  start: string;
  end: string;
  reason: string;
  /** The confirmed bookings the blackout cancelled, each with the re-offer made to its pilot, if any. */
  displaced: {
    bookingId: string;
    pilotId: string;
    slotId: string;
    reofferMatchId: string | null;
  }[];
  createdAt: string;
}

/** schemas/blackout-create.json */
export interface BlackoutCreate {
  start: string;
  end: string;
  reason: string;
}

/** schemas/waitlist-entry.json: a pilot waiting for units of a slot; position counts waiting entries from 1. */
export interface WaitlistEntry {
  id: string;
  slotId: string;
  pilotId: string;
  units: number;
  stage: string;
  status: 'waiting' | 'offered' | 'cancelled';
  position: number | null;
  matchId: string | null;
  createdAt: string;
  offeredAt: string | null;
}
// ---- end of testbed operations ----
