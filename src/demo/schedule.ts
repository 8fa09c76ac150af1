/**
 * Turns the weekly opening hours of the demo testbeds into concrete slots, relative to the week the data is
 * loaded in, so the demo calendar is always current. Pure: seed.ts inserts what this returns.
 */
import { createHash } from 'node:crypto';
import { DateTime } from 'luxon';
import type { SlotPattern } from './data.js';

export interface PlannedSlot {
  id: string;
  testbedId: string;
  start: Date;
  end: Date;
  capacity: number;
}

/** Monday 00:00 of the week containing `now`, in the given zone. */
export function weekStart(now: Date, zone: string): DateTime {
  const local = DateTime.fromJSDate(now, { zone });
  if (!local.isValid) throw new Error(`cannot place ${now.toISOString()} in time zone ${zone}`);
  return local.startOf('week');
}

/**
 * A stable UUID (version-5 layout over SHA-1) for a name: the same testbed and start always give the same slot
 * id, so a slot already inserted by an earlier load is recognised by its primary key.
 */
function stableUuid(name: string): string {
  const h = createHash('sha1').update(`ax-testbed-registry/demo/${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Every slot of `patterns` that starts within `weeks` weeks from `from` (a local midnight). */
export function planSlots(testbedId: string, patterns: SlotPattern[], from: DateTime, weeks: number): PlannedSlot[] {
  const slots: PlannedSlot[] = [];
  for (let day = 0; day < weeks * 7; day++) {
    const date = from.plus({ days: day });
    for (const p of patterns) {
      if (!p.weekdays.includes(date.weekday)) continue;
      const [hour, minute] = p.start.split(':').map(Number);
      const start = date.set({ hour: hour ?? 0, minute: minute ?? 0, second: 0, millisecond: 0 });
      const end = start.plus({ hours: p.hours });
      slots.push({
        id: stableUuid(`${testbedId}/${start.toUTC().toISO()}`),
        testbedId,
        start: start.toJSDate(),
        end: end.toJSDate(),
        capacity: p.capacity,
      });
    }
  }
  return slots.sort((a, b) => a.start.getTime() - b.start.getTime());
}
