import type { Db } from '../db/client.js';
import type { WaitlistCreate, WaitlistListQuery } from '../generated/schema-types.js';
import { schema, type ApiRouter } from '../http/route.js';
import { toWaitlistDto } from './presenter.js';
import { joinWaitlist, leaveWaitlist, listWaitlist } from './service.js';

const TAG = 'Testbed operations';

export function waitlistRoutes(api: ApiRouter, db: Db): void {
  api.add(
    {
      method: 'post',
      path: '/v1/slots/{id}/waitlist',
      operationId: 'joinWaitlist',
      summary: "Put a pilot on a slot's waitlist (the startup that owns it)",
      description:
        'When units free up (a cancellation, an expired or rejected hold, a blackout removed, capacity raised) ' +
        'the first waiting pilot that fits gets a `requested` match holding them (`origin: "waitlist"`, event ' +
        '`match.requested`) in the same transaction; first come, first served. Free units are handed out at once. ' +
        'A pilot waits once per slot (409 `waitlist-exists`); a slot that has started is 409 `slot-past`; one the ' +
        'pilot cannot use is 409 `slot-unsuitable`.',
      tag: TAG,
      auth: 'matching:write',
      body: schema<WaitlistCreate>('waitlist-create.json'),
      idempotent: true,
      success: {
        status: 201,
        description: 'The entry with its position (null once offered).',
        schema: 'waitlist-entry.json',
        headers: ['Location'],
      },
      errors: [409],
    },
    async ({ principal, params, body, res }) => {
      const row = await joinWaitlist(db, principal, params.id, body);
      res.status(201).location(`/v1/waitlist/${row.id}`).json(toWaitlistDto(row));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/slots/{id}/waitlist',
      operationId: 'listWaitlist',
      summary: "A slot's waitlist in queue order",
      description: 'The testbed owner and operators see every entry; a startup sees the entries of its own pilots.',
      tag: TAG,
      auth: 'matching:read',
      query: schema<WaitlistListQuery & { limit: number }>('waitlist-list-query.json'),
      success: { status: 200, description: 'A page of entries.', schema: 'waitlist-list.json' },
    },
    async ({ principal, params, query, res }) => {
      res.json(await listWaitlist(db, principal, params.id, query));
    },
  );

  api.add(
    {
      method: 'delete',
      path: '/v1/waitlist/{id}',
      operationId: 'leaveWaitlist',
      summary: 'Take a waiting entry off its waitlist',
      description: "The pilot's owner, the testbed's owner or an operator. Only a waiting entry (409 otherwise).",
      tag: TAG,
      auth: 'matching:write',
      success: { status: 204, description: 'Removed.' },
      errors: [409],
    },
    async ({ principal, params, res }) => {
      await leaveWaitlist(db, principal, params.id);
      res.status(204).end();
    },
  );
}
