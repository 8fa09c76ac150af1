import type { Db } from '../db/client.js';
import type { ApiRouter } from '../http/route.js';

/** Candidates, matches and allocation runs. */
export function matchingRoutes(_api: ApiRouter, _db: Db): void {}
