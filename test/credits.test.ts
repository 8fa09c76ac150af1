/** Credits: testbed creditRate, pilot budgets, credits fixed at confirmation, budget-exceeded, refunds, report. */
import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import {
  countRows,
  createTestbed,
  etagAt,
  operator,
  pointers,
  signup,
  testbedBody,
  type Actor,
} from './support/factories.js';
import { approve, at, requested, slotOn, submittedPilot } from './support/matching-factories.js';

const api = () => ctx().api();

const putBudget = (actor: Actor, pilotId: string, body: unknown) =>
  api()
    .put(`/v1/pilots/${pilotId}/budget`)
    .set(actor.auth)
    .send(body as object);

async function scene(rate = 2) {
  const partner = await signup('partner');
  const op = await operator();
  const owner = await signup();
  const testbed = await createTestbed(partner, { creditRate: rate });
  const pilot = await submittedPilot(owner);
  return { partner, op, owner, testbed, pilot };
}

describe('testbed creditRate', () => {
  it('defaults to 1 and is set by the owner', async () => {
    const partner = await signup('partner');
    const t = await createTestbed(partner);
    assert.equal(t.creditRate, 1);
    const res = await api()
      .patch(`/v1/testbeds/${t.id}`)
      .set(partner.auth)
      .set('If-Match', await etagAt(partner, `/v1/testbeds/${t.id}`))
      .send({ creditRate: 5 });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.creditRate, 5);
    const list = await api().get('/v1/testbeds').set(partner.auth);
    assert.equal(list.body.data.find((x: { id: string }) => x.id === t.id).creditRate, 5);
  });

  it('refuses negative or fractional rates', async () => {
    const partner = await signup('partner');
    for (const creditRate of [-1, 1.5, '2']) {
      const res = await api()
        .post('/v1/testbeds')
        .set(partner.auth)
        .send({ ...testbedBody(), creditRate });
      assert.equal(res.status, 400);
      assert.deepEqual(pointers(res.body), ['/body/creditRate']);
    }
  });
});

describe('PUT /v1/pilots/:id/budget', () => {
  it('is for operators: the owner gets 403, another startup 404; the pilot then shows its budget', async () => {
    const { op, owner, pilot } = await scene();
    assert.equal((await putBudget(owner, pilot.id, { credits: 10 })).status, 403);
    assert.equal((await putBudget(await signup(), pilot.id, { credits: 10 })).status, 404);
    const res = await putBudget(op, pilot.id, { credits: 100, fundingLine: 'city', note: '2026 city fund' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      credits: 100,
      committed: 0,
      remaining: 100,
      fundingLine: 'city',
      note: '2026 city fund',
    });
    const got = await api().get(`/v1/pilots/${pilot.id}`).set(owner.auth);
    assert.equal(got.body.budget.remaining, 100);
  });

  it('refuses negative, fractional and missing credits with pointers', async () => {
    const { op, pilot } = await scene();
    for (const body of [{ credits: -1 }, { credits: 2.5 }, {}, { credits: 5, fundingLine: 'moon' }]) {
      const res = await putBudget(op, pilot.id, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.ok(pointers(res.body).length > 0);
    }
    assert.equal(await countRows('pilot_budgets'), 0);
  });
});

describe('spending credits', () => {
  it("fixes a booking's credits at confirmation (units × hours × rate) and refuses to overspend with 409 budget-exceeded", async () => {
    const { partner, op, owner, testbed, pilot } = await scene(2);
    const s1 = await slotOn(partner, testbed.id, 1, 1, 8);
    const s2 = await slotOn(partner, testbed.id, 3, 1, 8);
    assert.equal((await putBudget(op, pilot.id, { credits: 20 })).status, 200);
    const m1 = await requested(owner, pilot.id, s1.id);
    const m2 = await requested(owner, pilot.id, s2.id);
    const ok = await approve(partner, m1.id);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const booking = await api().get(`/v1/bookings/${ok.body.bookingId}`).set(owner.auth);
    assert.equal(booking.body.credits, 16);
    // A later rate change does not touch a confirmed booking.
    await api()
      .patch(`/v1/testbeds/${testbed.id}`)
      .set(partner.auth)
      .set('If-Match', await etagAt(partner, `/v1/testbeds/${testbed.id}`))
      .send({ creditRate: 1 });
    assert.equal((await api().get(`/v1/bookings/${ok.body.bookingId}`).set(owner.auth)).body.credits, 16);
    const bookingsBefore = await countRows('bookings');
    const refused = await approve(partner, m2.id);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'budget-exceeded');
    assert.deepEqual(refused.body.budget, { credits: 20, committed: 16, remaining: 4 });
    assert.equal(await countRows('bookings'), bookingsBefore, 'nothing was booked');
    const slot = await api().get(`/v1/slots/${s2.id}`).set(partner.auth);
    assert.equal(slot.body.bookedUnits, 0);
    assert.equal((await api().get(`/v1/matches/${m2.id}`).set(owner.auth)).body.status, 'requested');
  });

  it('a pilot without a budget is not limited; a first budget starts with what its bookings cost', async () => {
    const { partner, op, owner, testbed, pilot } = await scene(3);
    const s1 = await slotOn(partner, testbed.id, 1, 1, 8);
    assert.equal((await approve(partner, (await requested(owner, pilot.id, s1.id)).id)).status, 200);
    const low = await putBudget(op, pilot.id, { credits: 23 });
    assert.equal(low.status, 409);
    assert.equal(low.body.code, 'credits-below-committed');
    assert.equal(low.body.committed, 24);
    assert.equal(await countRows('pilot_budgets'), 0);
    const res = await putBudget(op, pilot.id, { credits: 24 });
    assert.equal(res.status, 200);
    assert.deepEqual([res.body.committed, res.body.remaining], [24, 0]);
  });

  it('lowering credits below committed is 409 and changes nothing', async () => {
    const { partner, op, owner, testbed, pilot } = await scene(1);
    const s1 = await slotOn(partner, testbed.id, 1, 1, 8);
    await putBudget(op, pilot.id, { credits: 50, fundingLine: 'national' });
    assert.equal((await approve(op, (await requested(owner, pilot.id, s1.id)).id)).status, 200);
    const res = await putBudget(op, pilot.id, { credits: 7 });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'credits-below-committed');
    const got = await api().get(`/v1/pilots/${pilot.id}`).set(owner.auth);
    assert.deepEqual(got.body.budget, {
      credits: 50,
      committed: 8,
      remaining: 42,
      fundingLine: 'national',
      note: null,
    });
  });

  it('cancelling before the start returns the credits; after the start it does not', async () => {
    const { partner, op, owner, testbed, pilot } = await scene(1);
    const s1 = await slotOn(partner, testbed.id, 1, 1, 8);
    await putBudget(op, pilot.id, { credits: 8 });
    const ok = await approve(partner, (await requested(owner, pilot.id, s1.id)).id);
    const cancel = await api().post(`/v1/bookings/${ok.body.bookingId}/cancel`).set(owner.auth);
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    assert.equal((await api().get(`/v1/pilots/${pilot.id}`).set(owner.auth)).body.budget.committed, 0);
    // A booking that already started keeps its credits spent: move it into the past directly.
    const s2 = await slotOn(partner, testbed.id, 2, 1, 8);
    const ok2 = await approve(partner, (await requested(owner, pilot.id, s2.id)).id);
    assert.equal(ok2.status, 200, JSON.stringify(ok2.body));
    await ctx().db.query(
      `UPDATE bookings SET start_at = now() - interval '1 hour', end_at = now() + interval '7 hours' WHERE id = $1`,
      [ok2.body.bookingId],
    );
    assert.equal((await api().post(`/v1/bookings/${ok2.body.bookingId}/cancel`).set(owner.auth)).status, 200);
    assert.equal((await api().get(`/v1/pilots/${pilot.id}`).set(owner.auth)).body.budget.committed, 8);
  });

  it('withdrawing a pilot returns the credits of its future bookings', async () => {
    const { partner, op, owner, testbed, pilot } = await scene(1);
    await putBudget(op, pilot.id, { credits: 8 });
    const s1 = await slotOn(partner, testbed.id, 1, 1, 8);
    assert.equal((await approve(partner, (await requested(owner, pilot.id, s1.id)).id)).status, 200);
    assert.equal((await api().post(`/v1/pilots/${pilot.id}/withdraw`).set(owner.auth)).status, 200);
    assert.equal((await api().get(`/v1/pilots/${pilot.id}`).set(owner.auth)).body.budget.committed, 0);
  });
});

describe('GET /v1/reports/credits', () => {
  it('sums budgets and booked credits by funding line, domain and organisation, in JSON and CSV', async () => {
    const { partner, op, owner, testbed, pilot } = await scene(2);
    await putBudget(op, pilot.id, { credits: 100, fundingLine: 'city' });
    const s1 = await slotOn(partner, testbed.id, 1, 1, 8);
    assert.equal((await approve(partner, (await requested(owner, pilot.id, s1.id)).id)).status, 200);
    const byLine = await api().get('/v1/reports/credits?groupBy=fundingLine').set(op.auth);
    assert.equal(byLine.status, 200, JSON.stringify(byLine.body));
    const city = byLine.body.data.find((d: { key: string }) => d.key === 'city');
    assert.deepEqual(city, {
      key: 'city',
      label: 'City',
      pilots: 1,
      budgetedCredits: 100,
      committedCredits: 16,
      remainingCredits: 84,
      bookedCredits: 16,
      bookings: 1,
    });
    const byDomain = await api()
      .get(`/v1/reports/credits?from=${encodeURIComponent(at(0))}&to=${encodeURIComponent(at(2))}`)
      .set(op.auth);
    assert.equal(byDomain.body.data.find((d: { key: string }) => d.key === 'transport-safety').bookedCredits, 16);
    const outside = await api()
      .get(`/v1/reports/credits?from=${encodeURIComponent(at(2))}&to=${encodeURIComponent(at(3))}`)
      .set(op.auth);
    assert.equal(outside.body.data.find((d: { key: string }) => d.key === 'transport-safety').bookedCredits, 0);
    const byOrg = await api().get('/v1/reports/credits?groupBy=organization').set(op.auth);
    assert.equal(byOrg.body.data.find((d: { key: string }) => d.key === owner.orgId).budgetedCredits, 100);
    const csv = await api().get('/v1/reports/credits?groupBy=fundingLine').set(op.auth).set('Accept', 'text/csv');
    assert.equal(csv.status, 200);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(csv.text, /city,City,1,100,16,84,16,1/);
    assert.equal((await api().get('/v1/reports/credits').set(owner.auth)).status, 403);
    const bad = await api().get('/v1/reports/credits?groupBy=planet').set(op.auth);
    assert.equal(bad.status, 400);
  });
});
