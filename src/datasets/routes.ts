import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { ApiRouter } from '../http/route.js';

/** Dataset uploads, downloads and their access log. */
export function datasetRoutes(_api: ApiRouter, _db: Db, _config: Config): void {}
