/**
 * Testbeds: a week or month calendar per testbed (slots with booked, held and available units, bookings with their
 * pilots, blackouts and waitlists, utilisation for the period) and, for operators, utilisation by domain over a
 * chosen range.
 */
import { useState } from 'preact/hooks';
import { get, getAll, type Page } from '../api.js';
import { allTestbeds, capabilityLabel, domainLabel, pilotById, useCatalog } from '../catalog.js';
import { useI18n, tKey } from '../i18n.js';
import {
  addDays,
  formatDay,
  formatMonth,
  formatPercent,
  formatRange,
  formatTime,
  hoursBetween,
  kstDayStart,
  kstMonthAdd,
  kstMonthStart,
  kstParts,
  kstWeekStart,
} from '../time.js';
import type { Booking, Me, Pilot, Slot, Testbed } from '../types.js';
import { AsyncView, Badge, ErrorBox, Loading, TableWrap, useAsync } from '../ui.js';
import {
  BLACKOUT_REASON_ID,
  BlackoutPanel,
  DayBlackouts,
  SlotOperations,
  dayDraft,
  loadOperations,
  managesTestbed,
  opsPilotIds,
  overlaps,
  toKstInput,
  type BlackoutDraft,
  type OpsData,
  type OpsSlot,
} from './blackouts.js';
import { UtilizationOverview } from './utilization.js';

export function Testbeds({ me, testbedId }: { me: Me; testbedId?: string }) {
  const { t, lang } = useI18n();
  const catalog = useCatalog();
  const [testbeds, reload] = useAsync(async (signal) => {
    const list = await allTestbeds(true);
    return { list, preferred: testbedId ? undefined : await preferredTestbed(list, signal) };
  }, []);
  const list = testbeds.data?.list ?? [];
  const preferred = testbeds.data?.preferred;
  const selected = list.find((tb) => tb.id === testbedId) ?? list.find((tb) => tb.id === preferred) ?? list[0];

  return (
    <section aria-labelledby="tb-h">
      <div class="page-head">
        <h1 id="tb-h" tabIndex={-1}>
          {t('testbedsTitle')}
        </h1>
        <p class="lead">{t('testbedsLead')}</p>
      </div>
      <AsyncView value={testbeds} onRetry={reload} isEmpty={(d) => d.list.length === 0} empty={t('noTestbeds')}>
        {() => (
          <>
            <div class="filters">
              <label class="field field-grow">
                <span>{t('chooseTestbed')}</span>
                <select
                  name="testbed"
                  value={selected?.id ?? ''}
                  onChange={(e) => {
                    location.hash = `#/testbeds/${e.currentTarget.value}`;
                  }}
                >
                  {list.map((tb) => (
                    <option key={tb.id} value={tb.id}>
                      {tb.name}
                    </option>
                  ))}
                </select>
              </label>
            </div>
            {selected ? (
              <>
                <p class="testbed-meta">
                  {(selected.domains ?? []).map((d) => (
                    <span key={d} class={`tag domain-${d}`}>
                      {domainLabel(catalog, d, lang)}
                    </span>
                  ))}
                  {(selected.capabilities ?? []).map((c) => (
                    <span key={c} class="tag">
                      {capabilityLabel(catalog, c, lang)}
                    </span>
                  ))}
                  {selected.capacity !== undefined ? (
                    <span class="cell-sub">{t('capacity', { n: selected.capacity })}</span>
                  ) : null}
                  {selected.location?.address ? <span class="cell-sub">{selected.location.address}</span> : null}
                </p>
                <CalendarAtNext me={me} testbed={selected} key={selected.id} />
              </>
            ) : null}
          </>
        )}
      </AsyncView>
      {me.role === 'operator' ? <UtilizationOverview /> : null}
    </section>
  );
}

const HORIZON_DAYS = 366;

/**
 * The testbed to open when none is named: the one with the next booking, else the first (newest) with an open
 * slot ahead, else the newest. The newest alone was often a testbed without a single slot yet.
 */
async function preferredTestbed(list: Testbed[], signal: AbortSignal): Promise<string | undefined> {
  const from = new Date();
  const window = { from: from.toISOString(), to: addDays(from, HORIZON_DAYS).toISOString() };
  const bookings = await getAll<Booking>('/v1/bookings', window, 1000, signal);
  const next = bookings
    .filter((b) => b.status !== 'cancelled' && list.some((tb) => tb.id === b.testbedId))
    .sort((a, b) => a.start.localeCompare(b.start))[0];
  if (next) return next.testbedId;
  for (const tb of list) {
    const slots = await get<Page<Slot>>(`/v1/testbeds/${tb.id}/slots`, { ...window, limit: 1 }, signal);
    if (slots.data.length) return tb.id;
  }
  return list[0]?.id;
}

/** The day a testbed's calendar opens on: its next booking, else its next slot, else today. */
async function firstDay(testbedId: string, signal: AbortSignal): Promise<Date> {
  const from = new Date();
  const window = { from: from.toISOString(), to: addDays(from, HORIZON_DAYS).toISOString() };
  const bookings = await getAll<Booking>('/v1/bookings', { ...window, testbedId }, 1000, signal);
  const next = bookings.filter((b) => b.status !== 'cancelled').sort((a, b) => a.start.localeCompare(b.start))[0];
  if (next) return new Date(Math.max(from.getTime(), new Date(next.start).getTime()));
  const slots = await get<Page<Slot>>(`/v1/testbeds/${testbedId}/slots`, { ...window, limit: 1 }, signal);
  const slot = slots.data[0];
  return slot ? new Date(Math.max(from.getTime(), new Date(slot.start).getTime())) : from;
}

function CalendarAtNext({ me, testbed }: { me: Me; testbed: Testbed }) {
  const [first, reload] = useAsync((signal) => firstDay(testbed.id, signal), [testbed.id]);
  if (first.state === 'error') return <ErrorBox error={first.error} onRetry={reload} />;
  if (!first.data) return <Loading />;
  return <Calendar me={me} testbed={testbed} initial={first.data} />;
}

type Mode = 'week' | 'month';

interface CalendarData {
  slots: OpsSlot[];
  bookings: Booking[];
  pilots: Map<string, Pilot | null>;
  ops: OpsData;
}

/** Booked unit-hours / offered unit-hours of the slots' parts inside [from, to). */
function utilisation(slots: Slot[], from: Date, to: Date): number | null {
  let offered = 0;
  let booked = 0;
  for (const s of slots) {
    const start = Math.max(new Date(s.start).getTime(), from.getTime());
    const end = Math.min(new Date(s.end).getTime(), to.getTime());
    if (end <= start) continue;
    const h = (end - start) / 3_600_000;
    offered += s.capacity * h;
    booked += (s.bookedUnits ?? s.capacity - (s.availableUnits ?? s.capacity)) * h;
  }
  return offered > 0 ? booked / offered : null;
}

function Calendar({ me, testbed, initial }: { me: Me; testbed: Testbed; initial: Date }) {
  const { t, lang } = useI18n();
  const [mode, setMode] = useState<Mode>('week');
  const [anchor, setAnchor] = useState(initial);
  const manager = managesTestbed(me, testbed);
  // The order of the queue is for operators; a testbed's owner sees how many wait.
  const showOrder = me.role === 'operator';
  const [draft, setDraft] = useState<BlackoutDraft>(() => {
    const day = kstDayStart(initial);
    return { start: toKstInput(addDays(day, 1)), end: toKstInput(addDays(day, 2)), reason: '' };
  });

  const from = mode === 'week' ? kstWeekStart(anchor) : kstMonthStart(anchor);
  const to = mode === 'week' ? addDays(from, 7) : kstMonthAdd(from, 1);
  const fromIso = from.toISOString();
  const toIso = to.toISOString();

  const [data, reload] = useAsync<CalendarData>(
    async (signal) => {
      const window = { from: fromIso, to: toIso };
      const [slots, bookings] = await Promise.all([
        getAll<OpsSlot>(`/v1/testbeds/${testbed.id}/slots`, window, 2000, signal),
        getAll<Booking>('/v1/bookings', { testbedId: testbed.id, ...window }, 2000, signal),
      ]);
      // Waitlists are one request per slot: loaded for the week, where they are shown.
      const ops = await loadOperations(testbed.id, slots, window, { waitlists: manager && mode === 'week' }, signal);
      const live = bookings.filter((b) => b.status !== 'cancelled');
      const ids = [...new Set([...live.map((b) => b.pilotId), ...opsPilotIds(ops, showOrder)])];
      const pilots = new Map<string, Pilot | null>(
        await Promise.all(ids.map(async (id) => [id, await pilotById(id)] as const)),
      );
      return { slots: slots.sort((a, b) => a.start.localeCompare(b.start)), bookings: live, pilots, ops };
    },
    [testbed.id, fromIso, toIso, mode],
  );

  const addOn = (day: Date) => {
    setDraft(dayDraft(day, draft.reason));
    document.getElementById(BLACKOUT_REASON_ID)?.focus();
  };
  const onChanged = (created?: { start: string; end: string }) => {
    // A blackout outside the period shown: go to it, so its effect is in sight.
    if (created && !overlaps(created, from, to)) setAnchor(new Date(created.start));
    else reload();
  };

  const step = (dir: -1 | 1) => setAnchor(mode === 'week' ? addDays(from, 7 * dir) : kstMonthAdd(from, dir));
  const title =
    mode === 'week' ? `${formatDay(from, lang)} – ${formatDay(addDays(to, -1), lang)}` : formatMonth(from, lang);
  const util = data.data ? utilisation(data.data.slots, from, to) : null;

  return (
    <>
      <section class="calendar card" aria-labelledby="cal-h">
        <div class="cal-toolbar">
          <h2 id="cal-h" class="h2">
            <span class="sr-only">{t('calendarOf', { name: testbed.name })}: </span>
            <span class="cal-range" aria-live="polite">
              {title}
            </span>
          </h2>
          <div class="btn-group" role="group" aria-label={t('viewMode')}>
            <button
              type="button"
              class="btn btn-secondary"
              aria-pressed={mode === 'week'}
              onClick={() => setMode('week')}
            >
              {t('week')}
            </button>
            <button
              type="button"
              class="btn btn-secondary"
              aria-pressed={mode === 'month'}
              onClick={() => setMode('month')}
            >
              {t('month')}
            </button>
          </div>
          <div class="btn-group">
            <button type="button" class="btn btn-secondary" onClick={() => step(-1)} aria-label={t('previous')}>
              ‹ <span class="hide-narrow">{t('previous')}</span>
            </button>
            <button type="button" class="btn btn-secondary" onClick={() => setAnchor(new Date())}>
              {t('today')}
            </button>
            <button type="button" class="btn btn-secondary cal-next" onClick={() => step(1)} aria-label={t('next')}>
              <span class="hide-narrow">{t('next')}</span> ›
            </button>
          </div>
        </div>

        {data.data ? (
          <p class="cal-stats">
            <span class="stat">{t('periodUtilization', { pct: formatPercent(util, lang) })}</span>
            <span class="stat">{t('slotsCount', { n: data.data.slots.length })}</span>
            <span class="stat">{t('bookingsCount', { n: data.data.bookings.length })}</span>
            <Meter ratio={util} />
          </p>
        ) : null}

        {data.state === 'error' ? (
          <ErrorBox error={data.error} onRetry={reload} />
        ) : !data.data ? (
          <Loading />
        ) : mode === 'week' ? (
          <WeekGrid
            from={from}
            data={data.data}
            busy={data.state === 'loading'}
            showOrder={showOrder}
            onAddBlackout={manager ? addOn : undefined}
          />
        ) : (
          <MonthGrid
            from={from}
            to={to}
            data={data.data}
            busy={data.state === 'loading'}
            onPick={(day) => {
              setAnchor(day);
              setMode('week');
            }}
          />
        )}
        {data.data && data.data.bookings.length ? <BookingTable data={data.data} /> : null}
      </section>
      {data.data ? (
        <BlackoutPanel
          testbed={testbed}
          manager={manager}
          ops={data.data.ops}
          pilots={data.data.pilots}
          draft={draft}
          setDraft={setDraft}
          onChanged={onChanged}
        />
      ) : null}
    </>
  );
}

/** Booked share, and (on a slot) the share held by pending requests after it. */
function Meter({ ratio, held }: { ratio: number | null; held?: number }) {
  const clamp = (r: number) => Math.min(1, Math.max(0, r));
  const pct = Math.round(clamp(ratio ?? 0) * 100);
  const heldPct = Math.min(100 - pct, Math.round(clamp(held ?? 0) * 100));
  const level = pct + heldPct >= 85 ? 'high' : pct + heldPct >= 50 ? 'mid' : 'low';
  return (
    <span class={`meter meter-${level}`} aria-hidden="true">
      <span style={{ width: `${pct}%` }} />
      {heldPct > 0 ? <span class="meter-held" style={{ width: `${heldPct}%` }} /> : null}
    </span>
  );
}

function WeekGrid({
  from,
  data,
  busy,
  showOrder,
  onAddBlackout,
}: {
  from: Date;
  data: CalendarData;
  busy: boolean;
  showOrder: boolean;
  onAddBlackout?: (day: Date) => void;
}) {
  const { t, lang } = useI18n();
  const days = Array.from({ length: 7 }, (_, i) => addDays(from, i));
  const today = kstDayStart(new Date()).getTime();
  return (
    <div class="week" aria-busy={busy ? 'true' : 'false'}>
      {days.map((day) => {
        const end = addDays(day, 1);
        const slots = data.slots.filter((s) => {
          const st = new Date(s.start).getTime();
          return st >= day.getTime() && st < end.getTime();
        });
        const label = formatDay(day, lang);
        return (
          <section class={day.getTime() === today ? 'day day-today' : 'day'} key={day.toISOString()} aria-label={label}>
            <div class="day-top">
              <h3 class="day-head">{label}</h3>
              {onAddBlackout ? (
                <button
                  type="button"
                  class="btn btn-ghost btn-tiny"
                  aria-label={t('blackoutAddOn', { day: label })}
                  onClick={() => onAddBlackout(day)}
                >
                  {t('blackoutAddShort')}
                </button>
              ) : null}
            </div>
            <DayBlackouts day={day} blackouts={data.ops.blackouts} />
            {slots.length === 0 ? <p class="day-empty muted">–</p> : null}
            <ul class="slot-list">
              {slots.map((s) => {
                const booked = s.bookedUnits ?? 0;
                const held = s.heldUnits ?? 0;
                const bookings = data.bookings.filter((b) => b.slotId === s.id);
                const ratio = s.capacity ? booked / s.capacity : 0;
                const full = (s.availableUnits ?? s.capacity - booked - held) <= 0;
                const fill = full ? 'slot-full' : booked + held > 0 ? 'slot-part' : 'slot-free';
                return (
                  <li key={s.id} class={`slot ${fill}${s.blockedBy ? ' slot-blocked' : ''}`} data-slot-id={s.id}>
                    <span class="slot-time">
                      {formatTime(s.start, lang)}–{formatTime(s.end, lang)}
                      {hoursBetween(s.start, s.end) > 24 ? ` (${formatDay(s.end, lang)})` : ''}
                    </span>
                    <span class="slot-units">{t('slotUnits', { booked, capacity: s.capacity })}</span>
                    <SlotOperations
                      slot={s}
                      waiting={data.ops.waitlists?.get(s.id)}
                      showOrder={showOrder}
                      pilots={data.pilots}
                    />
                    <Meter ratio={ratio} held={s.capacity ? held / s.capacity : 0} />
                    {bookings.length ? (
                      <ul class="booking-list">
                        {bookings.map((b) => (
                          <li key={b.id} class="booking" data-booking-id={b.id}>
                            <span class="booking-label">{t('booking')}</span>{' '}
                            {data.pilots.get(b.pilotId)?.title ?? b.pilotId.slice(0, 8)}
                            <span class="cell-sub">{t('units', { n: b.units })}</span>
                          </li>
                        ))}
                      </ul>
                    ) : null}
                  </li>
                );
              })}
            </ul>
          </section>
        );
      })}
    </div>
  );
}

function MonthGrid({
  from,
  to,
  data,
  busy,
  onPick,
}: {
  from: Date;
  to: Date;
  data: CalendarData;
  busy: boolean;
  onPick: (day: Date) => void;
}) {
  const { t, lang } = useI18n();
  const start = kstWeekStart(from);
  const weeks = Math.ceil((to.getTime() - start.getTime()) / (7 * 86_400_000));
  const month = kstParts(from).month;
  const weekdayNames = Array.from({ length: 7 }, (_, i) =>
    new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en-GB', { weekday: 'short', timeZone: 'Asia/Seoul' }).format(
      addDays(start, i),
    ),
  );
  const today = kstDayStart(new Date()).getTime();
  const titleOf = (b: Booking) => data.pilots.get(b.pilotId)?.title ?? '';
  return (
    <table class="month" aria-busy={busy ? 'true' : 'false'}>
      <caption class="sr-only">{formatMonth(from, lang)}</caption>
      <thead>
        <tr>
          {weekdayNames.map((n) => (
            <th scope="col" key={n}>
              {n}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {Array.from({ length: weeks }, (_, w) => (
          <tr key={w}>
            {Array.from({ length: 7 }, (_, d) => {
              const day = addDays(start, w * 7 + d);
              const end = addDays(day, 1);
              const inMonth = kstParts(day).month === month;
              const slots = data.slots.filter((s) => new Date(s.start) < end && new Date(s.end) > day);
              const bookings = data.bookings.filter((b) => new Date(b.start) < end && new Date(b.end) > day);
              const blackouts = data.ops.blackouts.filter((b) => overlaps(b, day, end));
              const util = utilisation(slots, day, end);
              return (
                <td key={d} class={`${inMonth ? '' : 'out'} ${day.getTime() === today ? 'day-today' : ''}`}>
                  {inMonth ? (
                    <button type="button" class="month-day" onClick={() => onPick(day)}>
                      <span class="sr-only">{formatDay(day, lang)}</span>
                      <span class="month-date" aria-hidden="true">
                        {kstParts(day).day}
                      </span>
                      {blackouts.length ? (
                        <span class="month-line month-blackout" title={blackouts.map((b) => b.reason).join('\n')}>
                          {t('monthBlackout')}
                        </span>
                      ) : null}
                      {slots.length ? (
                        <>
                          <span class="month-line">{t('slotsCount', { n: slots.length })}</span>
                          {bookings.length ? (
                            // The booking itself, not just a count: the month view is where one looks for it.
                            <span class="month-line month-bookings" title={bookings.map((b) => titleOf(b)).join('\n')}>
                              {titleOf(bookings[0]!) || t('bookingsCount', { n: bookings.length })}
                              {bookings.length > 1 ? ` ${t('moreItems', { n: bookings.length - 1 })}` : ''}
                            </span>
                          ) : null}
                          <span class="month-line">
                            {t('utilization')} {formatPercent(util, lang)}
                          </span>
                          <Meter ratio={util} />
                        </>
                      ) : null}
                    </button>
                  ) : (
                    <span class="month-date muted">{kstParts(day).day}</span>
                  )}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BookingTable({ data }: { data: CalendarData }) {
  const { t, lang } = useI18n();
  return (
    <TableWrap label={t('bookingsCount', { n: data.bookings.length })}>
      <table class="table table-compact">
        <caption>{t('bookingsCount', { n: data.bookings.length })}</caption>
        <thead>
          <tr>
            <th scope="col">{t('colPilot')}</th>
            <th scope="col">{t('colTime')}</th>
            <th scope="col">{t('colUnits')}</th>
            <th scope="col">{t('colStatus')}</th>
          </tr>
        </thead>
        <tbody>
          {data.bookings.map((b) => (
            <tr key={b.id}>
              <th scope="row">{data.pilots.get(b.pilotId)?.title ?? b.pilotId}</th>
              <td class="nowrap">{formatRange(b.start, b.end, lang)}</td>
              <td>{b.units}</td>
              <td>
                <Badge kind={b.status ?? 'confirmed'}>{tKey(t, 'booking', b.status ?? 'confirmed')}</Badge>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}
