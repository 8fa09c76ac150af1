/** Blackout rows and what leaves the process: who was displaced is shown to the testbed owner and operators only. */
import type { Blackout } from '../generated/schema-types.js';

export interface Displaced {
  bookingId: string;
  pilotId: string;
  slotId: string;
  reofferMatchId: string | null;
  /** The re-offered group when the rest of the plan was re-offered as one (absent in rows written before). */
  reofferGroupId?: string | null;
}

export interface BlackoutRow {
  id: string;
  testbed_id: string;
  start_at: Date;
  end_at: Date;
  reason: string;
  displaced: Displaced[];
  created_at: Date;
}

export const BLACKOUT_COLUMNS = 'id, testbed_id, start_at, end_at, reason, displaced, created_at';

export const toBlackoutDto = (r: BlackoutRow, full: boolean): Blackout => ({
  id: r.id,
  testbedId: r.testbed_id,
  start: r.start_at.toISOString(),
  end: r.end_at.toISOString(),
  reason: r.reason,
  displaced: full ? r.displaced.map((d) => ({ ...d, reofferGroupId: d.reofferGroupId ?? null })) : [],
  createdAt: r.created_at.toISOString(),
});
