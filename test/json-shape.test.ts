import assert from 'node:assert/strict';
import { jsonObjectSql, presentRow, timestamp, type Shape } from '../src/db/json-shape.js';
import { ctx } from './support/context.js';
import { createTestbed, operator, signup } from './support/factories.js';

const SHAPE: Shape = { id: 'id', when: timestamp('at'), nested: { n: 'num', never: timestamp('missing') } };

describe('JSON shapes: the TypeScript and SQL renderings agree', () => {
  it('renders the same object in PostgreSQL and in TypeScript, nulls and fractions included', async () => {
    const from = `FROM (SELECT 'x1'::text AS id, '2027-03-01T09:30:00.123Z'::timestamptz AS at, 35.2293::float8 AS num,
                         NULL::timestamptz AS missing) r`;
    const sql = await ctx().db.query<{ json: string }>(`SELECT ${jsonObjectSql(SHAPE, 'r')}::text AS json ${from}`);
    const row = (await ctx().db.query<Record<string, unknown>>(`SELECT r.* ${from}`)).rows[0]!;
    assert.deepEqual(JSON.parse(sql.rows[0]!.json), presentRow(SHAPE, row));
    assert.deepEqual(JSON.parse(sql.rows[0]!.json), {
      id: 'x1',
      when: '2027-03-01T09:30:00.123Z',
      nested: { n: 35.2293, never: null },
    });
  });

  it('refuses names that are not plain identifiers', () => {
    assert.throws(() => jsonObjectSql({ id: 'id; DROP TABLE x' }));
    assert.throws(() => jsonObjectSql({ "a', 1": 'id' }));
  });

  it('lists testbeds exactly as they read one by one', async () => {
    const partner = await signup('partner');
    for (let i = 0; i < 3; i++)
      await createTestbed(partner, {
        name: `GPU partition ${i}`,
        location: { address: '광주 북구', lat: 35.1 + i / 7, lng: 126.9 },
      });
    const op = await operator();
    const list = await ctx().api().get('/v1/testbeds?limit=2').set(op.auth);
    assert.equal(list.status, 200);
    assert.match(String(list.headers['content-type']), /application\/json/);
    assert.equal(list.body.data.length, 2);
    for (const item of list.body.data as { id: string }[]) {
      const one = await ctx().api().get(`/v1/testbeds/${item.id}`).set(op.auth);
      assert.equal(JSON.stringify(item), JSON.stringify(one.body), 'same keys, same order, same values');
    }
    const rest = await ctx().api().get(`/v1/testbeds?limit=2&cursor=${list.body.nextCursor}`).set(op.auth);
    assert.equal(rest.body.data.length, 1);
    assert.equal(rest.body.nextCursor, null);
  });
});
