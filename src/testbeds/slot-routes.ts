import type { Db } from '../db/client.js';
import type { ApiRouter } from '../http/route.js';

export function slotRoutes(_api: ApiRouter, _db: Db): void {}
