/**
 * Holds: a requested match and an accepted proposal hold their units until approved, rejected or expired;
 * proposals nobody accepted hold nothing; expiry runs in the sweep (SKIP LOCKED), each hold expiring once.
 */
import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import { createSlot, createTestbed, operator, signup } from './support/factories.js';
import {
  approve,
  at,
  eventsSeenBy,
  holdBreaches,
  pilotStatus,
  proposal,
  requestSlot,
  requested,
  slotOn,
  slotView,
  submittedPilot,
  testbedWithSlot,
} from './support/matching-factories.js';
import { expireDueMatches, sweepHolds } from '../src/matching/expiry.js';

const api = () => ctx().api();
const count = async (sql: string, params: unknown[] = []) =>
  (await ctx().db.query<{ n: number }>(sql, params)).rows[0]!.n;

describe('holds', () => {
  // availableUnits = capacity − booked − held; the next request is refused with alternatives.
  it('a request holds its units: the slot shows them held, the next request is 409 slot-full', async () => {
    const [a, b, partner] = [await signup(), await signup(), await signup('partner')];
    const pa = await submittedPilot(a);
    const pb = await submittedPilot(b);
    const { slot, testbed } = await testbedWithSlot(partner, 2);
    await slotOn(partner, testbed.id, 5, 2);
    await requested(a, pa.id, slot.id, 2);
    assert.deepEqual(
      (({ capacity, bookedUnits, heldUnits, availableUnits }) => ({
        capacity,
        bookedUnits,
        heldUnits,
        availableUnits,
      }))(await slotView(partner, slot.id)),
      { capacity: 2, bookedUnits: 0, heldUnits: 2, availableUnits: 0 },
    );
    const full = await requestSlot(b, pb.id, slot.id);
    assert.equal(full.status, 409);
    assert.equal(full.body.code, 'slot-full');
    assert.equal(full.body.alternatives.length, 1);
    assert.notEqual(full.body.alternatives[0].slotId, slot.id);
    // Held units are not offered as candidates to others, nor listed as available.
    const cands = await api().get(`/v1/pilots/${pb.id}/candidates`).set(b.auth);
    assert.ok(!cands.body.data.some((c: { slotId: string }) => c.slotId === slot.id));
    const avail = await api().get(`/v1/testbeds/${testbed.id}/slots?available=true`).set(b.auth);
    assert.deepEqual(avail.body.data.map((s: { id: string }) => s.id).includes(slot.id), false);
    assert.deepEqual(await holdBreaches(), { overPromised: 0, heldMismatch: 0 });
  });

  it('approval turns the hold into the booking; rejection frees it', async () => {
    const [a, b, partner] = [await signup(), await signup(), await signup('partner')];
    const pa = await submittedPilot(a);
    const pb = await submittedPilot(b);
    const { slot } = await testbedWithSlot(partner, 2);
    const ma = await requested(a, pa.id, slot.id);
    const mb = await requested(b, pb.id, slot.id);
    assert.equal((await approve(partner, ma.id)).status, 200);
    let v = await slotView(partner, slot.id);
    assert.deepEqual([v.bookedUnits, v.heldUnits, v.availableUnits], [1, 1, 0]);
    assert.equal((await api().post(`/v1/matches/${mb.id}/reject`).set(partner.auth)).status, 200);
    v = await slotView(partner, slot.id);
    assert.deepEqual([v.bookedUnits, v.heldUnits, v.availableUnits], [1, 0, 1]);
    assert.equal(await count('SELECT held_units AS n FROM matches WHERE id = $1', [mb.id]), 0);
    assert.deepEqual(await holdBreaches(), { overPromised: 0, heldMismatch: 0 });
  });

  it('a proposal holds nothing until accepted; accepting one whose units are gone is 409 slot-full', async () => {
    const [a, b, partner] = [await signup(), await signup(), await signup('partner')];
    const pa = await submittedPilot(a);
    const pb = await submittedPilot(b);
    const { slot } = await testbedWithSlot(partner, 1);
    const pr = await proposal(pa.id, slot.id);
    assert.equal((await slotView(partner, slot.id)).heldUnits, 0);
    // Nobody accepted it: another startup may still take the unit.
    await requested(b, pb.id, slot.id);
    const acc = await api().post(`/v1/matches/${pr.id}/accept`).set(a.auth);
    assert.equal(acc.status, 409);
    assert.equal(acc.body.code, 'slot-full');
    assert.ok(Array.isArray(acc.body.alternatives));
    assert.equal((await api().get(`/v1/matches/${pr.id}`).set(a.auth)).body.status, 'proposed');
  });

  it('an accepted proposal holds its units until approval, with a fresh expiry', async () => {
    const [a, b, partner] = [await signup(), await signup(), await signup('partner')];
    const pa = await submittedPilot(a);
    const pb = await submittedPilot(b);
    const { slot } = await testbedWithSlot(partner, 1);
    const pr = await proposal(pa.id, slot.id);
    const acc = await api().post(`/v1/matches/${pr.id}/accept`).set(a.auth);
    assert.equal(acc.status, 200);
    assert.equal(acc.body.status, 'accepted');
    assert.ok(new Date(acc.body.expiresAt).getTime() <= Date.now() + 172_800_000 + 1000);
    assert.equal((await slotView(partner, slot.id)).heldUnits, 1);
    assert.equal((await requestSlot(b, pb.id, slot.id)).body.code, 'slot-full');
    assert.equal((await approve(partner, pr.id)).status, 200);
    const v = await slotView(partner, slot.id);
    assert.deepEqual([v.bookedUnits, v.heldUnits], [1, 0]);
  });

  it('capacity cannot drop below booked + held units', async () => {
    const [a, partner] = [await signup(), await signup('partner')];
    const pa = await submittedPilot(a);
    const { slot } = await testbedWithSlot(partner, 2);
    await requested(a, pa.id, slot.id, 2);
    const etag = (await api().get(`/v1/slots/${slot.id}`).set(partner.auth)).headers.etag as string;
    const res = await api().patch(`/v1/slots/${slot.id}`).set(partner.auth).set('If-Match', etag).send({ capacity: 1 });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'capacity-below-booked');
  });

  it('expiry: two sweeps at once expire each due hold exactly once, free its units, settle its pilot', async () => {
    const partner = await signup('partner');
    const testbed = await createTestbed(partner, { capacity: 1 });
    const owners = [await signup(), await signup()];
    const ids: string[] = [];
    const pilots: string[] = [];
    for (let i = 0; i < 60; i++) {
      const [day, from] = [Math.floor(i / 2), (i % 2) * 10];
      await createSlot(partner, testbed.id, at(day, from), at(day, from + 8), 1);
      pilots.push((await submittedPilot(owners[i % 2]!)).id);
    }
    // 60 pilots each hold one unit of one of 60 slots (disjoint hours on one testbed).
    const slots = (await ctx().db.query<{ id: string }>('SELECT id FROM slots ORDER BY start_at, id')).rows.map(
      (r) => r.id,
    );
    for (let i = 0; i < 60; i++) ids.push((await requested(owners[i % 2]!, pilots[i]!, slots[i]!)).id);
    // One live match that is not due stays live.
    const keep = ids.pop()!;
    await ctx().db.query(`UPDATE matches SET expires_at = now() - interval '1 minute' WHERE id = ANY($1::uuid[])`, [
      ids,
    ]);
    assert.equal(
      (await api().get(`/v1/matches/${ids[0]}`).set(owners[0]!.auth)).body.status,
      'expired',
      'reads expired at once',
    );
    const [x, y] = await Promise.all([sweepHolds(ctx().db), sweepHolds(ctx().db)]);
    assert.equal(x + y, 59, `expired ${x} + ${y}`);
    assert.equal(await expireDueMatches(ctx().db), 0, 'nothing is left to expire');
    assert.equal(await count(`SELECT count(*)::int AS n FROM matches WHERE status = 'expired' AND held_units = 0`), 59);
    assert.equal(await count(`SELECT count(*)::int AS n FROM events WHERE type = 'match.expired'`), 59);
    assert.equal(
      await count(`SELECT count(DISTINCT data->>'id')::int AS n FROM events WHERE type = 'match.expired'`),
      59,
    );
    assert.equal(await count('SELECT COALESCE(sum(held_units), 0)::int AS n FROM slots'), 1);
    assert.equal(await count(`SELECT held_units AS n FROM matches WHERE id = $1`, [keep]), 1);
    assert.equal(await pilotStatus(pilots[0]!), 'submitted');
    assert.deepEqual(await holdBreaches(), { overPromised: 0, heldMismatch: 0 });
  });

  it('match.expired reaches the parties only', async () => {
    const [a, stranger, partner, op] = [await signup(), await signup(), await signup('partner'), await operator()];
    const pa = await submittedPilot(a);
    const { slot } = await testbedWithSlot(partner, 1);
    const m = await requested(a, pa.id, slot.id);
    await ctx().db.query(`UPDATE matches SET expires_at = now() - interval '1 second' WHERE id = $1`, [m.id]);
    assert.equal(await sweepHolds(ctx().db), 1);
    assert.equal(await eventsSeenBy(a, 'startup', 'match.expired'), 1);
    assert.equal(await eventsSeenBy(partner, 'partner', 'match.expired'), 1);
    assert.equal(await eventsSeenBy(op, 'operator', 'match.expired'), 1);
    assert.equal(await eventsSeenBy(stranger, 'startup', 'match.expired'), 0);
  });
});
