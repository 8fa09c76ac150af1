/**
 * The testbed list keeps rendered pages and serves them again while the change token of testbeds (migration
 * 0009, written by a trigger in the changing transaction) is unchanged: any committed change — through the API,
 * through SQL behind its back, from another connection — shows at once; nothing is ever served stale.
 */
import assert from 'node:assert/strict';
import { RenderedPages, renderedPage } from '../src/db/change-tokens.js';
import { openDb } from '../src/db/client.js';
import { ctx } from './support/context.js';
import { createTestbed, signup } from './support/factories.js';

const names = async (auth: Record<string, string>, query = '') =>
  ((await ctx().api().get(`/v1/testbeds${query}`).set(auth)).body as { data: { name: string }[] }).data.map(
    (t) => t.name,
  );

describe('GET /v1/testbeds › rendered pages kept between changes', () => {
  it('serves a kept page while testbeds are unchanged (the page outlives a write that bypasses the token)', async () => {
    const partner = await signup('partner');
    await createTestbed(partner, { name: 'Before' });
    assert.deepEqual(await names(partner.auth), ['Before']);
    // Only to show where the answer comes from: a write that records no token is not seen by the kept page.
    await ctx().db.exec('ALTER TABLE testbeds DISABLE TRIGGER testbeds_change_token');
    try {
      await ctx().db.query(`UPDATE testbeds SET name = 'Hidden'`);
    } finally {
      await ctx().db.exec('ALTER TABLE testbeds ENABLE TRIGGER testbeds_change_token');
    }
    assert.deepEqual(await names(partner.auth), ['Before'], 'the kept page');
    assert.deepEqual(await names(partner.auth, '?limit=10'), ['Hidden'], 'another query reads afresh');
  });

  it('shows every committed change at once: API writes, SQL behind its back, deletes and TRUNCATE', async () => {
    const partner = await signup('partner');
    const tb = await createTestbed(partner, { name: 'One' });
    assert.deepEqual(await names(partner.auth), ['One']);
    await createTestbed(partner, { name: 'Two' });
    assert.deepEqual(await names(partner.auth), ['Two', 'One']);
    await ctx().db.query(`UPDATE testbeds SET name = 'Renamed' WHERE id = $1`, [tb.id]);
    assert.deepEqual(await names(partner.auth), ['Two', 'Renamed']);
    await ctx().db.query(`DELETE FROM testbeds WHERE id = $1`, [tb.id]);
    assert.deepEqual(await names(partner.auth), ['Two']);
    await ctx().db.exec('TRUNCATE testbeds CASCADE');
    assert.deepEqual(await names(partner.auth), []);
  });

  it('a rolled-back change leaves the list as it was', async () => {
    const partner = await signup('partner');
    await createTestbed(partner, { name: 'Kept' });
    assert.deepEqual(await names(partner.auth), ['Kept']);
    await assert.rejects(
      ctx().db.transaction(async (tx) => {
        await tx.query(`UPDATE testbeds SET name = 'Rolled back'`);
        throw new Error('abort');
      }),
    );
    assert.deepEqual(await names(partner.auth), ['Kept']);
  });

  if (process.env.DATABASE_URL) {
    it('sees a change committed by another process (another pool) at once', async () => {
      const partner = await signup('partner');
      await createTestbed(partner, { name: 'Mine' });
      assert.deepEqual(await names(partner.auth), ['Mine']);
      const other = await openDb({ databaseUrl: ctx().config.databaseUrl, dataDir: 'memory://', poolSize: 1 });
      try {
        await other.query(`UPDATE testbeds SET name = 'Theirs'`);
      } finally {
        await other.close();
      }
      assert.deepEqual(await names(partner.auth), ['Theirs']);
    });
  }

  it('keeps a bounded number of pages, dropping the oldest', async () => {
    const pages = new RenderedPages('testbeds', 2);
    const token = (
      await ctx().db.query<{ t: string }>(
        `SELECT COALESCE((SELECT token FROM change_tokens WHERE name = 'testbeds'), '') AS t`,
      )
    ).rows[0]!.t;
    pages.set('a', token, renderedPage('A'));
    pages.set('b', token, renderedPage('B'));
    pages.set('c', token, renderedPage('C'));
    assert.equal(await pages.get(ctx().db, 'a'), undefined);
    assert.equal((await pages.get(ctx().db, 'b'))?.body, 'B');
    assert.equal((await pages.get(ctx().db, 'c'))?.body, 'C');
    pages.set('d', 'some other token', renderedPage('D'));
    assert.equal(await pages.get(ctx().db, 'd'), undefined, 'a page read under another token is not served');
  });
});
