/**
 * Slot rules and transactions. Overlap is refused by the database itself (exclusion constraint
 * slots_no_overlap), so two writers racing for the same hours cannot both win; this file turns that refusal,
 * and the booked-units CHECK, into problems a client can act on.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../core/principal.js';
import type { Db, Queryable } from '../db/client.js';
import { isDbError } from '../db/errors.js';
import type { SlotCreate, SlotListQuery as SlotListQueryParams, SlotPatch } from '../generated/schema-types.js';
import { conflict, forbidden, notFound, validationFailed, type FieldError } from '../core/errors.js';
import { assertIfMatch, etagOf } from '../core/etag.js';
import { decodeCursor, toPage } from '../core/cursor.js';
import { recordEvent } from '../events/outbox.js';
import { canManageTestbed } from './access.js';
import { SLOT_COLUMNS, slotColumns, toSlotDto, type SlotRow } from './presenter.js';
import { getManagedTestbed, getTestbed } from './service.js';
import { queryWindow } from '../core/query-window.js';
import { MAX_WINDOW_YEARS, capacityErrors, slotTimes } from './slot-rules.js';
import { expandWeeklySeries, type Interval } from './weekly-series.js';
import { blockedBySql, notBlockedSql, offerWaitlist } from '../matching/holds.js';

export type SlotListQuery = SlotListQueryParams & { limit: number };

export type CreatedSlots = { kind: 'single'; slot: SlotRow } | { kind: 'series'; seriesId: string; slots: SlotRow[] };

export const slotEtag = (row: SlotRow) => etagOf(row.id, row.version);

const CONFLICTS_SHOWN = 10;

function assertNoErrors(errors: FieldError[], detail: string): void {
  if (errors.length) throw validationFailed(errors, detail);
}

/** The intervals a create request asks for: one slot, or the expansion of a weekly series. */
function requestedIntervals(input: SlotCreate): Interval[] {
  if (input.series) {
    const mixed = (['start', 'end'] as const).filter((k) => input[k] !== undefined);
    assertNoErrors(
      mixed.map((k) => ({
        pointer: `/body/${k}`,
        message: 'cannot be combined with series; send one slot or a series',
      })),
      'Send either start and end, or a series.',
    );
    return expandWeeklySeries(input.series);
  }
  const times = slotTimes({
    start: input.start!,
    end: input.end!,
    startPointer: '/body/start',
    endPointer: '/body/end',
  });
  assertNoErrors(times.errors, 'The slot times are not valid.');
  return [{ start: times.start!, end: times.end! }];
}

/** Existing slots of the testbed that overlap any of the intervals, for a 409 that says what is in the way. */
async function overlapping(db: Queryable, testbedId: string, intervals: Interval[], exceptId?: string) {
  const { rows } = await db.query<Pick<SlotRow, 'id' | 'start_at' | 'end_at'>>(
    `SELECT s.id, s.start_at, s.end_at FROM slots s
      WHERE s.testbed_id = $1 AND ($4::uuid IS NULL OR s.id <> $4)
        AND EXISTS (SELECT 1 FROM unnest($2::timestamptz[], $3::timestamptz[]) AS w(start_at, end_at)
                     WHERE s.start_at < w.end_at AND s.end_at > w.start_at)
      ORDER BY s.start_at, s.id
      LIMIT ${CONFLICTS_SHOWN}`,
    [
      testbedId,
      intervals.map((i) => i.start.toISOString()),
      intervals.map((i) => i.end.toISOString()),
      exceptId ?? null,
    ],
  );
  return rows.map((r) => ({ id: r.id, start: r.start_at.toISOString(), end: r.end_at.toISOString() }));
}

async function overlapConflict(db: Queryable, testbedId: string, intervals: Interval[], exceptId?: string) {
  const conflictingSlots = await overlapping(db, testbedId, intervals, exceptId);
  return conflict(
    'slot-overlap',
    'A slot of this testbed already covers part of that time; nothing was created or changed.',
    {
      conflictingSlots,
    },
  );
}

export async function createSlots(
  db: Db,
  principal: Principal,
  testbedId: string,
  input: SlotCreate,
): Promise<CreatedSlots> {
  const intervals = requestedIntervals(input);
  const seriesId = input.series ? randomUUID() : null;
  try {
    const rows = await db.transaction(async (tx) => {
      // FOR SHARE: the testbed (its owner and capacity) cannot change under the insert, yet slot writers do not queue.
      const testbed = await getManagedTestbed(tx, principal, testbedId, 'share');
      assertNoErrors(capacityErrors(input.capacity, testbed.capacity), 'The slot is larger than its testbed.');
      // One statement for the whole series: it is inserted whole or, on any overlap, not at all.
      const { rows } = await tx.query<SlotRow>(
        `INSERT INTO slots (testbed_id, series_id, start_at, end_at, capacity)
         SELECT $1, $2, w.start_at, w.end_at, $5
           FROM unnest($3::timestamptz[], $4::timestamptz[]) AS w(start_at, end_at)
         RETURNING ${SLOT_COLUMNS}, ${blockedBySql('slots')} AS blocked_by`,
        [
          testbedId,
          seriesId,
          intervals.map((i) => i.start.toISOString()),
          intervals.map((i) => i.end.toISOString()),
          input.capacity,
        ],
      );
      for (const slot of rows) {
        await recordEvent(tx, {
          type: 'slot.created',
          data: toSlotDto(slot),
          visibility: 'public',
          organizationId: testbed.organization_id,
          testbedId,
        });
      }
      return rows.sort((a, b) => a.start_at.getTime() - b.start_at.getTime());
    });
    return seriesId ? { kind: 'series', seriesId, slots: rows } : { kind: 'single', slot: rows[0]! };
  } catch (err) {
    if (isDbError(err, 'exclusion_violation')) throw await overlapConflict(db, testbedId, intervals);
    throw err;
  }
}

export async function listSlots(db: Db, testbedId: string, q: SlotListQuery) {
  const window = queryWindow(q.from, q.to, { maxYears: MAX_WINDOW_YEARS });
  const list = `slots:${testbedId}`;
  const after = decodeCursor(list, q.cursor, ['time', 'uuid']);
  await getTestbed(db, testbedId);
  const { rows } = await db.query<SlotRow>(
    `SELECT ${SLOT_COLUMNS}, ${blockedBySql('s')} AS blocked_by FROM slots s
      WHERE s.testbed_id = $1
        AND ($2::timestamptz IS NULL OR s.end_at > $2)
        AND ($3::timestamptz IS NULL OR s.start_at < $3)
        AND ($4::boolean IS NULL OR (s.booked_units + s.held_units < s.capacity AND ${notBlockedSql('s')}) = $4)
        AND ($5::timestamptz IS NULL OR (s.start_at, s.id) > ($5::timestamptz, $6::uuid))
      ORDER BY s.start_at, s.id
      LIMIT $7`,
    [
      testbedId,
      window.from?.toISOString() ?? null,
      window.to?.toISOString() ?? null,
      q.available ?? null,
      after?.[0] ?? null,
      after?.[1] ?? null,
      q.limit + 1,
    ],
  );
  return toPage(list, rows, q.limit, (r) => [r.start_at.toISOString(), r.id], toSlotDto);
}

export async function getSlot(db: Queryable, id: string): Promise<SlotRow> {
  const { rows } = await db.query<SlotRow>(
    `SELECT ${SLOT_COLUMNS}, ${blockedBySql('s')} AS blocked_by FROM slots s WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) throw notFound('slot');
  return row;
}

interface ManagedSlot {
  slot: SlotRow;
  testbedCapacity: number;
}

/** The slot locked for a write, with its testbed's capacity: 404 if missing, 403 if the caller may only read it. */
async function getManagedSlot(tx: Queryable, principal: Principal, id: string): Promise<ManagedSlot> {
  const { rows } = await tx.query<SlotRow & { organization_id: string; testbed_capacity: number }>(
    `SELECT ${slotColumns('s')}, t.organization_id, t.capacity AS testbed_capacity
       FROM slots s JOIN testbeds t ON t.id = s.testbed_id
      WHERE s.id = $1
        FOR UPDATE OF s`,
    [id],
  );
  const row = rows[0];
  if (!row) throw notFound('slot');
  if (!canManageTestbed(principal, row)) {
    throw forbidden("Only the organisation that owns this slot's testbed, or a programme operator, may change it.");
  }
  const { organization_id: _org, testbed_capacity, ...slot } = row;
  return { slot, testbedCapacity: testbed_capacity };
}

const inUse = (slot: SlotRow, what: string) =>
  conflict('slot-in-use', `The slot has ${slot.booked_units} booked unit(s); ${what}. Cancel its bookings first.`, {
    bookedUnits: slot.booked_units,
  });

const belowBooked = (bookedUnits: number) =>
  conflict('capacity-below-booked', `Capacity cannot drop below the ${bookedUnits} unit(s) already booked or held.`, {
    bookedUnits,
  });

export async function updateSlot(db: Db, principal: Principal, id: string, patch: SlotPatch, ifMatch: string[]) {
  let target: { testbedId: string; interval: Interval } | undefined;
  try {
    return await db.transaction(async (tx) => {
      const { slot, testbedCapacity } = await getManagedSlot(tx, principal, id);
      assertIfMatch(ifMatch, slotEtag(slot));
      const times = slotTimes({
        start: patch.start ?? slot.start_at.toISOString(),
        end: patch.end ?? slot.end_at.toISOString(),
        startPointer: '/body/start',
        endPointer: '/body/end',
        orderPointer: patch.end !== undefined ? '/body/end' : '/body/start',
      });
      const capacity = patch.capacity ?? slot.capacity;
      assertNoErrors(
        [...times.errors, ...(patch.capacity !== undefined ? capacityErrors(capacity, testbedCapacity) : [])],
        'The slot is not valid.',
      );
      const start = times.start!;
      const end = times.end!;
      const moved = start.getTime() !== slot.start_at.getTime() || end.getTime() !== slot.end_at.getTime();
      // Bookings and holds keep the slot's hours; moving them would silently move every booking with it.
      if (moved && slot.booked_units + slot.held_units > 0) throw inUse(slot, 'its times cannot change');
      if (capacity < slot.booked_units + slot.held_units) throw belowBooked(slot.booked_units + slot.held_units);
      target = { testbedId: slot.testbed_id, interval: { start, end } };
      const { rows } = await tx.query<SlotRow>(
        `UPDATE slots SET start_at = $2, end_at = $3, capacity = $4, version = version + 1, updated_at = now()
          WHERE id = $1 RETURNING ${SLOT_COLUMNS}`,
        [id, start.toISOString(), end.toISOString(), capacity],
      );
      // Raised capacity (or a move out of a blackout) frees units: the waitlist gets them in this transaction.
      if (rows[0] && (capacity > slot.capacity || moved)) await offerWaitlist(tx, id);
      return getSlot(tx, id);
    });
  } catch (err) {
    if (isDbError(err, 'exclusion_violation') && target)
      throw await overlapConflict(db, target.testbedId, [target.interval], id);
    // Backstop: the row lock makes this unreachable today, but the CHECK has the final word on booked units.
    const overPromised = ['slots_booked_units_check', 'slots_held_units_check'].some((c) =>
      isDbError(err, 'check_violation', c),
    );
    if (overPromised) {
      const s = await getSlot(db, id);
      throw belowBooked(s.booked_units + s.held_units);
    }
    throw err;
  }
}

export async function deleteSlot(db: Db, principal: Principal, id: string, ifMatch?: string[]): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      const { slot } = await getManagedSlot(tx, principal, id);
      if (ifMatch) assertIfMatch(ifMatch, slotEtag(slot));
      if (slot.booked_units > 0) throw inUse(slot, 'it cannot be deleted');
      await tx.query('DELETE FROM slots WHERE id = $1', [id]);
    });
  } catch (err) {
    // Rows that refer to the slot (bookings, matches) keep it alive even before they count as booked units.
    if (isDbError(err, 'foreign_key_violation')) {
      throw conflict('slot-in-use', 'Bookings or matches still refer to this slot; cancel them first.');
    }
    throw err;
  }
}
