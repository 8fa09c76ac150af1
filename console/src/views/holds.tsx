/**
 * Holds that expired (GET /v1/matches?status=expired): a requested match or an accepted proposal nobody decided
 * within HOLD_TTL_SECONDS, or before its slot started. Its units are free again; the list says when each lapsed
 * (`expiresAt`) and what it had held, so the office can chase the pilot or its testbed.
 */
import { useEffect, useState } from 'preact/hooks';
import { getAll } from '../api.js';
import { allTestbeds, pilotById } from '../catalog.js';
import { useI18n, tKey } from '../i18n.js';
import { formatDateTime, formatRange } from '../time.js';
import type { Match, Pilot, Testbed } from '../types.js';
import { AsyncView, TableWrap, useAsync } from '../ui.js';

/** How many expired matches the queue lists, newest expiry first. */
const SHOWN = 200;

/**
 * What the match held while it was live: a request (origin request, waitlist or extension) held its units from
 * the start; a proposal only once accepted. Proposals nobody accepted held nothing.
 */
function heldUnits(m: Match): number {
  const requested = m.origin === 'request' || m.origin === 'waitlist' || m.origin === 'extension';
  return requested || m.acceptedAt ? m.units : 0;
}

export function ExpiredHolds() {
  const { t, lang } = useI18n();
  const [matches, reload] = useAsync(async (signal) => {
    const list = await getAll<Match>('/v1/matches', { status: 'expired' }, SHOWN, signal);
    // Newest expiry first; a plan's sessions (one expiry) stay together, in start order.
    return list.sort(
      (a, b) =>
        (b.expiresAt ?? '').localeCompare(a.expiresAt ?? '') ||
        (a.groupId ?? a.id).localeCompare(b.groupId ?? b.id) ||
        a.start.localeCompare(b.start),
    );
  }, []);
  const [pilots, setPilots] = useState(new Map<string, Pilot | null>());
  const [testbeds, setTestbeds] = useState(new Map<string, Testbed>());

  useEffect(() => {
    let live = true;
    const list = matches.data ?? [];
    const ids = [...new Set(list.map((m) => m.pilotId))];
    void Promise.all(ids.map(async (id) => [id, await pilotById(id)] as const)).then((entries) => {
      if (live) setPilots(new Map(entries));
    });
    allTestbeds().then(
      (all) => live && setTestbeds(new Map(all.map((tb) => [tb.id, tb]))),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [matches.data]);

  return (
    <section class="card" aria-labelledby="expired-h">
      <div class="section-head">
        <h2 id="expired-h" class="h2">
          {t('expiredTitle')}
        </h2>
        <button type="button" class="btn btn-secondary" onClick={reload}>
          {t('refresh')}
        </button>
      </div>
      <p class="lead">{t('expiredLead')}</p>
      <AsyncView value={matches} onRetry={reload} isEmpty={(list) => list.length === 0} empty={t('expiredNone')}>
        {(list) => (
          <TableWrap label={t('expiredTitle')}>
            <table class="table table-compact">
              <thead>
                <tr>
                  <th scope="col">{t('colPilot')}</th>
                  <th scope="col">{t('colSlot')}</th>
                  <th scope="col">{t('colHeld')}</th>
                  <th scope="col">{t('colOrigin')}</th>
                  <th scope="col">{t('colExpiredAt')}</th>
                </tr>
              </thead>
              <tbody>
                {list.map((m) => {
                  const held = heldUnits(m);
                  return (
                    <tr key={m.id} data-match-id={m.id} data-status={m.status}>
                      <th scope="row" class="cell-title">
                        {pilots.get(m.pilotId)?.title ?? m.pilotId.slice(0, 8)}
                        {m.groupId ? <span class="cell-sub">{t('stageOfPlan', { stage: m.stage })}</span> : null}
                      </th>
                      <td>
                        {testbeds.get(m.testbedId)?.name ?? m.testbedId.slice(0, 8)}
                        <span class="cell-sub nowrap">{formatRange(m.start, m.end, lang)}</span>
                      </td>
                      <td>{held ? t('heldUnits', { n: held }) : <span class="muted">{t('heldNothing')}</span>}</td>
                      <td>{tKey(t, 'origin', m.origin)}</td>
                      <td class="nowrap">
                        {m.expiresAt ? <time dateTime={m.expiresAt}>{formatDateTime(m.expiresAt, lang)}</time> : '–'}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        )}
      </AsyncView>
    </section>
  );
}
