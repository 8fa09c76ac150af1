/**
 * GET / — the address the start-up log prints. A small JSON index pointing at the docs, the OpenAPI document
 * and the console, so the first request a newcomer makes is not a 404.
 */
import type { ApiRouter } from '../http/route.js';
import { VERSION } from '../version.js';

const SERVICE_INDEX = {
  name: 'AX Testbed Registry',
  version: VERSION,
  links: {
    docs: '/docs',
    openapi: '/openapi.json',
    console: '/console/',
    api: '/v1',
    health: '/healthz',
    ready: '/readyz',
  },
};

export function landingRoutes(api: ApiRouter): void {
  api.add(
    {
      method: 'get',
      path: '/',
      operationId: 'getServiceIndex',
      summary: 'Where to go from here: docs, OpenAPI document, console',
      tag: 'Service',
      auth: 'public',
      success: {
        status: 200,
        description: 'Links to the documentation, the OpenAPI document and the console.',
        schema: 'service-index.json',
      },
    },
    ({ res }) => {
      res.json(SERVICE_INDEX);
    },
  );
}
