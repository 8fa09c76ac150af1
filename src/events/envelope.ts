/** The envelope every event travels in, over webhooks and GET /v1/events alike. */
import type { EventType } from './catalog.js';

export interface EventRow {
  id: string;
  seq: number;
  txid: string;
  type: EventType;
  created_at: Date;
  data: unknown;
}

export interface EventEnvelope {
  id: string;
  type: EventType;
  createdAt: string;
  data: unknown;
}

export const toEventEnvelope = (row: Pick<EventRow, 'id' | 'type' | 'created_at' | 'data'>): EventEnvelope => ({
  id: row.id,
  type: row.type,
  createdAt: row.created_at.toISOString(),
  data: row.data,
});
