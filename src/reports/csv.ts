/** CSV versions of the reports (RFC 4180 via csv-stringify), one row per JSON row, flattened. */
import { stringify } from 'csv-stringify/sync';
import type { CreditReport, PilotReport, UtilizationReport } from '../generated/schema-types.js';
import { PILOT_STATUSES } from '../pilots/status.js';

export function utilizationCsv(r: UtilizationReport): string {
  return stringify(
    r.data.map((d) => ({ from: r.from, to: r.to, groupBy: r.groupBy, ...d, utilization: d.utilization ?? '' })),
    { header: true, columns: ['from', 'to', 'groupBy', 'key', 'label', 'offeredUnitHours', 'bookedUnitHours', 'utilization', 'slots', 'bookings'], record_delimiter: 'windows' },
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
      header: true,
      columns: ['domain', 'labelKo', 'labelEn', 'total', ...PILOT_STATUSES.map((s) => ({ key: s, header: `status_${s}` })), { key: 'booked', header: 'bookedPilots' }, 'meanHours', 'medianHours', 'p90Hours', 'stillWaiting', 'stillWaitingMeanHours'],
      record_delimiter: 'windows',
    },
  );
}

export function creditCsv(r: CreditReport): string {
  return stringify(
    r.data.map((d) => ({ from: r.from ?? '', to: r.to ?? '', groupBy: r.groupBy, ...d })),
    {
      header: true,
      columns: ['from', 'to', 'groupBy', 'key', 'label', 'pilots', 'budgetedCredits', 'committedCredits', 'remainingCredits', 'bookedCredits', 'bookings'],
      record_delimiter: 'windows',
    },
  );
}
