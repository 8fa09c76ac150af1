/**
 * Optimistic concurrency. Each mutable row carries a version that every update bumps; its ETag is derived from
 * id and version. PATCH requires If-Match so that two editors cannot silently overwrite each other.
 */
import { createHash } from 'node:crypto';
import { preconditionFailed, preconditionRequired } from './errors.js';

export function etagOf(id: string, version: number): string {
  return `"${createHash('sha256').update(`${id}:${version}`).digest('base64url').slice(0, 22)}"`;
}

/** Parses an If-Match header into its entity tags ("*" included); undefined when absent. */
export function parseIfMatch(header: string | undefined): string[] | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  return header
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

export function requireIfMatch(header: string | undefined): string[] {
  const tags = parseIfMatch(header);
  if (!tags) throw preconditionRequired('Send If-Match with the ETag from your last GET of this resource.');
  return tags;
}

/** Strong comparison as RFC 9110 asks of If-Match: weak tags never match. */
export function assertIfMatch(tags: string[], current: string): void {
  if (tags.includes('*') || tags.includes(current)) return;
  throw preconditionFailed('The resource changed since you read it; GET it again and reapply your change.');
}
