/**
 * Who may see which pilots: the owning startup, every operator, and a partner whose testbed the pilot is
 * matched or booked on. Returned as a SQL condition over the alias "p" so lists and single reads share it.
 */
import type { Principal } from '../auth/principal.js';

export function pilotVisibility(principal: Principal, orgParam: number): string {
  switch (principal.orgKind) {
    case 'operator':
      // Still mentions the parameter, so every caller can pass the same parameter list.
      return `$${orgParam}::uuid IS NOT NULL`;
    case 'startup':
      return `p.organization_id = $${orgParam}`;
    case 'partner':
      // Partners reach pilots only through matches and bookings on their testbeds, which arrive with the
      // matching feature; until then no pilot is related to a partner.
      return `p.organization_id = $${orgParam}`;
  }
}

/** Only the owning organisation changes a pilot; others who can see it get 403. */
export const ownsPilot = (principal: Principal, pilot: { organization_id: string }) =>
  pilot.organization_id === principal.organizationId;
