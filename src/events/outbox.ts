/**
 * Records an event inside the caller's transaction (the transactional outbox). If the transaction rolls
 * back, the event never existed; if it commits, delivery workers and GET /v1/events will see it.
 *
 * Fan-out happens here too: one pending delivery per enabled endpoint that subscribes to the type and whose
 * organisation may see the event now. Deliveries therefore commit or vanish with the change itself, and no
 * dispatcher has to find events after the fact (identity values do not commit in order, so a "last seq seen"
 * dispatcher could miss one). Visibility is checked again when each delivery is attempted.
 *
 * The same statement that creates deliveries runs pg_notify(DELIVERY_SIGNAL): PostgreSQL sends it when (and
 * only if) the transaction commits, so sleeping delivery workers wake at once instead of at their next poll.
 */
import type { OrgKind } from '../core/principal.js';
import type { Queryable } from '../db/client.js';
import type { EventType, EventVisibility } from './catalog.js';
import { eventVisibility } from './visibility.js';

export interface EventInput {
  type: EventType;
  data: unknown;
  visibility: EventVisibility;
  /** The organisation that owns the subject (pilot owner, testbed owner, endpoint owner). */
  organizationId?: string;
  pilotId?: string;
  testbedId?: string;
  datasetId?: string;
  /** Deliver to this endpoint only, whatever it subscribes to (test pings). */
  onlyEndpointId?: string;
}

export interface RecordedEvent {
  id: string;
  seq: number;
  created_at: Date;
  /** Deliveries created for it. */
  deliveries: number;
}

/** The channel that wakes delivery workers; signalled by every transaction that creates a due delivery. */
export const DELIVERY_SIGNAL = 'webhook_deliveries';

/** Wraps an INSERT … RETURNING into webhook_deliveries: counts the rows and signals the workers when there are any. */
const insertAndSignal = (insert: string) =>
  `WITH created AS (${insert} RETURNING 1)
   SELECT count(*)::int AS n, CASE WHEN count(*) > 0 THEN pg_notify('${DELIVERY_SIGNAL}', '') END AS signalled FROM created`;

/**
 * The fan-out of a `pilot.created` event written in the same statement as its pilot (pilots/queries.ts), for the
 * CTE `ev` holding the event and the creating organisation in $orgParam. That statement cannot ask
 * eventVisibility: its subqueries do not see the pilot row it inserts. A pilot just created has no match or
 * booking, so pilotVisibility grants it to its own organisation and to operators only, which is this rule.
 */
export const newPilotDeliveries = (ev: string, orgParam: number) =>
  `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_seq)
   SELECT w.id, ${ev}.id, ${ev}.seq
     FROM ${ev}, webhook_endpoints w JOIN organizations o ON o.id = w.organization_id
    WHERE w.status = 'enabled' AND w.event_types && ARRAY['*', 'pilot.created']
      AND (w.organization_id = $${orgParam} OR o.kind = 'operator')`;

interface Candidate {
  id: string;
  organization_id: string;
  kind: OrgKind;
}

const INSERT_EVENT = `INSERT INTO events (type, data, visibility, organization_id, pilot_id, testbed_id, dataset_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, seq, created_at`;

/**
 * Round trips are most of what an event costs inside a short transaction, so each case takes as few as it can:
 * a public event (the common case) is one statement with its deliveries and the signal; any other is one
 * statement with the endpoints that might receive it, then one visibility check per organisation that has any.
 */
export async function recordEvent(tx: Queryable, e: EventInput): Promise<RecordedEvent> {
  const params = [
    e.type,
    JSON.stringify(e.data),
    e.visibility,
    e.organizationId ?? null,
    e.pilotId ?? null,
    e.testbedId ?? null,
    e.datasetId ?? null,
  ];
  if (e.visibility === 'public' && !e.onlyEndpointId) {
    const { rows } = await tx.query<RecordedEvent>(
      `WITH ev AS (${INSERT_EVENT}),
            created AS (
              INSERT INTO webhook_deliveries (endpoint_id, event_id, event_seq)
              SELECT w.id, ev.id, ev.seq FROM ev, webhook_endpoints w
               WHERE w.status = 'enabled' AND (w.event_types && ARRAY['*', $1::text])
              RETURNING 1)
       SELECT ev.id, ev.seq, ev.created_at, (SELECT count(*) FROM created)::int AS deliveries,
              CASE WHEN EXISTS (SELECT 1 FROM created) THEN pg_notify('${DELIVERY_SIGNAL}', '') END AS signalled
         FROM ev`,
      params,
    );
    const { id, seq, created_at, deliveries } = rows[0]!;
    return { id, seq, created_at, deliveries };
  }
  const { rows } = await tx.query<Omit<RecordedEvent, 'deliveries'> & { candidates: Candidate[] | null }>(
    `WITH ev AS (${INSERT_EVENT})
     SELECT ev.id, ev.seq, ev.created_at,
            (SELECT json_agg(json_build_object('id', w.id, 'organization_id', w.organization_id, 'kind', o.kind))
               FROM webhook_endpoints w JOIN organizations o ON o.id = w.organization_id
              WHERE w.status = 'enabled' AND ${e.onlyEndpointId ? 'w.id = $8' : `(w.event_types && ARRAY['*', $1::text])`}) AS candidates
       FROM ev`,
    e.onlyEndpointId ? [...params, e.onlyEndpointId] : params,
  );
  const { id, seq, created_at, candidates } = rows[0]!;
  const event = { id, seq, created_at };
  return { ...event, deliveries: await fanOut(tx, event, candidates ?? []) };
}

/** Deliveries for the endpoints whose organisation may see the event now (checked once per organisation). */
async function fanOut(tx: Queryable, event: { id: string; seq: number }, candidates: Candidate[]): Promise<number> {
  if (!candidates.length) return 0;
  const allowed: string[] = [];
  const byOrg = new Map<string, Candidate[]>();
  for (const c of candidates) byOrg.set(c.organization_id, [...(byOrg.get(c.organization_id) ?? []), c]);
  for (const [orgId, group] of byOrg) {
    const audience = { organizationId: orgId, orgKind: group[0]!.kind };
    const seen = await tx.query(`SELECT 1 FROM events ev WHERE ev.id = $1 AND ${eventVisibility(audience, 2)}`, [
      event.id,
      orgId,
    ]);
    if (seen.rows.length) allowed.push(...group.map((c) => c.id));
  }
  if (!allowed.length) return 0;
  const { rows } = await tx.query<{ n: number }>(
    insertAndSignal(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_seq) SELECT unnest($3::uuid[]), $1, $2`,
    ),
    [event.id, event.seq, allowed],
  );
  return rows[0]!.n;
}
