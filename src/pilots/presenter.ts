import type { CapabilityCode, DomainCode, Location, Pilot, PilotBudget, PilotRequirements, PilotStage } from '../generated/schema-types.js';
import { mainStage } from './stages.js';
import type { PilotStatus } from './status.js';

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

export const PILOT_COLUMNS = `id, organization_id, title, summary, domain, subdomain, capabilities, units, duration_hours,
  earliest_start, latest_end, location_address, location_lat, location_lng, status, version, demo, created_at,
  updated_at, submitted_at, withdrawn_at, stages,
  (SELECT json_build_object('credits', pb.credits, 'committed', pb.committed, 'fundingLine', pb.funding_line, 'note', pb.note)
     FROM pilot_budgets pb WHERE pb.pilot_id = id) AS budget`;


export function locationOf(row: PilotRow): Location | undefined {
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

export function requirementsOf(row: PilotRow): PilotRequirements {
  return { ...firstReleaseOf(row), stages: stagesOf(row) as PilotRequirements['stages'] };
}

export function budgetOf(row: PilotRow): PilotBudget | null {
  const b = row.budget;
  if (!b) return null;
  return { credits: Number(b.credits), committed: Number(b.committed), remaining: Number(b.credits) - Number(b.committed), fundingLine: b.fundingLine, note: b.note };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const toPilotDto = (row: PilotRow): Pilot => ({
  id: row.id,
  organizationId: row.organization_id,
  title: row.title,
  summary: row.summary,
  domain: row.domain,
  subdomain: row.subdomain,
  requirements: requirementsOf(row),
  status: row.status,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  submittedAt: iso(row.submitted_at),
  withdrawnAt: iso(row.withdrawn_at),
  demo: row.demo,
  budget: budgetOf(row),
});
