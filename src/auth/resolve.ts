/** Turns a bearer secret into a Principal, or undefined when it is unknown, expired or revoked. */
import type { Queryable } from '../db/client.js';
import type { PrincipalCache } from './principal-cache.js';
import type { OrgKind, Principal } from '../core/principal.js';
import { ALL_SCOPES, isScope, type Scope } from '../core/scopes.js';
import { API_KEY_PREFIX, SESSION_PREFIX, hashSecret, looksLikeToken } from './tokens.js';

interface CredentialRow {
  credential_id: string;
  expires_at: Date | null;
  user_id: string;
  organization_id: string;
  kind: OrgKind;
  scopes: string[] | null;
  last_used_at: Date | null;
}

export async function resolvePrincipal(
  db: Queryable,
  token: string,
  cache?: PrincipalCache,
): Promise<Principal | undefined> {
  if (!looksLikeToken(token)) return undefined;
  const hash = hashSecret(token);
  const cached = cache?.get(hash);
  if (cached) return cached;
  const found = await lookup(db, token, hash);
  if (found) cache?.set(hash, found.principal, found.expiresAt);
  return found?.principal;
}

async function lookup(
  db: Queryable,
  token: string,
  hash: string,
): Promise<{ principal: Principal; expiresAt: Date | null } | undefined> {
  if (token.startsWith(SESSION_PREFIX)) {
    const { rows } = await db.query<CredentialRow>(
      `SELECT s.id AS credential_id, s.expires_at, u.id AS user_id, o.id AS organization_id, o.kind,
              NULL::text[] AS scopes, NULL::timestamptz AS last_used_at
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN organizations o ON o.id = u.organization_id
        WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()`,
      [hash],
    );
    const row = rows[0];
    return row && { principal: toPrincipal(row, 'session', ALL_SCOPES), expiresAt: row.expires_at };
  }
  if (token.startsWith(API_KEY_PREFIX)) {
    const { rows } = await db.query<CredentialRow>(
      `SELECT k.id AS credential_id, NULL::timestamptz AS expires_at, k.user_id, o.id AS organization_id, o.kind,
              k.scopes, k.last_used_at
         FROM api_keys k JOIN users u ON u.id = k.user_id JOIN organizations o ON o.id = k.organization_id
        WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
      [hash],
    );
    const row = rows[0];
    if (!row) return undefined;
    // Record use at most once a minute, so a busy key does not turn every read into a write.
    if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
      await db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [row.credential_id]);
    }
    return { principal: toPrincipal(row, 'api-key', (row.scopes ?? []).filter(isScope)), expiresAt: null };
  }
  return undefined;
}

function toPrincipal(row: CredentialRow, via: Principal['via'], scopes: Scope[]): Principal {
  return {
    userId: row.user_id,
    organizationId: row.organization_id,
    orgKind: row.kind,
    scopes: new Set(scopes),
    via,
    credentialId: row.credential_id,
  };
}
