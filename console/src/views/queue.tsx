/**
 * Queue: pilots by domain and status (GET /v1/pilots) with their plans' stages and credit budgets, filters, search
 * and candidates; below them, holds that expired (GET /v1/matches?status=expired).
 */
import { Fragment } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { get, getAll } from '../api.js';
import { capabilityLabel, domainLabel, rememberPilots, subdomainLabel, useCatalog } from '../catalog.js';
import { useI18n, tKey } from '../i18n.js';
import { formatDate, formatDateTime, formatNumber, formatRange } from '../time.js';
import type { CandidateList, Me, Pilot, UnmetStage } from '../types.js';
import { AsyncView, Badge, Empty, ErrorBox, Loading, TableWrap, useAsync } from '../ui.js';
import { ExpiredHolds } from './holds.js';
import { BudgetCell, StageList } from './plan.js';
import { BreakdownList, Reasons, ScoreValue } from './score.js';

const STATUSES = ['submitted', 'matched', 'booked', 'active', 'completed', 'withdrawn', 'draft'];

export function Queue({ me }: { me: Me }) {
  const { t, lang } = useI18n();
  const catalog = useCatalog();
  const [status, setStatus] = useState('submitted');
  const [domain, setDomain] = useState('');
  const [search, setSearch] = useState('');
  const [open, setOpen] = useState<string | null>(null);

  const [pilots, reload] = useAsync(
    async (signal) => {
      const list = await getAll<Pilot>(
        '/v1/pilots',
        { status: status || undefined, domain: domain || undefined },
        1000,
        signal,
      );
      rememberPilots(list);
      return list;
    },
    [status, domain],
  );

  const needle = search.trim().toLowerCase();
  const visible = useMemo(() => {
    const list = pilots.data ?? [];
    if (!needle) return list;
    return list.filter((p) => {
      const caps = p.requirements.capabilities.map((c) => `${c} ${capabilityLabel(catalog, c, lang)}`).join(' ');
      return `${p.title} ${p.summary} ${caps} ${domainLabel(catalog, p.domain, lang)}`.toLowerCase().includes(needle);
    });
  }, [pilots.data, needle, catalog, lang]);

  const byDomain = useMemo(() => {
    const counts = new Map<string, number>();
    for (const p of visible) counts.set(p.domain, (counts.get(p.domain) ?? 0) + 1);
    return counts;
  }, [visible]);

  return (
    <section aria-labelledby="queue-h">
      <div class="page-head">
        <h1 id="queue-h" tabIndex={-1}>
          {t('queueTitle')}
        </h1>
        <p class="lead">{t('queueLead')}</p>
      </div>

      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label class="field">
          <span>{t('filterDomain')}</span>
          <select value={domain} onChange={(e) => setDomain(e.currentTarget.value)} name="domain">
            <option value="">{t('all')}</option>
            {catalog.domains.map((d) => (
              <option key={d.code} value={d.code}>
                {d.label[lang]}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>{t('filterStatus')}</span>
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)} name="status">
            <option value="">{t('all')}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {tKey(t, 'pilot', s)}
              </option>
            ))}
          </select>
        </label>
        <label class="field field-grow">
          <span>{t('search')}</span>
          <input
            type="search"
            name="q"
            value={search}
            placeholder={t('searchPlaceholder')}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </label>
        <button type="button" class="btn btn-secondary" onClick={reload}>
          {t('refresh')}
        </button>
      </form>

      <AsyncView value={pilots} onRetry={reload}>
        {() => (
          <>
            <div class="chips" aria-label={t('queueByDomain')} role="group">
              <span class="chip chip-total">{t('queueCount', { n: visible.length })}</span>
              {catalog.domains.map((d) => (
                <button
                  type="button"
                  key={d.code}
                  class={`chip domain-${d.code}`}
                  aria-pressed={domain === d.code}
                  onClick={() => setDomain(domain === d.code ? '' : d.code)}
                >
                  {d.label[lang]} <strong>{byDomain.get(d.code) ?? 0}</strong>
                </button>
              ))}
            </div>
            {visible.length === 0 ? (
              <Empty />
            ) : (
              <TableWrap label={t('queueTitle')}>
                <table class="table">
                  <thead>
                    <tr>
                      <th scope="col">{t('colTitle')}</th>
                      <th scope="col">{t('colDomain')}</th>
                      <th scope="col">{t('colStatus')}</th>
                      <th scope="col">{t('colRequirements')}</th>
                      <th scope="col">{t('colWindow')}</th>
                      <th scope="col">{t('colCredits')}</th>
                      {me.role === 'operator' ? (
                        <th scope="col">
                          <span class="sr-only">{t('colActions')}</span>
                        </th>
                      ) : null}
                    </tr>
                  </thead>
                  <tbody>
                    {visible.map((p) => (
                      <Fragment key={p.id}>
                        <tr data-pilot-id={p.id}>
                          <th scope="row" class="cell-title">
                            <span class="pilot-title">{p.title}</span>
                            {p.summary ? <span class="cell-sub">{p.summary}</span> : null}
                          </th>
                          <td>
                            <span class={`domain-dot domain-${p.domain}`} aria-hidden="true" />
                            <span class="domain-name">{domainLabel(catalog, p.domain, lang)}</span>
                            {p.subdomain ? (
                              <span class="cell-sub">{subdomainLabel(catalog, p.domain, p.subdomain, lang)}</span>
                            ) : null}
                          </td>
                          <td>
                            <Badge kind={p.status}>{tKey(t, 'pilot', p.status)}</Badge>
                            {p.submittedAt ? (
                              <span class="cell-sub nowrap">
                                {t('submittedOn', { date: formatDate(p.submittedAt, lang) })}
                              </span>
                            ) : null}
                          </td>
                          <td>
                            <StageList pilot={p} />
                          </td>
                          <td>
                            {p.requirements.earliestStart && p.requirements.latestEnd ? (
                              <>
                                <span class="nowrap">{formatDateTime(p.requirements.earliestStart, lang)} –</span>
                                <span class="cell-sub nowrap">{formatDateTime(p.requirements.latestEnd, lang)}</span>
                              </>
                            ) : (
                              '–'
                            )}
                          </td>
                          <td>
                            <BudgetCell budget={p.budget} />
                          </td>
                          {me.role === 'operator' ? (
                            <td>
                              <button
                                type="button"
                                class="btn btn-small btn-secondary"
                                aria-expanded={open === p.id}
                                aria-controls={`cand-${p.id}`}
                                onClick={() => setOpen(open === p.id ? null : p.id)}
                              >
                                {open === p.id ? t('hideCandidates') : t('showCandidates')}
                              </button>
                            </td>
                          ) : null}
                        </tr>
                        {open === p.id ? (
                          <tr class="row-detail" id={`cand-${p.id}`}>
                            <td colSpan={7}>
                              <Candidates pilot={p} />
                            </td>
                          </tr>
                        ) : null}
                      </Fragment>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
          </>
        )}
      </AsyncView>
      <ExpiredHolds />
    </section>
  );
}

function Candidates({ pilot }: { pilot: Pilot }) {
  const { t, lang } = useI18n();
  const [cands, reload] = useAsync(
    (signal) => get<CandidateList>(`/v1/pilots/${pilot.id}/candidates`, { limit: 5 }, signal),
    [pilot.id, lang],
  );
  if (cands.state === 'error') return <ErrorBox error={cands.error} onRetry={reload} compact />;
  if (!cands.data) return <Loading />;
  const list = cands.data.data;
  return (
    <div class="candidates">
      <h2 class="h3">{t('candidatesTitle', { title: pilot.title })}</h2>
      {list.length === 0 ? (
        <NoCandidates pilot={pilot} unmet={cands.data.unmet} />
      ) : (
        <ol class="cand-list">
          {list.map((c) => (
            <li key={`${c.stage}:${c.slotId}`} class="cand">
              <div class="cand-head">
                {pilot.requirements.stages.length > 1 ? <span class="stage-key">{c.stage}</span> : null}
                <strong>{c.testbedName}</strong>
                <span>{formatDateTime(c.start, lang)}</span>
                <span>
                  {t('colScore')} <ScoreValue score={c.score} />
                </span>
              </div>
              <BreakdownList breakdown={c.breakdown} />
              <Reasons reasons={c.reasons} />
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

/**
 * Why the list is empty: the server's per-stage `unmet` explanation when it sends one (counts of slots each
 * hard filter removed), else the hard requirements a candidate slot has to meet, read from the pilot itself.
 */
function NoCandidates({ pilot, unmet }: { pilot: Pilot; unmet: UnmetStage[] | undefined }) {
  const { t, lang } = useI18n();
  const catalog = useCatalog();
  const r = pilot.requirements;
  const rules: string[] = [];
  if (r.capabilities.length) {
    const caps = r.capabilities.map((c) => capabilityLabel(catalog, c, lang)).join(', ');
    rules.push(t('ruleCapabilities', { caps }));
  }
  if (r.earliestStart && r.latestEnd) {
    rules.push(t('ruleWindow', { window: formatRange(r.earliestStart, r.latestEnd, lang) }));
  }
  if (r.durationHours !== undefined) {
    rules.push(t('ruleLength', { hours: t('hours', { n: formatNumber(r.durationHours, lang, 1) }) }));
  }
  if (r.units !== undefined) rules.push(t('ruleUnits', { units: t('units', { n: r.units }) }));
  return (
    <div class="state state-empty no-candidates" role="status">
      <p>
        <strong>{t('noCandidates')}</strong>
      </p>
      {unmet?.length ? (
        <ul>
          {unmet.map((u) => {
            const excluded = Object.entries(u.excluded).filter(([, n]) => n > 0);
            const list = excluded.map(([k, n]) => `${tKey(t, 'excluded', k)} ${n}`).join(', ');
            return (
              <li key={u.stage}>
                {t('unmetStage', { stage: u.stage, reason: u.detail })}
                {excluded.length ? (
                  <span class="cell-sub">{t('unmetExcluded', { n: u.slotsConsidered, list })}</span>
                ) : null}
              </li>
            );
          })}
        </ul>
      ) : (
        <>
          <p>{t('candidateRules')}</p>
          <ul>
            {rules.map((rule) => (
              <li key={rule}>{rule}</li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
