/**
 * Withdrawing a pilot while its match is being approved: both take the pilot's, the bookings', the matches' and
 * the slots' row locks, in one order (src/pilots/lifecycle.ts), so the race never deadlocks. Every pair answers
 * withdraw 200 and approve 200 (it committed first; the withdrawal then released its booking) or 409 (the pilot
 * was already withdrawn, its match rejected); never 503 or 500. Afterwards no withdrawn pilot holds a booking,
 * a hold or a live match, and the slots' counters are back to zero.
 *
 * With DATABASE_URL the pairs go to two server processes on one PostgreSQL (approve to one, withdraw to the
 * other, alternating); on the embedded database, which no second process can share, to the in-process app.
 */
import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import { createTestbed, operator, signup, type Actor } from './support/factories.js';
import { approve, holdBreaches, requested, ruleBreaches, slotOn, submittedPilot } from './support/matching-factories.js';
import { startAppServer, stopAppServers } from './support/app-servers.js';

interface Shot {
  kind: 'approve' | 'withdraw';
  pilotId: string;
  matchId?: string;
  path: string;
  auth: Record<string, string>;
}

interface Hit {
  shot: Shot;
  status: number;
  code?: string;
}

/**
 * Per pilot one pair: withdraw by its owner and approve by the testbed's owner or an operator. Three kinds of
 * pilot: a single held request; a group of two sessions (approved as a whole); a confirmed booking on day 1
 * beside a held request on day 2 (the withdrawal cancels a booking and rejects a match while approve books).
 * All pilots share three slots, so slot locks are contended too.
 */
async function scene(): Promise<{ shots: Shot[]; pilots: string[]; slots: string[] }> {
  const partner = await signup('partner');
  const op = await operator();
  const owners = [await signup(), await signup(), await signup(), await signup()];
  const testbed = await createTestbed(partner, { capacity: 60 });
  const d1 = await slotOn(partner, testbed.id, 1, 60, 8);
  const d2 = await slotOn(partner, testbed.id, 2, 60, 8);
  const d3 = await slotOn(partner, testbed.id, 3, 60, 8);
  const shots: Shot[] = [];
  const pilots: string[] = [];
  const approver = (i: number): Actor => (i % 2 ? op : partner);
  for (let i = 0; i < 45; i++) {
    const owner = owners[i % 4]!;
    const pilot = await submittedPilot(owner);
    pilots.push(pilot.id);
    let matchId: string;
    if (i % 3 === 0) {
      matchId = (await requested(owner, pilot.id, d2.id)).id;
    } else if (i % 3 === 1) {
      const g = await ctx()
        .api()
        .post(`/v1/pilots/${pilot.id}/matches`)
        .set(owner.auth)
        .send({ sessions: [{ slotId: d2.id, stage: 'main' }, { slotId: d3.id, stage: 'main' }] });
      assert.equal(g.status, 201, JSON.stringify(g.body));
      matchId = (g.body as { data: { id: string }[] }).data[i % 2]!.id;
    } else {
      const first = await requested(owner, pilot.id, d1.id);
      assert.equal((await approve(partner, first.id)).status, 200);
      matchId = (await requested(owner, pilot.id, d2.id)).id;
    }
    const approverAuth = approver(i).auth;
    shots.push({ kind: 'approve', pilotId: pilot.id, matchId, path: `/v1/matches/${matchId}/approve`, auth: approverAuth });
    shots.push({ kind: 'withdraw', pilotId: pilot.id, path: `/v1/pilots/${pilot.id}/withdraw`, auth: owner.auth });
  }
  return { shots, pilots, slots: [d1.id, d2.id, d3.id] };
}

async function check(hits: Hit[], pilots: string[], slots: string[]): Promise<void> {
  const bad = hits.filter((h) =>
    h.shot.kind === 'withdraw' ? h.status !== 200 : !(h.status === 200 || (h.status === 409 && h.code === 'invalid-transition')),
  );
  assert.deepEqual(
    bad.map((h) => `${h.shot.kind} ${h.status} ${h.code ?? ''}`),
    [],
    'withdraw answers 200, approve 200 or 409 invalid-transition',
  );
  const db = ctx().db;
  const held = await db.query<{ status: string; bookings: number; live: number; holding: number }>(
    `SELECT p.status,
            (SELECT count(*)::int FROM bookings b WHERE b.pilot_id = p.id AND b.status = 'confirmed') AS bookings,
            (SELECT count(*)::int FROM matches m WHERE m.pilot_id = p.id
                AND m.status IN ('requested', 'proposed', 'accepted', 'approved')) AS live,
            (SELECT COALESCE(sum(m.held_units), 0)::int FROM matches m WHERE m.pilot_id = p.id) AS holding
       FROM pilots p WHERE p.id = ANY($1::uuid[])`,
    [pilots],
  );
  assert.equal(held.rows.length, pilots.length);
  for (const r of held.rows) assert.deepEqual(r, { status: 'withdrawn', bookings: 0, live: 0, holding: 0 });
  // An approval that won booked its match; the withdrawal after it cancelled that booking. One that lost booked nothing.
  for (const h of hits.filter((x) => x.shot.kind === 'approve')) {
    const { rows } = await db.query<{ status: string; reason: string | null }>(
      'SELECT status, cancel_reason AS reason FROM bookings WHERE match_id = $1',
      [h.shot.matchId],
    );
    if (h.status === 200) assert.deepEqual(rows, [{ status: 'cancelled', reason: 'pilot withdrawn' }]);
    else assert.deepEqual(rows, []);
  }
  const counters = await db.query<{ booked: number; held: number }>(
    'SELECT sum(booked_units)::int AS booked, sum(held_units)::int AS held FROM slots WHERE id = ANY($1::uuid[])',
    [slots],
  );
  assert.deepEqual(counters.rows[0], { booked: 0, held: 0 });
  assert.deepEqual(await ruleBreaches(), { overbooked: 0, mismatched: 0, overlapping: 0 });
  assert.deepEqual(await holdBreaches(), { overPromised: 0, heldMismatch: 0 });
}

describe('withdraw racing approve', function () {
  this.timeout(240_000);

  if (process.env.DATABASE_URL) {
    it('45 withdraw/approve pairs sent at once to two server processes: 2xx or 409, never 5xx; nothing left held', async () => {
      const { shots, pilots, slots } = await scene();
      const servers = await Promise.all([startAppServer(), startAppServer()]);
      let hits: Hit[];
      try {
        hits = await Promise.all(
          shots.map(async (shot, k): Promise<Hit> => {
            // The two halves of a pair go to different processes.
            const res = await fetch(servers[(k + (k >> 1)) % 2]!.base + shot.path, { method: 'POST', headers: shot.auth });
            return { shot, status: res.status, code: ((await res.json()) as { code?: string }).code };
          }),
        );
      } finally {
        await stopAppServers(servers);
      }
      await check(hits, pilots, slots);
    });
  } else {
    it('45 withdraw/approve pairs at once on the embedded database: 2xx or 409; nothing left held', async () => {
      const { shots, pilots, slots } = await scene();
      const hits = await Promise.all(
        shots.map(async (shot): Promise<Hit> => {
          const res = await ctx().api().post(shot.path).set(shot.auth);
          return { shot, status: res.status, code: (res.body as { code?: string }).code };
        }),
      );
      await check(hits, pilots, slots);
    });
  }
});
