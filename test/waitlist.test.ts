/**
 * Waitlists: freed units go to the first waiting pilot that fits, as a held `requested` match (origin
 * waitlist), in the transaction that freed them — after a cancellation, an expiry, a rejection, raised capacity
 * (a removed blackout: blackouts.test.ts) — first come, first served, also under many concurrent cancellations.
 */
import assert from 'node:assert/strict';
import { startAppServer, stopAppServers } from './support/app-servers.js';
import { ctx } from './support/context.js';
import {
  countRows,
  createPilot,
  createSlot,
  createTestbed,
  operator,
  signup,
  type Actor,
} from './support/factories.js';
import {
  approve,
  at,
  holdBreaches,
  requested,
  slotOn,
  slotView,
  submittedPilot,
  testbedWithSlot,
} from './support/matching-factories.js';
import { sweepHolds } from '../src/matching/expiry.js';

const api = () => ctx().api();
const join = (actor: Actor, slotId: string, body: Record<string, unknown>) =>
  api().post(`/v1/slots/${slotId}/waitlist`).set(actor.auth).send(body);
const entries = async (actor: Actor, slotId: string) =>
  (await api().get(`/v1/slots/${slotId}/waitlist`).set(actor.auth)).body.data as {
    id: string;
    pilotId: string;
    status: string;
    position: number | null;
    matchId: string | null;
  }[];

async function book(owner: Actor, partner: Actor, pilotId: string, slotId: string): Promise<string> {
  const res = await approve(partner, (await requested(owner, pilotId, slotId)).id);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.bookingId as string;
}

describe('waitlist', () => {
  it('queues pilots with positions; the owner of the testbed sees everyone, a startup its own pilots', async () => {
    const [partner, a, b] = [await signup('partner'), await signup(), await signup()];
    const { slot } = await testbedWithSlot(partner, 1);
    const holder = await submittedPilot(b);
    await requested(b, holder.id, slot.id);
    const pa = await submittedPilot(a);
    const pb = await submittedPilot(b);
    const ja = await join(a, slot.id, { pilotId: pa.id });
    assert.equal(ja.status, 201, JSON.stringify(ja.body));
    assert.deepEqual([ja.body.position, ja.body.status, ja.body.units, ja.body.stage], [1, 'waiting', 1, 'main']);
    assert.equal(ja.headers.location, `/v1/waitlist/${ja.body.id}`);
    assert.equal((await join(b, slot.id, { pilotId: pb.id })).body.position, 2);
    assert.deepEqual(
      (await entries(partner, slot.id)).map((e) => e.position),
      [1, 2],
    );
    assert.deepEqual(
      (await entries(a, slot.id)).map((e) => e.pilotId),
      [pa.id],
    );
  });

  it('refuses a pilot not owned (404), twice (409), a started slot or draft pilot (409); writes nothing', async () => {
    const [partner, a, b] = [await signup('partner'), await signup(), await signup()];
    const testbed = await createTestbed(partner);
    const slot = await slotOn(partner, testbed.id, 2, 1);
    const past = await createSlot(
      partner,
      testbed.id,
      new Date(Date.now() - 3 * 86_400_000).toISOString(),
      new Date(Date.now() - 2 * 86_400_000).toISOString(),
      1,
    );
    const pa = await submittedPilot(a, {}, { earliestStart: new Date(Date.now() - 5 * 86_400_000).toISOString() });
    const holder = await submittedPilot(b);
    await requested(b, holder.id, slot.id);
    const notMine = await join(b, slot.id, { pilotId: pa.id });
    assert.equal(notMine.status, 404);
    assert.match(notMine.headers['content-type'] as string, /problem\+json/);
    assert.equal((await join(a, slot.id, { pilotId: pa.id })).status, 201);
    const twice = await join(a, slot.id, { pilotId: pa.id });
    assert.deepEqual([twice.status, twice.body.code], [409, 'waitlist-exists']);
    const started = await join(a, past.id, { pilotId: pa.id });
    assert.deepEqual([started.status, started.body.code], [409, 'slot-past']);
    const draft = await createPilot(a, {}, { earliestStart: at(0), latestEnd: at(30) });
    assert.equal((await join(a, slot.id, { pilotId: draft.id })).body.code, 'invalid-transition');
    assert.equal((await join(a, '00000000-0000-4000-8000-000000000000', { pilotId: pa.id })).status, 404);
    assert.equal((await join(a, slot.id, { pilotId: pa.id, units: 0 })).status, 400);
    assert.equal(await countRows('waitlist_entries'), 1);
  });

  it('a cancellation hands the freed unit to the first waiting pilot that fits, in the same transaction', async () => {
    const [partner, a, b, c] = [await signup('partner'), await signup(), await signup(), await signup()];
    const testbed = await createTestbed(partner, { capacity: 2 });
    const slot = await slotOn(partner, testbed.id, 2, 2);
    const holder = await submittedPilot(c);
    const bookingId = await book(c, partner, holder.id, slot.id);
    const other = await submittedPilot(c);
    await requested(c, other.id, slot.id);
    const big = await submittedPilot(a, {}, { units: 2 });
    const small = await submittedPilot(b);
    assert.equal((await join(a, slot.id, { pilotId: big.id })).status, 201);
    assert.equal((await join(b, slot.id, { pilotId: small.id })).status, 201);
    assert.equal((await api().post(`/v1/bookings/${bookingId}/cancel`).set(c.auth)).status, 200);
    // One unit is free: the first entry needs two, so the second, which fits, gets it.
    const list = await entries(partner, slot.id);
    assert.deepEqual(
      list.map((e) => [e.pilotId, e.status, e.position]),
      [
        [big.id, 'waiting', 1],
        [small.id, 'offered', null],
      ],
    );
    const m = (await api().get(`/v1/matches/${list[1]!.matchId}`).set(b.auth)).body;
    assert.deepEqual([m.status, m.origin, m.pilotId, m.units], ['requested', 'waitlist', small.id, 1]);
    assert.equal((await api().get(`/v1/pilots/${small.id}`).set(b.auth)).body.status, 'matched');
    const v = await slotView(partner, slot.id);
    assert.deepEqual([v.bookedUnits, v.heldUnits, v.availableUnits], [0, 2, 0]);
    const ev = await ctx().db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events WHERE type = 'match.requested' AND data->>'origin' = 'waitlist'`,
    );
    assert.equal(ev.rows[0]!.n, 1);
    // Approval books it like any request.
    assert.equal((await approve(partner, m.id)).status, 200);
  });

  // A waiting entry can be removed, an offered one not.
  it('expired and rejected holds, and raised capacity, serve the queue too', async () => {
    const [partner, a, b, c, d] = [
      await signup('partner'),
      await signup(),
      await signup(),
      await signup(),
      await signup(),
    ];
    const testbed = await createTestbed(partner, { capacity: 3 });
    const slot = await slotOn(partner, testbed.id, 2, 1);
    const first = await requested(c, (await submittedPilot(c)).id, slot.id);
    const [pa, pb, pd] = [await submittedPilot(a), await submittedPilot(b), await submittedPilot(d)];
    const ea = (await join(a, slot.id, { pilotId: pa.id })).body;
    const eb = (await join(b, slot.id, { pilotId: pb.id })).body;
    const ed = (await join(d, slot.id, { pilotId: pd.id })).body;
    await ctx().db.query(`UPDATE matches SET expires_at = now() - interval '1 second' WHERE id = $1`, [first.id]);
    assert.equal(await sweepHolds(ctx().db), 1);
    assert.equal((await entries(partner, slot.id)).find((e) => e.id === ea.id)!.status, 'offered');
    const offered = (await entries(partner, slot.id)).find((e) => e.id === ea.id)!.matchId!;
    assert.equal((await api().post(`/v1/matches/${offered}/reject`).set(a.auth)).status, 200);
    assert.equal((await entries(partner, slot.id)).find((e) => e.id === eb.id)!.status, 'offered');
    assert.equal((await api().delete(`/v1/waitlist/${eb.id}`).set(b.auth)).status, 409);
    assert.equal((await api().delete(`/v1/waitlist/${ed.id}`).set(a.auth)).status, 404);
    const etag = (await api().get(`/v1/slots/${slot.id}`).set(partner.auth)).headers.etag as string;
    const raised = await api()
      .patch(`/v1/slots/${slot.id}`)
      .set(partner.auth)
      .set('If-Match', etag)
      .send({ capacity: 2 });
    assert.equal(raised.status, 200);
    assert.deepEqual([raised.body.heldUnits, raised.body.availableUnits], [2, 0]);
    assert.equal((await entries(partner, slot.id)).find((e) => e.id === ed.id)!.status, 'offered');
    const again = (await join(a, slot.id, { pilotId: pa.id })).body;
    assert.equal((await api().delete(`/v1/waitlist/${again.id}`).set(a.auth)).status, 204);
    assert.equal((await entries(partner, slot.id)).find((e) => e.id === again.id)!.status, 'cancelled');
    assert.deepEqual(await holdBreaches(), { overPromised: 0, heldMismatch: 0 });
  });

  it('withdrawing a pilot frees its hold for the queue and cancels its own waiting entries', async () => {
    const [partner, a, b] = [await signup('partner'), await signup(), await signup()];
    const testbed = await createTestbed(partner);
    const slot = await slotOn(partner, testbed.id, 2, 1);
    const other = await slotOn(partner, testbed.id, 4, 1);
    const pa = await submittedPilot(a);
    await requested(a, pa.id, slot.id);
    await requested(b, (await submittedPilot(b)).id, other.id);
    assert.equal((await join(a, other.id, { pilotId: pa.id })).status, 201);
    const pb = await submittedPilot(b);
    assert.equal((await join(b, slot.id, { pilotId: pb.id })).status, 201);
    assert.equal((await api().post(`/v1/pilots/${pa.id}/withdraw`).set(a.auth)).status, 200);
    assert.deepEqual(
      (await entries(partner, slot.id)).map((e) => [e.pilotId, e.status]),
      [[pb.id, 'offered']],
    );
    assert.deepEqual(
      (await entries(partner, other.id)).map((e) => [e.pilotId, e.status]),
      [[pa.id, 'cancelled']],
    );
    assert.deepEqual(await holdBreaches(), { overPromised: 0, heldMismatch: 0 });
  });

  describe('a race of concurrent cancellations', function () {
    this.timeout(180_000);

    /** Capacity 8, eight bookings, twelve waiting pilots; all eight bookings are cancelled at once. */
    async function scene() {
      const [partner, op] = [await signup('partner'), await operator()];
      const testbed = await createTestbed(partner, { capacity: 8 });
      const slot = await slotOn(partner, testbed.id, 2, 8);
      const bookers = [await signup(), await signup()];
      const bookings: { id: string; actor: Actor }[] = [];
      for (let i = 0; i < 8; i++) {
        const owner = bookers[i % 2]!;
        bookings.push({
          id: await book(owner, partner, (await submittedPilot(owner)).id, slot.id),
          actor: i % 3 ? owner : op,
        });
      }
      const waiters: string[] = [];
      for (let i = 0; i < 12; i++) {
        const owner = await signup();
        const p = await submittedPilot(owner);
        assert.equal((await join(owner, slot.id, { pilotId: p.id })).body.position, i + 1);
        waiters.push(p.id);
      }
      return { slot: slot.id, bookings, waiters, partner };
    }

    async function verify(statuses: number[], s: Awaited<ReturnType<typeof scene>>) {
      assert.deepEqual(
        statuses,
        s.bookings.map(() => 200),
      );
      const list = await entries(s.partner, s.slot);
      assert.deepEqual(
        list.map((e) => [e.pilotId, e.status]),
        s.waiters.map((p, i) => [p, i < 8 ? 'offered' : 'waiting']),
        'the first eight in the queue got the eight freed units, in order',
      );
      assert.deepEqual(
        list.slice(8).map((e) => e.position),
        [1, 2, 3, 4],
      );
      const matches = await ctx().db.query<{ pilot_id: string; n: number; held: number }>(
        `SELECT pilot_id, count(*)::int AS n, sum(held_units)::int AS held FROM matches
          WHERE slot_id = $1 AND origin = 'waitlist' GROUP BY pilot_id`,
        [s.slot],
      );
      assert.equal(matches.rows.length, 8);
      assert.ok(
        matches.rows.every((r) => r.n === 1 && r.held === 1),
        'each freed unit went to exactly one pilot, once',
      );
      const ev = await ctx().db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM events WHERE type = 'match.requested' AND data->>'origin' = 'waitlist'`,
      );
      assert.equal(ev.rows[0]!.n, 8);
      const v = await slotView(s.partner, s.slot);
      assert.deepEqual([v.bookedUnits, v.heldUnits, v.availableUnits], [0, 8, 0]);
      assert.deepEqual(await holdBreaches(), { overPromised: 0, heldMismatch: 0 });
    }

    if (process.env.DATABASE_URL) {
      it('gives each freed unit to exactly one waiting pilot, in queue order (two server processes)', async () => {
        const s = await scene();
        const servers = await Promise.all([startAppServer(), startAppServer()]);
        try {
          const statuses = await Promise.all(
            s.bookings.map(
              async (b, k) =>
                (
                  await fetch(`${servers[k % 2]!.base}/v1/bookings/${b.id}/cancel`, {
                    method: 'POST',
                    headers: b.actor.auth,
                  })
                ).status,
            ),
          );
          await verify(statuses, s);
        } finally {
          await stopAppServers(servers);
        }
      });
    } else {
      // In-process: the embedded database cannot be shared; set DATABASE_URL for two processes.
      it('gives each freed unit to exactly one waiting pilot, in queue order (in-process)', async () => {
        const s = await scene();
        const statuses = await Promise.all(
          s.bookings.map(async (b) => (await api().post(`/v1/bookings/${b.id}/cancel`).set(b.actor.auth)).status),
        );
        await verify(statuses, s);
      });
    }
  });
});
