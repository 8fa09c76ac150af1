/**
 * Pilot rules and transactions: creation by startups, draft-only edits, submission and withdrawal. The status
 * moves themselves and releasing what a withdrawn pilot holds are the lifecycle's (lifecycle.ts).
 */
import type { Principal } from '../core/principal.js';
import type { Db, Queryable } from '../db/client.js';
import { conflict, forbidden } from '../core/errors.js';
import { assertIfMatch, etagOf } from '../core/etag.js';
import { decodeCursor, toPage } from '../core/cursor.js';
import type { EventType } from '../events/catalog.js';
import { recordEvent } from '../events/outbox.js';
import type {
  PilotListQuery as PilotListQueryParams,
  PilotPatch,
  PilotRequirementsInput,
} from '../generated/schema-types.js';
import { releasePilotHoldings, transitionPilot } from './lifecycle.js';
import { toPilotDto } from './presenter.js';
import { INSERT_PILOT_CREATED, PILOT_COLUMNS, firstReleaseOf, getVisiblePilot, type PilotRow } from './queries.js';
import { envelopeOf, normaliseStages, type Envelope } from './stages.js';
import { assertValidPilot, type PilotFields } from './rules.js';
import { isEditable } from './status.js';
import { ownsPilot, pilotVisibility } from './visibility.js';

export { getVisiblePilot } from './queries.js';

export type PilotListQuery = PilotListQueryParams & { limit: number };

export const pilotEtag = (row: PilotRow) => etagOf(row.id, row.version);

/** The columns of a valid pilot: a multi-stage one keeps its stages and their envelope. */
function fieldParams(p: PilotFields): unknown[] {
  const stages = p.requirements.stages ? normaliseStages(p.requirements.stages) : null;
  const r: Envelope = stages ? envelopeOf(stages) : (p.requirements as Envelope);
  return [
    p.title.trim(),
    p.summary.trim(),
    p.domain,
    p.subdomain ?? null,
    r.capabilities,
    r.units,
    r.durationHours,
    r.earliestStart,
    r.latestEnd,
    r.location?.address ?? null,
    r.location?.lat ?? null,
    r.location?.lng ?? null,
    stages ? JSON.stringify(stages) : null,
  ];
}

/**
 * The row a new pilot will have but for what the database assigns (id, timestamps, which the creating statement
 * writes into the event itself): its DTO is the pilot.created payload, built before the statement runs.
 */
function draftRowOf(values: unknown[], organizationId: string, demo: boolean): PilotRow {
  type Values = [
    string,
    string,
    PilotRow['domain'],
    string | null,
    PilotRow['capabilities'],
    number,
    number,
    string,
    string,
    string | null,
    number | null,
    number | null,
    string | null,
  ];
  const [
    title,
    summary,
    domain,
    subdomain,
    capabilities,
    units,
    durationHours,
    earliestStart,
    latestEnd,
    address,
    lat,
    lng,
    stages,
  ] = values as Values;
  const epoch = new Date(0);
  return {
    id: '',
    organization_id: organizationId,
    title,
    summary,
    domain,
    subdomain,
    capabilities,
    units,
    duration_hours: durationHours,
    earliest_start: new Date(earliestStart),
    latest_end: new Date(latestEnd),
    location_address: address,
    location_lat: lat,
    location_lng: lng,
    status: 'draft',
    version: 1,
    demo,
    created_at: epoch,
    updated_at: epoch,
    submitted_at: null,
    withdrawn_at: null,
    stages: stages === null ? null : (JSON.parse(stages) as PilotRow['stages']),
    budget: null,
  };
}

/**
 * Creation is one statement (pilot, pilot.created and its deliveries) rather than a transaction of four round
 * trips: a single statement commits or vanishes as a whole, which is all the outbox needs of a transaction.
 */
export async function createPilot(db: Db, principal: Principal, input: PilotFields, options: { demo?: boolean } = {}) {
  if (principal.orgKind !== 'startup') throw forbidden('Only startup organisations register pilots.');
  assertValidPilot(input);
  const values = fieldParams(input);
  const demo = options.demo ?? false;
  const event = JSON.stringify(toPilotDto(draftRowOf(values, principal.organizationId, demo)));
  const { rows } = await db.query<PilotRow>(INSERT_PILOT_CREATED, [...values, principal.organizationId, demo, event]);
  return rows[0]!;
}

/** Pilot events are seen by whoever may see the pilot. */
export function recordPilotEvent(tx: Queryable, type: EventType, row: PilotRow) {
  return recordEvent(tx, {
    type,
    data: toPilotDto(row),
    visibility: 'pilot',
    organizationId: row.organization_id,
    pilotId: row.id,
  });
}

async function getOwnPilotForUpdate(tx: Queryable, principal: Principal, id: string): Promise<PilotRow> {
  const row = await getVisiblePilot(tx, principal, id, true);
  if (!ownsPilot(principal, row)) throw forbidden('Only the organisation that registered this pilot may change it.');
  return row;
}

export async function listPilots(db: Db, principal: Principal, q: PilotListQuery) {
  const after = decodeCursor('pilots', q.cursor, ['time', 'uuid']);
  const { rows } = await db.query<PilotRow>(
    `SELECT ${PILOT_COLUMNS} FROM pilots p
      WHERE (${pilotVisibility(principal, 1)})
        AND ($2::text IS NULL OR p.domain = $2)
        AND ($3::text IS NULL OR p.status = $3)
        AND ($4::timestamptz IS NULL OR (p.created_at, p.id) < ($4::timestamptz, $5::uuid))
      ORDER BY p.created_at DESC, p.id DESC
      LIMIT $6`,
    [principal.organizationId, q.domain ?? null, q.status ?? null, after?.[0] ?? null, after?.[1] ?? null, q.limit + 1],
  );
  return toPage('pilots', rows, q.limit, (r) => [r.created_at.toISOString(), r.id], toPilotDto);
}

/**
 * Applies a JSON merge patch to a draft pilot, re-checking the whole result. `stages` replaces every stage; a
 * multi-stage pilot is edited through its stages only (first-release fields beside them are refused by the rules).
 */
function mergePilot(row: PilotRow, patch: PilotPatch): PilotFields {
  const { location, stages, ...reqPatch } = patch.requirements ?? {};
  let requirements: PilotRequirementsInput;
  if (stages || row.stages) {
    requirements = {
      ...reqPatch,
      ...(location ? { location } : {}),
      stages: stages ?? (row.stages as PilotRequirementsInput['stages'])!,
    };
  } else {
    requirements = { ...firstReleaseOf(row), ...reqPatch };
    if (location === null) delete requirements.location;
    else if (location !== undefined) requirements.location = location;
  }
  return {
    title: patch.title ?? row.title,
    summary: patch.summary ?? row.summary,
    domain: patch.domain ?? row.domain,
    // Changing the domain without naming a subdomain drops the old one, which belonged to the old domain.
    subdomain:
      patch.subdomain !== undefined
        ? patch.subdomain
        : patch.domain && patch.domain !== row.domain
          ? null
          : row.subdomain,
    requirements,
  };
}

export async function updatePilot(db: Db, principal: Principal, id: string, patch: PilotPatch, ifMatch: string[]) {
  return db.transaction(async (tx) => {
    const row = await getOwnPilotForUpdate(tx, principal, id);
    assertIfMatch(ifMatch, pilotEtag(row));
    if (!isEditable(row.status)) {
      throw conflict('invalid-transition', `Only draft pilots can be edited; this one is ${row.status}.`, {
        currentStatus: row.status,
      });
    }
    const merged = mergePilot(row, patch);
    assertValidPilot(merged);
    const { rows } = await tx.query<PilotRow>(
      `UPDATE pilots SET title = $1, summary = $2, domain = $3, subdomain = $4, capabilities = $5, units = $6,
              duration_hours = $7, earliest_start = $8, latest_end = $9, location_address = $10, location_lat = $11,
              location_lng = $12, stages = $13, version = version + 1, updated_at = now()
        WHERE id = $14 RETURNING ${PILOT_COLUMNS}`,
      [...fieldParams(merged), id],
    );
    const updated = rows[0]!;
    await recordPilotEvent(tx, 'pilot.updated', updated);
    return updated;
  });
}

export async function deletePilot(db: Db, principal: Principal, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const row = await getOwnPilotForUpdate(tx, principal, id);
    if (row.status !== 'draft') {
      throw conflict(
        'invalid-transition',
        `Only draft pilots can be deleted; withdraw a ${row.status} pilot instead.`,
        { currentStatus: row.status },
      );
    }
    await tx.query('DELETE FROM pilots WHERE id = $1', [id]);
    await recordPilotEvent(tx, 'pilot.deleted', row);
  });
}

export async function actOnPilot(db: Db, principal: Principal, id: string, action: 'submit' | 'withdraw') {
  return db.transaction(async (tx) => {
    const row = await getOwnPilotForUpdate(tx, principal, id);
    const moved = await transitionPilot(tx, row, action);
    // A withdrawn pilot keeps no slot: its bookings are cancelled and its live matches rejected, in this transaction
    // and under the pilot's lock, taken first as the lifecycle's lock order wants.
    if (action === 'withdraw') await releasePilotHoldings(tx, row.id, principal.userId);
    await recordPilotEvent(tx, action === 'submit' ? 'pilot.submitted' : 'pilot.withdrawn', moved);
    return moved;
  });
}
