import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { ApiRouter } from '../http/route.js';

/** Webhook endpoints, deliveries and the event feed. */
export function webhookRoutes(_api: ApiRouter, _db: Db, _config: Config): void {}
