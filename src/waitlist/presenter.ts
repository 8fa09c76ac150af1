/** Waitlist rows and their wire shape; position counts the waiting entries ahead, from 1. */
import type { WaitlistEntry } from '../generated/schema-types.js';

export interface WaitlistRow {
  id: string;
  seq: string;
  slot_id: string;
  pilot_id: string;
  units: number;
  stage: string;
  status: WaitlistEntry['status'];
  position: number | null;
  match_id: string | null;
  created_at: Date;
  offered_at: Date | null;
}

export const WAITLIST_SELECT = `SELECT w.id, w.seq, w.slot_id, w.pilot_id, w.units, w.stage, w.status, w.match_id,
    w.created_at, w.offered_at, CASE WHEN w.status = 'waiting' THEN (SELECT count(*)::int FROM waitlist_entries x
      WHERE x.slot_id = w.slot_id AND x.status = 'waiting' AND x.seq <= w.seq) END AS position
  FROM waitlist_entries w JOIN pilots p ON p.id = w.pilot_id`;

export const toWaitlistDto = (r: WaitlistRow): WaitlistEntry => ({
  id: r.id,
  slotId: r.slot_id,
  pilotId: r.pilot_id,
  units: r.units,
  stage: r.stage,
  status: r.status,
  position: r.position,
  matchId: r.match_id,
  createdAt: r.created_at.toISOString(),
  offeredAt: r.offered_at ? r.offered_at.toISOString() : null,
});
