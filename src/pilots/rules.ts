/**
 * Checks on a whole pilot that JSON Schema cannot express: the subdomain belongs to the domain, and the
 * requested duration fits in the window. Pure, so create and patch share it and tests call it directly.
 */
import { isSubdomainOf } from '../domains/catalog.js';
import { validationFailed, type FieldError } from '../http/errors.js';
import type { PilotCreate } from '../generated/schema-types.js';

/** A whole pilot as a client describes it; after a merge patch the subdomain may be null. */
export type PilotFields = Omit<PilotCreate, 'subdomain'> & { subdomain?: string | null };

const HOUR_MS = 3_600_000;

export function pilotFieldErrors(p: PilotFields): FieldError[] {
  const errors: FieldError[] = [];
  if (p.subdomain != null && !isSubdomainOf(p.domain, p.subdomain)) {
    errors.push({ pointer: '/body/subdomain', message: `is not a subdomain of ${p.domain}` });
  }
  const start = Date.parse(p.requirements.earliestStart);
  const end = Date.parse(p.requirements.latestEnd);
  if (!(start < end)) {
    errors.push({ pointer: '/body/requirements/latestEnd', message: 'must be later than earliestStart' });
  } else if (p.requirements.durationHours * HOUR_MS > end - start) {
    errors.push({ pointer: '/body/requirements/durationHours', message: 'does not fit between earliestStart and latestEnd' });
  }
  return errors;
}

export function assertValidPilot(p: PilotFields): void {
  const errors = pilotFieldErrors(p);
  if (errors.length) throw validationFailed(errors, 'The pilot is not consistent.');
}
