/**
 * PostgreSQL reports rule violations as SQLSTATE codes. They are translated here, where the SQL is, into
 * database errors the services can map to domain errors, so nothing above the data layer parses codes.
 */
export type DbErrorKind =
  | 'unique_violation'
  | 'foreign_key_violation'
  | 'not_null_violation'
  | 'check_violation'
  | 'exclusion_violation'
  | 'serialization_failure'
  | 'deadlock'
  | 'invalid_input'
  /** The database cannot be reached: refused, cut, timed out, shutting down or out of connections. */
  | 'unavailable';

const KINDS: Record<string, DbErrorKind> = {
  '23505': 'unique_violation',
  '23503': 'foreign_key_violation',
  '23502': 'not_null_violation',
  '23514': 'check_violation',
  '23P01': 'exclusion_violation',
  '40001': 'serialization_failure',
  '40P01': 'deadlock',
  '22P02': 'invalid_input',
  '22007': 'invalid_input',
  '22008': 'invalid_input',
  '22003': 'invalid_input',
  // NUL characters in text or jsonb: PostgreSQL cannot store them.
  '22P05': 'invalid_input',
  '22021': 'invalid_input',
  // Connection exceptions, the server shutting down or starting, and no free connection slot.
  '08000': 'unavailable',
  '08001': 'unavailable',
  '08003': 'unavailable',
  '08004': 'unavailable',
  '08006': 'unavailable',
  '57P01': 'unavailable',
  '57P02': 'unavailable',
  '57P03': 'unavailable',
  '53300': 'unavailable',
};

/** Socket errors of the client library: the server is not there (yet, or any more). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// node-postgres reports a lost or never-made connection with a plain Error and these messages.
const LOST_CONNECTION =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

export class DbError extends Error {
  constructor(
    readonly kind: DbErrorKind,
    readonly constraint: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'DbError';
  }
}

export function translatePgError(err: unknown): unknown {
  if (err instanceof DbError || typeof err !== 'object' || err === null) return err;
  const { code, constraint, message } = err as { code?: unknown; constraint?: unknown; message?: unknown };
  let kind = typeof code === 'string' ? KINDS[code] : undefined;
  if (
    !kind &&
    ((typeof code === 'string' && NETWORK_CODES.has(code)) ||
      (typeof message === 'string' && LOST_CONNECTION.test(message)))
  ) {
    kind = 'unavailable';
  }
  if (!kind) return err;
  return new DbError(kind, typeof constraint === 'string' ? constraint : undefined, String(message));
}

export function isDbError(err: unknown, kind: DbErrorKind, constraint?: string): err is DbError {
  return err instanceof DbError && err.kind === kind && (constraint === undefined || err.constraint === constraint);
}
