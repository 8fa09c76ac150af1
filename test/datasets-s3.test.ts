/**
 * The S3 store behind the dataset routes, against a real S3-protocol server (s3rver, started here unless the
 * run already has one): multipart writes, ranged reads, whole or nothing, and the sweep of abandoned
 * multipart uploads. Runs on every suite, whatever STORAGE the rest of the run uses.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp, type App } from '../src/app.js';
import { sweepUploads } from '../src/datasets/service.js';
import { blobStoreFor } from '../src/storage/index.js';
import { S3BlobStore } from '../src/storage/s3.js';
import { ctx, testConfig, testS3 } from './support/context.js';
import { waitFor } from './support/child-server.js';
import { sha256 } from './support/dataset-factories.js';
import { countRows, createPilot, signup, type Actor } from './support/factories.js';
import { clearBucket, s3Objects, s3PendingUploads, startTestS3, type TestS3 } from './support/s3-server.js';

describe('S3 storage', function () {
  this.timeout(180_000);
  let s3: TestS3;
  let own = false;
  let app: App;
  let store: S3BlobStore;
  let owner: Actor;
  let pilotId: string;

  before(async () => {
    const shared = testS3();
    own = !shared;
    s3 = shared ?? (await startTestS3());
    const config = testConfig({
      STORAGE: 's3',
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: s3.bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    });
    app = createApp({ db: ctx().db, config, logger: pino({ level: 'silent' }) });
    store = blobStoreFor(config) as S3BlobStore;
  });
  after(async () => {
    if (own) await s3.close();
  });
  beforeEach(async () => {
    clearBucket(s3);
    owner = await signup('startup');
    pilotId = (await createPilot(owner)).id;
  });

  const upload = (content: Buffer) =>
    supertest(app)
      .post(`/v1/pilots/${pilotId}/datasets`)
      .set(owner.auth)
      .field('name', 'camera-log')
      .field('sensitivity', 'internal')
      .attach('file', content, { filename: 'log.csv', contentType: 'text/csv' });
  const get = (id: string, range?: string) => {
    const req = supertest(app).get(`/v1/datasets/${id}/content`).set(owner.auth);
    if (range) req.set('Range', range);
    return req.buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
  };

  it('stores a file of several parts whole (sha256 checked) and serves it whole and in ranges', async () => {
    const line = 'frame,ts,exposure,gain\n';
    const content = Buffer.from(line + '12345,1700000000.123,0.016,2.5\n'.repeat(1_200_000)); // ~37 MiB: 3 parts
    const res = await upload(content);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.sha256, sha256(content));
    assert.deepEqual(s3PendingUploads(s3), [], 'the multipart upload was completed');
    assert.equal(s3Objects(s3).length, 1);
    const whole = await get(res.body.id);
    assert.equal(whole.status, 200);
    assert.equal(sha256(whole.body as Buffer), sha256(content));
    assert.match(String(whole.headers['repr-digest']), /^sha-256=:/);
    const part = await get(res.body.id, 'bytes=20000000-20000099');
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 20000000-20000099/${content.length}`);
    assert.deepEqual(part.body, content.subarray(20_000_000, 20_000_100));
    // The same bytes again are the same object (content addressed per organisation).
    const again = await upload(content);
    assert.equal(again.status, 201);
    assert.equal(s3Objects(s3).length, 1);
  });

  it('keeps nothing, and aborts the multipart upload, when the client disconnects mid-file', async () => {
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const boundary = 'gone';
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: `/v1/pilots/${pilotId}/datasets`,
        headers: {
          ...owner.auth,
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': String(256 * 1024 * 1024),
        },
      });
      req.on('error', () => undefined);
      req.write(
        `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\ngone\r\n--${boundary}\r\nContent-Disposition: form-data; name="sensitivity"\r\n\r\npublic\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="gone.csv"\r\n\r\na,b\n`,
      );
      const chunk = Buffer.from('1,2\n'.repeat(256 * 1024)); // 1 MiB
      // Past the first part (8 MiB), so a multipart upload is under way in the bucket.
      for (let i = 0; i < 20; i++) {
        if (!req.write(chunk)) await new Promise((resolve) => req.once('drain', resolve));
      }
      await waitFor(() => s3PendingUploads(s3).length > 0);
      req.destroy();
      await waitFor(() => s3PendingUploads(s3).length === 0);
      assert.deepEqual(s3Objects(s3), []);
      assert.equal(await countRows('datasets'), 0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('the start-up sweep aborts multipart uploads whose owner process is gone, and keeps live ones', async () => {
    const begin = (owner: string) =>
      store.client.send(
        new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: `objects/${owner}~${randomUUID()}` }),
      );
    // A process on this host that no longer runs (pid 2^22 + 1 is above Linux's pid_max).
    const { hostname } = await import('node:os');
    const host = hostname()
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')
      .slice(0, 63);
    await begin(`${host}.4194305.abc123`);
    await begin(`other-host.42.abc123`); // another machine: cannot be judged yet, kept
    assert.equal(s3PendingUploads(s3).length, 2);
    const swept = await sweepUploads(ctx().db, store, 0);
    assert.equal(swept.temporaries, 1);
    assert.equal(s3PendingUploads(s3).length, 1);
  });
});
