/**
 * Who may see an event: the same rules as the resource it describes, evaluated against current data, so a
 * partner that lost access to a pilot stops seeing (and being sent) events about it. The event row says which
 * rule applies (visibility) and what it is about (pilot_id, testbed_id, dataset_id, organization_id); see
 * src/db/migrations/0002_events.sql. Pilot access defers to pilotVisibility, the single source of that rule.
 */
import type { OrgKind, Principal } from '../core/principal.js';
import { datasetVisibility } from '../datasets/access.js';
import { pilotVisibility } from '../pilots/visibility.js';

/** The organisation an event would be shown or sent to. */
export interface Audience {
  organizationId: string;
  orgKind: OrgKind;
}

/** pilotVisibility speaks of principals; an endpoint's organisation is one without a user or credential. */
function asPrincipal(a: Audience): Principal {
  return {
    organizationId: a.organizationId,
    orgKind: a.orgKind,
    userId: '',
    scopes: new Set(),
    via: 'api-key',
    credentialId: '',
  };
}

/**
 * SQL condition over the events alias `ev`: true when the audience may see the event. $orgParam holds the
 * audience's organisation id.
 */
export function eventVisibility(audience: Audience, orgParam: number, ev = 'ev'): string {
  const org = `$${orgParam}::uuid`;
  if (audience.orgKind === 'operator') {
    // Operators see everything but what is private to another organisation (its endpoints, its keys).
    return `(${ev}.visibility <> 'organization' OR ${ev}.organization_id = ${org})`;
  }
  const pilotSeen = `EXISTS (SELECT 1 FROM pilots p WHERE p.id = ${ev}.pilot_id AND (${pilotVisibility(asPrincipal(audience), orgParam)}))`;
  // Events outlive their subjects: once a pilot is gone, only the organisation that owned it still sees its events.
  const pilotGone = `NOT EXISTS (SELECT 1 FROM pilots p WHERE p.id = ${ev}.pilot_id)`;
  const ownsPilot = `EXISTS (SELECT 1 FROM pilots p WHERE p.id = ${ev}.pilot_id AND p.organization_id = ${org})`;
  const datasetSeen = `EXISTS (SELECT 1 FROM datasets d WHERE d.id = ${ev}.dataset_id AND ${datasetVisibility(asPrincipal(audience), orgParam)})`;
  const datasetGone = `NOT EXISTS (SELECT 1 FROM datasets d WHERE d.id = ${ev}.dataset_id)`;
  const ownsTestbed = `EXISTS (SELECT 1 FROM testbeds t WHERE t.id = ${ev}.testbed_id AND t.organization_id = ${org})`;
  return `(
    ${ev}.visibility = 'public'
    OR (${ev}.visibility = 'organization' AND ${ev}.organization_id = ${org})
    OR (${ev}.visibility = 'pilot' AND (${pilotSeen} OR (${pilotGone} AND ${ev}.organization_id = ${org})))
    OR (${ev}.visibility = 'parties' AND (${ownsPilot} OR ${ownsTestbed} OR (${pilotGone} AND ${ev}.organization_id = ${org})))
    OR (${ev}.visibility = 'dataset' AND (${datasetSeen} OR (${datasetGone} AND ${ev}.organization_id = ${org})))
  )`;
}
