/** tus 1.0 resumable uploads, driven by the real tus-js-client and by hand for the bad cases. */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tus from 'tus-js-client';
import supertest from 'supertest';
import { Readable } from 'node:stream';
import { resumableStore } from '../src/resumable/store.js';
import { ctx } from './support/context.js';
import { countRows, createPilot, signup, type Actor } from './support/factories.js';
import { csv, download, sha256 } from './support/dataset-factories.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const metadataHeader = (m: Record<string, string>) =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(',');

describe('resumable uploads (tus 1.0)', function () {
  this.timeout(120_000);
  let server: http.Server;
  let base: string;
  let owner: Actor;
  let pilotId: string;

  before(async () => {
    server = http.createServer(ctx().app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(async () => {
    owner = await signup('startup');
    pilotId = (await createPilot(owner)).id;
  });

  const endpoint = () => `${base}/v1/pilots/${pilotId}/uploads`;
  const tusOptions = (extra: Partial<tus.UploadOptions> = {}): tus.UploadOptions => ({
    endpoint: endpoint(),
    headers: owner.auth,
    chunkSize: 64 * 1024,
    retryDelays: [],
    metadata: { name: 'drive-log', sensitivity: 'internal', filename: 'drive.csv', filetype: 'text/csv' },
    ...extra,
  });

  it('uploads with tus-js-client, interrupted after the first chunk and resumed from the stored URL', async () => {
    const content = Buffer.from(csv(20_000)); // ~0.5 MB: several 64 KiB chunks
    // First attempt: stop once the first chunk is acknowledged, as a dropped link would.
    let uploadUrl = '';
    await new Promise<void>((resolve, reject) => {
      const first = new tus.Upload(content, {
        ...tusOptions(),
        onChunkComplete: (_size, accepted) => {
          if (accepted > 0 && !uploadUrl) {
            uploadUrl = first.url!;
            void first.abort().then(resolve, reject);
          }
        },
        onError: reject,
        onSuccess: () => reject(new Error('the first attempt was meant to be interrupted')),
      });
      first.start();
    });
    assert.match(uploadUrl, new RegExp(`/v1/pilots/${pilotId}/uploads/[0-9a-f-]{36}$`));
    const head = await supertest(base).head(new URL(uploadUrl).pathname).set(owner.auth).set('Tus-Resumable', '1.0.0');
    assert.equal(head.status, 200);
    const held = Number(head.headers['upload-offset']);
    assert.ok(held > 0 && held < content.length, `offset ${held}`);
    assert.equal(await countRows('datasets'), 0, 'nothing is committed before the last byte');

    // Second attempt: a new client resumes from the stored URL (what a CLI does after a restart).
    let resumedFrom = -1;
    const last = await new Promise<tus.HttpResponse>((resolve, reject) => {
      const again = new tus.Upload(content, {
        ...tusOptions({ uploadUrl }),
        onProgress: (sent) => {
          if (resumedFrom < 0) resumedFrom = sent;
        },
        onError: reject,
        onSuccess: (payload) => resolve(payload.lastResponse),
      });
      again.start();
    });
    assert.ok(resumedFrom >= held, 'the resumed upload did not start again from zero');
    const datasetId = last.getHeader('Dataset-Id');
    assert.match(String(datasetId), /^[0-9a-f-]{36}$/);
    const got = await supertest(base).get(`/v1/datasets/${datasetId}`).set(owner.auth);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    assert.equal(got.body.sha256, sha256(content));
    assert.equal(got.body.sizeBytes, content.length);
    assert.equal(got.body.mediaType, 'text/csv');
    assert.equal(got.body.fileName, 'drive.csv');
    assert.ok(got.body.profile, 'the CSV was profiled');
    assert.equal(sha256((await download(owner, String(datasetId))).body as Buffer), sha256(content));
    const events = await ctx().db.query<{ type: string }>(`SELECT type FROM events WHERE data->>'id' = $1`, [
      datasetId,
    ]);
    assert.deepEqual(
      events.rows.map((r) => r.type),
      ['dataset.uploaded'],
    );
    // The finished upload still answers HEAD with its dataset.
    const done = await supertest(base).head(new URL(uploadUrl).pathname).set(owner.auth).set('Tus-Resumable', '1.0.0');
    assert.equal(done.status, 200);
    assert.equal(done.headers['dataset-id'], datasetId);
    assert.equal(done.headers['upload-offset'], String(content.length));
  });

  function create(body: Record<string, string>, length: number, actor: Actor = owner) {
    return supertest(base)
      .post(`/v1/pilots/${pilotId}/uploads`)
      .set(actor.auth)
      .set('Tus-Resumable', '1.0.0')
      .set('Upload-Length', String(length))
      .set('Upload-Metadata', metadataHeader(body));
  }
  const patch = (location: string, offset: number, bytes: Buffer, actor: Actor = owner) =>
    supertest(base)
      .patch(location)
      .set(actor.auth)
      .set('Tus-Resumable', '1.0.0')
      .set('Upload-Offset', String(offset))
      .set('Content-Type', 'application/offset+octet-stream')
      .send(bytes);
  const isProblem = (res: supertest.Response, status: number, code: string) => {
    assert.equal(res.status, status, JSON.stringify(res.body ?? res.text));
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    if (res.request.method === 'HEAD') return; // no body on HEAD
    assert.equal(res.body.code, code);
    assert.equal(res.body.status, status);
  };

  it('refuses bad tus requests with the tus status as problem+json, committing nothing', async () => {
    const content = Buffer.from(csv(50));
    const noVersion = await supertest(base)
      .post(`/v1/pilots/${pilotId}/uploads`)
      .set(owner.auth)
      .set('Upload-Length', '10');
    isProblem(noVersion, 412, 'tus-version-unsupported');
    const wrongVersion = await create({ name: 'x', sensitivity: 'public' }, 10).set('Tus-Resumable', '0.2.2');
    isProblem(wrongVersion, 412, 'tus-version-unsupported');
    isProblem(await create({ name: 'x', sensitivity: 'personal' }, 10), 400, 'validation-failed');
    isProblem(await create({ name: 'x' }, 10), 400, 'validation-failed');
    const badHeader = await create({ name: 'x', sensitivity: 'public' }, 10).set('Upload-Metadata', 'name %%%');
    isProblem(badHeader, 400, 'invalid-upload-metadata');
    isProblem(await create({ name: 'x', sensitivity: 'public' }, 0), 400, 'validation-failed');

    const created = await create({ name: 'x', sensitivity: 'public' }, content.length);
    assert.equal(created.status, 201, created.text);
    assert.ok(created.headers['upload-expires'], 'Upload-Expires is announced');
    const location = new URL(created.headers.location!, base).pathname;
    isProblem(await patch(location, 5, content.subarray(0, 10)), 409, 'upload-offset-mismatch');
    const half = await patch(location, 0, content.subarray(0, 100));
    assert.equal(half.status, 204);
    assert.equal(half.headers['upload-offset'], '100');
    // Bytes past the declared length are refused; the bytes held stay as they were.
    isProblem(
      await patch(location, 100, Buffer.concat([content.subarray(100), Buffer.from('extra')])),
      413,
      'file-too-large',
    );
    const head = await supertest(base).head(location).set(owner.auth).set('Tus-Resumable', '1.0.0');
    assert.equal(head.headers['upload-offset'], '100');

    // Someone else's upload URL is unknown to them.
    const stranger = await signup('startup');
    isProblem(await patch(location, 100, content.subarray(100), stranger), 404, 'not-found');
    const otherPilot = (await createPilot(stranger)).id;
    const foreign = await supertest(base)
      .patch(location.replace(pilotId, otherPilot))
      .set(stranger.auth)
      .set('Tus-Resumable', '1.0.0')
      .set('Upload-Offset', '100')
      .set('Content-Type', 'application/offset+octet-stream')
      .send(content.subarray(100));
    isProblem(foreign, 404, 'not-found');

    // Termination removes it.
    const gone = await supertest(base).delete(location).set(owner.auth).set('Tus-Resumable', '1.0.0');
    assert.equal(gone.status, 204);
    isProblem(await supertest(base).head(location).set(owner.auth).set('Tus-Resumable', '1.0.0'), 404, 'not-found');
    assert.equal(await countRows('datasets'), 0);
  });

  it('keeps nothing when the sha256 in the metadata does not match the bytes at the end', async () => {
    const content = Buffer.from(csv(30));
    const created = await create({ name: 'x', sensitivity: 'public', sha256: 'ab'.repeat(32) }, content.length);
    assert.equal(created.status, 201, created.text);
    const location = new URL(created.headers.location!, base).pathname;
    isProblem(await patch(location, 0, content), 422, 'digest-mismatch');
    assert.equal(await countRows('datasets'), 0);
    assert.equal(await countRows('dataset_blobs'), 0);
    isProblem(await supertest(base).head(location).set(owner.auth).set('Tus-Resumable', '1.0.0'), 404, 'not-found');
  });

  it('answers 410 for an upload past its expiry and removes it', async () => {
    const content = Buffer.from(csv(30));
    const created = await create({ name: 'x', sensitivity: 'public' }, content.length);
    const location = new URL(created.headers.location!, base).pathname;
    await ctx().db.query(`UPDATE resumable_uploads SET expires_at = now() - interval '1 second'`);
    isProblem(await patch(location, 0, content), 410, 'upload-expired');
    isProblem(await supertest(base).head(location).set(owner.auth).set('Tus-Resumable', '1.0.0'), 404, 'not-found');
    assert.equal(await countRows('datasets'), 0);
  });

  it('commits, once, an upload whose last byte arrived but whose process died before committing', async () => {
    const content = Buffer.from(csv(40));
    const created = await create({ name: 'orphaned-end', sensitivity: 'public' }, content.length);
    assert.equal(created.status, 201, created.text);
    const location = new URL(created.headers.location!, base).pathname;
    const id = location.split('/').pop()!;
    // The state a kill -9 between storing the last byte and committing leaves: every byte held, no version.
    await resumableStore(ctx().config).datastore.write(Readable.from([content]), id, 0);
    assert.equal(await countRows('datasets'), 0);
    const heads = await Promise.all(
      [1, 2].map(() => supertest(base).head(location).set(owner.auth).set('Tus-Resumable', '1.0.0')),
    );
    for (const h of heads) assert.equal(h.status, 200, JSON.stringify(h.headers));
    assert.equal(heads[0]!.headers['dataset-id'], heads[1]!.headers['dataset-id'], 'both answers name one version');
    assert.equal(heads[0]!.headers['upload-offset'], String(content.length));
    assert.equal(await countRows('datasets'), 1, 'committed exactly once');
    const got = await supertest(base).get(`/v1/datasets/${heads[0]!.headers['dataset-id']}`).set(owner.auth);
    assert.equal(got.body.sha256, sha256(content));
  });

  it('refuses an upload larger than the quota left before any byte is sent', async () => {
    const res = await create({ name: 'x', sensitivity: 'public' }, ctx().config.uploadQuotaBytes + 1);
    assert.equal(res.status, 413);
    assert.match(res.body.code, /^(file-too-large|storage-quota-exceeded)$/);
    assert.equal(await countRows('resumable_uploads'), 0);
  });
});
