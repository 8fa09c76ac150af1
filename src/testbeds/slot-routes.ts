import type { Response } from 'express';
import type { Db } from '../db/client.js';
import type { SlotCreate, SlotPatch } from '../generated/schema-types.js';
import { parseIfMatch, requireIfMatch } from '../core/etag.js';
import { schema, type ApiRouter } from '../http/route.js';
import { toSlotDto, type SlotRow } from './presenter.js';
import {
  createSlots,
  deleteSlot,
  getSlot,
  listSlots,
  slotEtag,
  updateSlot,
  type SlotListQuery,
} from './slot-service.js';

const TAG = 'Slots';
const ONE = { status: 200, description: 'The slot.', schema: 'slot.json', headers: ['ETag'] };

export function slotRoutes(api: ApiRouter, db: Db): void {
  const send = (res: Response, row: SlotRow, status = 200) => {
    res.status(status).set('ETag', slotEtag(row)).json(toSlotDto(row));
  };

  api.add(
    {
      method: 'post',
      path: '/v1/testbeds/{id}/slots',
      operationId: 'createSlots',
      summary: 'Add one slot, or a weekly series of slots, to a testbed',
      description:
        'The testbed owner or an operator. `{start, end, capacity}` creates one slot and answers it; `{series, capacity}` ' +
        'creates every slot of a weekly series in Korea time, all or nothing, and answers `{data, seriesId}`. ' +
        'A slot overlapping another of the testbed is refused with 409 `slot-overlap`.',
      tag: TAG,
      auth: 'testbeds:write',
      body: schema<SlotCreate>('slot-create.json'),
      idempotent: true,
      success: {
        status: 201,
        description: 'The new slot, or the slots of the new series.',
        schema: 'slot-created.json',
        headers: ['ETag', 'Location'],
      },
      errors: [409],
    },
    async ({ principal, params, body, res }) => {
      const created = await createSlots(db, principal, params.id, body);
      if (created.kind === 'single') {
        res.location(`/v1/slots/${created.slot.id}`);
        send(res, created.slot, 201);
      } else {
        res.status(201).json({ data: created.slots.map(toSlotDto), seriesId: created.seriesId });
      }
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/testbeds/{id}/slots',
      operationId: 'listSlots',
      summary: "List a testbed's slots in start order",
      description: '`from`/`to` keep the slots overlapping that window; `available=true` those with units left.',
      tag: TAG,
      auth: 'testbeds:read',
      query: schema<SlotListQuery>('slot-list-query.json'),
      success: { status: 200, description: 'A page of slots.', schema: 'slot-list.json' },
    },
    async ({ params, query, res }) => {
      res.json(await listSlots(db, params.id, query));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/slots/{id}',
      operationId: 'getSlot',
      summary: 'Read a slot',
      tag: TAG,
      auth: 'testbeds:read',
      success: ONE,
    },
    async ({ params, res }) => {
      send(res, await getSlot(db, params.id));
    },
  );

  api.add(
    {
      method: 'patch',
      path: '/v1/slots/{id}',
      operationId: 'updateSlot',
      summary: 'Move or resize a slot (JSON merge patch, If-Match required)',
      description: 'A slot with bookings keeps its times, and its capacity cannot drop below its booked units.',
      tag: TAG,
      auth: 'testbeds:write',
      body: schema<SlotPatch>('slot-patch.json'),
      ifMatch: true,
      success: ONE,
      errors: [409],
    },
    async ({ principal, params, body, req, res }) => {
      const ifMatch = requireIfMatch(req.get('If-Match'));
      send(res, await updateSlot(db, principal, params.id, body, ifMatch));
    },
  );

  api.add(
    {
      method: 'delete',
      path: '/v1/slots/{id}',
      operationId: 'deleteSlot',
      summary: 'Delete a slot without bookings',
      description: 'If-Match is optional here; when sent it must match.',
      tag: TAG,
      auth: 'testbeds:write',
      success: { status: 204, description: 'Deleted.' },
      errors: [409, 412],
    },
    async ({ principal, params, req, res }) => {
      await deleteSlot(db, principal, params.id, parseIfMatch(req.get('If-Match')));
      res.status(204).end();
    },
  );
}
