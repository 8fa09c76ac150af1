/** Builders for matching and booking tests, on top of the shared factories. */
import type { OrgKind } from '../../src/core/principal.js';
import { eventVisibility } from '../../src/events/visibility.js';
import { ctx } from './context.js';
import { DAY, createPilot, createSlot, createTestbed, type Actor, type SlotDto } from './factories.js';

const HOUR = 3_600_000;

/** Midnight UTC ten days from now: the start of every test pilot's window. */
function windowStart(): Date {
  const d = new Date(Date.now() + 10 * DAY);
  d.setUTCHours(0, 0, 0, 0);
  return d;
}

/** An instant `days` days and `hours` hours after the window start, as RFC 3339. */
export const at = (days: number, hours = 0) =>
  new Date(windowStart().getTime() + days * DAY + hours * HOUR).toISOString();

/** A submitted pilot whose window is [at(0), at(30)), needing 8 hours of a driving simulator by default. */
export async function submittedPilot(
  owner: Actor,
  overrides: Record<string, unknown> = {},
  requirements: Record<string, unknown> = {},
) {
  const pilot = await createPilot(owner, overrides, { earliestStart: at(0), latestEnd: at(30), ...requirements });
  const res = await ctx().api().post(`/v1/pilots/${pilot.id}/submit`).set(owner.auth);
  if (res.status !== 200) throw new Error(`submit failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; status: string; [k: string]: unknown };
}

/** A testbed with one slot of `hours` hours starting `day` days into the window. */
export async function testbedWithSlot(
  owner: Actor,
  capacity = 1,
  day = 1,
  overrides: Record<string, unknown> = {},
  hours = 8,
) {
  const testbed = await createTestbed(owner, { capacity: Math.max(capacity, 1), ...overrides });
  const slot = await createSlot(owner, testbed.id, at(day), at(day, hours), capacity);
  return { testbed, slot };
}

export async function slotOn(owner: Actor, testbedId: string, day: number, capacity = 1, hours = 8): Promise<SlotDto> {
  return createSlot(owner, testbedId, at(day), at(day, hours), capacity);
}

export async function requestSlot(actor: Actor, pilotId: string, slotId: string, units?: number) {
  return ctx()
    .api()
    .post(`/v1/pilots/${pilotId}/matches`)
    .set(actor.auth)
    .send(units === undefined ? { slotId } : { slotId, units });
}

export async function requested(
  actor: Actor,
  pilotId: string,
  slotId: string,
  units?: number,
): Promise<{ id: string; [k: string]: unknown }> {
  const res = await requestSlot(actor, pilotId, slotId, units);
  if (res.status !== 201) throw new Error(`request failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export const approve = (actor: Actor, matchId: string) =>
  ctx().api().post(`/v1/matches/${matchId}/approve`).set(actor.auth);

export async function pilotStatus(id: string): Promise<string> {
  return (await ctx().db.query<{ status: string }>('SELECT status FROM pilots WHERE id = $1', [id])).rows[0]!.status;
}

export async function eventTypes(): Promise<string[]> {
  return (await ctx().db.query<{ type: string }>('SELECT type FROM events ORDER BY seq')).rows.map((r) => r.type);
}

/** Rule checks straight from the database: no slot over capacity, no pilot in two places at once. */
export async function ruleBreaches(): Promise<{ overbooked: number; mismatched: number; overlapping: number }> {
  const db = ctx().db;
  const overbooked = (
    await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM slots WHERE booked_units > capacity OR booked_units < 0',
    )
  ).rows[0]!.n;
  const mismatched = (
    await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM slots s
        WHERE s.booked_units <> COALESCE((SELECT sum(b.units) FROM bookings b WHERE b.slot_id = s.id AND b.status = 'confirmed'), 0)`,
    )
  ).rows[0]!.n;
  const overlapping = (
    await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM bookings a JOIN bookings b
          ON a.pilot_id = b.pilot_id AND a.id < b.id AND a.status = 'confirmed' AND b.status = 'confirmed'
         AND a.start_at < b.end_at AND b.start_at < a.end_at`,
    )
  ).rows[0]!.n;
  return { overbooked, mismatched, overlapping };
}

/**
 * A `requested` match that holds no units, written straight to the database: what a request made before holds
 * existed looks like (migration 0010 gives live matches no hold). Through the API a request holds its units, so
 * only such matches let an approval race past capacity and exercise the CHECK that refuses it.
 */
export async function unheldRequest(
  pilotId: string,
  slotId: string,
  o: { units?: number; groupId?: string } = {},
): Promise<{ id: string }> {
  const db = ctx().db;
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO matches (pilot_id, slot_id, testbed_id, units, status, origin, expires_at, stage, group_id)
     SELECT $1, s.id, s.testbed_id, $3, 'requested', 'request', s.start_at, 'main', $4
       FROM slots s WHERE s.id = $2 RETURNING id`,
    [pilotId, slotId, o.units ?? 1, o.groupId ?? null],
  );
  await db.query(`UPDATE pilots SET status = 'matched' WHERE id = $1 AND status = 'submitted'`, [pilotId]);
  return rows[0]!;
}

/** A `proposed` match, as an allocation run writes it (proposals hold nothing until accepted). */
export async function proposal(pilotId: string, slotId: string, units = 1): Promise<{ id: string }> {
  const db = ctx().db;
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO matches (pilot_id, slot_id, testbed_id, units, status, origin, expires_at, stage)
     SELECT $1, s.id, s.testbed_id, $3, 'proposed', 'allocation', s.start_at, 'main'
       FROM slots s WHERE s.id = $2 RETURNING id`,
    [pilotId, slotId, units],
  );
  await db.query(`UPDATE pilots SET status = 'matched' WHERE id = $1 AND status = 'submitted'`, [pilotId]);
  return rows[0]!;
}

/** The slot as the API shows it. */
export async function slotView(actor: Actor, slotId: string) {
  const res = await ctx().api().get(`/v1/slots/${slotId}`).set(actor.auth);
  if (res.status !== 200) throw new Error(`slot read failed: ${res.status}`);
  return res.body as {
    capacity: number;
    bookedUnits: number;
    heldUnits: number;
    availableUnits: number;
    blockedBy: { blackoutId: string; reason: string } | null;
  };
}

/** Held units straight from the database agree with the matches that hold them, and never over-promise. */
export async function holdBreaches(): Promise<{ overPromised: number; heldMismatch: number }> {
  const db = ctx().db;
  const overPromised = (
    await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM slots WHERE booked_units + held_units > capacity OR held_units < 0',
    )
  ).rows[0]!.n;
  const heldMismatch = (
    await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM slots s
        WHERE s.held_units <> COALESCE((SELECT sum(m.held_units) FROM matches m WHERE m.slot_id = s.id), 0)`,
    )
  ).rows[0]!.n;
  return { overPromised, heldMismatch };
}

/**
 * How many events of a type the actor's organisation may see, by the same rule the feed and webhooks apply
 * (read straight from the table: the feed also waits for older transactions cluster-wide, which on a shared
 * server is not this test's to control).
 */
export async function eventsSeenBy(actor: Actor, orgKind: OrgKind, type: string): Promise<number> {
  const { rows } = await ctx().db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events ev
      WHERE ev.type = $2 AND ${eventVisibility({ organizationId: actor.orgId, orgKind }, 1)}`,
    [actor.orgId, type],
  );
  return rows[0]!.n;
}
