/**
 * Matching: start an allocation run for a scope (POST /v1/allocation-runs), read its summary (optimal vs
 * greedy vs LP bound) and proposals with score, breakdown and reasons, and approve or reject matches one by
 * one or in bulk. A proposal is approved after its startup accepts it; "awaiting approval" lists those.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, getAll, newIdempotencyKey, post } from '../api.js';
import { allTestbeds, domainLabel, pilotById, useCatalog } from '../catalog.js';
import { useI18n, tKey } from '../i18n.js';
import { addDays, formatNumber, formatRange, fromDateInput, hoursBetween, kstDayStart, toDateInput } from '../time.js';
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
        runId ? (
          <RunView runId={runId} tick={tick} onChanged={refreshAll} />
        ) : (
          <Empty>{t('noRunYet')}</Empty>
        )
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
      const body = {
        ...(domain ? { domain } : {}),
        from: from.toISOString(),
        to: addDays(to, 1).toISOString(),
        method,
      };
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
        <label class="field">
          <span>{t('method')}</span>
          <select
            name="method"
            value={method}
            onChange={(e) => setMethod(e.currentTarget.value === 'greedy' ? 'greedy' : 'optimal')}
          >
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
  const [run, reloadRun] = useAsync(
    (signal) => get<AllocationRun>(`/v1/allocation-runs/${runId}`, undefined, signal),
    [runId],
  );
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
    [
      t('sumSolver'),
      [s.solver.name, s.solver.status, s.solver.fallback ? `→ ${s.solver.fallback}` : ''].filter(Boolean).join(' · ') ||
        '–',
    ],
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
      {/* Not AsyncView's empty state: the table stays mounted when its last entry is decided, so the outcome shows. */}
      <AsyncView value={matches} onRetry={reload}>
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

/**
 * What the operator decides on: one match, or a pilot's plan (the matches sharing a groupId, in start order),
 * which the server accepts, approves or rejects as one.
 */
interface Entry {
  key: string;
  matches: Match[];
  group: boolean;
}

function entriesOf(matches: Match[]): Entry[] {
  const out: Entry[] = [];
  const groups = new Map<string, Entry>();
  for (const m of matches) {
    if (!m.groupId) {
      out.push({ key: m.id, matches: [m], group: false });
      continue;
    }
    let entry = groups.get(m.groupId);
    if (!entry) {
      entry = { key: m.groupId, matches: [], group: true };
      groups.set(m.groupId, entry);
      out.push(entry);
    }
    entry.matches.push(m);
  }
  for (const e of groups.values()) e.matches.sort((a, b) => a.start.localeCompare(b.start));
  return out;
}

const canApprove = (e: Entry) => e.matches.every((m) => APPROVABLE.includes(m.status));
const canReject = (e: Entry) => e.matches.some((m) => REJECTABLE.includes(m.status));

/** Credits a session books at the testbed's current rate (fixed only when the booking is confirmed). */
function sessionCredits(m: Match, testbed: Testbed | undefined): number | null {
  return testbed ? Math.ceil(m.units * hoursBetween(m.start, m.end) * testbed.creditRate) : null;
}

function MatchTable({ matches, onChanged, label }: { matches: Match[]; onChanged: () => void; label: string }) {
  const { t, lang } = useI18n();
  const [pilots, setPilots] = useState(new Map<string, Pilot | null>());
  const [testbeds, setTestbeds] = useState(new Map<string, Testbed>());
  const [selected, setSelected] = useState(new Set<string>());
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome>({ message: null, failures: [] });
  const entries = useMemo(() => entriesOf(matches), [matches]);

  useEffect(() => {
    let live = true;
    const ids = [...new Set(matches.map((m) => m.pilotId))];
    void Promise.all(ids.map(async (id) => [id, await pilotById(id)] as const)).then((found) => {
      if (live) setPilots(new Map(found));
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
    setSelected((sel) => new Set([...sel].filter((key) => entries.some((e) => e.key === key && canReject(e)))));
  }, [entries]);

  const titleOf = (m: Match) => pilots.get(m.pilotId)?.title ?? m.pilotId.slice(0, 8);
  const actionable = entries.filter(canReject);
  const chosen = entries.filter((e) => selected.has(e.key));
  const approvable = chosen.filter(canApprove);
  const rejectable = chosen.filter(canReject);

  const act = async (action: 'approve' | 'reject', list: Entry[]) => {
    setBusy(action);
    const failures: Outcome['failures'] = [];
    let ok = 0;
    let bookedTestbed: string | undefined;
    // One at a time: each approval books, and the server decides each on its own. A plan is decided as one by
    // the server, so its first match stands for all of them.
    for (const e of list) {
      const m = e.matches[0]!;
      try {
        await post(`/v1/matches/${m.id}/${action}`);
        ok++;
        if (action === 'approve') bookedTestbed = m.testbedId;
      } catch (err) {
        const p = problemLines(err, t, lang);
        const detail = [p.detail, ...p.fields].filter(Boolean).join(' ');
        failures.push({ id: e.key, title: `${titleOf(m)}: ${p.title}`, detail });
      }
    }
    const single = list.length === 1 && failures.length === 0;
    const plan = list.length === 1 && list[0]!.group;
    const done = action === 'approve' ? (plan ? 'planApproved' : 'approved') : plan ? 'planRejected' : 'rejected';
    setOutcome({
      message: single ? t(done) : t('bulkResult', { ok, failed: failures.length }),
      failures,
      bookedTestbed,
    });
    setSelected(new Set());
    setBusy(null);
    onChanged();
  };

  const allChosen = actionable.length > 0 && actionable.every((e) => selected.has(e.key));
  const toggle = (key: string) =>
    setSelected((sel) => {
      const next = new Set(sel);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const checkbox = (e: Entry, name: string) => (
    <input
      type="checkbox"
      aria-label={name}
      checked={selected.has(e.key)}
      disabled={!canReject(e)}
      onChange={() => toggle(e.key)}
    />
  );
  const actions = (e: Entry, title: string) => {
    const plan = e.group;
    const proposed = e.matches.some((m) => m.status === 'proposed');
    return (
      <td class="actions">
        <button
          type="button"
          class="btn btn-small btn-primary"
          disabled={!canApprove(e) || !!busy}
          title={proposed ? t('approveHint') : undefined}
          aria-label={`${t(plan ? 'approvePlan' : 'approve')}: ${title}`}
          onClick={() => act('approve', [e])}
        >
          {t(plan ? 'approvePlan' : 'approve')}
        </button>
        <button
          type="button"
          class="btn btn-small btn-danger"
          disabled={!canReject(e) || !!busy}
          aria-label={`${t(plan ? 'rejectPlan' : 'reject')}: ${title}`}
          onClick={() => act('reject', [e])}
        >
          {t(plan ? 'rejectPlan' : 'reject')}
        </button>
      </td>
    );
  };
  const status = (m: Match) => (
    <>
      <Badge kind={m.status}>{tKey(t, 'match', m.status)}</Badge>
      {m.status === 'proposed' ? <span class="cell-sub">{t('awaitingAcceptance')}</span> : null}
    </>
  );
  // Testbed, time and units sit under the title: a column each made the table wider than its card at 1400 px,
  // hiding Approve and Reject.
  const where = (m: Match) => (
    <>
      <span class="cell-sub">{testbeds.get(m.testbedId)?.name ?? m.testbedId.slice(0, 8)}</span>
      <span class="cell-sub">
        {formatRange(m.start, m.end, lang)} · {t('units', { n: m.units })}
      </span>
    </>
  );

  return (
    <div class="matches">
      <div class="bulkbar" role="group" aria-label={label}>
        <button
          type="button"
          class="btn btn-primary"
          disabled={!approvable.length || !!busy}
          onClick={() => act('approve', approvable)}
        >
          {t('approveSelected', { n: approvable.length })}
        </button>
        <button
          type="button"
          class="btn btn-danger"
          disabled={!rejectable.length || !!busy}
          onClick={() => act('reject', rejectable)}
        >
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
      {entries.length === 0 ? (
        <Empty />
      ) : (
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
                    onChange={() => setSelected(allChosen ? new Set() : new Set(actionable.map((e) => e.key)))}
                  />
                </th>
                <th scope="col">{t('colPilot')}</th>
                <th scope="col">{t('colScore')}</th>
                <th scope="col">{t('colReasons')}</th>
                <th scope="col">{t('colStatus')}</th>
                <th scope="col">{t('colActions')}</th>
              </tr>
            </thead>
            {entries.map((e) => {
              const first = e.matches[0]!;
              const title = titleOf(first);
              if (!e.group) {
                return (
                  <tbody key={e.key}>
                    <tr data-match-id={first.id} data-status={first.status}>
                      <td>{checkbox(e, t('selectRow', { title }))}</td>
                      <th scope="row" class="cell-title">
                        {title}
                        {where(first)}
                      </th>
                      <td>
                        <ScoreValue score={first.score} />
                        <BreakdownList breakdown={first.breakdown} />
                      </td>
                      <td>
                        <Reasons reasons={first.reasons} />
                      </td>
                      <td>{status(first)}</td>
                      {actions(e, title)}
                    </tr>
                  </tbody>
                );
              }
              return (
                <PlanRows
                  key={e.key}
                  entry={e}
                  title={title}
                  pilot={pilots.get(first.pilotId) ?? null}
                  testbeds={testbeds}
                  checkbox={checkbox(e, t('selectPlan', { title }))}
                  actions={actions(e, title)}
                  status={status}
                  where={where}
                />
              );
            })}
          </table>
        </TableWrap>
      )}
    </div>
  );
}

/**
 * A plan: a head row (pilot, sessions, hours, credits at today's rates against the budget left, one pair of
 * actions for the whole plan) and a row per session (stage, testbed, time, score, reasons, status).
 */
function PlanRows({
  entry,
  title,
  pilot,
  testbeds,
  checkbox,
  actions,
  status,
  where,
}: {
  entry: Entry;
  title: string;
  pilot: Pilot | null;
  testbeds: Map<string, Testbed>;
  checkbox: JSX.Element;
  actions: JSX.Element;
  status: (m: Match) => JSX.Element;
  where: (m: Match) => JSX.Element;
}) {
  const { t, lang } = useI18n();
  const ms = entry.matches;
  const hours = ms.reduce((sum, m) => sum + hoursBetween(m.start, m.end), 0);
  const costs = ms.map((m) => sessionCredits(m, testbeds.get(m.testbedId)));
  const credits = costs.every((c): c is number => c !== null) ? costs.reduce((a, b) => a + b, 0) : null;
  // The plan's score as the server ranks plans: its sessions' scores weighted by their hours.
  const scored = ms.filter((m) => m.score !== null);
  const weight = scored.reduce((sum, m) => sum + hoursBetween(m.start, m.end), 0);
  const weighted = scored.reduce((sum, m) => sum + (m.score ?? 0) * hoursBetween(m.start, m.end), 0);
  const score = weight > 0 ? weighted / weight : null;
  const budget = pilot?.budget ?? null;
  const over = budget !== null && credits !== null && credits > budget.remaining;
  const statuses = [...new Set(ms.map((m) => m.status))];
  const n = (v: number) => formatNumber(v, lang, 0);
  return (
    <tbody class="plan" data-group-id={entry.key}>
      <tr class="plan-head" data-status={statuses.length === 1 ? statuses[0] : 'mixed'}>
        <td>{checkbox}</td>
        <th scope="row" class="cell-title">
          {title}
          <span class="cell-sub">
            {t('planSummary', { n: ms.length, hours: formatNumber(hours, lang, 1) })}
            {credits !== null ? ` · ${t('planCredits', { n: n(credits) })}` : ''}
          </span>
          {budget ? (
            <span class={over ? 'cell-sub plan-over' : 'cell-sub'}>
              {t('budgetRemaining', { remaining: n(budget.remaining), credits: n(budget.credits) })}
              {over ? ` · ${t('planOverBudget')}` : ''}
            </span>
          ) : null}
        </th>
        <td>
          <ScoreValue score={score} />
        </td>
        <td>
          <span class="muted">{t('planTogether')}</span>
        </td>
        <td>{statuses.length === 1 ? status(ms[0]!) : <Badge kind="mixed">{t('planMixed')}</Badge>}</td>
        {actions}
      </tr>
      {ms.map((m) => (
        <tr key={m.id} class="plan-session" data-match-id={m.id} data-status={m.status}>
          <td />
          <th scope="row" class="cell-title">
            <span class="stage-key">{m.stage}</span>
            {where(m)}
          </th>
          <td>
            <ScoreValue score={m.score} />
            <BreakdownList breakdown={m.breakdown} />
          </td>
          <td>
            <Reasons reasons={m.reasons} />
          </td>
          <td>{status(m)}</td>
          <td />
        </tr>
      ))}
    </tbody>
  );
}
