/**
 * Matching: start an allocation run for a scope (POST /v1/allocation-runs), read its summary (optimal vs
 * greedy vs LP bound) and proposals with score, breakdown and reasons, and approve or reject matches one by
 * one or in bulk. A proposal is approved after its startup accepts it; "awaiting approval" lists those.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, getAll, newIdempotencyKey, post } from '../api.js';
import { allTestbeds, domainLabel, pilotById, useCatalog } from '../catalog.js';
import { useI18n, tKey } from '../i18n.js';
import { addDays, formatNumber, formatRange, fromDateInput, kstDayStart, toDateInput } from '../time.js';
import type { AllocationRun, Match, Me, Pilot, RunSummary, Testbed } from '../types.js';
import { AsyncView, Badge, Empty, ErrorBox, Notice, TableWrap, problemLines, useAsync } from '../ui.js';
import { BreakdownList, Reasons, ScoreValue } from './score.js';

const RUN_KEY = 'ax-console.lastRun';
const APPROVABLE = ['accepted', 'requested'];
const REJECTABLE = ['requested', 'proposed', 'accepted'];

export function Matching({ me }: { me: Me }) {
  const { t } = useI18n();
  const [runId, setRunId] = useState<string | null>(() => sessionStorage.getItem(RUN_KEY));
  const [tick, setTick] = useState(0);
  const refreshAll = () => setTick((n) => n + 1);

  return (
    <section aria-labelledby="match-h">
      <div class="page-head">
        <h1 id="match-h" tabIndex={-1}>
          {t('matchingTitle')}
        </h1>
        <p class="lead">{t('matchingLead')}</p>
      </div>
      {me.role === 'operator' ? (
        <RunForm
          onRun={(run) => {
            sessionStorage.setItem(RUN_KEY, run.id);
            setRunId(run.id);
            refreshAll();
          }}
        />
      ) : null}
      {me.role === 'operator' ? (
        runId ? <RunView runId={runId} tick={tick} onChanged={refreshAll} /> : <Empty>{t('noRunYet')}</Empty>
      ) : null}
      <AwaitingApproval tick={tick} onChanged={refreshAll} />
    </section>
  );
}

function RunForm({ onRun }: { onRun: (run: AllocationRun) => void }) {
  const { t, lang } = useI18n();
  const catalog = useCatalog();
  const today = kstDayStart(new Date());
  const [domain, setDomain] = useState('');
  const [fromValue, setFromValue] = useState(toDateInput(today));
  const [toValue, setToValue] = useState(toDateInput(addDays(today, 55)));
  const [method, setMethod] = useState<'optimal' | 'greedy'>('optimal');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const from = fromDateInput(fromValue);
    const to = fromDateInput(toValue);
    if (!from || !to || to < from) {
      setError(new Error(t('invalidRange')));
      return;
    }
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const body = { ...(domain ? { domain } : {}), from: from.toISOString(), to: addDays(to, 1).toISOString(), method };
      const run = await post<AllocationRun>('/v1/allocation-runs', body, { idempotencyKey: newIdempotencyKey() });
      setNotice(t('runDone', { n: run.proposals.length }));
      onRun(run);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card run-form" onSubmit={submit} aria-labelledby="run-h">
      <h2 id="run-h" class="h2">
        {t('runScope')}
      </h2>
      <div class="filters">
        <label class="field">
          <span>{t('filterDomain')}</span>
          <select name="domain" value={domain} onChange={(e) => setDomain(e.currentTarget.value)}>
            <option value="">{t('anyDomain')}</option>
            {catalog.domains.map((d) => (
              <option key={d.code} value={d.code}>
                {domainLabel(catalog, d.code, lang)}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>{t('from')}</span>
          <input type="date" name="from" value={fromValue} required onInput={(e) => setFromValue(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>{t('to')}</span>
          <input type="date" name="to" value={toValue} required onInput={(e) => setToValue(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>{t('method')}</span>
          <select name="method" value={method} onChange={(e) => setMethod(e.currentTarget.value === 'greedy' ? 'greedy' : 'optimal')}>
            <option value="optimal">{t('methodOptimal')}</option>
            <option value="greedy">{t('methodGreedy')}</option>
          </select>
        </label>
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? t('running') : t('runAllocation')}
        </button>
      </div>
      {error ? <ErrorBox error={error} compact /> : null}
      <Notice message={notice} />
    </form>
  );
}

function RunView({ runId, tick, onChanged }: { runId: string; tick: number; onChanged: () => void }) {
  const { t } = useI18n();
  const [run, reloadRun] = useAsync((signal) => get<AllocationRun>(`/v1/allocation-runs/${runId}`, undefined, signal), [runId]);
  // Current statuses of this run's matches (the run itself shows them as proposed).
  const [matches, reloadMatches] = useAsync(
    (signal) => getAll<Match>('/v1/matches', { allocationRunId: runId }, 1000, signal),
    [runId, tick],
  );
  const list = useMemo(() => {
    const current = new Map((matches.data ?? []).map((m) => [m.id, m]));
    const proposals = run.data?.proposals ?? [];
    const merged = proposals.map((p) => current.get(p.id) ?? p);
    for (const m of current.values()) if (!proposals.some((p) => p.id === m.id)) merged.push(m);
    return merged;
  }, [run.data, matches.data]);

  return (
    <>
      <AsyncView value={run} onRetry={reloadRun}>
        {(r) => <Summary summary={r.summary} />}
      </AsyncView>
      <section class="card" aria-labelledby="prop-h">
        <div class="section-head">
          <h2 id="prop-h" class="h2">
            {t('proposalsTitle')}
          </h2>
          <button type="button" class="btn btn-secondary" onClick={reloadMatches}>
            {t('refresh')}
          </button>
        </div>
        {matches.state === 'error' ? <ErrorBox error={matches.error} onRetry={reloadMatches} compact /> : null}
        {run.data ? (
          list.length ? (
            <MatchTable matches={list} onChanged={onChanged} label={t('proposalsTitle')} />
          ) : run.data.summary.matched === 0 ? (
            <ZeroMatch summary={run.data.summary} />
          ) : (
            <Empty>{t('noProposals')}</Empty>
          )
        ) : null}
      </section>
    </>
  );
}

/** A run that matched nobody says why, instead of an empty table. */
function ZeroMatch({ summary: s }: { summary: RunSummary }) {
  const { t, lang } = useI18n();
  return (
    <div class="state state-empty zero-match" role="status">
      <p>
        <strong>{t('zeroMatchTitle')}</strong>
      </p>
      <p>{t('zeroMatchWhy', { pilots: formatNumber(s.pilots, lang, 0), slots: formatNumber(s.slots, lang, 0) })}</p>
    </div>
  );
}

function Summary({ summary: s }: { summary: RunSummary }) {
  const { t, lang } = useI18n();
  const items: [string, string][] = [
    [t('sumPilots'), formatNumber(s.pilots, lang, 0)],
    [t('sumSlots'), formatNumber(s.slots, lang, 0)],
    [t('sumMatched'), formatNumber(s.matched, lang, 0)],
    [t('sumSessions'), formatNumber(s.sessions, lang, 0)],
    [t('sumCredits'), formatNumber(s.credits, lang, 0)],
    [t('sumObjective'), formatNumber(s.objective, lang, 3)],
    [t('sumGreedy'), formatNumber(s.greedyObjective, lang, 3)],
    [t('sumBound'), formatNumber(s.upperBound, lang, 3)],
    [t('sumGap'), formatNumber(s.gap, lang, 4)],
    [t('sumGain'), formatNumber(s.gainOverGreedy, lang, 3)],
    [t('sumDuration'), s.durationMs === undefined ? '–' : `${formatNumber(s.durationMs, lang, 0)} ms`],
    [t('sumSolver'), [s.solver.name, s.solver.status, s.solver.fallback ? `→ ${s.solver.fallback}` : ''].filter(Boolean).join(' · ') || '–'],
  ];
  const bars = [
    { key: 'optimal', label: t('sumObjective'), value: s.objective },
    { key: 'greedy', label: t('sumGreedy'), value: s.greedyObjective },
    { key: 'bound', label: t('sumBound'), value: s.upperBound ?? undefined },
  ];
  const max = Math.max(1e-9, ...bars.map((b) => b.value ?? 0));
  return (
    <section class="card" aria-labelledby="sum-h">
      <h2 id="sum-h" class="h2">
        {t('summaryTitle')}
      </h2>
      <dl class="summary">
        {items.map(([k, v]) => (
          <div key={k} class="summary-item">
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      {s.solver.note ? <p class="muted">{s.solver.note}</p> : null}
      <figure class="objective-chart">
        <figcaption>{t('objectiveChart')}</figcaption>
        <ul>
          {bars.map((b) => (
            <li key={b.key} class={`obj obj-${b.key}`}>
              <span class="obj-label">{b.label}</span>
              <span class="obj-track" aria-hidden="true">
                <span style={{ width: `${Math.round(((b.value ?? 0) / max) * 100)}%` }} />
              </span>
              <span class="obj-value">{formatNumber(b.value, lang, 3)}</span>
            </li>
          ))}
        </ul>
      </figure>
    </section>
  );
}

function AwaitingApproval({ tick, onChanged }: { tick: number; onChanged: () => void }) {
  const { t } = useI18n();
  const [matches, reload] = useAsync(
    async (signal) => {
      const [accepted, requested] = await Promise.all([
        getAll<Match>('/v1/matches', { status: 'accepted' }, 500, signal),
        getAll<Match>('/v1/matches', { status: 'requested' }, 500, signal),
      ]);
      return [...accepted, ...requested];
    },
    [tick],
  );
  return (
    <section class="card" aria-labelledby="await-h">
      <div class="section-head">
        <h2 id="await-h" class="h2">
          {t('queueApprovalTitle')}
        </h2>
        <button type="button" class="btn btn-secondary" onClick={reload}>
          {t('refresh')}
        </button>
      </div>
      <AsyncView value={matches} onRetry={reload} isEmpty={(d) => d.length === 0}>
        {(list) => <MatchTable matches={list} onChanged={onChanged} label={t('queueApprovalTitle')} />}
      </AsyncView>
    </section>
  );
}

interface Outcome {
  message: string | null;
  failures: { id: string; title: string; detail?: string }[];
  bookedTestbed?: string;
}

function MatchTable({ matches, onChanged, label }: { matches: Match[]; onChanged: () => void; label: string }) {
  const { t, lang } = useI18n();
  const [pilots, setPilots] = useState(new Map<string, Pilot | null>());
  const [testbeds, setTestbeds] = useState(new Map<string, Testbed>());
  const [selected, setSelected] = useState(new Set<string>());
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome>({ message: null, failures: [] });

  useEffect(() => {
    let live = true;
    const ids = [...new Set(matches.map((m) => m.pilotId))];
    void Promise.all(ids.map(async (id) => [id, await pilotById(id)] as const)).then((entries) => {
      if (live) setPilots(new Map(entries));
    });
    allTestbeds().then(
      (list) => live && setTestbeds(new Map(list.map((tb) => [tb.id, tb]))),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [matches]);

  useEffect(() => {
    // Drop selections that no longer allow any action.
    setSelected((sel) => new Set([...sel].filter((id) => matches.some((m) => m.id === id && REJECTABLE.includes(m.status)))));
  }, [matches]);

  const titleOf = (m: Match) => pilots.get(m.pilotId)?.title ?? m.pilotId.slice(0, 8);
  const actionable = matches.filter((m) => REJECTABLE.includes(m.status));
  const chosen = matches.filter((m) => selected.has(m.id));
  const approvable = chosen.filter((m) => APPROVABLE.includes(m.status));
  const rejectable = chosen.filter((m) => REJECTABLE.includes(m.status));

  const act = async (action: 'approve' | 'reject', list: Match[]) => {
    setBusy(action);
    const failures: Outcome['failures'] = [];
    let ok = 0;
    let bookedTestbed: string | undefined;
    // One at a time: each approval books a slot, and the server decides each on its own. A group (a pilot's plan)
    // is decided as one by the server, so one of its matches stands for all of them.
    const groups = new Set<string>();
    const once = list.filter((m) => !m.groupId || (!groups.has(m.groupId) && Boolean(groups.add(m.groupId))));
    for (const m of once) {
      try {
        await post(`/v1/matches/${m.id}/${action}`);
        ok++;
        if (action === 'approve') bookedTestbed = m.testbedId;
      } catch (err) {
        const p = problemLines(err, t, lang);
        failures.push({ id: m.id, title: `${titleOf(m)}: ${p.title}`, detail: [p.detail, ...p.fields].filter(Boolean).join(' ') });
      }
    }
    const single = once.length === 1 && failures.length === 0;
    setOutcome({
      message: single ? t(action === 'approve' ? 'approved' : 'rejected') : t('bulkResult', { ok, failed: failures.length }),
      failures,
      bookedTestbed,
    });
    setSelected(new Set());
    setBusy(null);
    onChanged();
  };

  const allChosen = actionable.length > 0 && actionable.every((m) => selected.has(m.id));
  const toggle = (id: string) =>
    setSelected((sel) => {
      const next = new Set(sel);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <div class="matches">
      <div class="bulkbar" role="group" aria-label={label}>
        <button type="button" class="btn btn-primary" disabled={!approvable.length || !!busy} onClick={() => act('approve', approvable)}>
          {t('approveSelected', { n: approvable.length })}
        </button>
        <button type="button" class="btn btn-danger" disabled={!rejectable.length || !!busy} onClick={() => act('reject', rejectable)}>
          {t('rejectSelected', { n: rejectable.length })}
        </button>
        <Notice message={outcome.message} kind={outcome.failures.length ? 'warn' : 'ok'} />
        {outcome.bookedTestbed ? (
          <a class="btn btn-ghost" href={`#/testbeds/${outcome.bookedTestbed}`}>
            {t('bookingCreated')} → {testbeds.get(outcome.bookedTestbed)?.name ?? t('navTestbeds')}
          </a>
        ) : null}
      </div>
      {outcome.failures.length ? (
        <div class="problem problem-compact" role="alert">
          <ul class="problem-fields">
            {outcome.failures.map((f) => (
              <li key={f.id}>
                <strong>{f.title}</strong> {f.detail}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <TableWrap label={label}>
        <table class="table">
          <thead>
            <tr>
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label={t('selectAll')}
                  checked={allChosen}
                  disabled={!actionable.length}
                  onChange={() => setSelected(allChosen ? new Set() : new Set(actionable.map((m) => m.id)))}
                />
              </th>
              <th scope="col">{t('colPilot')}</th>
              <th scope="col">{t('colScore')}</th>
              <th scope="col">{t('colReasons')}</th>
              <th scope="col">{t('colStatus')}</th>
              <th scope="col">{t('colActions')}</th>
            </tr>
          </thead>
          <tbody>
            {matches.map((m) => {
              const title = titleOf(m);
              const canApprove = APPROVABLE.includes(m.status);
              const canReject = REJECTABLE.includes(m.status);
              return (
                <tr key={m.id} data-match-id={m.id} data-status={m.status}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={t('selectRow', { title })}
                      checked={selected.has(m.id)}
                      disabled={!canReject}
                      onChange={() => toggle(m.id)}
                    />
                  </td>
                  {/* Testbed, time and units sit under the title: a column each made the table wider than
                      its card at 1400 px, hiding Approve and Reject. */}
                  <th scope="row" class="cell-title">
                    {title}
                    {m.groupId ? <span class="cell-sub">{t('planStage', { stage: m.stage })}</span> : null}
                    <span class="cell-sub">{testbeds.get(m.testbedId)?.name ?? m.testbedId.slice(0, 8)}</span>
                    <span class="cell-sub">
                      {m.start && m.end ? formatRange(m.start, m.end, lang) : '–'}
                      {m.units ? ` · ${t('units', { n: m.units })}` : null}
                    </span>
                  </th>
                  <td>
                    <ScoreValue score={m.score} />
                    <BreakdownList breakdown={m.breakdown} />
                  </td>
                  <td>
                    <Reasons reasons={m.reasons} />
                  </td>
                  <td>
                    <Badge kind={m.status}>{tKey(t, 'match', m.status)}</Badge>
                    {m.status === 'proposed' ? <span class="cell-sub">{t('awaitingAcceptance')}</span> : null}
                  </td>
                  <td class="actions">
                    <button
                      type="button"
                      class="btn btn-small btn-primary"
                      disabled={!canApprove || !!busy}
                      title={m.status === 'proposed' ? t('approveHint') : undefined}
                      aria-label={`${t('approve')}: ${title}`}
                      onClick={() => act('approve', [m])}
                    >
                      {t('approve')}
                    </button>
                    <button
                      type="button"
                      class="btn btn-small btn-danger"
                      disabled={!canReject || !!busy}
                      aria-label={`${t('reject')}: ${title}`}
                      onClick={() => act('reject', [m])}
                    >
                      {t('reject')}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
    </div>
  );
}
