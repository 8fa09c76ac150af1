import type { Db } from '../db/client.js';
import type { BlackoutCreate } from '../generated/schema-types.js';
import { schema, type ApiRouter } from '../http/route.js';
import { toBlackoutDto } from './presenter.js';
import { createBlackout, deleteBlackout, listBlackouts, type BlackoutListQuery } from './service.js';

const TAG = 'Testbed operations';

export function blackoutRoutes(api: ApiRouter, db: Db): void {
  api.add(
    {
      method: 'post',
      path: '/v1/testbeds/{id}/blackouts',
      operationId: 'createBlackout',
      summary: 'Take a testbed out of service for a while (owner or operator)',
      description:
        'Slots overlapping `[start, end)` can no longer be booked, requested or proposed (409 `slot-blocked`; ' +
        'slots show `blockedBy`). In the same transaction every confirmed booking overlapping it is cancelled ' +
        'with `cancelReason: "blackout"` (credits returned when it had not started; `booking.cancelled`), and ' +
        "each one's pilot is re-offered the best alternative slot for that session as a `proposed` match with " +
        '`origin: "reoffer"` (`match.proposed`) when one exists. `displaced` lists what was cancelled and ' +
        're-offered. `end` must be after `start`, at most a year later.',
      tag: TAG,
      auth: 'testbeds:write',
      body: schema<BlackoutCreate>('blackout-create.json'),
      idempotent: true,
      success: {
        status: 201,
        description: 'The blackout, with what it displaced.',
        schema: 'blackout.json',
        headers: ['Location'],
      },
    },
    async ({ principal, params, body, res }) => {
      const row = await createBlackout(db, principal, params.id, body);
      res.status(201).location(`/v1/blackouts/${row.id}`).json(toBlackoutDto(row, true));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/testbeds/{id}/blackouts',
      operationId: 'listBlackouts',
      summary: "List a testbed's blackouts in start order",
      description: '`from`/`to` keep those overlapping the window. Only the owner and operators see `displaced`.',
      tag: TAG,
      auth: 'testbeds:read',
      query: schema<BlackoutListQuery>('blackout-list-query.json'),
      success: { status: 200, description: 'A page of blackouts.', schema: 'blackout-list.json' },
    },
    async ({ principal, params, query, res }) => {
      res.json(await listBlackouts(db, principal, params.id, query));
    },
  );

  api.add(
    {
      method: 'delete',
      path: '/v1/blackouts/{id}',
      operationId: 'deleteBlackout',
      summary: 'Remove a blackout (owner or operator)',
      description:
        'Its slots become bookable again and their free units go to their waitlists in the same transaction. ' +
        'Cancelled bookings stay cancelled; re-offers stay open.',
      tag: TAG,
      auth: 'testbeds:write',
      success: { status: 204, description: 'Removed.' },
    },
    async ({ principal, params, res }) => {
      await deleteBlackout(db, principal, params.id);
      res.status(204).end();
    },
  );
}
