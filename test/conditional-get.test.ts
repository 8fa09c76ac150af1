/**
 * Conditional GETs: lists and single resources carry an ETag, and If-None-Match with a current one gets 304
 * with no body; any change (or another caller's different view) gives 200 with a new tag. The OpenAPI document
 * declares it on every GET.
 */
import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import { createPilot, createTestbed, signup } from './support/factories.js';

const api = () => ctx().api();

describe('conditional GETs (If-None-Match → 304)', () => {
  it('a list answers 304 to its own ETag, and 200 with a new ETag once anything on it changes', async () => {
    const partner = await signup('partner');
    await createTestbed(partner);
    const first = await api().get('/v1/testbeds').set(partner.auth);
    assert.equal(first.status, 200);
    const tag = first.headers.etag as string;
    assert.ok(tag, 'the list has an ETag');

    const again = await api().get('/v1/testbeds').set(partner.auth).set('If-None-Match', tag);
    assert.equal(again.status, 304);
    assert.equal(again.text ?? '', '', 'no body');
    assert.equal(again.headers.etag, tag);
    // A list of tags matches when one is current (RFC 9110 §13.1.2).
    const listed = await api().get('/v1/testbeds').set(partner.auth).set('If-None-Match', `W/"old", ${tag}`);
    assert.equal(listed.status, 304);

    await createTestbed(partner, { name: 'Second testbed' });
    const changed = await api().get('/v1/testbeds').set(partner.auth).set('If-None-Match', tag);
    assert.equal(changed.status, 200);
    assert.equal(changed.body.data.length, 2);
    assert.notEqual(changed.headers.etag, tag);
  });

  it('the same query string is part of what was tagged: another page or filter is not "the same copy"', async () => {
    const partner = await signup('partner');
    await createTestbed(partner, { domains: ['health'] });
    await createTestbed(partner, { domains: ['transport-safety'] });
    const all = await api().get('/v1/testbeds').set(partner.auth);
    const health = await api()
      .get('/v1/testbeds?domain=health')
      .set(partner.auth)
      .set('If-None-Match', all.headers.etag as string);
    assert.equal(health.status, 200);
    assert.equal(health.body.data.length, 1);
  });

  it('a single resource answers 304 to its version tag (weak form too) until it is edited', async () => {
    const partner = await signup('partner');
    const tb = await createTestbed(partner);
    const url = `/v1/testbeds/${tb.id}`;
    const first = await api().get(url).set(partner.auth);
    const tag = first.headers.etag as string;
    assert.match(tag, /^"/, 'a strong version tag');
    assert.equal((await api().get(url).set(partner.auth).set('If-None-Match', tag)).status, 304);
    assert.equal(
      (await api().get(url).set(partner.auth).set('If-None-Match', `W/${tag}`)).status,
      304,
      'If-None-Match compares weakly',
    );
    assert.equal((await api().get(url).set(partner.auth).set('If-None-Match', '*')).status, 304);

    const patched = await api().patch(url).set(partner.auth).set('If-Match', tag).send({ capacity: 5 });
    assert.equal(patched.status, 200);
    const after = await api().get(url).set(partner.auth).set('If-None-Match', tag);
    assert.equal(after.status, 200);
    assert.equal(after.body.capacity, 5);
    assert.notEqual(after.headers.etag, tag);
  });

  it('pilots, a private resource: 304 for the owner, and another organisation never learns anything from a tag', async () => {
    const owner = await signup('startup');
    const other = await signup('startup');
    const pilot = await createPilot(owner);
    const one = await api().get(`/v1/pilots/${pilot.id}`).set(owner.auth);
    assert.equal(
      (
        await api()
          .get(`/v1/pilots/${pilot.id}`)
          .set(owner.auth)
          .set('If-None-Match', one.headers.etag as string)
      ).status,
      304,
    );
    // Not theirs: still the 404, whatever tag they send.
    const stranger = await api()
      .get(`/v1/pilots/${pilot.id}`)
      .set(other.auth)
      .set('If-None-Match', one.headers.etag as string);
    assert.equal(stranger.status, 404);
    assert.equal(stranger.type, 'application/problem+json');

    const list = await api().get('/v1/pilots').set(owner.auth);
    assert.equal(list.body.data.length, 1);
    assert.equal(
      (
        await api()
          .get('/v1/pilots')
          .set(owner.auth)
          .set('If-None-Match', list.headers.etag as string)
      ).status,
      304,
    );
    const theirs = await api()
      .get('/v1/pilots')
      .set(other.auth)
      .set('If-None-Match', list.headers.etag as string);
    assert.equal(theirs.status, 200, 'their list differs, so the tag does not match');
    assert.equal(theirs.body.data.length, 0);
  });

  it('errors are never 304', async () => {
    const partner = await signup('partner');
    const res = await api()
      .get('/v1/testbeds/00000000-0000-4000-8000-000000000000')
      .set(partner.auth)
      .set('If-None-Match', '*');
    assert.equal(res.status, 404);
    assert.equal(res.type, 'application/problem+json');
  });

  it('the OpenAPI document declares If-None-Match, the ETag and the 304 on every GET that answers 200', async () => {
    const doc = (await api().get('/openapi.json')).body as {
      paths: Record<
        string,
        Record<
          string,
          { parameters?: { $ref?: string }[]; responses: Record<string, { headers?: Record<string, unknown> }> }
        >
      >;
    };
    let gets = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      const op = ops.get;
      if (!op?.responses['200']) continue;
      gets++;
      assert.ok(op.responses['304'], `${path} declares 304`);
      assert.ok(op.responses['200']!.headers?.ETag, `${path} declares the ETag`);
      assert.ok(
        op.parameters?.some((p) => p.$ref === '#/components/parameters/IfNoneMatch'),
        `${path} takes If-None-Match`,
      );
    }
    assert.ok(gets > 20, `found ${gets} GET operations`);
  });
});
