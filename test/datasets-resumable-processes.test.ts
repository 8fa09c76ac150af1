/**
 * Resumable uploads across real API processes (children): a kill -9 mid-upload loses no acknowledged byte,
 * and on the PostgreSQL server an upload begun on one process is finished on another. Two PATCHes of one
 * upload at once, through two processes (one on the embedded database), never both write: the second asks
 * the first to stop and then finds the offset moved (409). With STORAGE=s3 the children share the suite's S3
 * server; otherwise they share one uploads directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import * as tus from 'tus-js-client';
import { startChild, startupWithPilot, stopChild, waitFor, type Child } from './support/child-server.js';
import { ctx } from './support/context.js';
import { sha256 } from './support/dataset-factories.js';
import { stalledPatch, UPLOAD_LOCK_HOLDER } from './support/stalled-patch.js';

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

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** Creates an upload of `content` by hand; answers its path. */
async function createUpload(base: string, auth: Record<string, string>, pilotId: string): Promise<string> {
  const res = await supertest(base)
    .post(`/v1/pilots/${pilotId}/uploads`)
    .set(auth)
    .set('Tus-Resumable', '1.0.0')
    .set('Upload-Length', String(content.length))
    .set('Upload-Metadata', `name ${b64('race')},sensitivity ${b64('internal')},filename ${b64('race.csv')}`);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return String(res.headers.location);
}

/** A whole PATCH of the file from offset. */
function patchRest(base: string, path: string, auth: Record<string, string>, offset: number) {
  return supertest(base)
    .patch(path)
    .set(auth)
    .set('Tus-Resumable', '1.0.0')
    .set('Upload-Offset', String(offset))
    .set('Content-Type', 'application/offset+octet-stream')
    .send(content.subarray(offset));
}

const onS3 = process.env.STORAGE === 's3';

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

  /**
   * Resolves once the PATCH in flight on upload `id` holds the upload: with local storage, once its first
   * `bytes` are on disk; on S3 (which keeps them elsewhere until the request ends), once its process holds the
   * upload's advisory lock on the PostgreSQL server.
   */
  async function holding(id: string, bytes: number): Promise<void> {
    if (!onS3) {
      const file = join(work, 'uploads', 'resumable', id);
      await waitFor(() => {
        try {
          return statSync(file).size >= bytes;
        } catch {
          return false;
        }
      });
      return;
    }
    await waitFor(async () => {
      const { rows } = await ctx().db.query(UPLOAD_LOCK_HOLDER, [id]);
      return rows.length === 1;
    });
  }

  // On S3 a held PATCH is only visible through the lock on the PostgreSQL server.
  if (!onS3 || process.env.DATABASE_URL) {
    it('two PATCHes at one offset through two processes: one writes, the other finds the offset moved', async () => {
      const a = await startChild(envOf('a'));
      children.push(a);
      // On the embedded database only one process can open it: both requests go through that one.
      let b = a;
      if (process.env.DATABASE_URL) {
        b = await startChild(envOf('b'));
        children.push(b);
      }
      const { auth, pilotId } = await startupWithPilot(a.base);
      const path = new URL(await createUpload(a.base, auth, pilotId), a.base).pathname;
      const id = path.split('/').pop()!;
      const FIRST = 64 * 1024;

      // The first PATCH sends 64 KiB of the file and stalls, holding the upload.
      const first = stalledPatch(a.base, path, auth, 0, content.length, content.subarray(0, FIRST));
      await holding(id, FIRST);
      // The second, the whole file from the same offset, asks the first to let go, then finds the offset moved.
      const second = await patchRest(b.base, path, auth, 0);
      const one = await first.answer;
      assert.equal(one.status, 204, one.body);
      const reached = Number(one.headers['upload-offset']);
      if (!onS3) assert.equal(reached, FIRST, 'the first PATCH keeps what it wrote');
      if (reached > 0) {
        assert.ok([409, 423].includes(second.status), `second PATCH: ${second.status} ${JSON.stringify(second.body)}`);
        assert.match(String(second.headers['content-type']), /^application\/problem\+json/);
        assert.equal(second.body.code, second.status === 409 ? 'upload-offset-mismatch' : 'upload-locked');
        assert.equal(second.headers['dataset-id'], undefined);
      } else {
        // Nothing had reached the store when the first let go: the second wrote the whole file.
        assert.equal(second.status, 204, JSON.stringify(second.body));
      }

      // The client resumes where the server says and finishes; the file is exactly the one sent.
      const head = await supertest(b.base).head(path).set(auth).set('Tus-Resumable', '1.0.0');
      assert.equal(head.status, 200);
      let datasetId = head.headers['dataset-id'] as string | undefined;
      if (!datasetId) {
        assert.equal(Number(head.headers['upload-offset']), reached);
        const last = await patchRest(b.base, path, auth, reached);
        assert.equal(last.status, 204, JSON.stringify(last.body));
        datasetId = String(last.headers['dataset-id']);
      }
      await checkStored(a.base, auth, datasetId);
    });
  }

  if (process.env.DATABASE_URL) {
    it('a process killed while writing an upload does not keep it locked: another process resumes it', async () => {
      const a = await startChild(envOf('a'));
      children.push(a);
      const b = await startChild(envOf('b'));
      children.push(b);
      const { auth, pilotId } = await startupWithPilot(a.base);
      const path = new URL(await createUpload(a.base, auth, pilotId), a.base).pathname;
      const id = path.split('/').pop()!;
      const FIRST = 64 * 1024;
      const stalled = stalledPatch(a.base, path, auth, 0, content.length, content.subarray(0, FIRST));
      stalled.answer.catch(() => undefined);
      await holding(id, FIRST);
      a.proc.kill('SIGKILL');
      await new Promise((resolve) => a.proc.once('exit', resolve));
      stalled.abandon();

      const head = await supertest(b.base).head(path).set(auth).set('Tus-Resumable', '1.0.0');
      assert.equal(head.status, 200, 'the lock died with the process');
      const held = Number(head.headers['upload-offset']);
      const last = await patchRest(b.base, path, auth, held);
      assert.equal(last.status, 204, JSON.stringify(last.body));
      await checkStored(b.base, auth, String(last.headers['dataset-id']));
    });
  }
});
