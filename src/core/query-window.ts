/**
 * The from/to query window of a list or report: each a real instant, from strictly before to (ranges are
 * half-open), optionally required and bounded in length. One rule for every route that takes a window.
 */
import { DateTime } from 'luxon';
import { validationFailed, type FieldError } from './errors.js';

/**
 * An RFC 3339 instant as a Date, or undefined when it does not name a real instant (a leap second, say).
 * Going through Date also normalises the value to millisecond precision, the precision cursors carry.
 */
export function parseInstant(value: string): Date | undefined {
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

export interface WindowRules {
  required?: boolean;
  /** The furthest apart from and to may be, in calendar years. */
  maxYears?: number;
}

function queryWindowErrors(from: string | undefined, to: string | undefined, rules: WindowRules = {}) {
  const errors: FieldError[] = [];
  const f = from === undefined ? undefined : parseInstant(from);
  const t = to === undefined ? undefined : parseInstant(to);
  for (const [name, raw, parsed] of [
    ['from', from, f],
    ['to', to, t],
  ] as const) {
    if (raw === undefined && rules.required) errors.push({ pointer: `/query/${name}`, message: 'is required' });
    else if (raw !== undefined && !parsed)
      errors.push({ pointer: `/query/${name}`, message: 'is not a valid instant' });
  }
  if (f && t) {
    if (!(f < t)) errors.push({ pointer: '/query/to', message: 'must be later than from' });
    else if (
      rules.maxYears !== undefined &&
      t > DateTime.fromJSDate(f, { zone: 'utc' }).plus({ years: rules.maxYears }).toJSDate()
    ) {
      errors.push({ pointer: '/query/to', message: `must be at most ${rules.maxYears} years after from` });
    }
  }
  return { from: f, to: t, errors };
}

/** The window as Dates, or a 400 validation problem naming what is wrong with it. */
export function queryWindow(
  from: string | undefined,
  to: string | undefined,
  rules: WindowRules = {},
): { from?: Date; to?: Date } {
  const w = queryWindowErrors(from, to, rules);
  if (w.errors.length) throw validationFailed(w.errors, 'The time window is not valid.');
  return { from: w.from, to: w.to };
}
