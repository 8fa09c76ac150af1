import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { neutraliseCell } from '../src/reports/csv.js';
import { ctx } from './support/context.js';
import { createTestbed, operator, signup } from './support/factories.js';
import { approve, at, requested, slotOn, submittedPilot } from './support/matching-factories.js';

const api = () => ctx().api();

/** One testbed (transport + health), two 8-hour slots of capacity 2, one booked for 1 unit: 8 / 32 unit-hours. */
async function scene() {
  const [s, partner, op] = [await signup(), await signup('partner'), await operator()];
  const tb = await createTestbed(partner, { domains: ['transport-safety', 'health'] });
  const slot = await slotOn(partner, tb.id, 1, 2);
  await slotOn(partner, tb.id, 3, 2);
  const pilot = await submittedPilot(s);
  await submittedPilot(s, { title: 'second' });
  await approve(partner, (await requested(s, pilot.id, slot.id)).id);
  return { s, partner, op, tb };
}

describe('GET /v1/reports/utilization', () => {
  it('divides booked by offered unit-hours by domain, a multi-domain testbed counting in each', async () => {
    const { op } = await scene();
    const res = await api()
      .get(`/v1/reports/utilization?from=${at(0)}&to=${at(10)}`)
      .set(op.auth);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.groupBy, 'domain');
    const byKey = Object.fromEntries(res.body.data.map((r: { key: string }) => [r.key, r]));
    assert.equal(byKey['transport-safety'].offeredUnitHours, 32);
    assert.equal(byKey['transport-safety'].bookedUnitHours, 8);
    assert.equal(byKey['transport-safety'].utilization, 0.25);
    assert.equal(byKey.health.utilization, 0.25);
    assert.equal(byKey.culture.utilization, null);
    assert.equal(res.body.nextCursor, null);
  });

  it('counts only the part of a slot inside the range, and groups by testbed with paging', async () => {
    const { op, tb } = await scene();
    const half = await api()
      .get(`/v1/reports/utilization?groupBy=testbed&from=${at(1, 4)}&to=${at(2)}`)
      .set(op.auth);
    assert.equal(half.status, 200);
    assert.equal(half.body.data[0].key, tb.id);
    assert.equal(half.body.data[0].offeredUnitHours, 8);
    assert.equal(half.body.data[0].bookedUnitHours, 4);
    const p = await api()
      .get(`/v1/reports/utilization?groupBy=domain&limit=2&from=${at(0)}&to=${at(10)}`)
      .set(op.auth);
    assert.equal(p.body.data.length, 2);
    const next = await api()
      .get(`/v1/reports/utilization?groupBy=domain&limit=2&from=${at(0)}&to=${at(10)}&cursor=${p.body.nextCursor}`)
      .set(op.auth);
    assert.equal(next.body.data.length, 2);
    assert.notEqual(next.body.data[0].key, p.body.data[0].key);
  });

  it('answers CSV when asked with Accept: text/csv', async () => {
    const { op } = await scene();
    const res = await api()
      .get(`/v1/reports/utilization?from=${at(0)}&to=${at(10)}`)
      .set(op.auth)
      .set('Accept', 'text/csv');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/csv/);
    const rows = parse(res.text, { columns: true, bom: true }) as Record<string, string>[];
    assert.equal(rows.length, 5);
    assert.equal(rows.find((r) => r.key === 'health')!.utilization, '0.25');
  });

  it('neutralises user text that a spreadsheet would run as a formula (CSV injection)', async () => {
    const [partner, op] = [await signup('partner'), await operator()];
    // Names are trimmed, so tab and CR cannot lead one; the unit test below covers them.
    const names = ['=HYPERLINK("http://evil.example","x")', '+1+cmd', '-2+3', '@SUM(A1)'];
    for (const [i, name] of names.entries()) {
      const tb = await createTestbed(partner, { name });
      await slotOn(partner, tb.id, 1 + i, 1);
    }
    const res = await api()
      .get(`/v1/reports/utilization?groupBy=testbed&from=${at(0)}&to=${at(10)}`)
      .set(op.auth)
      .set('Accept', 'text/csv');
    assert.equal(res.status, 200);
    const rows = parse(res.text, { columns: true, bom: true }) as Record<string, string>[];
    assert.deepEqual(rows.map((r) => r.label).sort(), names.map((n) => `'${n}`).sort());
    for (const r of rows) assert.ok(!/^[=+\-@\t\r]/.test(r.label!), r.label);
  });

  it('leaves safe text and numbers alone', () => {
    assert.equal(neutraliseCell('Simulator =1'), 'Simulator =1');
    assert.equal(neutraliseCell('-'), "'-");
    assert.equal(neutraliseCell('\tcmd'), "'\tcmd");
    assert.equal(neutraliseCell('\r=1'), "'\r=1");
    assert.equal(neutraliseCell(''), '');
  });

  it('refuses from > to, a range of years and a missing bound with 400; is for operators (403)', async () => {
    const { op, s } = await scene();
    for (const q of [`from=${at(5)}&to=${at(1)}`, `from=${at(0)}&to=${at(1000)}`, `from=${at(0)}`]) {
      const res = await api().get(`/v1/reports/utilization?${q}`).set(op.auth);
      assert.equal(res.status, 400, q);
      assert.match(String(res.headers['content-type']), /problem\+json/);
    }
    assert.equal(
      (
        await api()
          .get(`/v1/reports/utilization?from=${at(0)}&to=${at(1)}`)
          .set(s.auth)
      ).status,
      403,
    );
  });
});

describe('GET /v1/reports/pilots', () => {
  it('counts pilots by domain and status and measures the wait from submission to booking', async () => {
    const { op } = await scene();
    const res = await api().get('/v1/reports/pilots').set(op.auth);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const t = res.body.data.find((r: { domain: string }) => r.domain === 'transport-safety');
    assert.equal(t.total, 2);
    assert.equal(t.byStatus.booked, 1);
    assert.equal(t.byStatus.submitted, 1);
    assert.equal(t.waiting.booked, 1);
    assert.ok(t.waiting.meanHours >= 0 && t.waiting.meanHours < 1);
    assert.equal(t.waiting.stillWaiting, 1);
    assert.equal(t.label.ko, '교통·안전');
    const csv = await api().get('/v1/reports/pilots').set(op.auth).set('Accept', 'text/csv');
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    const rows = parse(csv.text, { columns: true, bom: true }) as Record<string, string>[];
    assert.equal(rows.find((r) => r.domain === 'transport-safety')!.status_booked, '1');
    assert.equal(
      (
        await api()
          .get(`/v1/reports/pilots?from=${at(1)}&to=${at(0)}`)
          .set(op.auth)
      ).status,
      400,
    );
  });
});
