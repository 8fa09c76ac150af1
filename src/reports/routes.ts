import type { Db } from '../db/client.js';
import type { ApiRouter } from '../http/route.js';

/** Operator reports. */
export function reportRoutes(_api: ApiRouter, _db: Db): void {}
