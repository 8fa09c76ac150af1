/** CSV versions of the reports (RFC 4180 via csv-stringify), one row per JSON row, flattened. */
import { stringify } from 'csv-stringify/sync';
import type { CreditReport, PilotReport, UtilizationReport } from '../generated/schema-types.js';
import { PILOT_STATUSES } from '../pilots/status.js';

const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A spreadsheet runs a cell that starts with =, +, -, @, tab or CR as a formula (CSV injection). Text from users
 * (testbed names, labels) that starts so gets a leading apostrophe, as OWASP advises; numbers are left alone.
 */
export function neutraliseCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

const SAFE = { cast: { string: neutraliseCell } };

export function utilizationCsv(r: UtilizationReport): string {
  return stringify(
    r.data.map((d) => ({ from: r.from, to: r.to, groupBy: r.groupBy, ...d, utilization: d.utilization ?? '' })),
    {
      ...SAFE,
      header: true,
      columns: [
        'from',
        'to',
        'groupBy',
        'key',
        'label',
        'offeredUnitHours',
        'bookedUnitHours',
        'utilization',
        'slots',
        'bookings',
      ],
      record_delimiter: 'windows',
    },
  );
}

export function pilotCsv(r: PilotReport): string {
  return stringify(
    r.data.map((d) => ({
      domain: d.domain,
      labelKo: d.label.ko,
      labelEn: d.label.en,
      total: d.total,
      ...d.byStatus,
      booked: d.waiting.booked,
      meanHours: d.waiting.meanHours ?? '',
      medianHours: d.waiting.medianHours ?? '',
      p90Hours: d.waiting.p90Hours ?? '',
      stillWaiting: d.waiting.stillWaiting,
      stillWaitingMeanHours: d.waiting.stillWaitingMeanHours ?? '',
    })),
    {
      ...SAFE,
      header: true,
      columns: [
        'domain',
        'labelKo',
        'labelEn',
        'total',
        ...PILOT_STATUSES.map((s) => ({ key: s, header: `status_${s}` })),
        { key: 'booked', header: 'bookedPilots' },
        'meanHours',
        'medianHours',
        'p90Hours',
        'stillWaiting',
        'stillWaitingMeanHours',
      ],
      record_delimiter: 'windows',
    },
  );
}

export function creditCsv(r: CreditReport): string {
  return stringify(
    r.data.map((d) => ({ from: r.from ?? '', to: r.to ?? '', groupBy: r.groupBy, ...d })),
    {
      header: true,
      columns: [
        'from',
        'to',
        'groupBy',
        'key',
        'label',
        'pilots',
        'budgetedCredits',
        'committedCredits',
        'remainingCredits',
        'bookedCredits',
        'bookings',
      ],
      record_delimiter: 'windows',
    },
  );
}
