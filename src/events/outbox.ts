/**
 * Records an event inside the caller's transaction (the transactional outbox). If the transaction rolls
 * back, the event never existed; if it commits, delivery workers and GET /v1/events will see it.
 */
import type { Queryable } from '../db/client.js';
import type { EventType, EventVisibility } from './catalog.js';

export interface EventInput {
  type: EventType;
  data: unknown;
  visibility: EventVisibility;
  /** The organisation that owns the subject (pilot owner, testbed owner, endpoint owner). */
  organizationId?: string;
  pilotId?: string;
  testbedId?: string;
  datasetId?: string;
}

export interface RecordedEvent {
  id: string;
  seq: number;
  created_at: Date;
}

export async function recordEvent(tx: Queryable, e: EventInput): Promise<RecordedEvent> {
  const { rows } = await tx.query<RecordedEvent>(
    `INSERT INTO events (type, data, visibility, organization_id, pilot_id, testbed_id, dataset_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, seq, created_at`,
    [e.type, JSON.stringify(e.data), e.visibility, e.organizationId ?? null, e.pilotId ?? null, e.testbedId ?? null, e.datasetId ?? null],
  );
  return rows[0]!;
}
