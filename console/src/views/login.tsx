/** Sign-in with email and password (POST /v1/auth/login); the session token goes to sessionStorage. */
import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { useI18n } from '../i18n.js';
import type { LoginResponse } from '../types.js';
import { ErrorBox, LanguageToggle } from '../ui.js';

export function Login({ onSignedIn, message }: { onSignedIn: (token: string) => void; message?: string }) {
  const { t } = useI18n();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { token } = await post<LoginResponse>('/v1/auth/login', { email: email.trim(), password });
      onSignedIn(token);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login-page">
      <div class="login-card">
        <div class="login-head">
          <span class="brand-mark" aria-hidden="true">
            AX
          </span>
          <LanguageToggle />
        </div>
        <h1>{t('appTitle')}</h1>
        <p class="lead">{t('signInLead')}</p>
        {message ? (
          <p class="notice notice-warn" role="status">
            {message}
          </p>
        ) : null}
        <form onSubmit={submit} aria-labelledby="signin-heading" noValidate>
          <h2 id="signin-heading">{t('signInTitle')}</h2>
          <label class="field">
            <span>{t('email')}</span>
            <input
              type="email"
              name="email"
              autocomplete="username"
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          </label>
          <label class="field">
            <span>{t('password')}</span>
            <input
              type="password"
              name="password"
              autocomplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </label>
          {error ? <ErrorBox error={error} compact /> : null}
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {busy ? t('signingIn') : t('signIn')}
          </button>
        </form>
      </div>
    </main>
  );
}
