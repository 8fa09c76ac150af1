/**
 * Pilot rows: the columns every pilot read selects, the row type they fill, row readers and the helpers that
 * read requirements and budget off a row. SQL lives here and in the services; presenter.ts only maps rows.
 */
import type { Principal } from '../core/principal.js';
import type { Queryable } from '../db/client.js';
import type {
  CapabilityCode,
  DomainCode,
  Location,
  PilotBudget,
  PilotRequirements,
  PilotStage,
} from '../generated/schema-types.js';
import { notFound } from '../core/errors.js';
import { DELIVERY_SIGNAL, newPilotDeliveries } from '../events/outbox.js';
import { mainStage } from './stages.js';
import type { PilotStatus } from './status.js';
import { pilotVisibility } from './visibility.js';

export interface PilotRow {
  id: string;
  organization_id: string;
  title: string;
  summary: string;
  domain: DomainCode;
  subdomain: string | null;
  capabilities: CapabilityCode[];
  units: number;
  duration_hours: number;
  earliest_start: Date;
  latest_end: Date;
  location_address: string | null;
  location_lat: number | null;
  location_lng: number | null;
  status: PilotStatus;
  version: number;
  demo: boolean;
  created_at: Date;
  updated_at: Date;
  submitted_at: Date | null;
  withdrawn_at: Date | null;
  /** Normalised stages of a pilot created with stages; null for the first-release shape. */
  stages: PilotStage[] | null;
  budget: { credits: number; committed: number; fundingLine: PilotBudget['fundingLine']; note: string | null } | null;
}

export const PILOT_COLUMNS = `id, organization_id, title, summary, domain, subdomain, capabilities, units,
  duration_hours, earliest_start, latest_end, location_address, location_lat, location_lng, status, version, demo,
  created_at, updated_at, submitted_at, withdrawn_at, stages,
  (SELECT json_build_object('credits', pb.credits, 'committed', pb.committed, 'fundingLine', pb.funding_line,
                            'note', pb.note)
     FROM pilot_budgets pb WHERE pb.pilot_id = id) AS budget`;

const ISO_MS = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/**
 * A new pilot, its pilot.created event ($16: the DTO but for id and timestamps, filled in here as toISOString
 * writes them) and the event's deliveries, in one statement. A pilot that did not exist a moment ago has no
 * match or booking, so by pilotVisibility and eventVisibility its event is seen by its own organisation and by
 * operators only: those are the endpoints that get a delivery. The workers are signalled when there is one.
 */
export const INSERT_PILOT_CREATED = `
  WITH p AS (
    INSERT INTO pilots (title, summary, domain, subdomain, capabilities, units, duration_hours, earliest_start,
                        latest_end, location_address, location_lat, location_lng, stages, organization_id, demo)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
    RETURNING ${PILOT_COLUMNS}),
  ev AS (
    INSERT INTO events (type, data, visibility, organization_id, pilot_id)
    SELECT 'pilot.created',
           $16::jsonb || jsonb_build_object(
             'id', p.id,
             'createdAt', to_char(p.created_at AT TIME ZONE 'UTC', ${ISO_MS}),
             'updatedAt', to_char(p.updated_at AT TIME ZONE 'UTC', ${ISO_MS})),
           'pilot', p.organization_id, p.id
      FROM p
    RETURNING id, seq),
  created AS (${newPilotDeliveries('ev', 14)} RETURNING 1)
  SELECT p.*, CASE WHEN EXISTS (SELECT 1 FROM created) THEN pg_notify('${DELIVERY_SIGNAL}', '') END AS signalled
    FROM p`;

/** The pilot if the principal may see it; 404 otherwise, so ids of other organisations leak nothing. */
export async function getVisiblePilot(
  db: Queryable,
  principal: Principal,
  id: string,
  lock = false,
): Promise<PilotRow> {
  const { rows } = await db.query<PilotRow>(
    `SELECT ${PILOT_COLUMNS} FROM pilots p
      WHERE p.id = $1 AND (${pilotVisibility(principal, 2)})${lock ? ' FOR UPDATE' : ''}`,
    [id, principal.organizationId],
  );
  const row = rows[0];
  if (!row) throw notFound('pilot');
  return row;
}

/** Unchecked read by id, for code that already decided the caller may see it; undefined when it is gone. */
export async function getPilotRow(db: Queryable, id: string): Promise<PilotRow | undefined> {
  return (await db.query<PilotRow>(`SELECT ${PILOT_COLUMNS} FROM pilots WHERE id = $1`, [id])).rows[0];
}

function locationOf(row: PilotRow): Location | undefined {
  if (row.location_lat === null || row.location_lng === null) return undefined;
  return {
    ...(row.location_address ? { address: row.location_address } : {}),
    lat: row.location_lat,
    lng: row.location_lng,
  };
}

/** The first-release fields (an envelope for a multi-stage pilot), without stages. */
export function firstReleaseOf(row: PilotRow): Omit<PilotRequirements, 'stages'> {
  const location = locationOf(row);
  return {
    capabilities: row.capabilities,
    units: row.units,
    durationHours: row.duration_hours,
    earliestStart: row.earliest_start.toISOString(),
    latestEnd: row.latest_end.toISOString(),
    ...(location ? { location } : {}),
  };
}

/** The pilot's stages: as given, or the one stage `main` of a first-release requirement. */
export function stagesOf(row: PilotRow): PilotStage[] {
  return row.stages ?? [mainStage(firstReleaseOf(row))];
}

export function budgetOf(row: PilotRow): PilotBudget | null {
  const b = row.budget;
  if (!b) return null;
  return {
    credits: Number(b.credits),
    committed: Number(b.committed),
    remaining: Number(b.credits) - Number(b.committed),
    fundingLine: b.fundingLine,
    note: b.note,
  };
}
