/**
 * The OpenAPI document says what the service really sends and accepts: real responses are validated against
 * GET /openapi.json (status, media type, body schema, promised headers).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp } from '../src/app.js';
import { ctx } from './support/context.js';
import { csv, download, uploadDataset } from './support/dataset-factories.js';
import { createPilot, etagAt, operator, signup } from './support/factories.js';
import { OpenApiConformance } from './support/openapi-conformance.js';

async function conformance(): Promise<OpenApiConformance> {
  const res = await ctx().api().get('/openapi.json');
  assert.equal(res.status, 200);
  return new OpenApiConformance(res.body as Record<string, unknown>);
}

describe('OpenAPI document honesty', () => {
  it('dataset content is declared in the media type it is served as (text/csv here), with Repr-Digest', async () => {
    const oa = await conformance();
    const owner = await signup();
    const pilot = await createPilot(owner);
    const content = csv(20);
    const ds = await uploadDataset(owner, pilot.id, { content });
    const whole = await download(owner, ds.id);
    assert.equal(whole.status, 200);
    assert.match(String(whole.headers['content-type']), /^text\/csv/);
    assert.deepEqual(oa.check('get', '/v1/datasets/{id}/content', whole, ['ETag', 'Repr-Digest', 'Accept-Ranges']), []);
  });

  it('a partial download carries Repr-Digest of the whole file (RFC 9530), and conforms', async () => {
    const oa = await conformance();
    const owner = await signup();
    const pilot = await createPilot(owner);
    const content = csv(50);
    const ds = await uploadDataset(owner, pilot.id, { content });
    const part = await download(owner, ds.id, { Range: 'bytes=10-99' });
    assert.equal(part.status, 206);
    assert.equal((part.body as Buffer).length, 90);
    const digest = createHash('sha256').update(content).digest('base64');
    assert.equal(part.headers['repr-digest'], `sha-256=:${digest}:`);
    assert.deepEqual(oa.check('get', '/v1/datasets/{id}/content', part, ['Repr-Digest', 'Content-Range']), []);
  });

  it('PATCH bodies sent as application/merge-patch+json are declared, and the answer conforms', async () => {
    const oa = await conformance();
    for (const path of ['/v1/pilots/{id}', '/v1/testbeds/{id}', '/v1/slots/{id}', '/v1/webhook-endpoints/{id}']) {
      assert.deepEqual(oa.requestMediaTypes('patch', path), ['application/json', 'application/merge-patch+json'], path);
    }
    const owner = await signup();
    const pilot = await createPilot(owner);
    const res = await ctx()
      .api()
      .patch(`/v1/pilots/${pilot.id}`)
      .set(owner.auth)
      .set('If-Match', await etagAt(owner, `/v1/pilots/${pilot.id}`))
      .set('Content-Type', 'application/merge-patch+json')
      .send(JSON.stringify({ title: 'Renamed by merge patch' }));
    assert.equal(res.status, 200);
    assert.equal(res.body.title, 'Renamed by merge patch');
    assert.deepEqual(oa.check('patch', '/v1/pilots/{id}', res, ['ETag']), []);
  });

  it('/healthz, /readyz and /metrics are in the document and answer as it says', async () => {
    const oa = await conformance();
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const res = await ctx().api().get(path);
      assert.equal(res.status, 200, path);
      assert.deepEqual(oa.check('get', path, res), [], path);
    }
    // A process shutting down turns the load balancer away with a 503 problem, as declared.
    const { db, config } = ctx();
    const draining = createApp({ db, config, logger: pino({ level: 'silent' }), readiness: { shuttingDown: true } });
    const res = await supertest(draining).get('/readyz');
    assert.equal(res.status, 503);
    assert.equal(res.body.code, 'not-ready');
    assert.equal(res.body.reason, 'shutting-down');
    assert.deepEqual(oa.check('get', '/readyz', res), []);
  });

  it('the multipart file part is binary, so generated clients type it as a file', async () => {
    const oa = await conformance();
    const body = oa.operation('post', '/v1/pilots/{id}/datasets')!.requestBody as {
      content: Record<string, { schema: { properties: Record<string, Record<string, unknown>> } }>;
    };
    const file = body.content['multipart/form-data']!.schema.properties.file!;
    assert.equal(file.format, 'binary');
    assert.equal(file.contentMediaType, 'application/octet-stream');
  });

  it('operations that answer in the caller’s language declare Accept-Language', async () => {
    const oa = await conformance();
    const params = oa.operation('get', '/v1/pilots/{id}/candidates')!.parameters as { $ref?: string }[];
    assert.ok(params.some((p) => p.$ref === '#/components/parameters/AcceptLanguage'));
    const declared = (oa.doc.components as { parameters: Record<string, { name: string; in: string }> }).parameters
      .AcceptLanguage!;
    assert.deepEqual([declared.name, declared.in], ['Accept-Language', 'header']);
  });

  it('reports declare JSON and CSV as typed alternatives, and both answers conform', async () => {
    const oa = await conformance();
    const op = await operator();
    const from = '2026-01-01T00:00:00Z';
    const to = '2026-02-01T00:00:00Z';
    const json = await ctx().api().get('/v1/reports/utilization').query({ from, to }).set(op.auth);
    assert.equal(json.status, 200);
    assert.deepEqual(oa.check('get', '/v1/reports/utilization', json), []);
    const asCsv = await ctx()
      .api()
      .get('/v1/reports/utilization')
      .query({ from, to })
      .set(op.auth)
      .set('Accept', 'text/csv');
    assert.equal(asCsv.status, 200);
    assert.deepEqual(oa.check('get', '/v1/reports/utilization', asCsv), []);
    const pilots = await ctx().api().get('/v1/reports/pilots').set(op.auth).set('Accept', 'text/csv');
    assert.deepEqual(oa.check('get', '/v1/reports/pilots', pilots), []);
    const content = (
      oa.operation('get', '/v1/reports/utilization')!.responses as Record<
        string,
        { content: Record<string, { schema: Record<string, unknown> }> }
      >
    )['200']!.content;
    assert.deepEqual(content['text/csv']!.schema, { type: 'string', contentMediaType: 'text/csv' });
  });
});
