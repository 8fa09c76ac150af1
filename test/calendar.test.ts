import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import { ctx } from './support/context.js';
import { countRows, operator, signup } from './support/factories.js';
import { approve, requested, slotOn, submittedPilot, testbedWithSlot } from './support/matching-factories.js';

const api = () => ctx().api();

/** Parses with ical.js (a real RFC 5545 parser) and returns the calendar and its events. */
function parse(text: string) {
  const cal = new ICAL.Component(ICAL.parse(text));
  const tz = cal.getFirstSubcomponent('vtimezone');
  if (tz) ICAL.TimezoneService.register(new ICAL.Timezone(tz));
  return { cal, tz, events: cal.getAllSubcomponents('vevent').map((v) => new ICAL.Event(v)) };
}

async function bookedTestbed() {
  const [s, partner] = [await signup(), await signup('partner')];
  const pilot = await submittedPilot(s, { title: '돌봄 로봇 실증 pilot' });
  const { slot, testbed } = await testbedWithSlot(partner, 2);
  const m = await requested(s, pilot.id, slot.id);
  assert.equal((await approve(partner, m.id)).status, 200);
  return { s, partner, pilot, slot, testbed };
}

const text = (res: { text: string; body: unknown }) => res.text ?? String(res.body);

describe('GET /v1/testbeds/:id/calendar.ics', () => {
  it('is valid iCalendar with the bookings as events in Asia/Seoul', async () => {
    const { partner, slot, testbed } = await bookedTestbed();
    const res = await api()
      .get(`/v1/testbeds/${testbed.id}/calendar.ics`)
      .set(partner.auth)
      .buffer(true)
      .parse((r, cb) => {
        let data = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (data += c));
        r.on('end', () => cb(null, data));
      });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/calendar/);
    const body = res.body as string;
    assert.match(body, /^BEGIN:VCALENDAR\r\n/);
    const { cal, tz, events } = parse(body);
    assert.equal(cal.getFirstPropertyValue('version'), '2.0');
    assert.equal(tz?.getFirstPropertyValue('tzid'), 'Asia/Seoul');
    assert.equal(events.length, 1);
    const e = events[0]!;
    assert.equal(e.startDate.zone?.tzid, 'Asia/Seoul');
    assert.match(body, /DTSTAMP:\d{8}T\d{6}Z\r\n/, 'DTSTAMP in UTC as RFC 5545 requires');
    assert.equal(e.startDate.toJSDate().toISOString(), slot.start);
    assert.equal(e.endDate.toJSDate().toISOString(), slot.end);
    assert.match(e.summary, /돌봄 로봇 실증 pilot/);
    assert.match(body, /DTSTART;TZID=Asia\/Seoul:\d{8}T\d{6}/);
  });

  it('shows other organisations busy blocks without naming the pilot', async () => {
    const { testbed } = await bookedTestbed();
    const stranger = await signup();
    const res = await api().get(`/v1/testbeds/${testbed.id}/calendar.ics`).set(stranger.auth).buffer(true);
    assert.equal(res.status, 200);
    const { events } = parse(text(res));
    assert.equal(events.length, 1);
    assert.doesNotMatch(events[0]!.summary, /pilot/);
    assert.match(events[0]!.summary, /Booked/);
  });

  it('answers 404 for a testbed that does not exist and 401 without a token', async () => {
    const s = await signup();
    assert.equal(
      (await api().get('/v1/testbeds/00000000-0000-4000-8000-000000000000/calendar.ics').set(s.auth)).status,
      404,
    );
    const { testbed } = await bookedTestbed();
    assert.equal((await api().get(`/v1/testbeds/${testbed.id}/calendar.ics`)).status, 401);
  });
});

describe('secret calendar feeds', () => {
  it('serve the calendar without a bearer token until revoked; a new URL replaces the old one', async () => {
    const { partner, testbed } = await bookedTestbed();
    const created = await api().post(`/v1/testbeds/${testbed.id}/calendar-feed`).set(partner.auth);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.token, /^axc_/);
    const path = new URL(created.body.url).pathname + new URL(created.body.url).search;
    const feed = await api().get(path).buffer(true);
    assert.equal(feed.status, 200);
    assert.equal(parse(text(feed)).events.length, 1);
    const stored = (await ctx().db.query<{ token_hash: string }>('SELECT token_hash FROM calendar_feeds')).rows[0]!;
    assert.notEqual(stored.token_hash, created.body.token, 'only a hash is stored');

    const rotated = await api().post(`/v1/testbeds/${testbed.id}/calendar-feed`).set(partner.auth);
    assert.equal((await api().get(path)).status, 404, 'the old URL stops working');
    const newPath = new URL(rotated.body.url).pathname + new URL(rotated.body.url).search;
    assert.equal((await api().get(newPath)).status, 200);

    assert.equal((await api().delete(`/v1/testbeds/${testbed.id}/calendar-feed`).set(partner.auth)).status, 204);
    assert.equal((await api().get(newPath)).status, 404);
    assert.equal(await countRows('calendar_feeds'), 0);
  });

  it('are managed by the testbed owner or an operator only, and refuse a malformed token', async () => {
    const { testbed } = await bookedTestbed();
    const stranger = await signup('partner');
    assert.equal((await api().post(`/v1/testbeds/${testbed.id}/calendar-feed`).set(stranger.auth)).status, 403);
    assert.equal(
      (
        await api()
          .post(`/v1/testbeds/${testbed.id}/calendar-feed`)
          .set((await operator()).auth)
      ).status,
      201,
    );
    assert.equal((await api().get(`/v1/calendar-feeds/${testbed.id}/calendar.ics?token=nope`)).status, 400);
    assert.equal(
      (await api().get(`/v1/calendar-feeds/${testbed.id}/calendar.ics?token=axc_${'A'.repeat(43)}`)).status,
      404,
    );
  });
});

describe('calendar with several bookings', () => {
  it('lists each confirmed booking once and drops cancelled ones', async () => {
    const [s, partner] = [await signup(), await signup('partner')];
    const pilot = await submittedPilot(s);
    const { testbed, slot } = await testbedWithSlot(partner, 1);
    const slot2 = await slotOn(partner, testbed.id, 4);
    const m1 = await requested(s, pilot.id, slot.id);
    const m2 = await requested(s, pilot.id, slot2.id);
    await approve(partner, m1.id);
    const b2 = (await approve(partner, m2.id)).body.bookingId;
    assert.equal((await api().post(`/v1/bookings/${b2}/cancel`).set(s.auth)).status, 200);
    const res = await api().get(`/v1/testbeds/${testbed.id}/calendar.ics`).set(partner.auth).buffer(true);
    assert.equal(parse(text(res)).events.length, 1);
  });
});
