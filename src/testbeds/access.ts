/**
 * Who may change testbeds and their slots. Every signed-in organisation reads them; operators and partners
 * publish testbeds; the owning organisation and every operator change a testbed and its slots.
 */
import type { Principal } from '../core/principal.js';

export const canPublishTestbeds = (principal: Principal) =>
  principal.orgKind === 'operator' || principal.orgKind === 'partner';

export const canManageTestbed = (principal: Principal, testbed: { organization_id: string }) =>
  principal.orgKind === 'operator' || testbed.organization_id === principal.organizationId;
