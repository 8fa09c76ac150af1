/**
 * Checks on slot times and capacities that JSON Schema cannot express: instants that parse, start before end,
 * a slot no larger than its testbed, and list windows of sensible size. Pure; the services call them.
 */
import { DateTime } from 'luxon';
import type { FieldError } from '../http/errors.js';

/** The furthest apart a list's from and to may be. */
export const MAX_WINDOW_YEARS = 2;

/**
 * An RFC 3339 instant as a Date, or undefined when it does not name a real instant (a leap second, say).
 * Going through Date also normalises the value to millisecond precision, the precision cursors carry.
 */
export function parseInstant(value: string): Date | undefined {
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

export interface TimeInput {
  start: string;
  end: string;
  /** Where each value came from, for error pointers. */
  startPointer: string;
  endPointer: string;
  /** Which pointer to blame when start is not before end. */
  orderPointer?: string;
}

export function slotTimes(input: TimeInput): { start?: Date; end?: Date; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const start = parseInstant(input.start);
  const end = parseInstant(input.end);
  if (!start) errors.push({ pointer: input.startPointer, message: 'is not a valid instant' });
  if (!end) errors.push({ pointer: input.endPointer, message: 'is not a valid instant' });
  if (start && end && !(start < end)) {
    errors.push({ pointer: input.orderPointer ?? input.endPointer, message: 'must be later than start (slots are half-open [start, end))' });
  }
  return errors.length ? { errors } : { start: start!, end: end!, errors };
}

export function capacityErrors(capacity: number, testbedCapacity: number): FieldError[] {
  return capacity > testbedCapacity
    ? [{ pointer: '/body/capacity', message: `must not exceed the testbed's capacity of ${testbedCapacity}` }]
    : [];
}

/** from/to of a slot list: each a real instant, from before to, at most two years apart. */
export function listWindow(from?: string, to?: string): { from?: Date; to?: Date; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const f = from === undefined ? undefined : parseInstant(from);
  const t = to === undefined ? undefined : parseInstant(to);
  if (from !== undefined && !f) errors.push({ pointer: '/query/from', message: 'is not a valid instant' });
  if (to !== undefined && !t) errors.push({ pointer: '/query/to', message: 'is not a valid instant' });
  if (f && t) {
    if (!(f < t)) errors.push({ pointer: '/query/to', message: 'must be later than from' });
    else if (t > DateTime.fromJSDate(f, { zone: 'utc' }).plus({ years: MAX_WINDOW_YEARS }).toJSDate()) {
      errors.push({ pointer: '/query/to', message: `must be at most ${MAX_WINDOW_YEARS} years after from` });
    }
  }
  return { from: f, to: t, errors };
}
