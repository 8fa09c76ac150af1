/**
 * Group requests: one match per session sharing a groupId; accept, approve and reject act on the whole group;
 * approval books every session or none, also under concurrent approvals from two server processes.
 */
import assert from 'node:assert/strict';
import { startAppServer, stopAppServers } from './support/app-servers.js';
import { ctx } from './support/context.js';
import { countRows, createTestbed, operator, pointers, signup, type Actor } from './support/factories.js';
import { approve, requested, ruleBreaches, slotOn, submittedPilot } from './support/matching-factories.js';

const api = () => ctx().api();

const askGroup = (
  actor: Actor,
  pilotId: string,
  sessions: { slotId: string; stage: string }[],
  extra: Record<string, unknown> = {},
) =>
  api()
    .post(`/v1/pilots/${pilotId}/matches`)
    .set(actor.auth)
    .send({ sessions, ...extra });

async function scene() {
  const partner = await signup('partner');
  const op = await operator();
  const owner = await signup();
  const testbed = await createTestbed(partner, { capacity: 3 });
  const pilot = await submittedPilot(owner);
  const a = await slotOn(partner, testbed.id, 1, 1, 8);
  const b = await slotOn(partner, testbed.id, 2, 1, 8);
  return { partner, op, owner, testbed, pilot, a, b };
}

const bookingsOf = async (pilotId: string) =>
  (
    await ctx().db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM bookings WHERE pilot_id = $1 AND status = 'confirmed'`,
      [pilotId],
    )
  ).rows[0]!.n;

describe('group requests', () => {
  it('creates one match per session sharing a groupId: 201 {groupId, data}', async () => {
    const { owner, pilot, a, b } = await scene();
    const res = await askGroup(owner, pilot.id, [
      { slotId: a.id, stage: 'main' },
      { slotId: b.id, stage: 'main' },
    ]);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.data.length, 2);
    for (const m of res.body.data) {
      assert.equal(m.groupId, res.body.groupId);
      assert.equal(m.stage, 'main');
      assert.equal(m.status, 'requested');
    }
  });

  it('refuses a repeated slot, an unknown stage and slotId beside sessions with 400 and pointers, writing nothing', async () => {
    const { owner, pilot, a, b } = await scene();
    const cases: [unknown[], Record<string, unknown>, string][] = [
      [
        [
          { slotId: a.id, stage: 'main' },
          { slotId: a.id, stage: 'main' },
        ],
        {},
        '/body/sessions/1/slotId',
      ],
      [[{ slotId: a.id, stage: 'nope' }], {}, '/body/sessions/0/stage'],
      [[{ slotId: a.id, stage: 'main' }], { slotId: b.id }, '/body/slotId'],
      [[], {}, '/body/sessions'],
    ];
    for (const [sessions, extra, pointer] of cases) {
      const res = await askGroup(owner, pilot.id, sessions as { slotId: string; stage: string }[], extra);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.ok(pointers(res.body).includes(pointer), `${pointer} in ${JSON.stringify(res.body.errors)}`);
    }
    assert.equal(await countRows('matches'), 0);
  });

  it('creates nothing when one session does not suit: 409 with alternatives', async () => {
    const { partner, owner, pilot, testbed, a } = await scene();
    const short = await slotOn(partner, testbed.id, 3, 1, 2);
    const res = await askGroup(owner, pilot.id, [
      { slotId: a.id, stage: 'main' },
      { slotId: short.id, stage: 'main' },
    ]);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'slot-unsuitable');
    assert.equal(res.body.slotId, short.id);
    assert.equal(await countRows('matches'), 0);
  });

  it('approving one match approves the group; rejecting one rejects the group', async () => {
    const { partner, op, owner, pilot, testbed, a, b } = await scene();
    const g = await askGroup(owner, pilot.id, [
      { slotId: a.id, stage: 'main' },
      { slotId: b.id, stage: 'main' },
    ]);
    const ok = await approve(partner, g.body.data[1].id);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(await bookingsOf(pilot.id), 2);
    const list = await api().get(`/v1/matches?pilotId=${pilot.id}`).set(owner.auth);
    assert.deepEqual(
      list.body.data.map((m: { status: string }) => m.status),
      ['approved', 'approved'],
    );

    const c = await slotOn(partner, testbed.id, 4, 1, 8);
    const d = await slotOn(partner, testbed.id, 5, 1, 8);
    const g2 = await askGroup(owner, pilot.id, [
      { slotId: c.id, stage: 'main' },
      { slotId: d.id, stage: 'main' },
    ]);
    const rej = await api().post(`/v1/matches/${g2.body.data[0].id}/reject`).set(op.auth);
    assert.equal(rej.status, 200);
    const second = await api().get(`/v1/matches/${g2.body.data[1].id}`).set(owner.auth);
    assert.equal(second.body.status, 'rejected');
  });

  it('a failed group approval leaves no booking and no spent credit, and names the failed session', async () => {
    const { partner, op, owner, pilot, a, b } = await scene();
    await api().put(`/v1/pilots/${pilot.id}/budget`).set(op.auth).send({ credits: 100 });
    const g = await askGroup(owner, pilot.id, [
      { slotId: a.id, stage: 'main' },
      { slotId: b.id, stage: 'main' },
    ]);
    // The group's session on b holds nothing (as a request from before holds would), and another pilot takes b first.
    const onB = g.body.data.find((m: { slotId: string }) => m.slotId === b.id).id;
    await ctx().db.query('UPDATE slots SET held_units = held_units - 1 WHERE id = $1', [b.id]);
    await ctx().db.query('UPDATE matches SET held_units = 0 WHERE id = $1', [onB]);
    const rivalOwner = await signup();
    const rival = await submittedPilot(rivalOwner);
    const rm = await requested(rivalOwner, rival.id, b.id);
    assert.equal((await approve(partner, rm.id)).status, 200);
    const res = await approve(op, g.body.data[0].id);
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(res.body.code, 'slot-full');
    assert.deepEqual(res.body.failedSession, {
      matchId: g.body.data.find((m: { slotId: string }) => m.slotId === b.id).id,
      slotId: b.id,
      stage: 'main',
    });
    assert.equal(await bookingsOf(pilot.id), 0);
    assert.equal((await api().get(`/v1/slots/${a.id}`).set(partner.auth)).body.bookedUnits, 0);
    assert.equal((await api().get(`/v1/pilots/${pilot.id}`).set(owner.auth)).body.budget.committed, 0);
  });

  it('a group the budget cannot pay for is refused whole with 409 budget-exceeded', async () => {
    const { op, owner, pilot, a, b } = await scene();
    await api().put(`/v1/pilots/${pilot.id}/budget`).set(op.auth).send({ credits: 12 });
    const g = await askGroup(owner, pilot.id, [
      { slotId: a.id, stage: 'main' },
      { slotId: b.id, stage: 'main' },
    ]);
    const res = await approve(op, g.body.data[0].id);
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'budget-exceeded');
    assert.ok(res.body.failedSession);
    assert.equal(await bookingsOf(pilot.id), 0);
    assert.equal((await api().get(`/v1/pilots/${pilot.id}`).set(owner.auth)).body.budget.committed, 0);
  });
});

/**
 * Ten pilots each ask for a group of two sessions: a slot of their own (capacity 1) and a shared slot S
 * (capacity 3). All ten groups are approved at once, each through both of its matches: exactly three groups win,
 * and every other pilot holds no booking at all, not even its own uncontested slot.
 */
async function stormScene() {
  const partner = await signup('partner');
  const op = await operator();
  const testbed = await createTestbed(partner, { capacity: 10 });
  const shared = await slotOn(partner, testbed.id, 1, 10, 8);
  const shots: { path: string; auth: Record<string, string>; pilotId: string }[] = [];
  const pilots: string[] = [];
  for (let i = 0; i < 10; i++) {
    const owner = await signup();
    const pilot = await submittedPilot(owner);
    pilots.push(pilot.id);
    const own = await slotOn(partner, testbed.id, 2 + i, 1, 8);
    const g = await askGroup(owner, pilot.id, [
      { slotId: own.id, stage: 'main' },
      { slotId: shared.id, stage: 'main' },
    ]);
    assert.equal(g.status, 201, JSON.stringify(g.body));
    for (const m of g.body.data)
      shots.push({ path: `/v1/matches/${m.id}/approve`, auth: (i % 2 ? op : partner).auth, pilotId: pilot.id });
  }
  // The shared slot shrinks to 3 with its ten sessions holding nothing (as requests from before holds would):
  // only then can approvals race past its capacity and meet the CHECK.
  await ctx().db.query('UPDATE matches SET held_units = 0 WHERE slot_id = $1', [shared.id]);
  await ctx().db.query('UPDATE slots SET held_units = 0, capacity = 3 WHERE id = $1', [shared.id]);
  for (let k = shots.length - 1; k > 0; k--) {
    const j = (k * 7919) % (k + 1);
    [shots[k], shots[j]] = [shots[j]!, shots[k]!];
  }
  return { shots, pilots, shared: shared.id };
}

async function verifyStorm(
  hits: { pilotId: string; status: number; code?: string }[],
  pilots: string[],
  shared: string,
) {
  for (const h of hits) {
    assert.ok(
      h.status === 200 || (h.status === 409 && ['slot-full', 'invalid-transition'].includes(h.code ?? '')),
      `${h.status} ${h.code}`,
    );
  }
  const counts = await Promise.all(pilots.map(bookingsOf));
  assert.ok(
    counts.every((n) => n === 0 || n === 2),
    `all or nothing per group: ${counts.join(',')}`,
  );
  assert.equal(counts.filter((n) => n === 2).length, 3, 'exactly the capacity of the shared slot');
  const s = await ctx().db.query<{ booked_units: number }>('SELECT booked_units FROM slots WHERE id = $1', [shared]);
  assert.equal(s.rows[0]!.booked_units, 3);
  assert.deepEqual(await ruleBreaches(), { overbooked: 0, mismatched: 0, overlapping: 0 });
}

describe('atomic group approval under concurrency', function () {
  this.timeout(240_000);

  if (process.env.DATABASE_URL) {
    it('books whole groups or nothing for 20 concurrent approvals sent to two server processes', async () => {
      const { shots, pilots, shared } = await stormScene();
      const servers = await Promise.all([startAppServer(), startAppServer()]);
      try {
        const hits = await Promise.all(
          shots.map(async (shot, k) => {
            const res = await fetch(servers[k % 2]!.base + shot.path, { method: 'POST', headers: shot.auth });
            return { pilotId: shot.pilotId, status: res.status, code: ((await res.json()) as { code?: string }).code };
          }),
        );
        await verifyStorm(hits, pilots, shared);
      } finally {
        await stopAppServers(servers);
      }
    });
  } else {
    it('books whole groups or nothing for 20 concurrent approvals (in-process; set DATABASE_URL for two processes)', async () => {
      const { shots, pilots, shared } = await stormScene();
      const hits = await Promise.all(
        shots.map(async (shot) => {
          const res = await api().post(shot.path).set(shot.auth);
          return { pilotId: shot.pilotId, status: res.status, code: (res.body as { code?: string }).code };
        }),
      );
      await verifyStorm(hits, pilots, shared);
    });
  }
});
