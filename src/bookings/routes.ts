import type { Request, Response } from 'express';
import type { Db } from '../db/client.js';
import type { CalendarFeedQuery } from '../generated/schema-types.js';
import { schema, type ApiRouter } from '../http/route.js';
import { extendBooking } from './extension.js';
import { toBookingDto } from './presenter.js';
import { toMatchDto } from '../matching/presenter.js';
import { languageOf } from '../matching/language.js';
import {
  cancelBooking,
  createFeed,
  deleteFeed,
  feedCalendar,
  getVisibleBooking,
  listBookings,
  testbedCalendarFor,
  type BookingListQuery,
} from './service.js';

const TAG = 'Bookings';
const ONE = { status: 200, description: 'The booking.', schema: 'booking.json' };
const ICS = 'text/calendar';

function sendCalendar(res: Response, text: string): void {
  res
    .status(200)
    .type(`${ICS}; charset=utf-8`)
    .set('Content-Disposition', 'inline; filename="calendar.ics"')
    .send(text);
}

const origin = (req: Request) => `${req.protocol}://${req.get('host') ?? 'localhost'}`;

/** Bookings and testbed calendars. */
export function bookingRoutes(api: ApiRouter, db: Db): void {
  api.add(
    {
      method: 'get',
      path: '/v1/bookings',
      operationId: 'listBookings',
      summary: 'List the bookings you are a party to, newest first',
      description:
        'The pilot owner and the testbed owner see a booking; operators see all. `from`/`to` keep bookings overlapping that window.',
      tag: TAG,
      auth: 'bookings:read',
      query: schema<BookingListQuery>('booking-list-query.json'),
      success: { status: 200, description: 'A page of bookings.', schema: 'booking-list.json' },
    },
    async ({ principal, query, res }) => {
      res.json(await listBookings(db, principal, query));
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/bookings/{id}',
      operationId: 'getBooking',
      summary: 'Read a booking',
      tag: TAG,
      auth: 'bookings:read',
      success: ONE,
    },
    async ({ principal, params, res }) => {
      res.json(toBookingDto(await getVisibleBooking(db, principal, params.id)));
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/bookings/{id}/cancel',
      operationId: 'cancelBooking',
      summary: "Cancel a booking and free its slot's units",
      description:
        'Either party or an operator. The pilot returns to `matched` or `submitted` when it holds no other booking.',
      tag: TAG,
      auth: 'bookings:write',
      success: ONE,
      errors: [409],
    },
    async ({ principal, params, res }) => {
      res.json(toBookingDto(await cancelBooking(db, principal, params.id)));
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/bookings/{id}/extend',
      operationId: 'extendBooking',
      summary: 'Extend a booking into the next slot of its testbed',
      description:
        'The slot must be the next one of the same testbed: the first starting at or after the booking ends (422 ' +
        '`slot-not-adjacent` otherwise). The testbed owner or an operator books it at once (`status: "booked"`); the ' +
        "pilot's owner gets a `requested` match (origin `extension`) holding the units until approved. Capacity " +
        '(`slot-full`), blackouts (`slot-blocked`), credits (`budget-exceeded`) and overlap rules apply; a cancelled ' +
        'booking cannot be extended (409).',
      tag: TAG,
      auth: 'bookings:write',
      body: schema<{ slotId: string }>('booking-extend.json'),
      idempotent: true,
      success: { status: 201, description: 'What the extension did.', schema: 'booking-extension.json' },
      errors: [409, 422],
    },
    async ({ principal, params, body, req, res }) => {
      const lang = languageOf(req, res);
      const ext = await extendBooking(db, principal, params.id, body.slotId, lang);
      const booking = ext.booking ? toBookingDto(ext.booking) : null;
      res.status(201).json({ status: ext.status, match: toMatchDto(ext.match, lang), booking });
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/testbeds/{id}/calendar.ics',
      operationId: 'getTestbedCalendar',
      summary: "A testbed's confirmed bookings as iCalendar (RFC 5545, Asia/Seoul)",
      description:
        'The owner and operators see which pilot holds each booking; other organisations see busy blocks (and their own pilots by name). ' +
        'Calendar apps that cannot send a bearer token subscribe to the secret feed URL instead (POST …/calendar-feed).',
      tag: TAG,
      auth: 'bookings:read',
      success: { status: 200, description: 'The calendar.', mediaType: ICS },
    },
    async ({ principal, params, res }) => {
      sendCalendar(res, await testbedCalendarFor(db, principal, params.id));
    },
  );

  api.add(
    {
      method: 'post',
      path: '/v1/testbeds/{id}/calendar-feed',
      operationId: 'createCalendarFeed',
      summary: "Create (or replace) the testbed's secret calendar feed URL",
      description:
        'The testbed owner or an operator. The URL carries a secret shown only in this answer; creating a new one revokes the old one.',
      tag: TAG,
      auth: 'testbeds:write',
      idempotent: true,
      secretResponse: true,
      success: { status: 201, description: 'The feed URL, shown once.', schema: 'calendar-feed.json' },
    },
    async ({ principal, params, req, res }) => {
      const { token, createdAt } = await createFeed(db, principal, params.id);
      const url = `${origin(req)}/v1/calendar-feeds/${params.id}/calendar.ics?token=${token}`;
      res
        .status(201)
        .set('Cache-Control', 'no-store')
        .json({ testbedId: params.id, url, token, createdAt: createdAt.toISOString() });
    },
  );

  api.add(
    {
      method: 'delete',
      path: '/v1/testbeds/{id}/calendar-feed',
      operationId: 'deleteCalendarFeed',
      summary: "Revoke the testbed's secret calendar feed URL",
      tag: TAG,
      auth: 'testbeds:write',
      success: { status: 204, description: 'Revoked; the URL answers 404 from now on.' },
    },
    async ({ principal, params, res }) => {
      await deleteFeed(db, principal, params.id);
      res.status(204).end();
    },
  );

  api.add(
    {
      method: 'get',
      path: '/v1/calendar-feeds/{id}/calendar.ics',
      operationId: 'getCalendarFeed',
      summary: 'The secret calendar feed of a testbed (no bearer token; the secret is in the URL)',
      description: '`{id}` is the testbed id. A wrong or revoked token answers 404.',
      tag: TAG,
      auth: 'public',
      query: schema<CalendarFeedQuery>('calendar-feed-query.json'),
      success: { status: 200, description: 'The calendar.', mediaType: ICS },
    },
    async ({ params, query, res }) => {
      res.set('Cache-Control', 'private, no-store');
      sendCalendar(res, await feedCalendar(db, params.id, query.token));
    },
  );
}
