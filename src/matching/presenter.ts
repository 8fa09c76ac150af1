/** Matches as clients see them: pure row → DTO mapping, the whitelist of what leaves the process. */
import type { Match } from '../generated/schema-types.js';
import type { MatchRow } from './queries.js';
import type { Lang } from './scoring.js';

export type { MatchRow } from './queries.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const toMatchDto = (r: MatchRow, lang: Lang = 'en'): Match => ({
  id: r.id,
  pilotId: r.pilot_id,
  slotId: r.slot_id,
  testbedId: r.testbed_id,
  units: r.units,
  status: r.status,
  origin: r.origin,
  allocationRunId: r.allocation_run_id,
  start: r.start_at.toISOString(),
  end: r.end_at.toISOString(),
  score: r.score,
  breakdown: r.breakdown,
  reasons: r.reasons?.[lang] ?? [],
  bookingId: r.booking_id,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
  expiresAt: iso(r.expires_at),
  acceptedAt: iso(r.accepted_at),
  decidedAt: iso(r.decided_at),
  stage: r.stage,
  groupId: r.group_id,
});
