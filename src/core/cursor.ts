/**
 * Keyset pagination. A cursor is the sort key of the last row of a page, wrapped in base64url JSON with the
 * list it belongs to, so it is opaque to clients and a cursor from one list is refused by another.
 */
import { AppError } from './errors.js';

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export type CursorKey = (string | number)[];

/** A cursor this list did not issue, or one whose values a list's own checks refuse. */
export const invalidCursor = () =>
  new AppError(
    400,
    'invalid-cursor',
    'Invalid cursor',
    'The cursor is not one this list issued; start again without it.',
  );

export function encodeCursor(list: string, key: CursorKey): string {
  return Buffer.from(JSON.stringify({ l: list, k: key }), 'utf8').toString('base64url');
}

/**
 * What each position of a cursor key holds. A forged cursor is checked by type before its values reach SQL: a
 * number where a timestamp belongs made the embedded engine throw a RangeError (a 500) instead of a 400.
 */
export type CursorKind = 'time' | 'uuid' | 'int' | 'text';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function fits(kind: CursorKind, v: unknown): boolean {
  switch (kind) {
    case 'time':
      if (typeof v !== 'string' || !ISO_MS.test(v)) return false;
      // Date.parse accepts 2026-02-30 (rolling it over); the round trip does not.
      return !Number.isNaN(Date.parse(v)) && new Date(v).toISOString() === v;
    case 'uuid':
      return typeof v === 'string' && UUID.test(v);
    case 'int':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    case 'text':
      return typeof v === 'string' && v.length <= 100;
  }
}

export function decodeCursor(
  list: string,
  cursor: string | undefined,
  kinds: readonly CursorKind[],
): CursorKey | undefined {
  if (cursor === undefined) return undefined;
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  const { l, k } = (parsed ?? {}) as { l?: unknown; k?: unknown };
  if (l !== list || !Array.isArray(k) || k.length !== kinds.length || !kinds.every((kind, i) => fits(kind, k[i]))) {
    throw invalidCursor();
  }
  return k as CursorKey;
}

/**
 * Rows were fetched with limit + 1; the extra row only says whether another page exists.
 * keyOf gives the sort key of a row, as the next query's cursor will compare it.
 */
export function toPage<R, T>(
  list: string,
  rows: R[],
  limit: number,
  keyOf: (row: R) => CursorKey,
  present: (row: R) => T,
): Page<T> {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return {
    data: pageRows.map(present),
    nextCursor: more && last !== undefined ? encodeCursor(list, keyOf(last)) : null,
  };
}

/** A page whose items PostgreSQL already rendered as JSON text: the reply is assembled without re-parsing them. */
export function toJsonPage<R extends { json: string }>(
  list: string,
  rows: R[],
  limit: number,
  keyOf: (row: R) => CursorKey,
): string {
  const page = toPage(list, rows, limit, keyOf, (r) => r.json);
  return `{"data":[${page.data.join(',')}],"nextCursor":${JSON.stringify(page.nextCursor)}}`;
}
