import type { OrganizationRow, UserRow } from './service.js';

export const toOrganizationDto = (o: OrganizationRow) => ({
  id: o.id,
  name: o.name,
  kind: o.kind,
  businessNumber: o.business_number,
  createdAt: o.created_at.toISOString(),
});

export const toUserDto = (u: UserRow) => ({
  id: u.id,
  organizationId: u.organization_id,
  email: u.email,
  name: u.name,
  createdAt: u.created_at.toISOString(),
});
