import type { ApiKeyCreate, ListQuery } from '../generated/schema-types.js';
import type { PrincipalCache } from '../auth/principal-cache.js';
import type { Db } from '../db/client.js';
import { schema, type ApiRouter } from '../http/route.js';
import { createApiKey, listApiKeys, revokeApiKey } from './service.js';

export function apiKeyRoutes(api: ApiRouter, db: Db, principals: PrincipalCache): void {
  api.add(
    {
      method: 'post',
      path: '/v1/api-keys',
      operationId: 'createApiKey',
      summary: 'Create an API key for your organisation (the secret is shown once)',
      tag: 'API keys',
      auth: 'keys:write',
      body: schema<ApiKeyCreate>('api-key-create.json'),
      idempotent: true,
      secretResponse: true,
      success: { status: 201, description: 'The key, with its secret in `key`.', schema: 'api-key.json' },
    },
    async ({ principal, body, res }) => {
      const key = await createApiKey(db, principal, body);
      res.status(201).location(`/v1/api-keys/${key.id}`).json(key);
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/api-keys',
      operationId: 'listApiKeys',
      summary: "List your organisation's active API keys",
      tag: 'API keys',
      auth: 'keys:read',
      query: schema<ListQuery & { limit: number }>('list-query.json'),
      success: { status: 200, description: 'A page of keys (never their secrets).', schema: 'api-key-list.json' },
    },
    async ({ principal, query, res }) => {
      res.json(await listApiKeys(db, principal, query));
    },
  );

  api.add(
    {
      method: 'delete',
      path: '/v1/api-keys/{id}',
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key; it stops working at once',
      tag: 'API keys',
      auth: 'keys:write',
      success: { status: 204, description: 'Revoked.' },
      errors: [404],
    },
    async ({ principal, params, res }) => {
      await revokeApiKey(db, principal, params.id);
      principals.evictCredential(params.id);
      res.status(204).end();
    },
  );
}
