/** API keys belong to an organisation; any of its users may list and revoke them. */
import type { Principal } from '../core/principal.js';
import { ALL_SCOPES, grants, type Scope } from '../core/scopes.js';
import type { ApiKeyCreate, ListQuery } from '../generated/schema-types.js';
import { API_KEY_PREFIX, displayPrefix, hashSecret, newSecret } from '../auth/tokens.js';
import type { Db } from '../db/client.js';
import { AppError, notFound } from '../core/errors.js';
import { decodeCursor, toPage } from '../core/cursor.js';

export interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  user_id: string;
  created_at: Date;
  last_used_at: Date | null;
}

const COLUMNS = 'id, name, prefix, scopes, user_id, created_at, last_used_at';

const toApiKeyDto = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  createdBy: k.user_id,
  createdAt: k.created_at.toISOString(),
  lastUsedAt: k.last_used_at ? k.last_used_at.toISOString() : null,
});

export async function createApiKey(db: Db, principal: Principal, input: ApiKeyCreate) {
  const scopes = grantableScopes(principal, input.scopes);
  const key = newSecret(API_KEY_PREFIX);
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (organization_id, user_id, name, prefix, key_hash, scopes)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [principal.organizationId, principal.userId, input.name.trim(), displayPrefix(key), hashSecret(key), scopes],
  );
  return { ...toApiKeyDto(rows[0]!), key };
}

/**
 * A key may never carry more than the credential that creates it: each requested scope must be granted by the
 * caller's own (write implies read, so a `pilots:write` key may mint a `pilots:read` one). Without `scopes` the
 * new key gets exactly the caller's scopes; a session holds every scope, so its keys default to all of them.
 */
function grantableScopes(principal: Principal, requested: Scope[] | undefined): Scope[] {
  if (requested === undefined) return ALL_SCOPES.filter((s) => principal.scopes.has(s));
  const beyond = requested.filter((s) => !grants(principal.scopes, s));
  if (beyond.length) {
    throw new AppError(
      403,
      'insufficient-scope',
      'Forbidden',
      `A key cannot grant scopes its creator lacks: ${beyond.join(', ')}.`,
      {
        requiredScope: beyond[0],
        missingScopes: beyond,
      },
    );
  }
  return requested;
}

export async function listApiKeys(db: Db, principal: Principal, q: ListQuery & { limit: number }) {
  const after = decodeCursor('api-keys', q.cursor, ['time', 'uuid']);
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT ${COLUMNS} FROM api_keys
      WHERE organization_id = $1 AND revoked_at IS NULL
        AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $4`,
    [principal.organizationId, after?.[0] ?? null, after?.[1] ?? null, q.limit + 1],
  );
  return toPage('api-keys', rows, q.limit, (r) => [r.created_at.toISOString(), r.id], toApiKeyDto);
}

export async function revokeApiKey(db: Db, principal: Principal, id: string): Promise<void> {
  const { rowCount } = await db.query(
    'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND organization_id = $2 AND revoked_at IS NULL',
    [id, principal.organizationId],
  );
  if (rowCount === 0) throw notFound('API key');
}
