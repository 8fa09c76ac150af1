/**
 * Checks on slot times and capacities that JSON Schema cannot express: instants that parse, start before end,
 * a slot no larger than its testbed, and list windows of sensible size. Pure; the services call them.
 */
import type { FieldError } from '../core/errors.js';
import { parseInstant } from '../core/query-window.js';

/** The furthest apart a list's from and to may be. */
export const MAX_WINDOW_YEARS = 2;

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
    errors.push({
      pointer: input.orderPointer ?? input.endPointer,
      message: 'must be later than start (slots are half-open [start, end))',
    });
  }
  return errors.length ? { errors } : { start: start!, end: end!, errors };
}

export function capacityErrors(capacity: number, testbedCapacity: number): FieldError[] {
  return capacity > testbedCapacity
    ? [{ pointer: '/body/capacity', message: `must not exceed the testbed's capacity of ${testbedCapacity}` }]
    : [];
}
