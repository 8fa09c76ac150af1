/**
 * Who may read which datasets, as SQL conditions shared by lists and single reads:
 *   - the organisation that owns the pilot (it uploaded them) reads all of them;
 *   - operators read all of them;
 *   - an organisation owning a testbed with a confirmed booking of the pilot (a partner) reads the pilot's
 *     public and internal datasets — never personal or sensitive ones, which it is not even shown in lists.
 * Only the owning organisation uploads and deletes; only it and operators read the access log.
 */
import type { Principal } from '../core/principal.js';

/** True when the organisation $orgParam owns a testbed with a confirmed booking of pilotExpr. */
const bookedOnOwnTestbed = (pilotExpr: string, orgParam: number) =>
  `EXISTS (SELECT 1 FROM bookings b JOIN testbeds t ON t.id = b.testbed_id
            WHERE b.pilot_id = ${pilotExpr} AND b.status = 'confirmed' AND t.organization_id = $${orgParam})`;

/** Datasets (alias d) the principal may read. */
export function datasetVisibility(principal: Principal, orgParam: number): string {
  if (principal.orgKind === 'operator') return `$${orgParam}::uuid IS NOT NULL`;
  return `(d.organization_id = $${orgParam}
           OR (d.sensitivity IN ('public', 'internal') AND ${bookedOnOwnTestbed('d.pilot_id', orgParam)}))`;
}

/** Pilots (alias p) whose datasets the principal may list. */
export function pilotDatasetVisibility(principal: Principal, orgParam: number): string {
  if (principal.orgKind === 'operator') return `$${orgParam}::uuid IS NOT NULL`;
  return `(p.organization_id = $${orgParam} OR ${bookedOnOwnTestbed('p.id', orgParam)})`;
}

export const isOwner = (principal: Principal, row: { organization_id: string }) =>
  row.organization_id === principal.organizationId;

export const isAudited = (sensitivity: string) => sensitivity === 'personal' || sensitivity === 'sensitive';
