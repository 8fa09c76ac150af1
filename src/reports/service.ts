/**
 * Operator reports. Utilisation: booked unit-hours (confirmed bookings) against offered unit-hours (slot
 * capacity) of the parts of slots and bookings inside [from, to), by domain or by testbed; a testbed serving
 * several domains counts fully in each. Pilots: counts by domain and status, and the wait from submission to a
 * pilot's first booking. Credits: budgets and the credits of confirmed bookings.
 */
import type { Db } from '../db/client.js';
import { DOMAINS } from '../domains/catalog.js';
import type {
  CreditReport,
  CreditReportQuery,
  PilotReport,
  PilotReportQuery,
  UtilizationQuery,
  UtilizationReport,
} from '../generated/schema-types.js';
import { decodeCursor, encodeCursor } from '../core/cursor.js';
import { queryWindow } from '../core/query-window.js';
import { PILOT_STATUSES } from '../pilots/status.js';

/** Reports span at most this many years; longer ones are asked for in parts. */
const MAX_REPORT_YEARS = 2;

interface TestbedUse {
  key: string;
  label: string;
  domains: string[];
  offered: number;
  slots: number;
  booked: number;
  bookings: number;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const ratio = (booked: number, offered: number) => (offered > 0 ? Math.round((booked / offered) * 1e6) / 1e6 : null);

async function testbedUse(
  db: Db,
  from: Date,
  to: Date,
  after: string | null,
  limit: number | null,
): Promise<TestbedUse[]> {
  const { rows } = await db.query<TestbedUse>(
    `SELECT t.id::text AS key, t.name AS label, t.domains,
            COALESCE(o.offered, 0)::float8 AS offered, COALESCE(o.slots, 0)::int AS slots,
            COALESCE(bk.booked, 0)::float8 AS booked, COALESCE(bk.bookings, 0)::int AS bookings
       FROM testbeds t
       LEFT JOIN LATERAL (
         SELECT sum(s.capacity * extract(epoch FROM LEAST(s.end_at, $2) - GREATEST(s.start_at, $1)) / 3600) AS offered, count(*) AS slots
           FROM slots s WHERE s.testbed_id = t.id AND s.start_at < $2 AND s.end_at > $1
       ) o ON true
       LEFT JOIN LATERAL (
         SELECT sum(b.units * extract(epoch FROM LEAST(b.end_at, $2) - GREATEST(b.start_at, $1)) / 3600) AS booked, count(*) AS bookings
           FROM bookings b WHERE b.testbed_id = t.id AND b.status = 'confirmed' AND b.start_at < $2 AND b.end_at > $1
       ) bk ON true
      WHERE ($3::uuid IS NULL OR t.id > $3::uuid)
      ORDER BY t.id
      ${limit === null ? '' : 'LIMIT $4'}`,
    limit === null
      ? [from.toISOString(), to.toISOString(), after]
      : [from.toISOString(), to.toISOString(), after, limit],
  );
  return rows;
}

export async function utilizationReport(db: Db, q: UtilizationQuery & { limit: number }): Promise<UtilizationReport> {
  const w = queryWindow(q.from, q.to, { required: true, maxYears: MAX_REPORT_YEARS });
  const from = w.from!;
  const to = w.to!;
  const groupBy = q.groupBy ?? 'domain';
  const list = `utilization:${groupBy}`;
  const after = decodeCursor(list, q.cursor, groupBy === 'testbed' ? ['uuid'] : ['text'])?.[0];
  const base = { from: from.toISOString(), to: to.toISOString(), groupBy };
  if (groupBy === 'testbed') {
    const rows = await testbedUse(db, from, to, after === undefined ? null : String(after), q.limit + 1);
    const page = rows.slice(0, q.limit);
    return {
      ...base,
      data: page.map((r) => ({
        key: r.key,
        label: r.label,
        offeredUnitHours: r3(r.offered),
        bookedUnitHours: r3(r.booked),
        utilization: ratio(r.booked, r.offered),
        slots: r.slots,
        bookings: r.bookings,
      })),
      nextCursor: rows.length > q.limit ? encodeCursor(list, [page[page.length - 1]!.key]) : null,
    };
  }
  const use = await testbedUse(db, from, to, null, null);
  const rows = DOMAINS.map((d) => {
    const mine = use.filter((u) => u.domains.includes(d.code));
    const sum = (f: (u: TestbedUse) => number) => mine.reduce((s, u) => s + f(u), 0);
    return {
      key: d.code,
      label: d.label.en,
      offeredUnitHours: r3(sum((u) => u.offered)),
      bookedUnitHours: r3(sum((u) => u.booked)),
      utilization: ratio(
        sum((u) => u.booked),
        sum((u) => u.offered),
      ),
      slots: sum((u) => u.slots),
      bookings: sum((u) => u.bookings),
    };
  })
    .sort((a, b) => (a.key < b.key ? -1 : 1))
    .filter((r) => after === undefined || r.key > String(after));
  const page = rows.slice(0, q.limit);
  return {
    ...base,
    data: page,
    nextCursor: rows.length > q.limit ? encodeCursor(list, [page[page.length - 1]!.key]) : null,
  };
}

export async function pilotReport(db: Db, q: PilotReportQuery): Promise<PilotReport> {
  const w = queryWindow(q.from, q.to, { maxYears: MAX_REPORT_YEARS });
  const params = [w.from?.toISOString() ?? null, w.to?.toISOString() ?? null];
  const scope = `($1::timestamptz IS NULL OR p.created_at >= $1) AND ($2::timestamptz IS NULL OR p.created_at < $2)`;
  const counts = (
    await db.query<{ domain: string; status: string; n: number }>(
      `SELECT p.domain, p.status, count(*)::int AS n FROM pilots p WHERE ${scope} GROUP BY 1, 2`,
      params,
    )
  ).rows;
  const waits = (
    await db.query<{ domain: string; n: number; mean: number | null; median: number | null; p90: number | null }>(
      `SELECT p.domain, count(*)::int AS n, avg(h)::float8 AS mean,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY h)::float8 AS median,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY h)::float8 AS p90
       FROM pilots p
       CROSS JOIN LATERAL (SELECT min(b.created_at) AS first FROM bookings b WHERE b.pilot_id = p.id) fb
       CROSS JOIN LATERAL (SELECT GREATEST(0, extract(epoch FROM fb.first - p.submitted_at) / 3600) AS h) x
      WHERE ${scope} AND p.submitted_at IS NOT NULL AND fb.first IS NOT NULL
      GROUP BY 1`,
      params,
    )
  ).rows;
  const pending = (
    await db.query<{ domain: string; n: number; mean: number | null }>(
      `SELECT p.domain, count(*)::int AS n, avg(extract(epoch FROM now() - p.submitted_at) / 3600)::float8 AS mean
       FROM pilots p
      WHERE ${scope} AND p.status IN ('submitted', 'matched') AND p.submitted_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.pilot_id = p.id AND b.status = 'confirmed')
      GROUP BY 1`,
      params,
    )
  ).rows;
  const h = (x: number | null | undefined) => (x === null || x === undefined ? null : Math.round(x * 100) / 100);
  return {
    data: DOMAINS.map((d) => {
      const byStatus = Object.fromEntries(
        PILOT_STATUSES.map((s) => [s, counts.find((c) => c.domain === d.code && c.status === s)?.n ?? 0]),
      ) as PilotReport['data'][number]['byStatus'];
      const wt = waits.find((x) => x.domain === d.code);
      const pd = pending.find((x) => x.domain === d.code);
      return {
        domain: d.code,
        label: d.label,
        total: Object.values(byStatus).reduce((a, b) => a + b, 0),
        byStatus,
        waiting: {
          booked: wt?.n ?? 0,
          meanHours: h(wt?.mean),
          medianHours: h(wt?.median),
          p90Hours: h(wt?.p90),
          stillWaiting: pd?.n ?? 0,
          stillWaitingMeanHours: h(pd?.mean),
        },
      };
    }),
    nextCursor: null,
  };
}

const FUNDING_LABELS: Record<string, string> = {
  national: 'National',
  city: 'City',
  private: 'Private',
  none: 'No funding line',
};

/**
 * Credits: budgets as they stand now, and credits of confirmed bookings starting in [from, to) (every booking
 * when no window is given), per pilot in SQL, then summed by the chosen key.
 */
export async function creditReport(db: Db, q: CreditReportQuery): Promise<CreditReport> {
  const w = queryWindow(q.from, q.to, { maxYears: MAX_REPORT_YEARS });
  const groupBy = q.groupBy ?? 'domain';
  const { rows } = await db.query<{
    domain: string;
    org_id: string;
    org_name: string;
    funding_line: string | null;
    credits: string | null;
    committed: string | null;
    booked: string;
    bookings: number;
  }>(
    `SELECT p.domain, o.id AS org_id, o.name AS org_name, pb.funding_line, pb.credits, pb.committed,
            COALESCE(bk.booked, 0) AS booked, COALESCE(bk.bookings, 0)::int AS bookings
       FROM pilots p
       JOIN organizations o ON o.id = p.organization_id
       LEFT JOIN pilot_budgets pb ON pb.pilot_id = p.id
       LEFT JOIN LATERAL (
         SELECT sum(b.credits) AS booked, count(*) AS bookings FROM bookings b
          WHERE b.pilot_id = p.id AND b.status = 'confirmed'
            AND ($1::timestamptz IS NULL OR b.start_at >= $1) AND ($2::timestamptz IS NULL OR b.start_at < $2)
       ) bk ON true
      WHERE pb.pilot_id IS NOT NULL OR bk.bookings > 0`,
    [w.from?.toISOString() ?? null, w.to?.toISOString() ?? null],
  );
  const groups = new Map<string, CreditReport['data'][number]>();
  if (groupBy === 'domain') {
    for (const d of DOMAINS) groups.set(d.code, emptyCredits(d.code, d.label.en));
  } else if (groupBy === 'fundingLine') {
    for (const k of ['national', 'city', 'private', 'none']) groups.set(k, emptyCredits(k, FUNDING_LABELS[k]!));
  }
  for (const r of rows) {
    const key = groupBy === 'domain' ? r.domain : groupBy === 'fundingLine' ? (r.funding_line ?? 'none') : r.org_id;
    const g = groups.get(key) ?? groups.set(key, emptyCredits(key, r.org_name)).get(key)!;
    g.pilots += 1;
    g.budgetedCredits += Number(r.credits ?? 0);
    g.committedCredits += Number(r.committed ?? 0);
    g.remainingCredits += Number(r.credits ?? 0) - Number(r.committed ?? 0);
    g.bookedCredits += Number(r.booked);
    g.bookings += r.bookings;
  }
  return {
    from: w.from?.toISOString() ?? null,
    to: w.to?.toISOString() ?? null,
    groupBy,
    data: [...groups.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
  };
}

const emptyCredits = (key: string, label: string): CreditReport['data'][number] => ({
  key,
  label,
  pilots: 0,
  budgetedCredits: 0,
  committedCredits: 0,
  remainingCredits: 0,
  bookedCredits: 0,
  bookings: 0,
});
