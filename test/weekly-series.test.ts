import assert from 'node:assert/strict';
import { AppError } from '../src/core/errors.js';
import { expandWeeklySeries, minutesOfDay, planWeeklySeries } from '../src/testbeds/weekly-series.js';
import type { SlotSeries } from '../src/generated/schema-types.js';

const iso = (slots: { start: Date; end: Date }[]) => slots.map((s) => [s.start.toISOString(), s.end.toISOString()]);

function series(overrides: Partial<SlotSeries> = {}): SlotSeries {
  // 2027-03-01 is a Monday.
  return { weekdays: [1, 3], startTime: '09:00', endTime: '18:00', from: '2027-03-01', to: '2027-03-14', ...overrides };
}

function pointersOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof AppError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'validation-failed');
    return (err.extra.errors as { pointer: string }[]).map((e) => e.pointer);
  }
  assert.fail('expected a validation error');
}

describe('weekly series expansion (Asia/Seoul)', () => {
  it('turns Mon/Wed 09:00–18:00 Korea time into 00:00–09:00Z slots across two weeks', () => {
    assert.deepEqual(iso(expandWeeklySeries(series())), [
      ['2027-03-01T00:00:00.000Z', '2027-03-01T09:00:00.000Z'],
      ['2027-03-03T00:00:00.000Z', '2027-03-03T09:00:00.000Z'],
      ['2027-03-08T00:00:00.000Z', '2027-03-08T09:00:00.000Z'],
      ['2027-03-10T00:00:00.000Z', '2027-03-10T09:00:00.000Z'],
    ]);
  });

  it('includes both the from and the to date', () => {
    const slots = expandWeeklySeries(series({ weekdays: [1], from: '2027-03-01', to: '2027-03-08' }));
    assert.deepEqual(
      iso(slots).map(([s]) => s),
      ['2027-03-01T00:00:00.000Z', '2027-03-08T00:00:00.000Z'],
    );
  });

  it('places an early-morning local slot on the previous UTC day', () => {
    const slots = expandWeeklySeries(
      series({ weekdays: [2], startTime: '07:30', endTime: '08:30', from: '2027-03-01', to: '2027-03-07' }),
    );
    assert.deepEqual(iso(slots), [['2027-03-01T22:30:00.000Z', '2027-03-01T23:30:00.000Z']]);
  });

  it('reads 24:00 as midnight at the end of the local day', () => {
    const slots = expandWeeklySeries(
      series({ weekdays: [7], startTime: '18:00', endTime: '24:00', from: '2027-03-01', to: '2027-03-07' }),
    );
    assert.deepEqual(iso(slots), [['2027-03-07T09:00:00.000Z', '2027-03-07T15:00:00.000Z']]);
  });

  it('uses ISO weekday numbers, 7 being Sunday, and keeps start order', () => {
    const slots = expandWeeklySeries(series({ weekdays: [7, 6], from: '2027-03-01', to: '2027-03-07' }));
    assert.deepEqual(
      iso(slots).map(([s]) => s),
      ['2027-03-06T00:00:00.000Z', '2027-03-07T00:00:00.000Z'],
    );
  });

  it('keeps local wall-clock times across a daylight-saving change when given such a zone', () => {
    // Korea has no daylight saving; Berlin shows the expansion does not add elapsed hours blindly.
    const slots = expandWeeklySeries(series({ weekdays: [5], from: '2027-03-19', to: '2027-04-02' }), {
      zone: 'Europe/Berlin',
    });
    assert.deepEqual(
      iso(slots).map(([s]) => s),
      ['2027-03-19T08:00:00.000Z', '2027-03-26T08:00:00.000Z', '2027-04-02T07:00:00.000Z'],
    );
  });

  it('gives one slot a day for every day of a 365-day year', () => {
    const slots = expandWeeklySeries(series({ weekdays: [1, 2, 3, 4, 5, 6, 7], from: '2027-01-01', to: '2027-12-31' }));
    assert.equal(slots.length, 365);
  });

  it('refuses an end time not after the start time', () => {
    assert.deepEqual(
      pointersOf(() => expandWeeklySeries(series({ startTime: '18:00', endTime: '09:00' }))),
      ['/body/series/endTime'],
    );
    assert.deepEqual(
      pointersOf(() => expandWeeklySeries(series({ startTime: '09:00', endTime: '09:00' }))),
      ['/body/series/endTime'],
    );
  });

  it('refuses a to date before the from date', () => {
    assert.deepEqual(
      pointersOf(() => expandWeeklySeries(series({ from: '2027-03-10', to: '2027-03-09' }))),
      ['/body/series/to'],
    );
  });

  it('caps the date range at 366 days', () => {
    assert.equal(planWeeklySeries(series({ from: '2027-01-01', to: '2028-01-01' })).errors.length, 0); // 366 days
    const { errors } = planWeeklySeries(series({ from: '2027-01-01', to: '2028-01-02' })); // 367 days
    assert.equal(errors[0]?.pointer, '/body/series/to');
    assert.match(errors[0]!.message, /367 days; at most 366/);
  });

  it('caps the number of slots of one series', () => {
    const { slots, errors } = planWeeklySeries(
      series({ weekdays: [1, 2, 3, 4, 5], from: '2027-01-01', to: '2027-12-31' }),
      { maxSlots: 100 },
    );
    assert.equal(slots.length, 0);
    assert.equal(errors[0]?.pointer, '/body/series');
    assert.match(errors[0]!.message, /more than 100 slots/);
  });

  it('refuses a series in which no chosen weekday occurs', () => {
    // 2027-03-02 is a Tuesday, 2027-03-03 a Wednesday: no Monday between them.
    assert.deepEqual(
      pointersOf(() => expandWeeklySeries(series({ weekdays: [1], from: '2027-03-02', to: '2027-03-03' }))),
      ['/body/series/weekdays'],
    );
  });

  it('reads HH:MM as minutes after midnight', () => {
    assert.equal(minutesOfDay('00:00'), 0);
    assert.equal(minutesOfDay('09:30'), 570);
    assert.equal(minutesOfDay('24:00'), 1440);
  });
});
