import assert from 'node:assert/strict';
import { ctx } from './support/context.js';
import { DAY, createPilot, operator, pilotBody, signup, type Actor } from './support/factories.js';
import { WebhookReceiver } from './support/webhook-receiver.js';
import { subscribe } from './support/webhooks.js';

const api = () => ctx().api();

async function pilotCount(): Promise<number> {
  return (await ctx().db.query<{ n: number }>('SELECT count(*)::int AS n FROM pilots')).rows[0]!.n;
}

async function etagOf(actor: Actor, id: string): Promise<string> {
  const res = await api().get(`/v1/pilots/${id}`).set(actor.auth);
  assert.equal(res.status, 200);
  return res.headers.etag as string;
}

describe('POST /v1/pilots', () => {
  it('registers a draft pilot with its requirements, an ETag and a Location', async () => {
    const s = await signup();
    const body = pilotBody({}, { location: { address: '광주광역시 북구 첨단벤처로 60', lat: 35.2293, lng: 126.8437 } });
    const res = await api().post('/v1/pilots').set(s.auth).send(body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.status, 'draft');
    assert.equal(res.body.organizationId, s.orgId);
    // The first-release fields come back as sent, with the normalised stages beside them (one stage `main`).
    const { stages, ...firstRelease } = res.body.requirements as Record<string, unknown>;
    assert.deepEqual(firstRelease, body.requirements);
    const r = body.requirements as Record<string, unknown>;
    assert.deepEqual(stages, [
      {
        key: 'main',
        capabilities: r.capabilities,
        units: r.units,
        hours: r.durationHours,
        earliestStart: r.earliestStart,
        latestEnd: r.latestEnd,
        location: r.location,
        sessionHours: { min: r.durationHours },
      },
    ]);
    assert.equal(res.body.budget, null);
    assert.equal(res.headers.location, `/v1/pilots/${res.body.id}`);
    assert.match(String(res.headers.etag), /^"[^"]+"$/);
  });

  it('is for startups only: partners and operators get 403 and nothing is written', async () => {
    for (const actor of [await signup('partner'), await operator()]) {
      const res = await api().post('/v1/pilots').set(actor.auth).send(pilotBody());
      assert.equal(res.status, 403);
      assert.equal(res.body.code, 'forbidden');
    }
    assert.equal(await pilotCount(), 0);
  });

  const invalid: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
    ['an unknown domain', { domain: 'space' }, {}, '/body/domain'],
    ['a subdomain of another domain', { subdomain: 'senior-care' }, {}, '/body/subdomain'],
    [
      'a capability outside the vocabulary',
      {},
      { capabilities: ['teleportation'] },
      '/body/requirements/capabilities/0',
    ],
    ['zero units', {}, { units: 0 }, '/body/requirements/units'],
    ['fractional units', {}, { units: 1.5 }, '/body/requirements/units'],
    [
      'a window that ends before it starts',
      {},
      { earliestStart: '2027-03-01T00:00:00Z', latestEnd: '2027-02-01T00:00:00Z' },
      '/body/requirements/latestEnd',
    ],
    [
      'a duration longer than the window',
      {},
      { earliestStart: '2027-03-01T00:00:00Z', latestEnd: '2027-03-01T05:00:00Z', durationHours: 6 },
      '/body/requirements/durationHours',
    ],
    ['a date that is not RFC 3339', {}, { earliestStart: '01/03/2027' }, '/body/requirements/earliestStart'],
    ['a latitude off the globe', {}, { location: { lat: 91, lng: 0 } }, '/body/requirements/location/lat'],
    ['an unknown field', { priority: 'high' }, {}, '/body/priority'],
    ['a string where a number belongs', {}, { durationHours: '8' }, '/body/requirements/durationHours'],
  ];
  for (const [what, overrides, requirements, pointer] of invalid) {
    it(`answers 400 with pointer ${pointer} for ${what}`, async () => {
      const s = await signup();
      const res = await api().post('/v1/pilots').set(s.auth).send(pilotBody(overrides, requirements));
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, 'validation-failed');
      assert.ok(
        res.body.errors.some((e: { pointer: string }) => e.pointer === pointer),
        `expected ${pointer} in ${JSON.stringify(res.body.errors)}`,
      );
      assert.equal(await pilotCount(), 0);
    });
  }

  it('stores SQL- and script-looking text as plain text', async () => {
    const s = await signup();
    const title = `'; DROP TABLE pilots; -- <script>alert(1)</script>`;
    const created = await createPilot(s, { title });
    const res = await api().get(`/v1/pilots/${created.id}`).set(s.auth);
    assert.equal(res.body.title, title);
    assert.equal(await pilotCount(), 1);
  });
});

describe('GET /v1/pilots', () => {
  it('filters by domain and status and pages with an opaque cursor', async () => {
    const s = await signup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createPilot(s, { title: `transport ${i}` })).id);
    const health = await createPilot(
      s,
      { domain: 'health', subdomain: 'senior-care' },
      { capabilities: ['care-facility'] },
    );
    await api().post(`/v1/pilots/${ids[0]}/submit`).set(s.auth);

    const byDomain = await api().get('/v1/pilots?domain=health').set(s.auth);
    assert.deepEqual(
      byDomain.body.data.map((p: { id: string }) => p.id),
      [health.id],
    );
    const submitted = await api().get('/v1/pilots?status=submitted').set(s.auth);
    assert.deepEqual(
      submitted.body.data.map((p: { id: string }) => p.id),
      [ids[0]],
    );

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { data: { id: string }[]; nextCursor: string | null }; status: number } = await api()
        .get(`/v1/pilots?domain=transport-safety&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set(s.auth);
      assert.equal(res.status, 200);
      assert.ok(res.body.data.length <= 2);
      seen.push(...res.body.data.map((p: { id: string }) => p.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual([...seen].sort(), [...ids].sort());
    assert.equal(new Set(seen).size, 5, 'no pilot twice across pages');
  });

  it('refuses bad cursors and out-of-range limits with 400', async () => {
    const s = await signup();
    const otherList = Buffer.from(
      JSON.stringify({ l: 'api-keys', k: ['2026-01-01T00:00:00.000Z', '00000000-0000-0000-0000-000000000000'] }),
    ).toString('base64url');
    for (const q of [
      'cursor=not!base64',
      `cursor=${otherList}`,
      'cursor=e30',
      'limit=0',
      'limit=201',
      'limit=ten',
      'status=lost',
      'unknown=1',
    ]) {
      const res = await api().get(`/v1/pilots?${q}`).set(s.auth);
      assert.equal(res.status, 400, q);
      assert.match(String(res.headers['content-type']), /problem\+json/);
    }
  });

  it('shows a startup only its own pilots, and an operator all of them', async () => {
    const a = await signup();
    const b = await signup();
    const pa = await createPilot(a);
    const pb = await createPilot(b);
    const listA = await api().get('/v1/pilots').set(a.auth);
    assert.deepEqual(
      listA.body.data.map((p: { id: string }) => p.id),
      [pa.id],
    );
    const op = await operator();
    const all = await api().get('/v1/pilots').set(op.auth);
    assert.deepEqual(all.body.data.map((p: { id: string }) => p.id).sort(), [pa.id, pb.id].sort());
    const partner = await signup('partner');
    const none = await api().get('/v1/pilots').set(partner.auth);
    assert.deepEqual(none.body.data, []);
  });
});

describe('PATCH /v1/pilots/:id', () => {
  it('applies a merge patch with the current ETag and returns a new ETag', async () => {
    const s = await signup();
    const p = await createPilot(s, {}, { location: { lat: 35.2, lng: 126.8 } });
    const etag = await etagOf(s, p.id);
    const res = await api()
      .patch(`/v1/pilots/${p.id}`)
      .set(s.auth)
      .set('If-Match', etag)
      .send({ title: 'Renamed', requirements: { units: 2, location: null } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.title, 'Renamed');
    assert.equal(res.body.requirements.units, 2);
    assert.equal(res.body.requirements.location, undefined);
    assert.equal(res.body.requirements.capabilities[0], 'driving-simulator', 'untouched fields stay');
    assert.notEqual(res.headers.etag, etag);
  });

  it('needs If-Match (428) and refuses a stale one (412) without writing', async () => {
    const s = await signup();
    const p = await createPilot(s);
    const stale = await etagOf(s, p.id);
    const missing = await api().patch(`/v1/pilots/${p.id}`).set(s.auth).send({ title: 'x' });
    assert.equal(missing.status, 428);
    assert.equal(missing.body.code, 'precondition-required');
    assert.equal(
      (await api().patch(`/v1/pilots/${p.id}`).set(s.auth).set('If-Match', stale).send({ title: 'first' })).status,
      200,
    );
    const second = await api().patch(`/v1/pilots/${p.id}`).set(s.auth).set('If-Match', stale).send({ title: 'second' });
    assert.equal(second.status, 412);
    assert.equal(second.body.code, 'precondition-failed');
    const now = await api().get(`/v1/pilots/${p.id}`).set(s.auth);
    assert.equal(now.body.title, 'first');
  });

  it('re-checks the whole pilot after the merge', async () => {
    const s = await signup();
    const p = await createPilot(s);
    const res = await api()
      .patch(`/v1/pilots/${p.id}`)
      .set(s.auth)
      .set('If-Match', await etagOf(s, p.id))
      .send({ requirements: { durationHours: 24 * 365 } });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].pointer, '/body/requirements/durationHours');
  });

  it('drops the subdomain when the domain changes without a new one', async () => {
    const s = await signup();
    const p = await createPilot(s);
    const res = await api()
      .patch(`/v1/pilots/${p.id}`)
      .set(s.auth)
      .set('If-Match', await etagOf(s, p.id))
      .send({ domain: 'culture' });
    assert.equal(res.status, 200);
    assert.equal(res.body.subdomain, null);
  });

  it('edits only drafts: a submitted pilot answers 409', async () => {
    const s = await signup();
    const p = await createPilot(s);
    await api().post(`/v1/pilots/${p.id}/submit`).set(s.auth);
    const res = await api()
      .patch(`/v1/pilots/${p.id}`)
      .set(s.auth)
      .set('If-Match', await etagOf(s, p.id))
      .send({ title: 'late' });
    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'invalid-transition');
  });
});

describe('pilot status machine', () => {
  it('goes draft → submitted → withdrawn and stamps the times', async () => {
    const s = await signup();
    const p = await createPilot(s);
    const submitted = await api().post(`/v1/pilots/${p.id}/submit`).set(s.auth);
    assert.equal(submitted.status, 200);
    assert.equal(submitted.body.status, 'submitted');
    assert.ok(submitted.body.submittedAt);
    const withdrawn = await api().post(`/v1/pilots/${p.id}/withdraw`).set(s.auth);
    assert.equal(withdrawn.status, 200);
    assert.equal(withdrawn.body.status, 'withdrawn');
    assert.ok(withdrawn.body.withdrawnAt);
  });

  it('answers 409 for illegal moves', async () => {
    const s = await signup();
    const p = await createPilot(s);
    await api().post(`/v1/pilots/${p.id}/submit`).set(s.auth);
    const twice = await api().post(`/v1/pilots/${p.id}/submit`).set(s.auth);
    assert.equal(twice.status, 409);
    assert.equal(twice.body.code, 'invalid-transition');
    assert.deepEqual(twice.body.allowedFrom, ['draft']);
    await api().post(`/v1/pilots/${p.id}/withdraw`).set(s.auth);
    for (const action of ['submit', 'withdraw']) {
      const res = await api().post(`/v1/pilots/${p.id}/${action}`).set(s.auth);
      assert.equal(res.status, 409, action);
    }
  });

  it('withdraws from every state before completed, never after', async () => {
    const s = await signup();
    for (const status of ['draft', 'submitted', 'matched', 'booked', 'active']) {
      const p = await createPilot(s);
      await ctx().db.query('UPDATE pilots SET status = $2 WHERE id = $1', [p.id, status]);
      assert.equal((await api().post(`/v1/pilots/${p.id}/withdraw`).set(s.auth)).status, 200, status);
    }
    const done = await createPilot(s);
    await ctx().db.query(`UPDATE pilots SET status = 'completed' WHERE id = $1`, [done.id]);
    assert.equal((await api().post(`/v1/pilots/${done.id}/withdraw`).set(s.auth)).status, 409);
  });

  it('deletes only drafts', async () => {
    const s = await signup();
    const draft = await createPilot(s);
    assert.equal((await api().delete(`/v1/pilots/${draft.id}`).set(s.auth)).status, 204);
    assert.equal((await api().get(`/v1/pilots/${draft.id}`).set(s.auth)).status, 404);
    const submitted = await createPilot(s);
    await api().post(`/v1/pilots/${submitted.id}/submit`).set(s.auth);
    const res = await api().delete(`/v1/pilots/${submitted.id}`).set(s.auth);
    assert.equal(res.status, 409);
    assert.equal(await pilotCount(), 1);
  });

  it('serialises concurrent submits: exactly one wins', async () => {
    const s = await signup();
    const p = await createPilot(s);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => api().post(`/v1/pilots/${p.id}/submit`).set(s.auth)),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 409, 409, 409, 409, 409, 409, 409]);
  });
});

describe('pilot visibility (404 for what you may not see, 403 for what you may see but not change)', () => {
  it('hides another startup’s pilot behind 404 on every route', async () => {
    const owner = await signup();
    const other = await signup();
    const p = await createPilot(owner);
    const etag = await etagOf(owner, p.id);
    const calls = [
      api().get(`/v1/pilots/${p.id}`),
      api().patch(`/v1/pilots/${p.id}`).set('If-Match', etag).send({ title: 'x' }),
      api().delete(`/v1/pilots/${p.id}`),
      api().post(`/v1/pilots/${p.id}/submit`),
      api().post(`/v1/pilots/${p.id}/withdraw`),
    ];
    for (const [i, call] of calls.entries()) {
      const res = await call.set(other.auth);
      assert.equal(res.status, 404, `call ${i}`);
      assert.equal(res.body.code, 'not-found');
    }
    const partner = await signup('partner');
    assert.equal((await api().get(`/v1/pilots/${p.id}`).set(partner.auth)).status, 404);
    const after = await api().get(`/v1/pilots/${p.id}`).set(owner.auth);
    assert.equal(after.body.status, 'draft');
    assert.equal(after.headers.etag, etag);
  });

  it('lets an operator read any pilot but not change it (403)', async () => {
    const owner = await signup();
    const op = await operator();
    const p = await createPilot(owner);
    assert.equal((await api().get(`/v1/pilots/${p.id}`).set(op.auth)).status, 200);
    const etag = await etagOf(owner, p.id);
    const calls = [
      api().patch(`/v1/pilots/${p.id}`).set('If-Match', etag).send({ title: 'x' }),
      api().delete(`/v1/pilots/${p.id}`),
      api().post(`/v1/pilots/${p.id}/submit`),
      api().post(`/v1/pilots/${p.id}/withdraw`),
    ];
    for (const [i, call] of calls.entries()) {
      const res = await call.set(op.auth);
      assert.equal(res.status, 403, `call ${i}`);
    }
  });

  it('answers 404 for a well-formed id that does not exist and 400 for a malformed one', async () => {
    const s = await signup();
    const missing = await api().get('/v1/pilots/00000000-0000-4000-8000-000000000000').set(s.auth);
    assert.equal(missing.status, 404);
    const malformed = await api().get('/v1/pilots/not-a-uuid').set(s.auth);
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.errors[0].pointer, '/path/id');
  });

  it('keeps time windows in UTC on the wire', async () => {
    const s = await signup();
    const start = new Date(Date.now() + DAY);
    const p = await createPilot(s, {}, { earliestStart: start.toISOString().replace('Z', '+00:00') });
    assert.equal(p.requirements && (p.requirements as { earliestStart: string }).earliestStart, start.toISOString());
  });
});

describe('pilot events (transactional outbox)', () => {
  const events = async () =>
    (await ctx().db.query<{ type: string; pilot_id: string }>('SELECT type, pilot_id FROM events ORDER BY seq')).rows;

  it('records one event per committed change, in order', async () => {
    const s = await signup();
    const p = await createPilot(s);
    const etag = await etagOf(s, p.id);
    await api().patch(`/v1/pilots/${p.id}`).set(s.auth).set('If-Match', etag).send({ title: 'v2' });
    await api().post(`/v1/pilots/${p.id}/submit`).set(s.auth);
    await api().post(`/v1/pilots/${p.id}/withdraw`).set(s.auth);
    assert.deepEqual(
      (await events()).map((e) => e.type),
      ['pilot.created', 'pilot.updated', 'pilot.submitted', 'pilot.withdrawn'],
    );
    assert.ok((await events()).every((e) => e.pilot_id === p.id));
  });

  it('pilot.created carries the pilot as GET shows it, sent to its organisation and operators only', async () => {
    const s = await signup();
    const [other, partner, op] = [await signup(), await signup('partner'), await operator()];
    const receiver = await new WebhookReceiver().start();
    try {
      const endpoint = new Map<string, string>();
      for (const [name, actor] of [
        ['owner', s],
        ['other', other],
        ['partner', partner],
        ['operator', op],
      ] as const) {
        endpoint.set((await subscribe(actor, receiver, { eventTypes: ['pilot.created'] })).id, name);
      }
      const start = Date.now() + 7 * DAY;
      const at = (days: number) => new Date(start + days * DAY).toISOString();
      const bodies = [
        pilotBody({}, { location: { address: '광주광역시 북구 첨단벤처로 60', lat: 35.2293, lng: 126.8437 } }),
        {
          ...pilotBody(),
          requirements: {
            stages: [
              {
                key: 'sim',
                capabilities: ['driving-simulator'],
                units: 1,
                hours: 8,
                sessionHours: { max: 4 },
                earliestStart: at(0),
                latestEnd: at(20),
              },
              {
                key: 'road',
                capabilities: ['v2x'],
                units: 2,
                hours: 4,
                earliestStart: at(5),
                latestEnd: at(30),
                after: { stage: 'sim' },
              },
            ],
          },
        },
      ];
      for (const body of bodies) {
        const created = await api().post('/v1/pilots').set(s.auth).send(body);
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const shown = await api().get(`/v1/pilots/${created.body.id}`).set(s.auth);
        const { rows } = await ctx().db.query<{ id: string; data: unknown }>(
          `SELECT id, data FROM events WHERE type = 'pilot.created' AND pilot_id = $1`,
          [created.body.id],
        );
        assert.equal(rows.length, 1);
        assert.deepEqual(rows[0]!.data, shown.body);
        assert.deepEqual(created.body, shown.body);
        const { rows: sent } = await ctx().db.query<{ endpoint_id: string }>(
          'SELECT endpoint_id FROM webhook_deliveries WHERE event_id = $1',
          [rows[0]!.id],
        );
        assert.deepEqual(sent.map((d) => endpoint.get(d.endpoint_id)).sort(), ['operator', 'owner']);
      }
    } finally {
      await receiver.stop();
    }
  });

  it('records nothing for refused changes', async () => {
    const s = await signup();
    const p = await createPilot(s);
    await api()
      .post('/v1/pilots')
      .set(s.auth)
      .send(pilotBody({ domain: 'nope' }));
    await api().patch(`/v1/pilots/${p.id}`).set(s.auth).set('If-Match', '"stale"').send({ title: 'x' });
    await api().post(`/v1/pilots/${p.id}/withdraw`).set(s.auth);
    await api().post(`/v1/pilots/${p.id}/withdraw`).set(s.auth);
    assert.deepEqual(
      (await events()).map((e) => e.type),
      ['pilot.created', 'pilot.withdrawn'],
    );
  });
});
