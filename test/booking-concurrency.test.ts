/**
 * Guarantee 1: a slot is never booked beyond its capacity and a pilot never holds two overlapping bookings,
 * under concurrent requests from several server processes on one PostgreSQL. Since requests hold units, the
 * guarantee reads: held + booked never exceeds capacity. The approvals race on matches that hold nothing (made
 * before holds existed, written by unheldRequest), the requests take holds, both against the same units.
 *
 * With DATABASE_URL (the PostgreSQL server) the burst goes to two child processes running the real app on
 * the same database. On the embedded database, which lives inside this process, the same burst goes to the
 * in-process app instead: there is no second process that could share it.
 */
import assert from 'node:assert/strict';
import { startAppServer, stopAppServers } from './support/app-servers.js';
import { ctx } from './support/context.js';
import { createPilot, createSlot, createTestbed, operator, signup, type Actor } from './support/factories.js';
import { at, ruleBreaches, unheldRequest } from './support/matching-factories.js';

interface Shot {
  kind: 'approve' | 'request';
  slot: string;
  path: string;
  actor: Actor;
  body?: unknown;
}

interface Hit {
  shot: Shot;
  status: number;
  code?: string;
}

async function submitted(owner: Actor, title: string): Promise<string> {
  const p = await createPilot(owner, { title }, { earliestStart: at(0), latestEnd: at(30) });
  const res = await ctx().api().post(`/v1/pilots/${p.id}/submit`).set(owner.auth);
  assert.equal(res.status, 200);
  return p.id;
}

/**
 * The scene: slot S1 (capacity 1) and S3 (capacity 3) on one testbed, T3 (capacity 3) on another overlapping S3.
 * 50 pilots have asked for S1, 50 for S3, and 20 for both S3 and T3 (the same pilot twice at once); the burst
 * approves all 140 requests and adds 60 direct requests (30 for S1, 30 for S3) from fresh pilots.
 */
async function scene(): Promise<{ shots: Shot[]; slots: Record<'S1' | 'S3' | 'T3', string> }> {
  const [partner, op] = [await signup('partner'), await operator()];
  const startups = [await signup(), await signup(), await signup(), await signup()];
  const a = await createTestbed(partner, { capacity: 3 });
  const b = await createTestbed(partner, { capacity: 3 });
  const S1 = (await createSlot(partner, a.id, at(1), at(1, 8), 1)).id;
  const S3 = (await createSlot(partner, a.id, at(3), at(3, 8), 3)).id;
  const T3 = (await createSlot(partner, b.id, at(3, 2), at(3, 10), 3)).id;
  const shots: Shot[] = [];
  const approver = (i: number) => (i % 2 ? op : partner);
  let i = 0;
  for (const [slot, n] of [
    [S1, 50],
    [S3, 50],
  ] as const) {
    for (let k = 0; k < n; k++) {
      const owner = startups[i % 4]!;
      const m = await unheldRequest(await submitted(owner, `p${i}`), slot);
      shots.push({ kind: 'approve', slot, path: `/v1/matches/${m.id}/approve`, actor: approver(i++) });
    }
  }
  for (let k = 0; k < 20; k++) {
    const owner = startups[i % 4]!;
    const pilot = await submitted(owner, `z${k}`);
    for (const slot of [S3, T3]) {
      const m = await unheldRequest(pilot, slot);
      shots.push({ kind: 'approve', slot, path: `/v1/matches/${m.id}/approve`, actor: approver(i++) });
    }
  }
  for (const slot of [S1, S3]) {
    for (let k = 0; k < 30; k++) {
      const owner = startups[i++ % 4]!;
      shots.push({
        kind: 'request',
        slot,
        path: `/v1/pilots/${await submitted(owner, `r${k}`)}/matches`,
        actor: owner,
        body: { slotId: slot },
      });
    }
  }
  // Shuffle deterministically so approvals and requests interleave.
  for (let k = shots.length - 1; k > 0; k--) {
    const j = (k * 7919) % (k + 1);
    [shots[k], shots[j]] = [shots[j]!, shots[k]!];
  }
  return { shots, slots: { S1, S3, T3 } };
}

function check(hits: Hit[], slots: Record<'S1' | 'S3' | 'T3', string>): void {
  assert.equal(hits.length, 200);
  const bad = hits.filter((h) => h.status >= 500 || ![200, 201, 409].includes(h.status));
  assert.deepEqual(
    bad.map((h) => `${h.shot.kind} ${h.status} ${h.code}`),
    [],
    'every answer is a success or a 409',
  );
  const approvals = hits.filter((h) => h.shot.kind === 'approve');
  // Each unit goes to exactly one winner: an approval (booked) or a request (held).
  const won = (slot: string) => hits.filter((h) => h.shot.slot === slot && h.status < 300).length;
  assert.equal(won(slots.S1), 1, 'exactly the capacity of S1 is booked or held');
  assert.equal(won(slots.S3), 3, 'exactly the capacity of S3 is booked or held');
  assert.equal(won(slots.T3), 3, 'exactly the capacity of T3 is booked');
  for (const h of approvals.filter((x) => x.status !== 200)) {
    assert.ok(h.code === 'slot-full' || h.code === 'booking-overlap', `approval refused with ${h.code}`);
  }
  for (const h of hits.filter((x) => x.shot.kind === 'request')) {
    assert.ok(
      h.status === 201 || (h.status === 409 && h.code === 'slot-full'),
      `request answered ${h.status} ${h.code}`,
    );
  }
}

async function verifyDatabase(slots: Record<'S1' | 'S3' | 'T3', string>): Promise<void> {
  assert.deepEqual(await ruleBreaches(), { overbooked: 0, mismatched: 0, overlapping: 0 });
  type Row = { id: string; booked_units: number; held_units: number; capacity: number; bookings: number };
  type HoldRow = Row & { holds: number };
  const { rows } = await ctx().db.query<HoldRow>(
    `SELECT s.id, s.booked_units, s.held_units, s.capacity,
            (SELECT count(*)::int FROM bookings b WHERE b.slot_id = s.id AND b.status = 'confirmed') AS bookings,
            (SELECT COALESCE(sum(m.held_units), 0)::int FROM matches m WHERE m.slot_id = s.id) AS holds
       FROM slots s WHERE s.id = ANY($1::uuid[])`,
    [Object.values(slots)],
  );
  for (const r of rows) {
    assert.equal(r.booked_units + r.held_units, r.capacity);
    assert.equal(r.bookings + r.holds, r.capacity);
    assert.equal(r.held_units, r.holds);
  }
  // The pilots asking for both S3 and T3 hold at most one of them.
  const twice = await ctx().db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT pilot_id FROM bookings WHERE status = 'confirmed' GROUP BY pilot_id HAVING count(*) > 1) x`,
  );
  assert.equal(twice.rows[0]!.n, 0);
}

describe('guarantee 1: no over-booking, no pilot in two places at once', function () {
  this.timeout(180_000);

  if (process.env.DATABASE_URL) {
    it('holds for 200 concurrent approvals and requests sent to two server processes on one PostgreSQL', async () => {
      assert.equal(ctx().db.engine, 'postgres');
      const { shots, slots } = await scene();
      const servers = await Promise.all([startAppServer(), startAppServer()]);
      try {
        const hits = await Promise.all(
          shots.map(async (shot, k): Promise<Hit> => {
            const res = await fetch(servers[k % 2]!.base + shot.path, {
              method: 'POST',
              headers: { ...shot.actor.auth, ...(shot.body ? { 'Content-Type': 'application/json' } : {}) },
              body: shot.body ? JSON.stringify(shot.body) : undefined,
            });
            const body = (await res.json()) as { code?: string };
            return { shot, status: res.status, code: body.code };
          }),
        );
        check(hits, slots);
      } finally {
        await stopAppServers(servers);
      }
      await verifyDatabase(slots);
    });
  } else {
    it('holds for 200 concurrent approvals and requests on the embedded database (in-process; set DATABASE_URL for two processes)', async () => {
      const { shots, slots } = await scene();
      const hits = await Promise.all(
        shots.map(async (shot): Promise<Hit> => {
          const req = ctx().api().post(shot.path).set(shot.actor.auth);
          const res = await (shot.body ? req.send(shot.body as object) : req);
          return { shot, status: res.status, code: (res.body as { code?: string }).code };
        }),
      );
      check(hits, slots);
      await verifyDatabase(slots);
    });
  }
});
