import type { Scope } from './scopes.js';

export type OrgKind = 'startup' | 'partner' | 'operator';

/** Who is calling: resolved once per request from the bearer token. */
export interface Principal {
  userId: string;
  organizationId: string;
  orgKind: OrgKind;
  scopes: ReadonlySet<Scope>;
  via: 'session' | 'api-key';
  credentialId: string;
}
