import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import { createPilot, signup } from './support/factories.js';

describe('smoke', () => {
  it('signs up and creates a pilot', async () => {
    const s = await signup();
    const p = await createPilot(s);
    const r = await ctx().api().get(`/v1/pilots/${p.id}`).set(s.auth);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const me = await ctx().api().get('/v1/me').set(s.auth);
    assert.equal(me.status, 200, JSON.stringify(me.body));
  });
});
