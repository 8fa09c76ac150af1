/**
 * Waitlists per slot. A pilot joins a slot's queue for `units`; when units free up (a cancellation, an expired
 * or released hold, a blackout removed, capacity raised) the transaction that freed them hands them to the
 * first waiting entries that fit (matching/holds.ts offerWaitlist), as held `requested` matches. Joining while
 * units are free serves the queue at once, so a pilot never waits behind nothing.
 */
import type { Principal } from '../core/principal.js';
import type { Db, Queryable } from '../db/client.js';
import { isDbError } from '../db/errors.js';
import type { WaitlistCreate } from '../generated/schema-types.js';
import { AppError, conflict, forbidden, notFound, validationFailed } from '../core/errors.js';
import { decodeCursor, toPage } from '../core/cursor.js';
import { needsOf, stageOf } from '../matching/candidates.js';
import { offerWaitlist } from '../matching/holds.js';
import { unsuitability, unsuitabilityText } from '../matching/scoring.js';
import { loadOffer } from '../matching/service.js';
import { getVisiblePilot, stagesOf } from '../pilots/queries.js';
import { ownsPilot } from '../pilots/visibility.js';
import { canManageTestbed } from '../testbeds/access.js';
import { getTestbed } from '../testbeds/service.js';
import { WAITLIST_SELECT, toWaitlistDto, type WaitlistRow } from './presenter.js';

const REQUESTABLE = ['submitted', 'matched', 'booked'];

async function entry(db: Queryable, id: string): Promise<WaitlistRow> {
  return (await db.query<WaitlistRow>(`${WAITLIST_SELECT} WHERE w.id = $1`, [id])).rows[0]!;
}

export async function joinWaitlist(
  db: Db,
  principal: Principal,
  slotId: string,
  body: WaitlistCreate,
): Promise<WaitlistRow> {
  try {
    return await db.transaction(async (tx) => {
      // Lock order: pilot, then slot.
      const pilot = await getVisiblePilot(tx, principal, body.pilotId, true);
      if (!ownsPilot(principal, pilot))
        throw forbidden('Only the organisation that registered this pilot may put it on a waitlist.');
      if (!REQUESTABLE.includes(pilot.status)) {
        throw new AppError(
          409,
          'invalid-transition',
          'Conflict',
          `A ${pilot.status} pilot cannot wait for a slot${pilot.status === 'draft' ? '; submit it first' : ''}.`,
          {
            currentStatus: pilot.status,
            allowedFrom: REQUESTABLE,
          },
        );
      }
      const offer = await loadOffer(tx, slotId, pilot, true);
      if (offer.start.getTime() <= Date.now())
        throw conflict('slot-past', 'The slot has already started; nobody can wait for it.', { slotId });
      let stage = body.stage ? stageOf(pilot, body.stage) : undefined;
      if (body.stage && !stage)
        throw validationFailed([{ pointer: '/body/stage', message: 'names no stage of the pilot' }]);
      const fits = (s: NonNullable<typeof stage>) =>
        unsuitability(needsOf(pilot, s), offer, body.units ?? s.units).filter((u) => u.code !== 'units');
      stage ??= stagesOf(pilot).find((s) => fits(s).length === 0) ?? stagesOf(pilot)[0]!;
      const problems = fits(stage);
      if (problems.length) {
        const reasons = problems.map((u) => unsuitabilityText(u, 'en'));
        throw conflict('slot-unsuitable', `The slot does not meet the pilot's requirements. ${reasons.join(' ')}`, {
          slotId,
          reasons,
        });
      }
      const live = await tx.query(
        `SELECT 1 FROM matches
          WHERE pilot_id = $1 AND slot_id = $2 AND status IN ('requested', 'proposed', 'accepted')`,
        [pilot.id, slotId],
      );
      if (live.rows.length)
        throw conflict('match-exists', 'The pilot already has a live match for this slot; no need to wait for it.');
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO waitlist_entries (slot_id, pilot_id, units, stage, created_by)
         VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [slotId, pilot.id, body.units ?? stage.units, stage.key, principal.userId],
      );
      // Units free right now go to the queue at once (to this entry only if nobody earlier fits).
      await offerWaitlist(tx, slotId);
      return entry(tx, rows[0]!.id);
    });
  } catch (err) {
    if (isDbError(err, 'unique_violation', 'waitlist_waiting_key'))
      throw conflict('waitlist-exists', 'The pilot is already waiting for this slot.');
    throw err;
  }
}

/** The slot's testbed owner and operators see every entry; anyone else the entries of their own pilots. */
export async function listWaitlist(
  db: Db,
  principal: Principal,
  slotId: string,
  q: { status?: string; limit: number; cursor?: string },
) {
  const slot = (await db.query<{ testbed_id: string }>('SELECT testbed_id FROM slots WHERE id = $1', [slotId])).rows[0];
  if (!slot) throw notFound('slot');
  const full = canManageTestbed(principal, await getTestbed(db, slot.testbed_id));
  const list = `waitlist:${slotId}`;
  const after = decodeCursor(list, q.cursor, ['int']);
  const { rows } = await db.query<WaitlistRow>(
    `${WAITLIST_SELECT}
      WHERE w.slot_id = $1 AND ($2::boolean OR p.organization_id = $3) AND ($4::text IS NULL OR w.status = $4)
        AND ($5::bigint IS NULL OR w.seq > $5)
      ORDER BY w.seq LIMIT $6`,
    [slotId, full, principal.organizationId, q.status ?? null, after?.[0] ?? null, q.limit + 1],
  );
  return toPage(list, rows, q.limit, (r) => [Number(r.seq)], toWaitlistDto);
}

/** Leaves the queue: the pilot's owner, the testbed's owner or an operator; only a waiting entry. */
export async function leaveWaitlist(db: Db, principal: Principal, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const { rows } = await tx.query<WaitlistRow & { pilot_org: string; testbed_org: string }>(
      `SELECT w.id, w.status, p.organization_id AS pilot_org, t.organization_id AS testbed_org
         FROM waitlist_entries w JOIN pilots p ON p.id = w.pilot_id
         JOIN slots s ON s.id = w.slot_id JOIN testbeds t ON t.id = s.testbed_id
        WHERE w.id = $1 FOR UPDATE OF w`,
      [id],
    );
    const w = rows[0];
    const mine =
      w &&
      (principal.orgKind === 'operator' ||
        w.pilot_org === principal.organizationId ||
        w.testbed_org === principal.organizationId);
    if (!w || !mine) throw notFound('waitlist entry');
    if (w.status !== 'waiting') {
      throw new AppError(409, 'invalid-transition', 'Conflict', `A ${w.status} waitlist entry cannot be removed.`, {
        currentStatus: w.status,
        allowedFrom: ['waiting'],
      });
    }
    await tx.query(`UPDATE waitlist_entries SET status = 'cancelled', cancelled_at = now() WHERE id = $1`, [id]);
  });
}
