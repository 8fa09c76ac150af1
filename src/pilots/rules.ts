/**
 * Checks on a whole pilot that JSON Schema cannot express: the subdomain belongs to the domain, and the
 * requirements hold together (stages.ts). Pure, so create and patch share it and tests call it directly.
 */
import { isSubdomainOf } from '../domains/catalog.js';
import { validationFailed, type FieldError } from '../core/errors.js';
import type { PilotCreate } from '../generated/schema-types.js';
import { requirementErrors } from './stages.js';

/** A whole pilot as a client describes it; after a merge patch the subdomain may be null. */
export type PilotFields = Omit<PilotCreate, 'subdomain'> & { subdomain?: string | null };

function pilotFieldErrors(p: PilotFields): FieldError[] {
  const errors: FieldError[] = [];
  if (p.subdomain != null && !isSubdomainOf(p.domain, p.subdomain)) {
    errors.push({ pointer: '/body/subdomain', message: `is not a subdomain of ${p.domain}` });
  }
  errors.push(...requirementErrors(p.requirements, '/body/requirements'));
  return errors;
}

export function assertValidPilot(p: PilotFields): void {
  const errors = pilotFieldErrors(p);
  if (errors.length) throw validationFailed(errors, 'The pilot is not consistent.');
}
