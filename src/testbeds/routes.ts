import type { Db } from '../db/client.js';
import type { ApiRouter } from '../http/route.js';

export function testbedRoutes(_api: ApiRouter, _db: Db): void {}
