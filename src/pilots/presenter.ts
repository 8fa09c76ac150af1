/** Pilot rows as clients see them: pure row → DTO mapping (the SQL and row helpers are in queries.ts). */
import type { Pilot, PilotRequirements } from '../generated/schema-types.js';
import { budgetOf, firstReleaseOf, stagesOf, type PilotRow } from './queries.js';

export type { PilotRow } from './queries.js';

function requirementsOf(row: PilotRow): PilotRequirements {
  return { ...firstReleaseOf(row), stages: stagesOf(row) as PilotRequirements['stages'] };
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
