/**
 * The shell: sign-in, the signed-in user (GET /v1/me), reference data, the language toggle and hash routing
 * between the four screens (#/queue, #/testbeds, #/matching, #/webhooks).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, get, post, session, setApiLanguage, setUnauthorizedHandler } from './api.js';
import { CatalogContext, clearSessionCache, loadCatalog, type Catalog } from './catalog.js';
import { I18nContext, initialLang, saveLang, translator, useI18n, type Lang, type MessageKey } from './i18n.js';
import type { Me } from './types.js';
import { ErrorBox, LanguageToggle, Loading } from './ui.js';
import { Login } from './views/login.js';
import { Matching } from './views/matching.js';
import { Queue } from './views/queue.js';
import { Testbeds } from './views/testbeds.js';
import { Webhooks } from './views/webhooks.js';

type Screen = 'queue' | 'testbeds' | 'matching' | 'webhooks';
const SCREENS: { id: Screen; label: MessageKey }[] = [
  { id: 'queue', label: 'navQueue' },
  { id: 'testbeds', label: 'navTestbeds' },
  { id: 'matching', label: 'navMatching' },
  { id: 'webhooks', label: 'navWebhooks' },
];

function parseHash(): { screen: Screen; arg?: string } {
  const [, screen, arg] = /^#\/([a-z]+)(?:\/([^/?#]+))?/.exec(location.hash) ?? [];
  const known = SCREENS.find((s) => s.id === screen);
  return { screen: known ? known.id : 'queue', arg: arg ? decodeURIComponent(arg) : undefined };
}

export function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const setLang = useCallback((next: Lang) => {
    saveLang(next);
    setApiLanguage(next);
    setLangState(next);
  }, []);
  useEffect(() => {
    saveLang(lang);
    setApiLanguage(lang);
  }, []);
  const i18n = useMemo(() => ({ lang, t: translator(lang), setLang }), [lang, setLang]);
  useEffect(() => {
    document.title = i18n.t('appTitle');
  }, [i18n]);

  return (
    <I18nContext.Provider value={i18n}>
      <Session />
    </I18nContext.Provider>
  );
}

type SessionState =
  | { kind: 'checking' }
  | { kind: 'signed-out'; message?: MessageKey }
  | { kind: 'signed-in'; me: Me }
  | { kind: 'failed'; error: unknown };

function Session() {
  const { t } = useI18n();
  const [state, setState] = useState<SessionState>(() =>
    session.token ? { kind: 'checking' } : { kind: 'signed-out' },
  );
  const [catalog, setCatalog] = useState<Catalog | null>(null);
  const [catalogError, setCatalogError] = useState<unknown>(null);

  const loadCatalogOnce = useCallback(() => {
    setCatalogError(null);
    loadCatalog().then(setCatalog, setCatalogError);
  }, []);
  useEffect(loadCatalogOnce, []);

  const signOutLocal = useCallback((message?: MessageKey) => {
    session.clear();
    clearSessionCache();
    setState({ kind: 'signed-out', message });
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => signOutLocal('sessionExpired'));
  }, [signOutLocal]);

  const fetchMe = useCallback(async () => {
    try {
      const me = await get<Me>('/v1/me');
      setState({ kind: 'signed-in', me });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) signOutLocal('sessionExpired');
      // The server is down or failing: keep the token and offer a retry rather than a sign-in form.
      else setState({ kind: 'failed', error: err });
    }
  }, [signOutLocal]);

  useEffect(() => {
    if (state.kind === 'checking') void fetchMe();
  }, [state.kind, fetchMe]);

  const onSignedIn = useCallback((token: string) => {
    session.set(token);
    setState({ kind: 'checking' });
  }, []);

  const signOut = useCallback(async () => {
    try {
      await post('/v1/auth/logout');
    } catch {
      // The token is dropped either way; an expired one cannot be logged out twice.
    }
    signOutLocal('signedOut');
  }, [signOutLocal]);

  if (catalogError && !catalog) {
    return (
      <main id="main" class="page-narrow">
        <ErrorBox error={catalogError} onRetry={loadCatalogOnce} />
      </main>
    );
  }
  if (state.kind === 'failed') {
    return (
      <main id="main" class="page-narrow">
        <ErrorBox error={state.error} onRetry={() => setState({ kind: 'checking' })} />
      </main>
    );
  }
  if (!catalog || state.kind === 'checking') {
    return (
      <main id="main" class="page-narrow">
        <Loading />
      </main>
    );
  }
  return (
    <CatalogContext.Provider value={catalog}>
      {state.kind === 'signed-out' ? (
        <Login onSignedIn={onSignedIn} message={state.message ? t(state.message) : undefined} />
      ) : (
        <Shell me={state.me} onSignOut={signOut} />
      )}
    </CatalogContext.Provider>
  );
}

function Shell({ me, onSignOut }: { me: Me; onSignOut: () => void }) {
  const { t } = useI18n();
  const [route, setRoute] = useState(parseHash);
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);

  useEffect(() => {
    const onHash = () => setRoute(parseHash());
    addEventListener('hashchange', onHash);
    if (!location.hash) history.replaceState(null, '', '#/queue');
    return () => removeEventListener('hashchange', onHash);
  }, []);

  // After a screen change, move focus to its heading so keyboard and screen-reader users land on it.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    mainRef.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route.screen]);

  const roleKey: MessageKey =
    me.role === 'operator' ? 'roleOperator' : me.role === 'partner' ? 'rolePartner' : 'roleStartup';

  return (
    <>
      <a
        class="skip-link"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          mainRef.current?.focus();
        }}
      >
        {t('skipToMain')}
      </a>
      <header class="topbar">
        <div class="brand">
          <span class="brand-mark" aria-hidden="true">
            AX
          </span>
          <span class="brand-name">{t('appShort')}</span>
        </div>
        <nav aria-label={t('navLabel')} class="nav">
          <ul>
            {SCREENS.map((s) => (
              <li key={s.id}>
                <a href={`#/${s.id}`} aria-current={route.screen === s.id ? 'page' : undefined} class="nav-link">
                  {t(s.label)}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="userbox">
          <span class="user-name">
            {t('signedInAs', { name: me.user.name, org: me.organization.name })}{' '}
            <span class="role">({t(roleKey)})</span>
          </span>
          <LanguageToggle />
          <button type="button" class="btn btn-ghost" onClick={onSignOut}>
            {t('signOut')}
          </button>
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1} class="page">
        {me.role === 'startup' ? <p class="notice notice-warn">{t('startupNotice')}</p> : null}
        {route.screen === 'queue' && <Queue me={me} />}
        {route.screen === 'testbeds' && <Testbeds me={me} testbedId={route.arg} />}
        {route.screen === 'matching' && <Matching me={me} />}
        {route.screen === 'webhooks' && <Webhooks me={me} />}
      </main>
    </>
  );
}
