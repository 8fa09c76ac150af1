/** Shared pieces: the async-state hook and the loading / empty / failure views every screen uses. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, problemStrings } from './api.js';
import { localProblemTitle, useI18n, type Lang, type Translate } from './i18n.js';

export type Async<T> =
  { state: 'loading'; data?: T } | { state: 'ok'; data: T } | { state: 'error'; error: unknown; data?: T };

/** Runs `load` when deps change (aborting the previous run) and on reload(). */
export function useAsync<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
): [Async<T>, () => void, (data: T) => void] {
  const [value, setValue] = useState<Async<T>>({ state: 'loading' });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const ctl = new AbortController();
    setValue((v) => ({ state: 'loading', data: v.data }));
    loadRef.current(ctl.signal).then(
      (data) => {
        if (!ctl.signal.aborted) setValue({ state: 'ok', data });
      },
      (error: unknown) => {
        if (!ctl.signal.aborted) setValue((v) => ({ state: 'error', error, data: v.data }));
      },
    );
    return () => ctl.abort();
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const set = useCallback((data: T) => setValue({ state: 'ok', data }), []);
  return [value, reload, set];
}

export function Loading({ label }: { label?: string }) {
  const { t } = useI18n();
  return (
    <p class="state state-loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {label ?? t('loading')}
    </p>
  );
}

export function Empty({ children }: { children?: ComponentChildren }) {
  const { t } = useI18n();
  return <p class="state state-empty">{children ?? t('empty')}</p>;
}

export function problemLines(
  error: unknown,
  t: Translate,
  lang: Lang,
): { title: string; detail?: string; fields: string[]; status?: number } {
  if (error instanceof ApiError) {
    const p = error.problem;
    if (error.status === 0) return { title: t('networkError'), detail: p.detail, fields: [] };
    const fields = (p.errors ?? []).map((e) => `${e.pointer}: ${e.message}`);
    fields.push(...problemStrings(p, 'reasons'));
    return {
      title: localProblemTitle(lang, p.code) ?? p.title ?? t('errorTitle'),
      detail: p.detail,
      fields,
      status: error.status,
    };
  }
  return { title: t('errorTitle'), detail: error instanceof Error ? error.message : String(error), fields: [] };
}

/** A problem+json error, readable: its title, detail and per-field messages. */
export function ErrorBox({ error, onRetry, compact }: { error: unknown; onRetry?: () => void; compact?: boolean }) {
  const { t, lang } = useI18n();
  const p = problemLines(error, t, lang);
  return (
    <div class={compact ? 'problem problem-compact' : 'problem'} role="alert">
      <p class="problem-title">
        <strong>{p.title}</strong>
        {p.status ? <span class="problem-status"> ({t('httpStatus', { status: p.status })})</span> : null}
      </p>
      {p.detail ? <p class="problem-detail">{p.detail}</p> : null}
      {p.fields.length ? (
        <ul class="problem-fields" aria-label={t('fieldErrors')}>
          {p.fields.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      ) : null}
      {onRetry ? (
        <button type="button" class="btn btn-secondary" onClick={onRetry}>
          {t('retry')}
        </button>
      ) : null}
    </div>
  );
}

/** Renders the three states of an Async, or the content once there is data. */
export function AsyncView<T>({
  value,
  onRetry,
  isEmpty,
  empty,
  children,
}: {
  value: Async<T>;
  onRetry?: () => void;
  isEmpty?: (data: T) => boolean;
  empty?: ComponentChildren;
  children: (data: T) => ComponentChildren;
}) {
  if (value.state === 'error') return <ErrorBox error={value.error} onRetry={onRetry} />;
  if (value.state === 'loading' && value.data === undefined) return <Loading />;
  const data = value.data as T;
  return (
    <div aria-busy={value.state === 'loading' ? 'true' : 'false'}>
      {isEmpty?.(data) ? <Empty>{empty}</Empty> : children(data)}
    </div>
  );
}

export function Badge({ kind, children }: { kind: string; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

/** A wide table in a scrollable, keyboard-focusable region. */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** A polite live region for outcomes of actions ("Approved."). */
export function Notice({ message, kind = 'ok' }: { message: string | null; kind?: 'ok' | 'warn' }) {
  return (
    <p class={message ? `notice notice-${kind}` : 'notice notice-empty'} role="status" aria-live="polite">
      {message ?? ''}
    </p>
  );
}

/** Switches between Korean and English; on the sign-in page and in the top bar. */
export function LanguageToggle() {
  const { lang, setLang, t } = useI18n();
  const other: Lang = lang === 'ko' ? 'en' : 'ko';
  return (
    <button
      type="button"
      class="btn btn-ghost lang-toggle"
      lang={other}
      title={t('switchLanguageLabel')}
      onClick={() => setLang(other)}
    >
      {t('switchLanguage')}
    </button>
  );
}
