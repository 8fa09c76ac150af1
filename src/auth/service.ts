/**
 * Sign-up, login, logout, and the operator bootstrap. Operators are never created by sign-up: only by
 * ensureOperator, which the admin command and ADMIN_EMAIL/ADMIN_PASSWORD at start-up call.
 */
import type { Db, Queryable } from '../db/client.js';
import type { SignupRequest } from '../generated/schema-types.js';
import { isDbError } from '../db/errors.js';
import { AppError, badRequest, conflict, validationFailed } from '../core/errors.js';
import { isValidBusinessNumber, normalizeBusinessNumber } from './business-number.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { PrincipalCache } from './principal-cache.js';
import type { OrgKind, Principal } from '../core/principal.js';
import { SESSION_PREFIX, hashSecret, newSecret } from './tokens.js';

export interface OrganizationRow {
  id: string;
  name: string;
  kind: OrgKind;
  business_number: string | null;
  created_at: Date;
}

export interface UserRow {
  id: string;
  organization_id: string;
  email: string;
  name: string;
  created_at: Date;
}

export interface LoginUser {
  id: string;
}

export interface Session {
  token: string;
  expiresAt: Date;
}

const normalizeEmail = (email: string) => email.trim().toLowerCase();

async function createSession(tx: Queryable, userId: string, ttlSeconds: number): Promise<Session> {
  const token = newSecret(SESSION_PREFIX);
  const { rows } = await tx.query<{ expires_at: Date }>(
    `INSERT INTO sessions (user_id, token_hash, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
     RETURNING expires_at`,
    [userId, hashSecret(token), ttlSeconds],
  );
  return { token, expiresAt: rows[0]!.expires_at };
}

export async function signup(db: Db, input: SignupRequest, ttlSeconds: number) {
  let businessNumber: string | null = null;
  if (input.organization.businessNumber !== undefined) {
    if (!isValidBusinessNumber(input.organization.businessNumber)) {
      throw validationFailed(
        [
          {
            pointer: '/body/organization/businessNumber',
            message: 'is not a valid business registration number (check digit)',
          },
        ],
        'The business registration number is not valid.',
      );
    }
    businessNumber = normalizeBusinessNumber(input.organization.businessNumber)!;
  }
  const passwordHash = await hashPassword(input.user.password);
  try {
    return await db.transaction(async (tx) => {
      const org = (
        await tx.query<OrganizationRow>(
          `INSERT INTO organizations (name, kind, business_number) VALUES ($1, $2, $3)
           RETURNING id, name, kind, business_number, created_at`,
          [input.organization.name.trim(), input.organization.kind, businessNumber],
        )
      ).rows[0]!;
      const user = (
        await tx.query<UserRow>(
          `INSERT INTO users (organization_id, email, name, password_hash) VALUES ($1, $2, $3, $4)
           RETURNING id, organization_id, email, name, created_at`,
          [org.id, normalizeEmail(input.user.email), input.user.name.trim(), passwordHash],
        )
      ).rows[0]!;
      const session = await createSession(tx, user.id, ttlSeconds);
      return { org, user, session };
    });
  } catch (err) {
    if (isDbError(err, 'unique_violation', 'users_email_key')) {
      throw conflict('email-taken', 'A user with this email already exists.');
    }
    if (isDbError(err, 'unique_violation', 'organizations_business_number_key')) {
      throw conflict(
        'business-number-taken',
        'An organisation with this business registration number is already registered.',
      );
    }
    throw err;
  }
}

export async function verifyLogin(db: Queryable, email: string, password: string): Promise<LoginUser | undefined> {
  const { rows } = await db.query<{ id: string; password_hash: string }>(
    'SELECT id, password_hash FROM users WHERE email = $1',
    [normalizeEmail(email)],
  );
  const row = rows[0];
  const ok = await verifyPassword(row?.password_hash, password);
  return ok && row ? { id: row.id } : undefined;
}

export async function login(db: Db, user: LoginUser, ttlSeconds: number): Promise<Session> {
  return createSession(db, user.id, ttlSeconds);
}

export async function logout(db: Db, principal: Principal, principals: PrincipalCache): Promise<void> {
  if (principal.via !== 'session') {
    throw badRequest('Logout ends a login session; to retire an API key, DELETE /v1/api-keys/{id}.', 'not-a-session');
  }
  await db.query('UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [
    principal.credentialId,
  ]);
  principals.evictCredential(principal.credentialId);
}

export async function loadMe(db: Queryable, principal: Principal) {
  const { rows } = await db.query<
    UserRow & { org_name: string; kind: OrgKind; business_number: string | null; org_created_at: Date }
  >(
    `SELECT u.id, u.organization_id, u.email, u.name, u.created_at,
            o.name AS org_name, o.kind, o.business_number, o.created_at AS org_created_at
       FROM users u JOIN organizations o ON o.id = u.organization_id WHERE u.id = $1`,
    [principal.userId],
  );
  const r = rows[0];
  if (!r) throw new AppError(401, 'unauthorized', 'Unauthorized', 'The user behind this token no longer exists.');
  const user: UserRow = {
    id: r.id,
    organization_id: r.organization_id,
    email: r.email,
    name: r.name,
    created_at: r.created_at,
  };
  const org: OrganizationRow = {
    id: r.organization_id,
    name: r.org_name,
    kind: r.kind,
    business_number: r.business_number,
    created_at: r.org_created_at,
  };
  return { user, org };
}

/** Held while creating operators or loading demo data, so concurrent starts cannot make two operator organisations. */
export const OPERATOR_LOCK = 7_245_118_302;

export const OPERATOR_ORG_NAME = 'Gwangju AX Programme Office (광주 AX 실증밸리 사업단)';

/** Creates or updates an operator user (and the operator organisation). Never logs the password. */
export async function ensureOperator(db: Db, email: string, password: string, name = 'Programme operator') {
  const passwordHash = await hashPassword(password);
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [OPERATOR_LOCK]);
    let org = (
      await tx.query<{ id: string }>(`SELECT id FROM organizations WHERE kind = 'operator' ORDER BY created_at LIMIT 1`)
    ).rows[0];
    org ??= (
      await tx.query<{ id: string }>(`INSERT INTO organizations (name, kind) VALUES ($1, 'operator') RETURNING id`, [
        OPERATOR_ORG_NAME,
      ])
    ).rows[0]!;
    const existing = (
      await tx.query<{ id: string; kind: OrgKind }>(
        'SELECT u.id, o.kind FROM users u JOIN organizations o ON o.id = u.organization_id WHERE u.email = $1',
        [normalizeEmail(email)],
      )
    ).rows[0];
    if (existing && existing.kind !== 'operator') {
      throw new Error(`${email} already belongs to a ${existing.kind} organisation; choose another operator email`);
    }
    if (existing) {
      await tx.query('UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1', [
        existing.id,
        passwordHash,
      ]);
      return { userId: existing.id, organizationId: org.id, created: false };
    }
    const user = (
      await tx.query<{ id: string }>(
        'INSERT INTO users (organization_id, email, name, password_hash) VALUES ($1, $2, $3, $4) RETURNING id',
        [org.id, normalizeEmail(email), name, passwordHash],
      )
    ).rows[0]!;
    return { userId: user.id, organizationId: org.id, created: true };
  });
}
