/** Rows as the database returns them, and what of them leaves the process. Secrets only on create and rotate. */
import type { EventType } from '../events/catalog.js';
import type {
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEventFilter,
} from '../generated/schema-types.js';

export interface EndpointRow {
  id: string;
  organization_id: string;
  url: string;
  description: string;
  event_types: WebhookEventFilter[];
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  disabled_at: Date | null;
  failing_since: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export const ENDPOINT_COLUMNS = `id, organization_id, url, description, event_types, secret, previous_secret, previous_secret_expires_at,
  status, disabled_reason, disabled_at, failing_since, version, created_at, updated_at`;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toEndpointDto(row: EndpointRow, options: { withSecret?: boolean } = {}): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.event_types,
    status: row.status,
    disabledReason: row.disabled_reason,
    disabledAt: iso(row.disabled_at),
    failingSince: iso(row.failing_since),
    ...(options.withSecret ? { secret: row.secret, previousSecretExpiresAt: iso(row.previous_secret_expires_at) } : {}),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export interface AttemptRow {
  attempted_at: Date;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_body: string;
  response_truncated: boolean;
}

export interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: EventType;
  status: WebhookDelivery['status'];
  attempt_count: number;
  next_attempt_at: Date;
  last_error: string | null;
  redelivery_of: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
  attempts: AttemptRow[] | null;
}

/** Deliveries with their event type and attempts, alias d. */
export const DELIVERY_SELECT = `SELECT d.id, d.endpoint_id, d.event_id, ev.type AS event_type, d.status, d.attempt_count, d.next_attempt_at,
       d.last_error, d.redelivery_of, d.created_at, d.updated_at, d.completed_at,
       (SELECT json_agg(json_build_object('attempted_at', a.attempted_at, 'status_code', a.status_code, 'duration_ms', a.duration_ms,
                 'error', a.error, 'response_body', a.response_body, 'response_truncated', a.response_truncated) ORDER BY a.attempted_at)
          FROM webhook_attempts a WHERE a.delivery_id = d.id) AS attempts
  FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id`;

const toAttemptDto = (a: AttemptRow): WebhookAttempt => ({
  // json_agg hands timestamps back as text.
  attemptedAt: new Date(a.attempted_at).toISOString(),
  statusCode: a.status_code,
  durationMs: a.duration_ms,
  error: a.error,
  responseBody: a.response_body,
  responseTruncated: a.response_truncated,
});

export const toDeliveryDto = (row: DeliveryRow): WebhookDelivery => ({
  id: row.id,
  endpointId: row.endpoint_id,
  eventId: row.event_id,
  eventType: row.event_type,
  status: row.status,
  attemptCount: row.attempt_count,
  nextAttemptAt: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
  lastError: row.last_error,
  redeliveryOf: row.redelivery_of,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  completedAt: iso(row.completed_at),
  attempts: (row.attempts ?? []).map(toAttemptDto),
});
