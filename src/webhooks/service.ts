/** Webhook endpoints and their delivery log: rules and transactions. Endpoints belong to one organisation. */
import type { Principal } from '../core/principal.js';
import type { Db, Queryable } from '../db/client.js';
import { DELIVERY_SIGNAL, recordEvent } from '../events/outbox.js';
import type {
  WebhookDeliveryListQuery,
  WebhookEndpointCreate,
  WebhookEndpointPatch,
} from '../generated/schema-types.js';
import { AppError, conflict, notFound, validationFailed } from '../core/errors.js';
import { assertIfMatch, etagOf } from '../core/etag.js';
import { decodeCursor, toPage } from '../core/cursor.js';
import {
  DELIVERY_SELECT,
  ENDPOINT_COLUMNS,
  toDeliveryDto,
  toEndpointDto,
  type DeliveryRow,
  type EndpointRow,
} from './presenter.js';
import { generateSecret } from './signing.js';
import { urlProblems, type AddressPolicy } from './ssrf.js';

export const endpointEtag = (row: EndpointRow) => etagOf(row.id, row.version);

export interface UrlRules {
  policy: AddressPolicy;
  requireHttps: boolean;
}

function assertUrl(url: string, rules: UrlRules): void {
  const problems = urlProblems(url, rules.policy, rules.requireHttps);
  if (!problems.length) return;
  const errors = problems.map((message) => ({ pointer: '/body/url', message }));
  if (problems.some((p) => p.startsWith('points at'))) {
    throw new AppError(
      422,
      'webhook-url-not-allowed',
      'Unprocessable content',
      'The URL points at an address webhooks may not reach.',
      { errors },
    );
  }
  throw validationFailed(errors, 'The webhook URL is not acceptable.');
}

/** "*" alone stands for every type; naming it beside others says nothing more. */
const normaliseTypes = (types: WebhookEndpointCreate['eventTypes']) =>
  !types || types.includes('*') ? ['*'] : [...types].sort();

export async function createEndpoint(
  db: Db,
  principal: Principal,
  input: WebhookEndpointCreate,
  rules: UrlRules,
): Promise<EndpointRow> {
  assertUrl(input.url, rules);
  const { rows } = await db.query<EndpointRow>(
    `INSERT INTO webhook_endpoints (organization_id, url, description, event_types, secret)
     VALUES ($1, $2, $3, $4, $5) RETURNING ${ENDPOINT_COLUMNS}`,
    [
      principal.organizationId,
      input.url,
      input.description?.trim() ?? '',
      normaliseTypes(input.eventTypes),
      generateSecret(),
    ],
  );
  return rows[0]!;
}

/** The organisation's own endpoint; anyone else's is a 404, operators included. */
export async function getOwnEndpoint(
  db: Queryable,
  principal: Principal,
  id: string,
  lock = false,
): Promise<EndpointRow> {
  const { rows } = await db.query<EndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND organization_id = $2${lock ? ' FOR UPDATE' : ''}`,
    [id, principal.organizationId],
  );
  if (!rows[0]) throw notFound('webhook endpoint');
  return rows[0];
}

export async function listEndpoints(db: Db, principal: Principal, q: { limit: number; cursor?: string }) {
  const after = decodeCursor('webhook-endpoints', q.cursor, ['time', 'uuid']);
  const { rows } = await db.query<EndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints
      WHERE organization_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $4`,
    [principal.organizationId, after?.[0] ?? null, after?.[1] ?? null, q.limit + 1],
  );
  return toPage(
    'webhook-endpoints',
    rows,
    q.limit,
    (r) => [r.created_at.toISOString(), r.id],
    (r) => toEndpointDto(r),
  );
}

export async function updateEndpoint(
  db: Db,
  principal: Principal,
  id: string,
  patch: WebhookEndpointPatch,
  ifMatch: string[],
  rules: UrlRules,
) {
  if (patch.url !== undefined) assertUrl(patch.url, rules);
  return db.transaction(async (tx) => {
    const row = await getOwnEndpoint(tx, principal, id, true);
    assertIfMatch(ifMatch, endpointEtag(row));
    if (patch.status === 'disabled' && row.status === 'enabled') {
      await disableEndpoint(tx, row, 'disabled by its owner', { notify: false });
    }
    const enabling = patch.status === 'enabled' && row.status === 'disabled';
    const { rows } = await tx.query<EndpointRow>(
      `UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4, version = version + 1, updated_at = now()
         ${enabling ? `, status = 'enabled', disabled_reason = NULL, disabled_at = NULL, failing_since = NULL` : ''}
        WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
      [
        id,
        patch.url ?? row.url,
        patch.description?.trim() ?? row.description,
        patch.eventTypes ? normaliseTypes(patch.eventTypes) : row.event_types,
      ],
    );
    return rows[0]!;
  });
}

export async function deleteEndpoint(db: Db, principal: Principal, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    await getOwnEndpoint(tx, principal, id, true);
    await tx.query('DELETE FROM webhook_endpoints WHERE id = $1', [id]);
  });
}

/** A new secret; the old one keeps signing (both signatures are sent) for the grace period. */
export async function rotateSecret(
  db: Db,
  principal: Principal,
  id: string,
  graceSeconds: number,
): Promise<EndpointRow> {
  return db.transaction(async (tx) => {
    await getOwnEndpoint(tx, principal, id, true);
    const { rows } = await tx.query<EndpointRow>(
      `UPDATE webhook_endpoints
          SET previous_secret = secret, previous_secret_expires_at = now() + make_interval(secs => $3),
              secret = $2, version = version + 1, updated_at = now()
        WHERE id = $1 RETURNING ${ENDPOINT_COLUMNS}`,
      [id, generateSecret(), graceSeconds],
    );
    return rows[0]!;
  });
}

async function getDeliveryRow(db: Queryable, id: string): Promise<DeliveryRow | undefined> {
  return (await db.query<DeliveryRow>(`${DELIVERY_SELECT} WHERE d.id = $1`, [id])).rows[0];
}

/** A webhook.test event sent to this endpoint alone, whatever it subscribes to. */
export async function sendTestPing(db: Db, principal: Principal, id: string) {
  return db.transaction(async (tx) => {
    const endpoint = await getOwnEndpoint(tx, principal, id, true);
    if (endpoint.status !== 'enabled')
      throw conflict('endpoint-disabled', 'The endpoint is disabled; enable it before sending a test event.');
    const event = await recordEvent(tx, {
      type: 'webhook.test',
      data: { endpointId: endpoint.id, message: 'Test event from the AX Testbed Registry.' },
      visibility: 'organization',
      organizationId: endpoint.organization_id,
      onlyEndpointId: endpoint.id,
    });
    const { rows } = await tx.query<DeliveryRow>(`${DELIVERY_SELECT} WHERE d.event_id = $1 AND d.endpoint_id = $2`, [
      event.id,
      endpoint.id,
    ]);
    return toDeliveryDto(rows[0]!);
  });
}

export async function listDeliveries(
  db: Db,
  principal: Principal,
  endpointId: string,
  q: WebhookDeliveryListQuery & { limit: number },
) {
  await getOwnEndpoint(db, principal, endpointId);
  const after = decodeCursor('webhook-deliveries', q.cursor, ['time', 'uuid']);
  const { rows } = await db.query<DeliveryRow>(
    `${DELIVERY_SELECT}
      WHERE d.endpoint_id = $1 AND ($2::text IS NULL OR d.status = $2)
        AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3::timestamptz, $4::uuid))
      ORDER BY d.created_at DESC, d.id DESC LIMIT $5`,
    [endpointId, q.status ?? null, after?.[0] ?? null, after?.[1] ?? null, q.limit + 1],
  );
  return toPage('webhook-deliveries', rows, q.limit, (r) => [r.created_at.toISOString(), r.id], toDeliveryDto);
}

async function getOwnDelivery(db: Queryable, principal: Principal, id: string): Promise<DeliveryRow> {
  const { rows } = await db.query<DeliveryRow>(
    `${DELIVERY_SELECT} JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE d.id = $1 AND w.organization_id = $2`,
    [id, principal.organizationId],
  );
  if (!rows[0]) throw notFound('delivery');
  return rows[0];
}

export async function getDelivery(db: Db, principal: Principal, id: string) {
  return toDeliveryDto(await getOwnDelivery(db, principal, id));
}

/** A fresh delivery of the same event (same webhook-id, so receivers can de-duplicate) with a full retry schedule. */
export async function redeliver(db: Db, principal: Principal, id: string) {
  return db.transaction(async (tx) => {
    const original = await getOwnDelivery(tx, principal, id);
    const endpoint = await getOwnEndpoint(tx, principal, original.endpoint_id, true);
    if (endpoint.status !== 'enabled')
      throw conflict('endpoint-disabled', 'The endpoint is disabled; enable it before redelivering.');
    const { rows } = await tx.query<{ id: string }>(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_seq, redelivery_of)
       SELECT endpoint_id, event_id, event_seq, id FROM webhook_deliveries WHERE id = $1 RETURNING id`,
      [id],
    );
    // Wakes the workers when this commits (see DELIVERY_SIGNAL).
    await tx.query(`SELECT pg_notify('${DELIVERY_SIGNAL}', '')`);
    return toDeliveryDto((await getDeliveryRow(tx, rows[0]!.id))!);
  });
}

/**
 * Disables an endpoint inside tx: its pending deliveries fail (receivers catch up through GET /v1/events or
 * redelivery), and unless its owner did it, the organisation's other endpoints hear of it.
 */
export async function disableEndpoint(
  tx: Queryable,
  row: Pick<EndpointRow, 'id' | 'organization_id' | 'url'>,
  reason: string,
  options: { notify: boolean },
) {
  const { rows } = await tx.query<{ disabled_at: Date }>(
    `UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $2, disabled_at = now(), version = version + 1, updated_at = now()
      WHERE id = $1 AND status = 'enabled' RETURNING disabled_at`,
    [row.id, reason],
  );
  if (!rows[0]) return false;
  await tx.query(
    `UPDATE webhook_deliveries SET status = 'failed', last_error = 'endpoint disabled: ' || $2, locked_until = NULL, claim_token = NULL,
            completed_at = now(), updated_at = now()
      WHERE endpoint_id = $1 AND status = 'pending'`,
    [row.id, reason],
  );
  if (options.notify) {
    await recordEvent(tx, {
      type: 'webhook_endpoint.disabled',
      data: { id: row.id, url: row.url, reason, disabledAt: rows[0].disabled_at.toISOString() },
      visibility: 'organization',
      organizationId: row.organization_id,
    });
  }
  return true;
}
