/**
 * Resumable uploads across real API processes (children): a kill -9 mid-upload loses no acknowledged byte,
 * and on the PostgreSQL server an upload begun on one process is finished on another. With STORAGE=s3 the
 * children share the suite's S3 server; otherwise they share one uploads directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import * as tus from 'tus-js-client';
import { startChild, startupWithPilot, stopChild, type Child } from './support/child-server.js';
import { sha256 } from './support/dataset-factories.js';

const content = Buffer.from(
  ['ts,lat,lon,speed', ...Array.from({ length: 60_000 }, (_, i) => `${i},35.1${i % 10},126.8${i % 7},${i % 90}`)].join(
    '\n',
  ) + '\n',
);
const CHUNK = 256 * 1024;

function options(
  base: string,
  auth: Record<string, string>,
  pilotId: string,
  extra: Partial<tus.UploadOptions>,
): tus.UploadOptions {
  return {
    endpoint: `${base}/v1/pilots/${pilotId}/uploads`,
    headers: auth,
    chunkSize: CHUNK,
    retryDelays: [],
    metadata: { name: 'lidar-log', sensitivity: 'internal', filename: 'lidar.csv', filetype: 'text/csv' },
    ...extra,
  };
}

/** Uploads until `stopAfter` bytes are acknowledged, then calls stop(); answers the upload URL and that offset. */
function uploadPart(opts: tus.UploadOptions, stopAfter: number, stop: (u: tus.Upload) => Promise<void>) {
  return new Promise<{ url: string; acknowledged: number }>((resolve, reject) => {
    let done = false;
    const upload = new tus.Upload(content, {
      ...opts,
      onChunkComplete: (_size, accepted) => {
        if (done || accepted < stopAfter) return;
        done = true;
        const url = upload.url!;
        void stop(upload).then(() => resolve({ url, acknowledged: accepted }), reject);
      },
      onError: (err) => (done ? undefined : reject(err)),
      onSuccess: () => reject(new Error('the upload was meant to stop half-way')),
    });
    upload.start();
  });
}

/** Resumes an upload at url (rewritten onto base) to the end; answers the final response's Dataset-Id. */
function resume(base: string, url: string, opts: tus.UploadOptions) {
  const uploadUrl = base + new URL(url).pathname;
  return new Promise<{ datasetId: string; resumedAt: number }>((resolve, reject) => {
    let resumedAt = -1;
    const upload = new tus.Upload(content, {
      ...opts,
      uploadUrl,
      onProgress: (sent) => {
        if (resumedAt < 0) resumedAt = sent;
      },
      onError: reject,
      onSuccess: ({ lastResponse }) => resolve({ datasetId: String(lastResponse.getHeader('Dataset-Id')), resumedAt }),
    });
    upload.start();
  });
}

async function checkStored(base: string, auth: Record<string, string>, datasetId: string) {
  const got = await supertest(base).get(`/v1/datasets/${datasetId}`).set(auth);
  assert.equal(got.status, 200, JSON.stringify(got.body));
  assert.equal(got.body.sha256, sha256(content));
  assert.equal(got.body.sizeBytes, content.length);
  const bytes = await supertest(base)
    .get(`/v1/datasets/${datasetId}/content`)
    .set(auth)
    .buffer(true)
    .parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
  assert.equal(sha256(bytes.body as Buffer), sha256(content));
}

describe('resumable uploads across API processes', function () {
  this.timeout(240_000);
  let work: string;
  const children: Child[] = [];
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'ax-tus-'));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await stopChild(c);
    rmSync(work, { recursive: true, force: true });
  });
  const envOf = (dbName: string): Record<string, string> => {
    const env: Record<string, string> = { UPLOADS_DIR: join(work, 'uploads') };
    if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;
    else env.DATA_DIR = join(work, dbName);
    return env;
  };

  it('a process killed with SIGKILL mid-upload loses no acknowledged byte; resumed after restart', async () => {
    const env = envOf('db');
    let child = await startChild(env);
    children.push(child);
    const { auth, pilotId } = await startupWithPilot(child.base);
    const killed = child;
    const { url, acknowledged } = await uploadPart(options(child.base, auth, pilotId, {}), 2 * CHUNK, async () => {
      killed.proc.kill('SIGKILL');
      await new Promise((resolve) => killed.proc.once('exit', resolve));
    });
    child = await startChild(env);
    children.push(child);
    const head = await supertest(child.base).head(new URL(url).pathname).set(auth).set('Tus-Resumable', '1.0.0');
    assert.equal(head.status, 200);
    assert.ok(
      Number(head.headers['upload-offset']) >= acknowledged,
      `held ${head.headers['upload-offset']} < acknowledged ${acknowledged}`,
    );
    const { datasetId, resumedAt } = await resume(child.base, url, options(child.base, auth, pilotId, {}));
    assert.ok(resumedAt >= acknowledged, 'the upload restarted from zero');
    await checkStored(child.base, auth, datasetId);
  });

  if (process.env.DATABASE_URL) {
    it('an upload begun on one process is finished on another sharing the database and storage', async () => {
      const a = await startChild(envOf('a'));
      children.push(a);
      const b = await startChild(envOf('b'));
      children.push(b);
      const { auth, pilotId } = await startupWithPilot(a.base);
      const { url, acknowledged } = await uploadPart(options(a.base, auth, pilotId, {}), CHUNK, (u) => u.abort());
      const { datasetId, resumedAt } = await resume(b.base, url, options(b.base, auth, pilotId, {}));
      assert.ok(resumedAt >= acknowledged, 'process b started the upload again from zero');
      await checkStored(a.base, auth, datasetId);
      const events = await supertest(b.base).get(`/v1/datasets/${datasetId}`).set(auth);
      assert.equal(events.status, 200);
    });
  }
});
