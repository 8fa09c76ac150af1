/**
 * Utilisation by domain over a chosen range (GET /v1/reports/utilization), as an SVG bar chart and a table, and
 * credits over the same range (GET /v1/reports/credits): budgets as they stand, and credits booked in the range.
 */
import { useState } from 'preact/hooks';
import { get } from '../api.js';
import { domainLabel, useCatalog, type Catalog } from '../catalog.js';
import { useI18n, tKey, type Lang, type MessageKey, type Translate } from '../i18n.js';
import { addDays, formatNumber, formatPercent, fromDateInput, kstWeekStart, toDateInput } from '../time.js';
import type { CreditGroupBy, CreditReport, CreditRow, UtilizationReport } from '../types.js';
import { AsyncView, TableWrap, useAsync } from '../ui.js';

/** The credits report's numeric columns, in order: header, cell and total all come from here. */
const CREDIT_COLUMNS: { label: MessageKey; value: (row: CreditRow) => number }[] = [
  { label: 'colPilots', value: (row) => row.pilots },
  { label: 'colBudgeted', value: (row) => row.budgetedCredits },
  { label: 'colCommitted', value: (row) => row.committedCredits },
  { label: 'colRemaining', value: (row) => row.remainingCredits },
  { label: 'colBookedCredits', value: (row) => row.bookedCredits },
  { label: 'colBookings', value: (row) => row.bookings },
];

export function UtilizationOverview() {
  const { t, lang } = useI18n();
  const catalog = useCatalog();
  const start = kstWeekStart(new Date());
  const [fromValue, setFromValue] = useState(toDateInput(start));
  const [toValue, setToValue] = useState(toDateInput(addDays(start, 27)));
  const [range, setRange] = useState({ from: fromValue, to: toValue });
  const [formError, setFormError] = useState<string | null>(null);

  const [report, reload] = useAsync(
    async (signal) => {
      const from = fromDateInput(range.from)!;
      const to = addDays(fromDateInput(range.to)!, 1);
      return get<UtilizationReport>(
        '/v1/reports/utilization',
        { from: from.toISOString(), to: to.toISOString(), groupBy: 'domain', limit: 200 },
        signal,
      );
    },
    [range.from, range.to],
  );

  const submit = (e: Event) => {
    e.preventDefault();
    const from = fromDateInput(fromValue);
    const to = fromDateInput(toValue);
    if (!from || !to || to < from) {
      setFormError(t('invalidRange'));
      return;
    }
    setFormError(null);
    setRange({ from: fromValue, to: toValue });
  };

  return (
    <section class="card" aria-labelledby="util-h">
      <h2 id="util-h" class="h2">
        {t('utilTitle')}
      </h2>
      <p class="lead">{t('utilLead')}</p>
      <form class="filters" onSubmit={submit}>
        <label class="field">
          <span>{t('from')}</span>
          <input
            type="date"
            name="from"
            value={fromValue}
            required
            onInput={(e) => setFromValue(e.currentTarget.value)}
          />
        </label>
        <label class="field">
          <span>{t('to')}</span>
          <input type="date" name="to" value={toValue} required onInput={(e) => setToValue(e.currentTarget.value)} />
        </label>
        <button type="submit" class="btn btn-secondary">
          {t('show')}
        </button>
        {formError ? (
          <p class="field-error" role="alert">
            {formError}
          </p>
        ) : null}
      </form>
      <AsyncView value={report} onRetry={reload} isEmpty={(r) => !r.data.length}>
        {(r) => {
          const rows = r.data.map((row) => ({
            ...row,
            name: domainLabel(catalog, row.key, lang) || row.label || row.key,
          }));
          return (
            <div class="util">
              <BarChart
                rows={rows.map((row) => ({ key: row.key, name: row.name, ratio: row.utilization }))}
                title={t('chartLabel')}
              />
              <TableWrap label={t('utilTitle')}>
                <table class="table table-compact">
                  <thead>
                    <tr>
                      <th scope="col">{t('colDomain')}</th>
                      <th scope="col" class="num">
                        {t('colUtilization')}
                      </th>
                      <th scope="col" class="num">
                        {t('colBooked')}
                      </th>
                      <th scope="col" class="num">
                        {t('colOffered')}
                      </th>
                      <th scope="col" class="num">
                        {t('colSlots')}
                      </th>
                      <th scope="col" class="num">
                        {t('colBookings')}
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((row) => (
                      <tr key={row.key}>
                        <th scope="row">{row.name}</th>
                        <td class="num">{formatPercent(row.utilization, lang)}</td>
                        <td class="num">{formatNumber(row.bookedUnitHours, lang, 1)}</td>
                        <td class="num">{formatNumber(row.offeredUnitHours, lang, 1)}</td>
                        <td class="num">{row.slots}</td>
                        <td class="num">{row.bookings}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            </div>
          );
        }}
      </AsyncView>
      <Credits from={range.from} to={range.to} />
    </section>
  );
}

const GROUPINGS: CreditGroupBy[] = ['domain', 'fundingLine', 'organization'];

function creditRowName(row: CreditRow, groupBy: CreditGroupBy, catalog: Catalog, t: Translate, lang: Lang): string {
  if (groupBy === 'domain') return domainLabel(catalog, row.key, lang);
  if (groupBy === 'fundingLine') return tKey(t, 'funding', row.key);
  return row.label || row.key;
}

/** Credits by domain, funding line or organisation, with a total row. Operators only, like the rest here. */
function Credits({ from, to }: { from: string; to: string }) {
  const { t, lang } = useI18n();
  const catalog = useCatalog();
  const [groupBy, setGroupBy] = useState<CreditGroupBy>('domain');
  const [report, reload] = useAsync(
    (signal) => {
      const start = fromDateInput(from)!;
      const end = addDays(fromDateInput(to)!, 1);
      const query = { from: start.toISOString(), to: end.toISOString(), groupBy };
      return get<CreditReport>('/v1/reports/credits', query, signal);
    },
    [from, to, groupBy],
  );
  const n = (v: number) => formatNumber(v, lang, 0);
  return (
    <section class="credits" aria-labelledby="credit-h">
      <div class="section-head">
        <h3 id="credit-h" class="h3">
          {t('creditTitle')}
        </h3>
        <label class="field field-inline">
          <span>{t('creditGroupBy')}</span>
          <select name="groupBy" value={groupBy} onChange={(e) => setGroupBy(e.currentTarget.value as CreditGroupBy)}>
            {GROUPINGS.map((g) => (
              <option key={g} value={g}>
                {tKey(t, 'creditBy', g)}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p class="lead">{t('creditLead')}</p>
      <AsyncView value={report} onRetry={reload} isEmpty={(r) => !r.data.length}>
        {(r) => {
          const rows = r.data.map((row) => ({ ...row, name: creditRowName(row, r.groupBy, catalog, t, lang) }));
          return (
            <TableWrap label={t('creditTitle')}>
              <table class="table table-compact credit-table">
                <thead>
                  <tr>
                    <th scope="col">{tKey(t, 'creditBy', r.groupBy)}</th>
                    {CREDIT_COLUMNS.map((c) => (
                      <th key={c.label} scope="col" class="num">
                        {t(c.label)}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((row) => (
                    <tr key={row.key} data-key={row.key}>
                      <th scope="row">{row.name}</th>
                      {CREDIT_COLUMNS.map((c) => (
                        <td key={c.label} class="num">
                          {n(c.value(row))}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
                <tfoot>
                  <tr>
                    <th scope="row">{t('total')}</th>
                    {CREDIT_COLUMNS.map((c) => (
                      <td key={c.label} class="num">
                        {n(rows.reduce((sum, row) => sum + c.value(row), 0))}
                      </td>
                    ))}
                  </tr>
                </tfoot>
              </table>
            </TableWrap>
          );
        }}
      </AsyncView>
    </section>
  );
}

/** Horizontal bars, 0–100 %, drawn as SVG (no chart library: five bars do not need one). */
function BarChart({ rows, title }: { rows: { key: string; name: string; ratio: number | null }[]; title: string }) {
  const { lang } = useI18n();
  const rowH = 34;
  // Wide enough for the longest label at 12px ("Living & environment" was cut at a fixed 150).
  const labelW = Math.max(80, ...rows.map((r) => textWidth(r.name))) + 16;
  const barW = 420;
  const valueW = 70;
  const width = labelW + barW + valueW;
  const height = rows.length * rowH + 24;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const summary = rows.map((r) => `${r.name} ${formatPercent(r.ratio, lang)}`).join(', ');
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${title}: ${summary}`}
        preserveAspectRatio="xMinYMin meet"
      >
        {ticks.map((tk) => (
          <g key={tk}>
            <line x1={labelW + tk * barW} x2={labelW + tk * barW} y1={0} y2={rows.length * rowH} class="chart-grid" />
            <text x={labelW + tk * barW} y={rows.length * rowH + 16} class="chart-tick" text-anchor="middle">
              {Math.round(tk * 100)}%
            </text>
          </g>
        ))}
        {rows.map((r, i) => {
          const y = i * rowH;
          const w = Math.max(0, Math.min(1, r.ratio ?? 0)) * barW;
          return (
            <g key={r.key} class={`chart-row domain-${r.key}`}>
              <text x={labelW - 8} y={y + rowH / 2 + 5} text-anchor="end" class="chart-label">
                {r.name}
              </text>
              <rect x={labelW} y={y + 7} width={barW} height={rowH - 14} class="chart-track" rx="3" />
              <rect x={labelW} y={y + 7} width={w} height={rowH - 14} class="chart-bar" rx="3" />
              <text x={labelW + barW + 8} y={y + rowH / 2 + 5} class="chart-value">
                {formatPercent(r.ratio, lang)}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}

const WIDE = /[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]/;

/** A generous estimate of a label's width at the chart's 12px font: CJK and Hangul take a full em. */
function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += WIDE.test(ch) ? 12.5 : 7.5;
  return Math.ceil(w);
}
