/**
 * Capacity is never over-promised: held + booked never exceeds a slot's capacity under a storm of 200 requests
 * and acceptances sent at once to two server processes on one PostgreSQL (in-process on the embedded database,
 * which no second process can share). Every unit goes to exactly one winner; everyone else is 409 slot-full.
 */
import assert from 'node:assert/strict';
import { startAppServer, stopAppServers } from './support/app-servers.js';
import { ctx } from './support/context.js';
import { createTestbed, signup, type Actor } from './support/factories.js';
import { approve, holdBreaches, proposal, slotOn, submittedPilot } from './support/matching-factories.js';

interface Shot {
  slot: string;
  path: string;
  actor: Actor;
  body?: unknown;
}

/** S1 (capacity 1) and S3 (capacity 3): per slot 70 fresh pilots ask for it and 30 accept a proposal of it. */
async function scene() {
  const partner = await signup('partner');
  const startups = [await signup(), await signup(), await signup(), await signup()];
  const testbed = await createTestbed(partner, { capacity: 3 });
  const S1 = (await slotOn(partner, testbed.id, 1, 1)).id;
  const S3 = (await slotOn(partner, testbed.id, 3, 3)).id;
  const shots: Shot[] = [];
  let i = 0;
  for (const slot of [S1, S3]) {
    for (let k = 0; k < 70; k++) {
      const owner = startups[i++ % 4]!;
      shots.push({
        slot,
        path: `/v1/pilots/${(await submittedPilot(owner)).id}/matches`,
        actor: owner,
        body: { slotId: slot },
      });
    }
    for (let k = 0; k < 30; k++) {
      const owner = startups[i++ % 4]!;
      const p = await proposal((await submittedPilot(owner)).id, slot);
      shots.push({ slot, path: `/v1/matches/${p.id}/accept`, actor: owner });
    }
  }
  for (let k = shots.length - 1; k > 0; k--) {
    const j = (k * 7919) % (k + 1);
    [shots[k], shots[j]] = [shots[j]!, shots[k]!];
  }
  return { shots, slots: { S1, S3 }, partner };
}

interface Hit {
  shot: Shot;
  status: number;
  code?: string;
  id?: string;
}

async function check(hits: Hit[], slots: { S1: string; S3: string }, partner: Actor): Promise<void> {
  assert.equal(hits.length, 200);
  const odd = hits.filter(
    (h) => !(h.status === 200 || h.status === 201 || (h.status === 409 && h.code === 'slot-full')),
  );
  assert.deepEqual(
    odd.map((h) => `${h.status} ${h.code}`),
    [],
    'every answer is a hold or 409 slot-full',
  );
  const winners = (slot: string) => hits.filter((h) => h.shot.slot === slot && h.status < 300);
  assert.equal(winners(slots.S1).length, 1, 'S1 is promised once');
  assert.equal(winners(slots.S3).length, 3, 'S3 is promised three times');
  const { rows } = await ctx().db.query<{ id: string; capacity: number; booked_units: number; held_units: number }>(
    'SELECT id, capacity, booked_units, held_units FROM slots WHERE id = ANY($1::uuid[])',
    [[slots.S1, slots.S3]],
  );
  for (const r of rows) assert.deepEqual([r.booked_units, r.held_units], [0, r.capacity]);
  assert.deepEqual(await holdBreaches(), { overPromised: 0, heldMismatch: 0 });
  // The winners' holds become bookings, exactly filling each slot.
  for (const h of [...winners(slots.S1), ...winners(slots.S3)])
    assert.equal((await approve(partner, h.id!)).status, 200);
  const after = await ctx().db.query<{ capacity: number; booked_units: number; held_units: number }>(
    'SELECT capacity, booked_units, held_units FROM slots WHERE id = ANY($1::uuid[])',
    [[slots.S1, slots.S3]],
  );
  for (const r of after.rows) assert.deepEqual([r.booked_units, r.held_units], [r.capacity, 0]);
}

describe('holds never over-promise a slot', function () {
  this.timeout(240_000);

  if (process.env.DATABASE_URL) {
    it('for 200 concurrent requests and acceptances sent to two server processes on one PostgreSQL', async () => {
      const { shots, slots, partner } = await scene();
      const servers = await Promise.all([startAppServer(), startAppServer()]);
      try {
        const hits = await Promise.all(
          shots.map(async (shot, k): Promise<Hit> => {
            const res = await fetch(servers[k % 2]!.base + shot.path, {
              method: 'POST',
              headers: { ...shot.actor.auth, ...(shot.body ? { 'Content-Type': 'application/json' } : {}) },
              body: shot.body ? JSON.stringify(shot.body) : undefined,
            });
            const body = (await res.json()) as { code?: string; id?: string };
            return { shot, status: res.status, code: body.code, id: body.id };
          }),
        );
        await check(hits, slots, partner);
      } finally {
        await stopAppServers(servers);
      }
    });
  } else {
    it('for 200 concurrent requests and acceptances (in-process; set DATABASE_URL for two processes)', async () => {
      const { shots, slots, partner } = await scene();
      const hits = await Promise.all(
        shots.map(async (shot): Promise<Hit> => {
          const req = ctx().api().post(shot.path).set(shot.actor.auth);
          const res = await (shot.body ? req.send(shot.body as object) : req);
          const body = res.body as { code?: string; id?: string };
          return { shot, status: res.status, code: body.code, id: body.id };
        }),
      );
      await check(hits, slots, partner);
    });
  }
});
