/** Webhook endpoints, their delivery log, redelivery and the event feed: HTTP only; rules live in service.ts. */
import type { Response } from 'express';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { listEvents, type EventListQuery } from '../events/feed.js';
import type {
  WebhookDeliveryListQuery,
  WebhookEndpointCreate,
  WebhookEndpointPatch,
} from '../generated/schema-types.js';
import { requireIfMatch } from '../core/etag.js';
import { schema, type ApiRouter } from '../http/route.js';
import { toEndpointDto, type EndpointRow } from './presenter.js';
import {
  createEndpoint,
  deleteEndpoint,
  endpointEtag,
  getDelivery,
  getOwnEndpoint,
  listDeliveries,
  listEndpoints,
  redeliver,
  rotateSecret,
  sendTestPing,
  updateEndpoint,
  type UrlRules,
} from './service.js';
import { AddressPolicy } from './ssrf.js';

const TAG = 'Webhooks';
const ONE = { status: 200, description: 'The endpoint.', schema: 'webhook-endpoint.json', headers: ['ETag'] };
const DELIVERY = {
  status: 202,
  description: 'The delivery, queued.',
  schema: 'webhook-delivery.json',
  headers: ['Location'],
};

export function webhookRoutes(api: ApiRouter, db: Db, config: Config): void {
  const rules: UrlRules = {
    policy: new AddressPolicy(config.webhookAllowNetworks),
    requireHttps: config.webhookRequireHttps,
  };
  const send = (res: Response, row: EndpointRow, status = 200, withSecret = false) => {
    res.status(status).set('ETag', endpointEtag(row)).json(toEndpointDto(row, { withSecret }));
  };

  api.add(
    {
      method: 'post',
      path: '/v1/webhook-endpoints',
      operationId: 'createWebhookEndpoint',
      summary: 'Register a webhook endpoint (the answer shows its signing secret, once)',
      description:
        'Events your organisation may see are POSTed to the URL, signed per Standard Webhooks. The URL must be https in ' +
        'production, carry no credentials and resolve to a public address. Omit eventTypes (or send ["*"]) for every type.',
      tag: TAG,
      auth: 'webhooks:write',
      body: schema<WebhookEndpointCreate>('webhook-endpoint-create.json'),
      idempotent: true,
      secretResponse: true,
      success: {
        ...ONE,
        status: 201,
        description: 'The new endpoint with its whsec_ secret.',
        headers: ['ETag', 'Location'],
      },
      errors: [422],
    },
    async ({ principal, body, res }) => {
      const row = await createEndpoint(db, principal, body, rules);
      res.location(`/v1/webhook-endpoints/${row.id}`);
      send(res, row, 201, true);
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/webhook-endpoints',
      operationId: 'listWebhookEndpoints',
      summary: "List your organisation's webhook endpoints",
      tag: TAG,
      auth: 'webhooks:read',
      query: schema<{ limit: number; cursor?: string }>('list-query.json'),
      success: { status: 200, description: 'A page of endpoints.', schema: 'webhook-endpoint-list.json' },
    },
    async ({ principal, query, res }) => {
      res.json(await listEndpoints(db, principal, query));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/webhook-endpoints/{id}',
      operationId: 'getWebhookEndpoint',
      summary: 'Read a webhook endpoint',
      tag: TAG,
      auth: 'webhooks:read',
      success: ONE,
    },
    async ({ principal, params, res }) => {
      send(res, await getOwnEndpoint(db, principal, params.id));
    },
  );

  api.add(
    {
      method: 'patch',
      path: '/v1/webhook-endpoints/{id}',
      operationId: 'updateWebhookEndpoint',
      summary: 'Change, disable or re-enable a webhook endpoint (JSON merge patch, If-Match required)',
      description:
        'Disabling fails its pending deliveries; re-enabling clears the failure record. Catch up with GET /v1/events or redelivery.',
      tag: TAG,
      auth: 'webhooks:write',
      body: schema<WebhookEndpointPatch>('webhook-endpoint-patch.json'),
      ifMatch: true,
      success: ONE,
    },
    async ({ principal, params, body, req, res }) => {
      const ifMatch = requireIfMatch(req.get('If-Match'));
      send(res, await updateEndpoint(db, principal, params.id, body, ifMatch, rules));
    },
  );

  api.add(
    {
      method: 'delete',
      path: '/v1/webhook-endpoints/{id}',
      operationId: 'deleteWebhookEndpoint',
      summary: 'Delete a webhook endpoint and its delivery log',
      tag: TAG,
      auth: 'webhooks:write',
      success: { status: 204, description: 'Deleted.' },
    },
    async ({ principal, params, res }) => {
      await deleteEndpoint(db, principal, params.id);
      res.status(204).end();
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/webhook-endpoints/{id}/rotate-secret',
      operationId: 'rotateWebhookSecret',
      summary: 'Replace the signing secret; the old one keeps signing alongside for 24 h',
      tag: TAG,
      auth: 'webhooks:write',
      success: { ...ONE, description: 'The endpoint with its new secret and when the previous one stops signing.' },
    },
    async ({ principal, params, res }) => {
      send(res, await rotateSecret(db, principal, params.id, config.webhookSecretGraceSeconds), 200, true);
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/webhook-endpoints/{id}/test',
      operationId: 'testWebhookEndpoint',
      summary: 'Send a webhook.test event to this endpoint',
      tag: TAG,
      auth: 'webhooks:write',
      success: DELIVERY,
      errors: [409],
    },
    async ({ principal, params, res }) => {
      const delivery = await sendTestPing(db, principal, params.id);
      res.status(202).location(`/v1/deliveries/${delivery.id}`).json(delivery);
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/webhook-endpoints/{id}/deliveries',
      operationId: 'listWebhookDeliveries',
      summary: 'The delivery log of an endpoint, newest first, with every attempt',
      tag: TAG,
      auth: 'webhooks:read',
      query: schema<WebhookDeliveryListQuery & { limit: number }>('webhook-delivery-list-query.json'),
      success: { status: 200, description: 'A page of deliveries.', schema: 'webhook-delivery-list.json' },
    },
    async ({ principal, params, query, res }) => {
      res.json(await listDeliveries(db, principal, params.id, query));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/deliveries/{id}',
      operationId: 'getWebhookDelivery',
      summary: 'Read one delivery with its attempts',
      tag: TAG,
      auth: 'webhooks:read',
      success: { status: 200, description: 'The delivery.', schema: 'webhook-delivery.json' },
    },
    async ({ principal, params, res }) => {
      res.json(await getDelivery(db, principal, params.id));
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/deliveries/{id}/redeliver',
      operationId: 'redeliverWebhook',
      summary: 'Deliver the same event again (same webhook-id) with a fresh retry schedule',
      tag: TAG,
      auth: 'webhooks:write',
      success: { ...DELIVERY, description: 'The new delivery, queued.' },
      errors: [409],
    },
    async ({ principal, params, res }) => {
      const delivery = await redeliver(db, principal, params.id);
      res.status(202).location(`/v1/deliveries/${delivery.id}`).json(delivery);
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/events',
      operationId: 'listEvents',
      summary: 'Events you may see, oldest first: a polling fallback and a backfill after an outage',
      description:
        'Keep the nextCursor of each answer and pass it to the next poll; it is returned even at the end of the feed. ' +
        'Events are the ones webhooks deliver, visible by the same rules as the resources they describe.',
      tag: TAG,
      auth: 'webhooks:read',
      query: schema<EventListQuery>('event-list-query.json'),
      success: { status: 200, description: 'A page of events.', schema: 'event-list.json' },
    },
    async ({ principal, query, res }) => {
      res.json(await listEvents(db, principal, query));
    },
  );
}
