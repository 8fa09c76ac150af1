/** Webhooks: the organisation's endpoints, each one's recent deliveries with status, and redeliver. */
import { useState } from 'preact/hooks';
import { get, getAll, newIdempotencyKey, post, type Page } from '../api.js';
import { useI18n, tKey } from '../i18n.js';
import { formatDateTime } from '../time.js';
import type { Me, WebhookDelivery, WebhookEndpoint } from '../types.js';
import { AsyncView, Badge, ErrorBox, Notice, TableWrap, useAsync } from '../ui.js';

const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'skipped'];

export function Webhooks({ me: _me }: { me: Me }) {
  const { t, lang } = useI18n();
  const [endpoints, reload] = useAsync(
    (signal) => getAll<WebhookEndpoint>('/v1/webhook-endpoints', {}, 500, signal),
    [],
  );
  const [chosen, setChosen] = useState<string | null>(null);

  return (
    <section aria-labelledby="wh-h">
      <div class="page-head">
        <h1 id="wh-h" tabIndex={-1}>
          {t('webhooksTitle')}
        </h1>
        <p class="lead">{t('webhooksLead')}</p>
      </div>
      <section class="card" aria-labelledby="ep-h">
        <div class="section-head">
          <h2 id="ep-h" class="h2">
            {t('endpointsTitle')}
          </h2>
          <button type="button" class="btn btn-secondary" onClick={reload}>
            {t('refresh')}
          </button>
        </div>
        <AsyncView value={endpoints} onRetry={reload} isEmpty={(d) => d.length === 0} empty={t('noEndpoints')}>
          {(list) => {
            const current = chosen ?? list[0]?.id ?? null;
            return (
              <>
                <ul class="endpoint-list">
                  {list.map((ep) => (
                    <li key={ep.id} class={ep.id === current ? 'endpoint endpoint-current' : 'endpoint'}>
                      <div class="endpoint-main">
                        <code class="endpoint-url">{ep.url}</code>
                        {ep.description ? <span class="cell-sub">{ep.description}</span> : null}
                        <ul class="tags">
                          {ep.eventTypes.map((e) => (
                            <li key={e} class="tag">
                              {e}
                            </li>
                          ))}
                        </ul>
                      </div>
                      <div class="endpoint-side">
                        <Badge kind={ep.status}>{tKey(t, 'endpoint', ep.status)}</Badge>
                        {ep.failingSince ? (
                          <span class="cell-sub warn">
                            {t('failingSince', { time: formatDateTime(ep.failingSince, lang) })}
                          </span>
                        ) : null}
                        {ep.disabledReason ? <span class="cell-sub">{ep.disabledReason}</span> : null}
                        <button
                          type="button"
                          class="btn btn-small btn-secondary"
                          aria-pressed={ep.id === current}
                          aria-label={`${t('viewDeliveries')}: ${ep.url}`}
                          onClick={() => setChosen(ep.id)}
                        >
                          {t('viewDeliveries')}
                        </button>
                      </div>
                    </li>
                  ))}
                </ul>
                {current ? <Deliveries endpoint={list.find((e) => e.id === current)!} key={current} /> : null}
              </>
            );
          }}
        </AsyncView>
      </section>
      <NewEndpoint onCreated={reload} />
    </section>
  );
}

/** Used when the OpenAPI document cannot be read; the document's EventType enum is the full list. */
const COMMON_EVENTS = [
  'booking.confirmed',
  'booking.cancelled',
  'match.proposed',
  'match.requested',
  'match.accepted',
  'match.rejected',
];

/** The event types an endpoint may subscribe to, from the service's own OpenAPI document (never a copy kept here). */
async function eventTypes(signal: AbortSignal): Promise<string[]> {
  type Doc = { components?: { schemas?: Record<string, { enum?: string[] }> } };
  const doc = await get<Doc>('/openapi.json', undefined, signal);
  const all = doc.components?.schemas?.EventType?.enum ?? COMMON_EVENTS;
  return all.filter((e) => e !== 'webhook.test'); // sent only by a test ping, whatever an endpoint subscribes to
}

/** POST /v1/webhook-endpoints for operators and partners alike; the signing secret is shown once, here. */
function NewEndpoint({ onCreated }: { onCreated: () => void }) {
  const { t } = useI18n();
  const [types] = useAsync((signal) => eventTypes(signal), []);
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [chosen, setChosen] = useState<Set<string>>(new Set(['booking.confirmed']));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<{ url: string; secret: string } | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setCreated(null);
    if (!chosen.size) {
      setError(new Error(t('chooseEvents')));
      return;
    }
    setBusy(true);
    try {
      const text = description.trim();
      const body = { url: url.trim(), eventTypes: [...chosen], ...(text ? { description: text } : {}) };
      const idempotencyKey = newIdempotencyKey();
      const ep = await post<WebhookEndpoint>('/v1/webhook-endpoints', body, { idempotencyKey });
      setCreated({ url: ep.url, secret: ep.secret ?? '' });
      setUrl('');
      setDescription('');
      onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card new-endpoint" onSubmit={submit} aria-labelledby="new-ep-h">
      <h2 id="new-ep-h" class="h2">
        {t('newEndpointTitle')}
      </h2>
      <div class="filters">
        <label class="field field-grow">
          <span>{t('endpointUrl')}</span>
          <input
            type="url"
            name="url"
            required
            placeholder="https://"
            value={url}
            onInput={(e) => setUrl(e.currentTarget.value)}
          />
        </label>
        <label class="field field-grow">
          <span>{t('endpointDescription')}</span>
          <input
            type="text"
            name="description"
            maxLength={500}
            value={description}
            onInput={(e) => setDescription(e.currentTarget.value)}
          />
        </label>
      </div>
      <fieldset class="event-types">
        <legend>{t('eventTypes')}</legend>
        {(types.data ?? COMMON_EVENTS).map((type) => (
          <label key={type} class="field-inline event-type">
            <input
              type="checkbox"
              checked={chosen.has(type)}
              onChange={() => {
                const next = new Set(chosen);
                if (next.has(type)) next.delete(type);
                else next.add(type);
                setChosen(next);
              }}
            />
            <code>{type}</code>
          </label>
        ))}
      </fieldset>
      <button type="submit" class="btn btn-primary" disabled={busy}>
        {busy ? t('adding') : t('addEndpoint')}
      </button>
      {error ? <ErrorBox error={error} compact /> : null}
      {created ? (
        <div class="notice notice-ok" role="status">
          <p>{t('endpointCreated')}</p>
          <p>
            {t('signingSecret')} ({created.url}): <code class="secret">{created.secret}</code>
          </p>
        </div>
      ) : null}
    </form>
  );
}

function Deliveries({ endpoint }: { endpoint: WebhookEndpoint }) {
  const { t, lang } = useI18n();
  const [status, setStatus] = useState('');
  const [deliveries, reload] = useAsync(
    (signal) =>
      get<Page<WebhookDelivery>>(
        `/v1/webhook-endpoints/${endpoint.id}/deliveries`,
        { status: status || undefined, limit: 50 },
        signal,
      ),
    [endpoint.id, status],
  );
  const [busy, setBusy] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const redeliver = async (d: WebhookDelivery) => {
    setBusy(d.id);
    setNotice(null);
    setError(null);
    try {
      await post(`/v1/deliveries/${d.id}/redeliver`, undefined, { idempotencyKey: newIdempotencyKey() });
      setNotice(t('redelivered'));
      reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section class="deliveries" aria-labelledby="del-h">
      <div class="section-head">
        <h3 id="del-h" class="h3">
          {t('deliveriesOf', { url: endpoint.url })}
        </h3>
        <label class="field field-inline">
          <span>{t('filterStatus')}</span>
          <select name="delivery-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">{t('all')}</option>
            {DELIVERY_STATUSES.map((s) => (
              <option key={s} value={s}>
                {tKey(t, 'delivery', s)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="btn btn-secondary" onClick={reload}>
          {t('refresh')}
        </button>
      </div>
      <Notice message={notice} />
      {error ? <ErrorBox error={error} compact /> : null}
      <AsyncView value={deliveries} onRetry={reload} isEmpty={(p) => !p.data.length} empty={t('noDeliveries')}>
        {(page) => (
          <TableWrap label={t('deliveriesTitle')}>
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">{t('colEvent')}</th>
                  <th scope="col">{t('colStatus')}</th>
                  <th scope="col" class="num">
                    {t('colAttempts')}
                  </th>
                  <th scope="col">{t('colLastError')}</th>
                  <th scope="col">{t('colCreated')}</th>
                  <th scope="col">{t('colNext')}</th>
                  <th scope="col">{t('colActions')}</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((d) => (
                  <tr key={d.id} data-delivery-id={d.id}>
                    <th scope="row">
                      <code>{d.eventType}</code>
                      {d.redeliveryOf ? <span class="cell-sub">↻</span> : null}
                    </th>
                    <td>
                      <Badge kind={d.status}>{tKey(t, 'delivery', d.status)}</Badge>
                    </td>
                    <td class="num">{d.attemptCount}</td>
                    <td class="cell-error">
                      {d.lastError ?? '–'}
                      {d.attempts.length ? (
                        <details>
                          <summary>{t('attemptsDetail')}</summary>
                          <ol class="attempts">
                            {d.attempts.map((a, i) => (
                              <li key={i}>
                                {formatDateTime(a.attemptedAt, lang)} · {a.statusCode ?? '—'} · {a.durationMs} ms
                                {a.error ? ` · ${a.error}` : ''}
                              </li>
                            ))}
                          </ol>
                        </details>
                      ) : null}
                    </td>
                    <td class="nowrap">{formatDateTime(d.createdAt, lang)}</td>
                    <td class="nowrap">{d.nextAttemptAt ? formatDateTime(d.nextAttemptAt, lang) : '–'}</td>
                    <td>
                      <button
                        type="button"
                        class="btn btn-small btn-secondary"
                        disabled={busy === d.id}
                        aria-label={`${t('redeliver')}: ${d.eventType}`}
                        onClick={() => redeliver(d)}
                      >
                        {t('redeliver')}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </AsyncView>
    </section>
  );
}
