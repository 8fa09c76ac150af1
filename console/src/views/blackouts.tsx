/**
 * Testbed operations on the calendar: blackouts (bands over the week, added from a day or the form, removed,
 * each with the bookings it cancelled and the re-offers made to their pilots), and per slot the units held by
 * pending requests and the pilots waiting for units.
 */
import { useState } from 'preact/hooks';
import { get, getAll, newIdempotencyKey, post, request } from '../api.js';
import { tKey, useI18n, type MessageKey, type Translate } from '../i18n.js';
import { addDays, formatRange, formatTime, KST_OFFSET_MS } from '../time.js';
import type { Blackout, BlackoutCreate, Booking, Match, Me, Pilot, Slot, Testbed, WaitlistEntry } from '../types.js';
import { Badge, ErrorBox, Notice, TableWrap } from '../ui.js';

/** A slot with the operations fields of schemas/slot.json (optional, so an older server still renders). */
export type OpsSlot = Slot & { heldUnits?: number; blockedBy?: { blackoutId: string; reason: string } | null };

/**
 * The API shows every waitlist entry and every displaced booking to operators and the testbed's owner only;
 * anyone else would see a partial count, so the console shows them these figures not at all.
 */
export const managesTestbed = (me: Me, testbed: Testbed): boolean =>
  me.role === 'operator' || (!!testbed.organizationId && testbed.organizationId === me.organization.id);

export interface OpsData {
  blackouts: Blackout[];
  /** Waiting entries per slot in queue order; null when not loaded (month view, or not every entry visible). */
  waitlists: Map<string, WaitlistEntry[]> | null;
  /** The cancelled bookings and the re-offered matches named by the blackouts (null: gone or not visible). */
  bookings: Map<string, Booking | null>;
  reoffers: Map<string, Match | null>;
}

export async function loadOperations(
  testbedId: string,
  slots: Slot[],
  window: { from: string; to: string },
  opts: { waitlists: boolean },
  signal: AbortSignal,
): Promise<OpsData> {
  const now = Date.now();
  const [blackouts, waitlists] = await Promise.all([
    getAll<Blackout>(`/v1/testbeds/${testbedId}/blackouts`, window, 1000, signal),
    opts.waitlists
      ? Promise.all(
          // Nobody can join the waitlist of a slot that has ended; its entries no longer matter here.
          slots
            .filter((s) => new Date(s.end).getTime() > now)
            .map(async (s) => {
              const path = `/v1/slots/${s.id}/waitlist`;
              const list = await getAll<WaitlistEntry>(path, { status: 'waiting' }, 1000, signal);
              return [s.id, list.sort((a, b) => (a.position ?? 0) - (b.position ?? 0))] as const;
            }),
        ).then((pairs) => new Map(pairs))
      : Promise.resolve(null),
  ]);
  const displaced = blackouts.flatMap((b) => b.displaced);
  const orNull = <T,>(p: Promise<T>) => p.catch((err: unknown) => (signal.aborted ? Promise.reject(err) : null));
  const [bookings, reoffers] = await Promise.all([
    Promise.all(
      displaced.map(async (d) => {
        const booking = await orNull(get<Booking>(`/v1/bookings/${d.bookingId}`, undefined, signal));
        return [d.bookingId, booking] as const;
      }),
    ),
    Promise.all(
      displaced
        .flatMap((d) => (d.reofferMatchId ? [d.reofferMatchId] : []))
        .map(async (id) => [id, await orNull(get<Match>(`/v1/matches/${id}`, undefined, signal))] as const),
    ),
  ]);
  return { blackouts, waitlists, bookings: new Map(bookings), reoffers: new Map(reoffers) };
}

/** The pilots the operations parts name: displaced ones, and waiting ones when their order is shown. */
export function opsPilotIds(ops: OpsData, withWaiting: boolean): string[] {
  const ids = ops.blackouts.flatMap((b) => b.displaced.map((d) => d.pilotId));
  if (withWaiting && ops.waitlists) for (const list of ops.waitlists.values()) ids.push(...list.map((w) => w.pilotId));
  return ids;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** 'YYYY-MM-DDTHH:mm' in KST, for <input type="datetime-local">: the console speaks KST whatever the browser's zone. */
export function toKstInput(at: Date): string {
  const s = new Date(at.getTime() + KST_OFFSET_MS);
  const date = `${s.getUTCFullYear()}-${pad(s.getUTCMonth() + 1)}-${pad(s.getUTCDate())}`;
  return `${date}T${pad(s.getUTCHours())}:${pad(s.getUTCMinutes())}`;
}

/** A datetime-local value read as KST, as an ISO instant; anything else goes as typed, for the server to refuse. */
function fromKstInput(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return value;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  return Number.isFinite(ms) ? new Date(ms - KST_OFFSET_MS).toISOString() : value;
}

export interface BlackoutDraft {
  start: string;
  end: string;
  reason: string;
}

/** A whole KST day, the draft a day's "+ blackout" button starts from. */
export const dayDraft = (day: Date, reason: string): BlackoutDraft => ({
  start: toKstInput(day),
  end: toKstInput(addDays(day, 1)),
  reason,
});

export const BLACKOUT_REASON_ID = 'blackout-reason';

function pilotName(pilots: Map<string, Pilot | null>, id: string, t: Translate): string {
  return pilots.get(id)?.title ?? t('pilotShort', { id: id.slice(0, 8) });
}

export const overlaps = (b: { start: string; end: string }, from: Date, to: Date) =>
  new Date(b.start) < to && new Date(b.end) > from;

/** The blackouts covering part of one KST day, as bands at the top of the day's column. */
export function DayBlackouts({ day, blackouts }: { day: Date; blackouts: Blackout[] }) {
  const { t, lang } = useI18n();
  const end = addDays(day, 1);
  const here = blackouts.filter((b) => overlaps(b, day, end));
  if (!here.length) return null;
  return (
    <ul class="blackout-bands">
      {here.map((b) => {
        const s = Math.max(new Date(b.start).getTime(), day.getTime());
        const e = Math.min(new Date(b.end).getTime(), end.getTime());
        const time =
          s === day.getTime() && e === end.getTime()
            ? t('blackoutAllDay')
            : `${formatTime(new Date(s), lang)}–${e === end.getTime() ? '24:00' : formatTime(new Date(e), lang)}`;
        return (
          <li key={b.id} class="blackout-band" data-blackout-id={b.id}>
            <strong>{t('blackoutBand', { time })}</strong>
            <span class="blackout-band-reason">{b.reason}</span>
          </li>
        );
      })}
    </ul>
  );
}

/** Held and available units, the blackout blocking the slot, and who waits for it (in order, for operators). */
export function SlotOperations({
  slot,
  waiting,
  showOrder,
  pilots,
}: {
  slot: OpsSlot;
  waiting: WaitlistEntry[] | undefined;
  showOrder: boolean;
  pilots: Map<string, Pilot | null>;
}) {
  const { t } = useI18n();
  const held = slot.heldUnits ?? 0;
  const available = slot.availableUnits ?? Math.max(0, slot.capacity - (slot.bookedUnits ?? 0) - held);
  const n = waiting?.length ?? 0;
  return (
    <>
      <span class="slot-hold">{t('slotHoldLine', { held, available })}</span>
      {slot.blockedBy ? (
        <span class="slot-blocked-by">{t('slotBlocked', { reason: slot.blockedBy.reason })}</span>
      ) : null}
      {n > 0 && showOrder ? (
        <details class="waitlist">
          <summary>{t('waitingCount', { n })}</summary>
          <ol class="waitlist-order" aria-label={t('waitlistOrder')}>
            {waiting!.map((w) => (
              <li key={w.id} data-waitlist-id={w.id}>
                {pilotName(pilots, w.pilotId, t)} <span class="cell-sub">{t('units', { n: w.units })}</span>
              </li>
            ))}
          </ol>
        </details>
      ) : n > 0 ? (
        <span class="slot-waiting">{t('waitingCount', { n })}</span>
      ) : null}
    </>
  );
}

/**
 * The blackouts of the period with what each displaced, and for the owner and operators the form to add one
 * and a button to remove each. Bad input goes to the server as typed: its problem+json is the one judge.
 */
export function BlackoutPanel({
  testbed,
  manager,
  ops,
  pilots,
  draft,
  setDraft,
  onChanged,
}: {
  testbed: Testbed;
  manager: boolean;
  ops: OpsData;
  pilots: Map<string, Pilot | null>;
  draft: BlackoutDraft;
  setDraft: (d: BlackoutDraft) => void;
  onChanged: (created?: Blackout) => void;
}) {
  const { t, lang } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  // The key, not the text: a notice shown before a language switch follows it.
  const [notice, setNotice] = useState<{ key: MessageKey; vars?: Record<string, number> } | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const body: BlackoutCreate = {
        start: fromKstInput(draft.start),
        end: fromKstInput(draft.end),
        reason: draft.reason,
      };
      const created = await post<Blackout>(`/v1/testbeds/${testbed.id}/blackouts`, body, {
        idempotencyKey: newIdempotencyKey(),
      });
      const reoffered = created.displaced.filter((d) => d.reofferMatchId).length;
      setNotice({ key: 'blackoutCreated', vars: { n: created.displaced.length, m: reoffered } });
      setDraft({ ...draft, reason: '' });
      onChanged(created);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const remove = async (b: Blackout) => {
    setDeleting(b.id);
    setDeleteError(null);
    setNotice(null);
    try {
      await request('DELETE', `/v1/blackouts/${b.id}`);
      setNotice({ key: 'blackoutDeleted' });
      onChanged();
    } catch (err) {
      setDeleteError(err);
    } finally {
      setDeleting(null);
    }
  };

  return (
    <section class="card blackouts" aria-labelledby="bo-h">
      <h2 id="bo-h" class="h2">
        {t('blackoutsTitle')}
      </h2>
      <p class="muted">{t('blackoutsLead')}</p>
      <Notice message={notice ? t(notice.key, notice.vars) : null} />
      {deleteError ? <ErrorBox error={deleteError} compact /> : null}
      {ops.blackouts.length === 0 ? (
        <p class="state state-empty">{t('noBlackouts')}</p>
      ) : (
        <TableWrap label={t('blackoutsTitle')}>
          <table class="table table-compact blackout-table">
            <caption class="sr-only">{t('blackoutsTitle')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('colReason')}</th>
                <th scope="col">{t('colPeriod')}</th>
                <th scope="col">{t('colDisplaced')}</th>
                {manager ? <th scope="col">{t('colActions')}</th> : null}
              </tr>
            </thead>
            <tbody>
              {ops.blackouts.map((b) => (
                <tr key={b.id} data-blackout-id={b.id}>
                  <th scope="row">{b.reason}</th>
                  <td class="nowrap">{formatRange(b.start, b.end, lang)}</td>
                  <td>
                    {!manager ? (
                      <span class="muted">{t('displacedHidden')}</span>
                    ) : b.displaced.length === 0 ? (
                      t('none')
                    ) : (
                      <ul class="displaced-list">
                        {b.displaced.map((d) => {
                          const booking = ops.bookings.get(d.bookingId);
                          const match = d.reofferMatchId ? ops.reoffers.get(d.reofferMatchId) : null;
                          return (
                            <li key={d.bookingId} class="displaced" data-booking-id={d.bookingId}>
                              <span class="displaced-pilot">{pilotName(pilots, d.pilotId, t)}</span>{' '}
                              {d.reofferMatchId ? (
                                <Badge kind="proposed">{t('reofferMade')}</Badge>
                              ) : (
                                <Badge kind="expired">{t('reofferNone')}</Badge>
                              )}
                              {booking ? (
                                <span class="cell-sub">
                                  {formatRange(booking.start, booking.end, lang)} · {t('units', { n: booking.units })}
                                </span>
                              ) : null}
                              {match?.start && match.end ? (
                                <span class="cell-sub">
                                  {t('reofferAt', { time: formatRange(match.start, match.end, lang) })} ·{' '}
                                  {tKey(t, 'match', match.status)}
                                </span>
                              ) : null}
                            </li>
                          );
                        })}
                      </ul>
                    )}
                  </td>
                  {manager ? (
                    <td>
                      <button
                        type="button"
                        class="btn btn-danger btn-small"
                        aria-label={t('blackoutDeleteLabel', { reason: b.reason })}
                        disabled={deleting === b.id}
                        onClick={() => void remove(b)}
                      >
                        {t('blackoutDelete')}
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}

      {manager ? (
        <form class="blackout-form" onSubmit={submit} aria-labelledby="bo-new-h" noValidate>
          <h3 id="bo-new-h" class="h3">
            {t('blackoutNewTitle')}
          </h3>
          <div class="filters">
            <label class="field">
              <span>{t('blackoutStart')}</span>
              <input
                type="datetime-local"
                name="start"
                value={draft.start}
                onInput={(e) => setDraft({ ...draft, start: e.currentTarget.value })}
              />
            </label>
            <label class="field">
              <span>{t('blackoutEnd')}</span>
              <input
                type="datetime-local"
                name="end"
                value={draft.end}
                onInput={(e) => setDraft({ ...draft, end: e.currentTarget.value })}
              />
            </label>
            <label class="field field-grow">
              <span>{t('blackoutReason')}</span>
              <input
                type="text"
                id={BLACKOUT_REASON_ID}
                name="reason"
                placeholder={t('blackoutReasonHint')}
                value={draft.reason}
                onInput={(e) => setDraft({ ...draft, reason: e.currentTarget.value })}
              />
            </label>
            <button type="submit" class="btn btn-primary" disabled={busy}>
              {busy ? t('blackoutCreating') : t('blackoutCreate')}
            </button>
          </div>
          {error ? <ErrorBox error={error} compact /> : null}
        </form>
      ) : null}
    </section>
  );
}
