import type { ApiRouter } from '../http/route.js';
import { CAPABILITIES, DOMAINS } from './catalog.js';

export function domainRoutes(api: ApiRouter): void {
  api.add(
    {
      method: 'get',
      path: '/v1/domains',
      operationId: 'listDomains',
      summary: 'The five programme domains and their subdomains',
      tag: 'Catalogue',
      auth: 'public',
      success: { status: 200, description: 'All domains, with Korean and English labels.', schema: 'domain-list.json' },
    },
    ({ res }) => {
      res.set('Cache-Control', 'public, max-age=3600').json({ data: DOMAINS });
    },
  );
  api.add(
    {
      method: 'get',
      path: '/v1/capabilities',
      operationId: 'listCapabilities',
      summary: 'The controlled vocabulary of testbed capabilities',
      tag: 'Catalogue',
      auth: 'public',
      success: { status: 200, description: 'All capability codes.', schema: 'capability-list.json' },
    },
    ({ res }) => {
      res.set('Cache-Control', 'public, max-age=3600').json({ data: CAPABILITIES });
    },
  );
}
