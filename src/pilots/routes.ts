import type { Db } from '../db/client.js';
import { requireIfMatch } from '../core/etag.js';
import { schema, type ApiRouter } from '../http/route.js';
import { toPilotDto, type PilotRow } from './presenter.js';
import type { PilotFields } from './rules.js';
import {
  actOnPilot,
  createPilot,
  deletePilot,
  getVisiblePilot,
  listPilots,
  pilotEtag,
  updatePilot,
  type PilotListQuery,
} from './service.js';
import type { PilotPatch } from '../generated/schema-types.js';

const TAG = 'Pilots';
const ONE = { status: 200, description: 'The pilot.', schema: 'pilot.json', headers: ['ETag'] };

export function pilotRoutes(api: ApiRouter, db: Db): void {
  const send = (res: import('express').Response, row: PilotRow, status = 200) => {
    res.status(status).set('ETag', pilotEtag(row)).json(toPilotDto(row));
  };

  api.add(
    {
      method: 'post',
      path: '/v1/pilots',
      operationId: 'createPilot',
      summary: 'Register a pilot project (as a draft)',
      tag: TAG,
      auth: 'pilots:write',
      body: schema<PilotFields>('pilot-create.json'),
      idempotent: true,
      success: { ...ONE, status: 201, description: 'The new draft pilot.', headers: ['ETag', 'Location'] },
    },
    async ({ principal, body, res }) => {
      const row = await createPilot(db, principal, body);
      res.location(`/v1/pilots/${row.id}`);
      send(res, row, 201);
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/pilots',
      operationId: 'listPilots',
      summary: 'List the pilots you may see, newest first',
      description:
        'Startups see their own; operators see all; partners see pilots matched or booked on their testbeds.',
      tag: TAG,
      auth: 'pilots:read',
      query: schema<PilotListQuery>('pilot-list-query.json'),
      success: { status: 200, description: 'A page of pilots.', schema: 'pilot-list.json' },
    },
    async ({ principal, query, res }) => {
      res.json(await listPilots(db, principal, query));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/pilots/{id}',
      operationId: 'getPilot',
      summary: 'Read a pilot',
      tag: TAG,
      auth: 'pilots:read',
      success: ONE,
    },
    async ({ principal, params, res }) => {
      send(res, await getVisiblePilot(db, principal, params.id));
    },
  );

  api.add(
    {
      method: 'patch',
      path: '/v1/pilots/{id}',
      operationId: 'updatePilot',
      summary: 'Edit a draft pilot (JSON merge patch, If-Match required)',
      tag: TAG,
      auth: 'pilots:write',
      body: schema<PilotPatch>('pilot-patch.json'),
      ifMatch: true,
      success: ONE,
      errors: [409],
    },
    async ({ principal, params, body, req, res }) => {
      const ifMatch = requireIfMatch(req.get('If-Match'));
      send(res, await updatePilot(db, principal, params.id, body, ifMatch));
    },
  );

  api.add(
    {
      method: 'delete',
      path: '/v1/pilots/{id}',
      operationId: 'deletePilot',
      summary: 'Delete a draft pilot',
      tag: TAG,
      auth: 'pilots:write',
      success: { status: 204, description: 'Deleted.' },
      errors: [409],
    },
    async ({ principal, params, res }) => {
      await deletePilot(db, principal, params.id);
      res.status(204).end();
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/pilots/{id}/submit',
      operationId: 'submitPilot',
      summary: 'Submit a draft pilot for matching',
      tag: TAG,
      auth: 'pilots:write',
      success: ONE,
      errors: [409],
    },
    async ({ principal, params, res }) => {
      send(res, await actOnPilot(db, principal, params.id, 'submit'));
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/pilots/{id}/withdraw',
      operationId: 'withdrawPilot',
      summary: 'Withdraw a pilot (any state before completed)',
      tag: TAG,
      auth: 'pilots:write',
      success: ONE,
      errors: [409],
    },
    async ({ principal, params, res }) => {
      send(res, await actOnPilot(db, principal, params.id, 'withdraw'));
    },
  );
}
