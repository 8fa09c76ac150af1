/** Shared set-up of the webhook tests: an app that allows loopback receivers, and workers with shrunk schedules. */
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp } from '../../src/app.js';
import { DeliveryWorker, workerSettings, type WorkerSettings } from '../../src/webhooks/worker.js';
import { ctx, testConfig } from './context.js';
import type { Actor } from './factories.js';
import type { WebhookReceiver } from './webhook-receiver.js';

export const LOOPBACK = '127.0.0.0/8,::1/128';

const webhookConfig = (overrides: Record<string, string> = {}) =>
  testConfig({
    WEBHOOK_ALLOW_NETWORKS: LOOPBACK,
    WEBHOOK_RETRY_SCHEDULE: '0,0.05,0.05',
    WEBHOOK_TIMEOUT_MS: '1500',
    WEBHOOK_LEASE_SECONDS: '5',
    ...overrides,
  });

let agent: supertest.Agent | undefined;

/** The test app, but configured to accept loopback webhook URLs. */
export function hooksApi(): supertest.Agent {
  agent ??= supertest.agent(
    createApp({ db: ctx().db, config: webhookConfig(), logger: pino({ level: process.env.TEST_LOG ?? 'silent' }) }),
  );
  return agent;
}

export function testWorker(overrides: Partial<WorkerSettings> = {}): DeliveryWorker {
  return new DeliveryWorker(
    ctx().db,
    { ...workerSettings(webhookConfig()), pollMs: 20, ...overrides },
    pino({ level: process.env.TEST_LOG ?? 'silent' }),
  );
}

export interface CreatedEndpoint {
  id: string;
  secret: string;
  url: string;
  eventTypes: string[];
  status: string;
  [k: string]: unknown;
}

/** Registers the receiver as an endpoint of actor's organisation and teaches it the secret. */
export async function subscribe(
  actor: Actor,
  receiver: WebhookReceiver,
  body: Record<string, unknown> = {},
): Promise<CreatedEndpoint> {
  const res = await hooksApi()
    .post('/v1/webhook-endpoints')
    .set(actor.auth)
    .send({ url: receiver.url, ...body });
  if (res.status !== 201) throw new Error(`subscribe failed: ${res.status} ${JSON.stringify(res.body)}`);
  receiver.secrets.push(res.body.secret as string);
  return res.body as CreatedEndpoint;
}

export async function deliveriesOf(actor: Actor, endpointId: string) {
  const res = await hooksApi().get(`/v1/webhook-endpoints/${endpointId}/deliveries?limit=200`).set(actor.auth);
  if (res.status !== 200) throw new Error(`deliveries failed: ${res.status}`);
  return res.body.data as {
    id: string;
    eventId: string;
    eventType: string;
    status: string;
    attemptCount: number;
    lastError: string | null;
    attempts: {
      statusCode: number | null;
      durationMs: number;
      error: string | null;
      responseBody: string;
      responseTruncated: boolean;
    }[];
  }[];
}
