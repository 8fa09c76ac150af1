/**
 * The SHA-256 of a resumable upload is computed while its PATCH bodies stream in, by the process receiving
 * them; a hash that does not cover exactly the bytes before a PATCH (another process received some, bytes were
 * stored without passing through it) is not continued, and the finish reads the stored bytes instead. Every
 * test sends a sha256 field, so a wrong digest is refused as well as visible.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import supertest from 'supertest';
import * as tus from 'tus-js-client';
import { createApp } from '../src/app.js';
import { resumableStore } from '../src/resumable/store.js';
import { ctx } from './support/context.js';
import { countRows, createPilot, signup, type Actor } from './support/factories.js';
import { csv, download, sha256, uploadDataset } from './support/dataset-factories.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const metadataHeader = (m: Record<string, string>) =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(',');

/** Plain text (no profile, so the finish reads only the head unless the saved hash is not usable). */
const text = (bytes: number, seed: string) => {
  const line = `${seed}: the quick brown fox jumps over the lazy dog 0123456789\n`;
  return Buffer.from(line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes), 'utf8');
};

describe('resumable uploads: the digest computed while the bytes arrive', function () {
  this.timeout(120_000);
  const servers: http.Server[] = [];
  /** Two API processes sharing the database and the storage: each with its own tus server and locks. */
  let bases: [string, string];
  let owner: Actor;
  let pilotId: string;

  before(async () => {
    const second = createApp({ db: ctx().db, config: ctx().config, logger: pino({ level: 'silent' }) });
    const urls: string[] = [];
    for (const app of [ctx().app, second]) {
      const server = http.createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }
    bases = urls as [string, string];
  });
  after(async () => {
    for (const s of servers) await new Promise((resolve) => s.close(resolve));
  });
  beforeEach(async () => {
    owner = await signup('startup');
    pilotId = (await createPilot(owner)).id;
  });

  async function create(fields: Record<string, string>, length: number) {
    const res = await supertest(bases[0])
      .post(`/v1/pilots/${pilotId}/uploads`)
      .set(owner.auth)
      .set('Tus-Resumable', '1.0.0')
      .set('Upload-Length', String(length))
      .set('Upload-Metadata', metadataHeader({ filename: 'notes.txt', ...fields }));
    assert.equal(res.status, 201, res.text);
    const location = new URL(res.headers.location!, bases[0]).pathname;
    return { location, id: location.split('/').pop()! };
  }
  const patch = (base: string, location: string, offset: number, bytes: Buffer) =>
    supertest(base)
      .patch(location)
      .set(owner.auth)
      .set('Tus-Resumable', '1.0.0')
      .set('Upload-Offset', String(offset))
      .set('Content-Type', 'application/offset+octet-stream')
      .send(bytes);
  const head = (base: string, location: string) =>
    supertest(base).head(location).set(owner.auth).set('Tus-Resumable', '1.0.0');
  /** PATCHes content[from, to) on the given process and checks the offset answered. */
  async function send(base: string, location: string, content: Buffer, from: number, to: number) {
    const res = await patch(base, location, from, content.subarray(from, to));
    assert.equal(res.status, 204, res.text);
    assert.equal(res.headers['upload-offset'], String(to));
    return res;
  }

  async function committed(datasetId: unknown, content: Buffer) {
    assert.match(String(datasetId), /^[0-9a-f-]{36}$/);
    const got = await supertest(bases[0])
      .get(`/v1/datasets/${String(datasetId)}`)
      .set(owner.auth);
    assert.equal(got.status, 200, JSON.stringify(got.body));
    assert.equal(got.body.sha256, sha256(content));
    assert.equal(got.body.sizeBytes, content.length);
    assert.equal(sha256((await download(owner, String(datasetId))).body as Buffer), sha256(content));
    return got.body as Record<string, unknown>;
  }

  it('hashes PATCHes at odd offsets on one process and commits the sha256 of the bytes', async () => {
    const content = text(200_003, 'one');
    const { location } = await create(
      { name: 'one-process', sensitivity: 'internal', sha256: sha256(content) },
      content.length,
    );
    // None of the boundaries on a SHA-256 block (64 bytes) or a read-buffer edge.
    const cuts = [0, 1, 65, 65_537, 100_003, 131_071, 199_999, content.length];
    let last: supertest.Response | undefined;
    for (let i = 0; i + 1 < cuts.length; i++) last = await send(bases[1], location, content, cuts[i]!, cuts[i + 1]!);
    await committed(last!.headers['dataset-id'], content);
  });

  it('commits the sha256 of the bytes when PATCHes alternate between processes at odd offsets', async () => {
    const content = text(200_003, 'odd');
    const { location } = await create(
      { name: 'odd-offsets', sensitivity: 'internal', sha256: sha256(content) },
      content.length,
    );
    // Each process sees some PATCHes and misses others; the first holds a hash of the first 100,003 bytes.
    const cuts = [0, 1, 65, 65_537, 100_003, 131_071, 150_001, 199_999];
    const on = [0, 1, 0, 0, 1, 1, 1];
    for (let i = 0; i + 1 < cuts.length; i++) await send(bases[on[i]!]!, location, content, cuts[i]!, cuts[i + 1]!);
    // Interrupted here: the first process learns the offset by HEAD and sends the rest.
    const held = await head(bases[0], location);
    assert.equal(held.headers['upload-offset'], '199999');
    const last = await send(bases[0], location, content, 199_999, content.length);
    await committed(last.headers['dataset-id'], content);
  });

  it('does not continue a hash that misses bytes stored without passing through it', async () => {
    const content = text(150_001, 'behind');
    const { location, id } = await create(
      { name: 'behind', sensitivity: 'internal', sha256: sha256(content) },
      content.length,
    );
    await send(bases[0], location, content, 0, 40_001);
    // Bytes stored behind the process's back (what another process writing them looks like to this one).
    const store = resumableStore(ctx().config).datastore;
    assert.equal(await store.write(Readable.from([content.subarray(40_001, 90_007)]), id, 40_001), 90_007);
    await send(bases[0], location, content, 90_007, 120_000);
    const last = await send(bases[0], location, content, 120_000, content.length);
    await committed(last.headers['dataset-id'], content);
  });

  it('refuses, keeping nothing, a sha256 field that differs from the bytes hashed across PATCHes', async () => {
    const content = text(70_000, 'mismatch');
    const wrong = sha256(Buffer.concat([content.subarray(0, 69_999), Buffer.from('!')]));
    const { location } = await create({ name: 'mismatch', sensitivity: 'internal', sha256: wrong }, content.length);
    await send(bases[0], location, content, 0, 33_333);
    const res = await patch(bases[1], location, 33_333, content.subarray(33_333));
    assert.equal(res.status, 422, res.text);
    assert.equal(res.body.code, 'digest-mismatch');
    assert.equal(res.body.received, sha256(content));
    assert.equal(await countRows('datasets'), 0);
    assert.equal(await countRows('dataset_blobs'), 0);
    assert.equal((await head(bases[0], location)).status, 404);
  });

  it('gives a CSV sent in chunks the type and profile a single-request upload of it gets', async () => {
    const content = Buffer.from('\uFEFF' + csv(30_000).replace('S1,7', 'S1,'), 'utf8');
    const single = await uploadDataset(owner, pilotId, { content, fields: { name: 'single' } });
    const datasetId = await new Promise<string>((resolve, reject) => {
      new tus.Upload(content, {
        endpoint: `${bases[1]}/v1/pilots/${pilotId}/uploads`,
        headers: owner.auth,
        chunkSize: 100_003,
        retryDelays: [],
        metadata: { name: 'chunked', sensitivity: 'internal', filename: 'counts.csv', filetype: 'text/csv' },
        onError: reject,
        onSuccess: ({ lastResponse }) => resolve(String(lastResponse.getHeader('Dataset-Id'))),
      }).start();
    });
    const chunked = await committed(datasetId, content);
    for (const k of ['sha256', 'mediaType', 'encoding', 'profile'] as const) assert.deepEqual(chunked[k], single[k], k);
    assert.equal((chunked.profile as { rowCount: number }).rowCount, 30_000);
  });
});
