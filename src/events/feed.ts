/**
 * GET /v1/events: the polling fallback and the backfill after an outage, oldest first, filtered by what the
 * caller may see now. Identity values are handed out at insert, not at commit, so a feed ordered by seq alone
 * could let a poller step past an event that commits later with a smaller seq. The feed is ordered by the
 * writer's transaction id instead and stops below the oldest transaction still running: nothing that commits
 * after a page was read can sort before that page's end.
 */
import type { Queryable } from '../db/client.js';
import type { EventListQuery as EventListQueryParams } from '../generated/schema-types.js';
import { decodeCursor, encodeCursor, invalidCursor } from '../core/cursor.js';
import { toEventEnvelope, type EventEnvelope, type EventRow } from './envelope.js';
import { eventVisibility, type Audience } from './visibility.js';

export type EventListQuery = EventListQueryParams & { limit: number };

export interface EventFeedPage {
  data: EventEnvelope[];
  nextCursor: string | null;
  hasMore: boolean;
}

const LIST = 'events';

export async function listEvents(db: Queryable, audience: Audience, q: EventListQuery): Promise<EventFeedPage> {
  const after = decodeCursor(LIST, q.cursor, ['text', 'int']);
  if (after && (typeof after[0] !== 'string' || !/^\d{1,20}$/.test(after[0]) || typeof after[1] !== 'number')) {
    throw invalidCursor();
  }
  const { rows } = await db.query<EventRow>(
    `SELECT ev.id, ev.seq, ev.txid::text AS txid, ev.type, ev.created_at, ev.data FROM events ev
      WHERE ev.txid < pg_snapshot_xmin(pg_current_snapshot())
        AND ($2::text IS NULL OR ev.type = $2)
        AND ($3::xid8 IS NULL OR (ev.txid, ev.seq) > ($3::xid8, $4::bigint))
        AND ${eventVisibility(audience, 1)}
      ORDER BY ev.txid, ev.seq
      LIMIT $5`,
    [audience.organizationId, q.type ?? null, after?.[0] ?? null, after?.[1] ?? null, q.limit + 1],
  );
  const hasMore = rows.length > q.limit;
  const page = hasMore ? rows.slice(0, q.limit) : rows;
  const last = page[page.length - 1];
  return {
    data: page.map(toEventEnvelope),
    // A poller always gets a place to resume from, even at the end of the feed.
    nextCursor: last ? encodeCursor(LIST, [last.txid, last.seq]) : (q.cursor ?? null),
    hasMore,
  };
}
