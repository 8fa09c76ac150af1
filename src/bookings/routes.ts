import type { Db } from '../db/client.js';
import type { ApiRouter } from '../http/route.js';

/** Bookings and testbed calendars. */
export function bookingRoutes(_api: ApiRouter, _db: Db): void {}
