/**
 * One description of how a row becomes a JSON resource, used two ways: presentRow turns a fetched row into the
 * DTO in TypeScript, and jsonObjectSql makes PostgreSQL render the same JSON itself. Hot list endpoints use the
 * second, so their rows skip parsing into JavaScript values and re-serialising; both always agree, because
 * both come from the one shape.
 */
export interface TimestampColumn {
  timestamp: string;
}

export type Shape = { [jsonKey: string]: string | TimestampColumn | Shape };

/** A timestamptz column, shown as RFC 3339 UTC with milliseconds (what Date.prototype.toISOString gives). */
export const timestamp = (column: string): TimestampColumn => ({ timestamp: column });

const isTimestamp = (v: unknown): v is TimestampColumn => typeof v === 'object' && v !== null && 'timestamp' in v;

const IDENT = /^[a-z_][a-z0-9_]*$/;

function column(alias: string, name: string): string {
  if (!IDENT.test(name)) throw new Error(`not a column name: ${name}`);
  return alias ? `${alias}.${name}` : name;
}

export function jsonObjectSql(shape: Shape, alias = ''): string {
  const parts = Object.entries(shape).map(([key, spec]) => {
    if (!/^[A-Za-z]+$/.test(key)) throw new Error(`not a JSON key: ${key}`);
    let value: string;
    if (typeof spec === 'string') value = column(alias, spec);
    else if (isTimestamp(spec)) value = isoSql(column(alias, spec.timestamp));
    else value = jsonObjectSql(spec, alias);
    return `'${key}', ${value}`;
  });
  return `json_build_object(${parts.join(', ')})`;
}

/** SQL for a timestamptz as the same text toISOString() produces (our timestamps are stored to the millisecond). */
export const isoSql = (expr: string) => `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export function presentRow<T>(shape: Shape, row: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(shape)) {
    if (typeof spec === 'string') out[key] = row[spec];
    else if (isTimestamp(spec)) {
      const v = row[spec.timestamp] as Date | null;
      out[key] = v === null ? null : v.toISOString();
    } else out[key] = presentRow(spec, row);
  }
  return out as T;
}
