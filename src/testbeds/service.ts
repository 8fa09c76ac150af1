/** Testbed rules and transactions: publishing by operators and partners, reading by all, edits by the owner. */
import type { Principal } from '../core/principal.js';
import type { Db, Queryable } from '../db/client.js';
import type {
  TestbedCreate,
  TestbedListQuery as TestbedListQueryParams,
  TestbedPatch,
} from '../generated/schema-types.js';
import { forbidden, notFound } from '../core/errors.js';
import { assertIfMatch, etagOf } from '../core/etag.js';
import { decodeCursor, toJsonPage } from '../core/cursor.js';
import { recordEvent } from '../events/outbox.js';
import { canManageTestbed, canPublishTestbeds } from './access.js';
import { TESTBED_COLUMNS, TESTBED_SHAPE, toTestbedDto, type TestbedRow } from './presenter.js';
import { isoSql, jsonObjectSql } from '../db/json-shape.js';
import { changeTokenSql, pagesFor, renderedPage, type RenderedPage, type RenderedPages } from '../db/change-tokens.js';

export type TestbedListQuery = TestbedListQueryParams & { limit: number };

/** A whole testbed as a client describes it, after defaults or a merge patch. */
type TestbedFields = Required<Omit<TestbedCreate, 'domains'>> & { domains: string[]; status: TestbedRow['status'] };

export const testbedEtag = (row: TestbedRow) => etagOf(row.id, row.version);

function fieldParams(f: TestbedFields): unknown[] {
  return [
    f.name.trim(),
    f.description.trim(),
    f.domains,
    f.capabilities,
    f.capacity,
    f.location.address.trim(),
    f.location.lat,
    f.location.lng,
    f.status,
    f.creditRate,
  ];
}

export async function createTestbed(
  db: Db,
  principal: Principal,
  input: TestbedCreate,
  options: { demo?: boolean } = {},
) {
  if (!canPublishTestbeds(principal)) throw forbidden('Only operator and partner organisations publish testbeds.');
  const fields: TestbedFields = { description: '', capabilities: [], creditRate: 1, ...input, status: 'active' };
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<TestbedRow>(
      `INSERT INTO testbeds (name, description, domains, capabilities, capacity, address, lat, lng, status, credit_rate, organization_id, demo)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       RETURNING ${TESTBED_COLUMNS}`,
      [...fieldParams(fields), principal.organizationId, options.demo ?? false],
    );
    await recordTestbedEvent(tx, 'testbed.created', rows[0]!);
    return rows[0]!;
  });
}

/** Testbeds are read by every signed-in organisation, and so are their events. */
function recordTestbedEvent(tx: Queryable, type: 'testbed.created' | 'testbed.updated', row: TestbedRow) {
  return recordEvent(tx, {
    type,
    data: toTestbedDto(row),
    visibility: 'public',
    organizationId: row.organization_id,
    testbedId: row.id,
  });
}

/** Any signed-in caller reads any testbed; 404 only when there is none. */
export async function getTestbed(
  db: Queryable,
  id: string,
  lock?: 'share' | 'no key update' | 'update',
): Promise<TestbedRow> {
  const { rows } = await db.query<TestbedRow>(
    `SELECT ${TESTBED_COLUMNS} FROM testbeds WHERE id = $1${lock ? ` FOR ${lock.toUpperCase()}` : ''}`,
    [id],
  );
  const row = rows[0];
  if (!row) throw notFound('testbed');
  return row;
}

/** The testbed, locked, when the principal may change it or its slots: 404 if missing, 403 if only visible. */
export async function getManagedTestbed(
  tx: Queryable,
  principal: Principal,
  id: string,
  lock: 'share' | 'no key update' | 'update',
): Promise<TestbedRow> {
  const row = await getTestbed(tx, id, lock);
  if (!canManageTestbed(principal, row)) {
    throw forbidden('Only the organisation that owns this testbed, or a programme operator, may change it.');
  }
  return row;
}

/** Pages of the testbed list already rendered, per database; see src/db/change-tokens.ts. */
const listPages = new WeakMap<object, RenderedPages>();

/**
 * A page of testbeds as JSON text, rendered by PostgreSQL from TESTBED_SHAPE (the busiest read of the API).
 * Every caller sees the same list, so a page is kept and served again until a transaction changes testbeds.
 */
export async function listTestbeds(db: Db, q: TestbedListQuery): Promise<RenderedPage> {
  const after = decodeCursor('testbeds', q.cursor, ['time', 'uuid']);
  const pages = pagesFor(listPages, db, 'testbeds');
  const key = JSON.stringify([q.domain, q.capability, q.status, q.organizationId, q.cursor, q.limit]);
  const kept = await pages.get(db, key);
  if (kept !== undefined) return kept;
  const { rows } = await db.query<{ json: string; cursor_at: string; id: string; change_token: string }>(
    `SELECT ${jsonObjectSql(TESTBED_SHAPE, 't')}::text AS json, ${isoSql('t.created_at')} AS cursor_at, t.id,
            ${changeTokenSql('testbeds')} AS change_token
       FROM testbeds t
      WHERE ($1::text IS NULL OR t.domains @> ARRAY[$1::text])
        AND ($2::text[] IS NULL OR t.capabilities @> $2::text[])
        AND ($3::text IS NULL OR t.status = $3)
        AND ($4::uuid IS NULL OR t.organization_id = $4)
        AND ($5::timestamptz IS NULL OR (t.created_at, t.id) < ($5::timestamptz, $6::uuid))
      ORDER BY t.created_at DESC, t.id DESC
      LIMIT $7`,
    [
      q.domain ?? null,
      q.capability?.length ? q.capability : null,
      q.status ?? null,
      q.organizationId ?? null,
      after?.[0] ?? null,
      after?.[1] ?? null,
      q.limit + 1,
    ],
  );
  const page = renderedPage(toJsonPage('testbeds', rows, q.limit, (r) => [r.cursor_at, r.id]));
  // The token was read in the same statement, so it is exactly the state the page shows.
  if (rows[0]) pages.set(key, rows[0].change_token, page);
  return page;
}

/** Applies a JSON merge patch: scalars and arrays replace, location merges field by field. */
function mergeTestbed(row: TestbedRow, patch: TestbedPatch): TestbedFields {
  return {
    name: patch.name ?? row.name,
    description: patch.description ?? row.description,
    domains: patch.domains ?? row.domains,
    capabilities: patch.capabilities ?? row.capabilities,
    capacity: patch.capacity ?? row.capacity,
    location: { address: row.address, lat: row.lat, lng: row.lng, ...patch.location },
    status: patch.status ?? row.status,
    creditRate: patch.creditRate ?? row.credit_rate,
  };
}

export async function updateTestbed(db: Db, principal: Principal, id: string, patch: TestbedPatch, ifMatch: string[]) {
  return db.transaction(async (tx) => {
    const row = await getManagedTestbed(tx, principal, id, 'update');
    assertIfMatch(ifMatch, testbedEtag(row));
    const { rows } = await tx.query<TestbedRow>(
      `UPDATE testbeds SET name = $1, description = $2, domains = $3, capabilities = $4, capacity = $5, address = $6,
              lat = $7, lng = $8, status = $9, credit_rate = $10, version = version + 1, updated_at = now()
        WHERE id = $11 RETURNING ${TESTBED_COLUMNS}`,
      [...fieldParams(mergeTestbed(row, patch)), id],
    );
    await recordTestbedEvent(tx, 'testbed.updated', rows[0]!);
    return rows[0]!;
  });
}
