import type { Response } from 'express';
import type { Db } from '../db/client.js';
import type { TestbedCreate, TestbedPatch } from '../generated/schema-types.js';
import { requireIfMatch } from '../core/etag.js';
import { schema, type ApiRouter } from '../http/route.js';
import { toTestbedDto, type TestbedRow } from './presenter.js';
import {
  createTestbed,
  getTestbed,
  listTestbeds,
  testbedEtag,
  updateTestbed,
  type TestbedListQuery,
} from './service.js';

const TAG = 'Testbeds';
const ONE = { status: 200, description: 'The testbed.', schema: 'testbed.json', headers: ['ETag'] };

export function testbedRoutes(api: ApiRouter, db: Db): void {
  const send = (res: Response, row: TestbedRow, status = 200) => {
    res.status(status).set('ETag', testbedEtag(row)).json(toTestbedDto(row));
  };

  api.add(
    {
      method: 'post',
      path: '/v1/testbeds',
      operationId: 'createTestbed',
      summary: 'Publish a testbed (operators and partners); your organisation owns it',
      tag: TAG,
      auth: 'testbeds:write',
      body: schema<TestbedCreate>('testbed-create.json'),
      idempotent: true,
      success: { ...ONE, status: 201, description: 'The new testbed, active.', headers: ['ETag', 'Location'] },
    },
    async ({ principal, body, res }) => {
      const row = await createTestbed(db, principal, body);
      res.location(`/v1/testbeds/${row.id}`);
      send(res, row, 201);
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/testbeds',
      operationId: 'listTestbeds',
      summary: 'List testbeds, newest first',
      description: 'Every signed-in organisation reads every testbed. Filters combine; `capability` may repeat.',
      tag: TAG,
      auth: 'testbeds:read',
      query: schema<TestbedListQuery>('testbed-list-query.json'),
      success: { status: 200, description: 'A page of testbeds.', schema: 'testbed-list.json' },
    },
    async ({ query, res }) => {
      const page = await listTestbeds(db, query);
      // The tag was computed with the page, so Express need not hash the body again (and answers 304 on a match).
      res.type('application/json').set('ETag', page.etag).send(page.body);
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/testbeds/{id}',
      operationId: 'getTestbed',
      summary: 'Read a testbed',
      tag: TAG,
      auth: 'testbeds:read',
      success: ONE,
    },
    async ({ params, res }) => {
      send(res, await getTestbed(db, params.id));
    },
  );

  api.add(
    {
      method: 'patch',
      path: '/v1/testbeds/{id}',
      operationId: 'updateTestbed',
      summary: 'Edit a testbed or set it active/inactive (JSON merge patch, If-Match required)',
      description: 'The owning organisation or any operator; others get 403.',
      tag: TAG,
      auth: 'testbeds:write',
      body: schema<TestbedPatch>('testbed-patch.json'),
      ifMatch: true,
      success: ONE,
    },
    async ({ principal, params, body, req, res }) => {
      const ifMatch = requireIfMatch(req.get('If-Match'));
      send(res, await updateTestbed(db, principal, params.id, body, ifMatch));
    },
  );
}
