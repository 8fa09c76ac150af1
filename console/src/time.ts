/**
 * Korea time for people, UTC on the wire. Korea has no daylight saving, so a KST day is the UTC day shifted
 * by nine hours; every range is half-open [start, end).
 */
import type { Lang } from './i18n.js';

export const KST_OFFSET_MS = 9 * 3_600_000;
const DAY_MS = 86_400_000;
const ZONE = 'Asia/Seoul';

/** The instant of 00:00 KST on the KST day containing `at`. */
export function kstDayStart(at: Date | number): Date {
  const ms = typeof at === 'number' ? at : at.getTime();
  return new Date(Math.floor((ms + KST_OFFSET_MS) / DAY_MS) * DAY_MS - KST_OFFSET_MS);
}

export function addDays(at: Date, days: number): Date {
  return new Date(at.getTime() + days * DAY_MS);
}

/** Fields of the KST calendar date at `at`. */
export function kstParts(at: Date): { year: number; month: number; day: number; weekday: number } {
  const shifted = new Date(at.getTime() + KST_OFFSET_MS);
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth(),
    day: shifted.getUTCDate(),
    weekday: shifted.getUTCDay(),
  };
}

/** Monday 00:00 KST of the week containing `at`. */
export function kstWeekStart(at: Date): Date {
  const day = kstDayStart(at);
  const weekday = kstParts(day).weekday; // 0 = Sunday
  return addDays(day, -((weekday + 6) % 7));
}

/** The 1st of the KST month containing `at`, 00:00 KST. */
export function kstMonthStart(at: Date): Date {
  const { year, month } = kstParts(at);
  return new Date(Date.UTC(year, month, 1) - KST_OFFSET_MS);
}

export function kstMonthAdd(monthStart: Date, months: number): Date {
  const { year, month } = kstParts(monthStart);
  return new Date(Date.UTC(year, month + months, 1) - KST_OFFSET_MS);
}

/** 'YYYY-MM-DD' of the KST date at `at`, for <input type="date">. */
export function toDateInput(at: Date): string {
  const { year, month, day } = kstParts(at);
  return `${year}-${String(month + 1).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** 00:00 KST of a 'YYYY-MM-DD' date, or null when it is not one. */
export function fromDateInput(value: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) - KST_OFFSET_MS;
  return Number.isFinite(ms) ? new Date(ms) : null;
}

const locale = (lang: Lang) => (lang === 'ko' ? 'ko-KR' : 'en-GB');
const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(lang: Lang, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = lang + JSON.stringify(opts);
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale(lang), { timeZone: ZONE, ...opts });
    cache.set(key, f);
  }
  return f;
}

const asDate = (v: string | Date) => (typeof v === 'string' ? new Date(v) : v);

export const formatDateTime = (v: string | Date, lang: Lang) =>
  fmt(lang, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(asDate(v));
export const formatDate = (v: string | Date, lang: Lang) =>
  fmt(lang, { year: 'numeric', month: 'short', day: 'numeric' }).format(asDate(v));
export const formatDay = (v: string | Date, lang: Lang) =>
  fmt(lang, { month: 'short', day: 'numeric', weekday: 'short' }).format(asDate(v));
export const formatMonth = (v: string | Date, lang: Lang) =>
  fmt(lang, { year: 'numeric', month: 'long' }).format(asDate(v));
export const formatTime = (v: string | Date, lang: Lang) =>
  fmt(lang, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(asDate(v));

/** "3월 2일 09:00–18:00" or across days "3월 2일 09:00 – 3월 4일 18:00". */
export function formatRange(start: string | Date, end: string | Date, lang: Lang): string {
  const s = asDate(start);
  const e = asDate(end);
  const sameDay = kstDayStart(s).getTime() === kstDayStart(new Date(e.getTime() - 1)).getTime();
  return sameDay
    ? `${formatDate(s, lang)} ${formatTime(s, lang)}–${formatTime(e, lang)}`
    : `${formatDateTime(s, lang)} – ${formatDateTime(e, lang)}`;
}

export const hoursBetween = (start: string | Date, end: string | Date) =>
  (asDate(end).getTime() - asDate(start).getTime()) / 3_600_000;

export function formatPercent(ratio: number | null | undefined, lang: Lang): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '–';
  return new Intl.NumberFormat(locale(lang), { style: 'percent', maximumFractionDigits: 1 }).format(ratio);
}

export function formatNumber(n: number | null | undefined, lang: Lang, digits = 2): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return new Intl.NumberFormat(locale(lang), { maximumFractionDigits: digits }).format(n);
}
