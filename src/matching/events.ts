/**
 * Events about matches and bookings: seen by both parties and operators. A match travels in events as its DTO
 * with English reasons; other features record match events here rather than presenting matches themselves.
 */
import type { Queryable } from '../db/client.js';
import type { EventType } from '../events/catalog.js';
import { recordEvent } from '../events/outbox.js';
import type { Match } from '../generated/schema-types.js';
import { toMatchDto } from './presenter.js';
import { getMatchById, type MatchRow } from './queries.js';

/** Events about a match or booking are seen by both parties and operators. */
export function recordPartiesEvent(
  tx: Queryable,
  type: EventType,
  data: unknown,
  pilotId: string,
  testbedId: string,
  pilotOrg: string,
) {
  return recordEvent(tx, { type, data, visibility: 'parties', organizationId: pilotOrg, pilotId, testbedId });
}

/** A match as events carry it. */
export const matchEventData = (row: MatchRow): Match => toMatchDto(row);

/** Reads the match as it stands in tx and records `type` with it; returns the row. */
export async function recordMatchEvent(tx: Queryable, type: EventType, matchId: string): Promise<MatchRow> {
  const row = await getMatchById(tx, matchId);
  await recordPartiesEvent(tx, type, matchEventData(row), row.pilot_id, row.testbed_id, row.pilot_org);
  return row;
}
