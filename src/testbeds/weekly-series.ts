/**
 * Expands a weekly series (weekdays, local times, a date range) into the UTC instants of its slots. Local times
 * are Korea time (Asia/Seoul) because that is how people in the programme plan; the wire and the database
 * speak UTC. Pure, so the expansion is unit-tested without a server.
 */
import { DateTime } from 'luxon';
import type { SlotSeries } from '../generated/schema-types.js';
import { validationFailed, type FieldError } from '../core/errors.js';

const SERIES_ZONE = 'Asia/Seoul';
/** A series covers at most this many calendar days, from and to included. */
const MAX_SERIES_DAYS = 366;
/** A series creates at most this many slots in one request. */
const MAX_SERIES_SLOTS = 1000;

export interface Interval {
  start: Date;
  end: Date;
}

export interface SeriesOptions {
  zone?: string;
  maxDays?: number;
  maxSlots?: number;
}

const POINTER = '/body/series';

/** Minutes after local midnight of "HH:MM"; "24:00" is the end of the day. */
export function minutesOfDay(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

/** The slots of the series in start order, or the reasons it cannot be expanded. */
export function planWeeklySeries(
  series: SlotSeries,
  options: SeriesOptions = {},
): { slots: Interval[]; errors: FieldError[] } {
  const zone = options.zone ?? SERIES_ZONE;
  const maxDays = options.maxDays ?? MAX_SERIES_DAYS;
  const maxSlots = options.maxSlots ?? MAX_SERIES_SLOTS;
  const errors: FieldError[] = [];

  const startMin = minutesOfDay(series.startTime);
  const endMin = minutesOfDay(series.endTime);
  if (endMin <= startMin) {
    errors.push({
      pointer: `${POINTER}/endTime`,
      message: 'must be later than startTime (use 24:00 for midnight at the end of the day)',
    });
  }
  const from = DateTime.fromISO(series.from, { zone });
  const to = DateTime.fromISO(series.to, { zone });
  if (!from.isValid) errors.push({ pointer: `${POINTER}/from`, message: 'is not a valid date' });
  if (!to.isValid) errors.push({ pointer: `${POINTER}/to`, message: 'is not a valid date' });
  if (errors.length) return { slots: [], errors };

  const days = Math.round(to.diff(from, 'days').days) + 1;
  if (days < 1) return { slots: [], errors: [{ pointer: `${POINTER}/to`, message: 'must not be before from' }] };
  if (days > maxDays) {
    return {
      slots: [],
      errors: [{ pointer: `${POINTER}/to`, message: `the series spans ${days} days; at most ${maxDays} are allowed` }],
    };
  }

  const weekdays = new Set(series.weekdays);
  const slots: Interval[] = [];
  for (let day = from; day <= to; day = day.plus({ days: 1 })) {
    if (!weekdays.has(day.weekday)) continue;
    // Wall-clock arithmetic (set/plus days), not elapsed minutes, so a zone with daylight saving keeps local times.
    const start = day.set({ hour: Math.floor(startMin / 60), minute: startMin % 60 });
    const end =
      endMin === 1440 ? day.plus({ days: 1 }) : day.set({ hour: Math.floor(endMin / 60), minute: endMin % 60 });
    slots.push({ start: start.toJSDate(), end: end.toJSDate() });
    if (slots.length > maxSlots) {
      return {
        slots: [],
        errors: [
          {
            pointer: POINTER,
            message: `the series would create more than ${maxSlots} slots; split it into several requests`,
          },
        ],
      };
    }
  }
  if (slots.length === 0) {
    return {
      slots: [],
      errors: [{ pointer: `${POINTER}/weekdays`, message: 'none of these weekdays falls between from and to' }],
    };
  }
  return { slots, errors: [] };
}

/** The slots of the series; a 400 validation problem when it is empty, too long or inconsistent. */
export function expandWeeklySeries(series: SlotSeries, options: SeriesOptions = {}): Interval[] {
  const { slots, errors } = planWeeklySeries(series, options);
  if (errors.length) throw validationFailed(errors, 'The weekly series cannot be expanded.');
  return slots;
}
