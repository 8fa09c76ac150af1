/**
 * Who may see which pilots: the owning startup, every operator, and a partner whose testbed the pilot is
 * matched or booked on (a live match or a confirmed booking). Returned as a SQL condition over the alias "p"
 * so lists and single reads share it.
 */
import type { Principal } from '../core/principal.js';

export function pilotVisibility(principal: Principal, orgParam: number): string {
  switch (principal.orgKind) {
    case 'operator':
      // Still mentions the parameter, so every caller can pass the same parameter list.
      return `$${orgParam}::uuid IS NOT NULL`;
    case 'startup':
      return `p.organization_id = $${orgParam}`;
    case 'partner':
      // A partner sees a pilot while it has a live match (requested, proposed, accepted, approved) or a confirmed
      // booking on a testbed the partner owns. When the match is rejected, expires or the booking is cancelled,
      // the relation and with it the visibility are gone.
      return `(p.organization_id = $${orgParam} OR EXISTS (
        SELECT 1 FROM matches vm JOIN testbeds vt ON vt.id = vm.testbed_id
         WHERE vm.pilot_id = p.id AND vt.organization_id = $${orgParam}
           AND (vm.status = 'approved' OR (vm.status IN ('requested', 'proposed', 'accepted')
                AND (vm.expires_at IS NULL OR vm.expires_at > now())))
      ) OR EXISTS (
        SELECT 1 FROM bookings vb JOIN testbeds vt ON vt.id = vb.testbed_id
         WHERE vb.pilot_id = p.id AND vb.status = 'confirmed' AND vt.organization_id = $${orgParam}
      ))`;
  }
}

/** Only the owning organisation changes a pilot; others who can see it get 403. */
export const ownsPilot = (principal: Principal, pilot: { organization_id: string }) =>
  pilot.organization_id === principal.organizationId;
