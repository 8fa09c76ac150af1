/**
 * A testbed's bookings as an RFC 5545 calendar, made by ical-generator, with times in Asia/Seoul. Korea has
 * kept UTC+9 without daylight saving since 1988, so its VTIMEZONE is one STANDARD rule; writing it here spares
 * a timezone database dependency.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ICalCalendar, ICalEventBusyStatus } from 'ical-generator';
import { DateTime } from 'luxon';

const TZ = 'Asia/Seoul';

function vtimezone(tz: string): string | null {
  if (tz !== TZ) return null;
  return [
    'BEGIN:VTIMEZONE',
    `TZID:${TZ}`,
    'X-LIC-LOCATION:Asia/Seoul',
    'BEGIN:STANDARD',
    'TZOFFSETFROM:+0900',
    'TZOFFSETTO:+0900',
    'TZNAME:KST',
    'DTSTART:19700101T000000',
    'END:STANDARD',
    'END:VTIMEZONE',
  ].join('\r\n');
}

export interface CalendarBooking {
  id: string;
  start: Date;
  end: Date;
  units: number;
  createdAt: Date;
  /** Null when the reader may not see which pilot holds it: the event then only says "booked". */
  pilotTitle: string | null;
}

export function testbedCalendar(
  testbed: { id: string; name: string },
  bookings: CalendarBooking[],
  host: string,
): string {
  const cal = new ICalCalendar({
    name: `${testbed.name} — bookings`,
    prodId: { company: 'Gwangju AX Programme Office', product: 'AX Testbed Registry', language: 'KO' },
  });
  // No calendar-wide zone (it would also turn DTSTAMP into local time, which RFC 5545 forbids); each event carries
  // TZID=Asia/Seoul and the generator adds the one VTIMEZONE they share.
  cal.timezone({ name: null, generator: vtimezone });
  for (const b of bookings) {
    cal.createEvent({
      id: `${b.id}@${host}`,
      start: DateTime.fromJSDate(b.start).setZone(TZ),
      end: DateTime.fromJSDate(b.end).setZone(TZ),
      timezone: TZ,
      stamp: b.createdAt,
      summary: b.pilotTitle
        ? `${b.pilotTitle} (${b.units} unit${b.units === 1 ? '' : 's'})`
        : `예약됨 / Booked (${b.units} unit${b.units === 1 ? '' : 's'})`,
      location: testbed.name,
      busystatus: ICalEventBusyStatus.BUSY,
    });
  }
  return cal.toString();
}

/** A feed secret: shown once, only its SHA-256 stored. */
export function newFeedToken(): { token: string; hash: string } {
  const token = `axc_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashFeedToken(token) };
}

export const hashFeedToken = (token: string) => createHash('sha256').update(token).digest('hex');
