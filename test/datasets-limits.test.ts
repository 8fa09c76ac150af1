/** Upload limits, quota, vanished clients and a server killed mid-upload: each leaves no file and no row. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import supertest from 'supertest';
import { createApp } from '../src/app.js';
import { sweepUploads } from '../src/datasets/service.js';
import { blobStoreFor } from '../src/storage/index.js';
import { ctx, testConfig } from './support/context.js';
import { businessNumber, countRows, createPilot, DAY, signup, type Actor } from './support/factories.js';
import {
  clearUploads,
  csv,
  download,
  objectFiles,
  sha256,
  tempFiles,
  uploadRequest,
} from './support/dataset-factories.js';

function appWith(overrides: Record<string, string>) {
  const uploadsDir = mkdtempSync(join(tmpdir(), 'ax-limits-'));
  const config = testConfig({ UPLOADS_DIR: uploadsDir, ...overrides });
  const app = createApp({ db: ctx().db, config, logger: pino({ level: 'silent' }) });
  return { app, uploadsDir, agent: supertest.agent(app) };
}

describe('dataset upload limits', () => {
  let owner: Actor;
  let pilotId: string;
  const dirs: string[] = [];
  beforeEach(async () => {
    owner = await signup('startup');
    pilotId = (await createPilot(owner)).id;
  });
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('refuses a file over UPLOAD_MAX_BYTES with 413 problem+json and keeps nothing', async () => {
    const { agent, uploadsDir } = appWith({ UPLOAD_MAX_BYTES: '1000' });
    dirs.push(uploadsDir);
    const ok = await uploadRequest(owner, pilotId, { agent, content: 'a,b\n' + '1,2\n'.repeat(249) });
    assert.equal(ok.status, 201, JSON.stringify(ok.body)); // exactly 1000 bytes
    const res = await uploadRequest(owner, pilotId, { agent, content: 'a,b\n' + '1,2\n'.repeat(2000) });
    assert.equal(res.status, 413, JSON.stringify(res.body));
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.equal(res.body.code, 'file-too-large');
    assert.equal(await countRows('datasets'), 1);
    assert.deepEqual(tempFiles(uploadsDir), []);
    assert.equal(objectFiles(uploadsDir).length, 1);
  });

  it('enforces the per-organisation quota, counting identical bytes once', async () => {
    const { agent, uploadsDir } = appWith({ UPLOAD_QUOTA_BYTES: '3000' });
    dirs.push(uploadsDir);
    const a = 'x,y\n' + '1,2\n'.repeat(400); // 1604 bytes
    const b = 'x,y\n' + '3,4\n'.repeat(400);
    assert.equal((await uploadRequest(owner, pilotId, { agent, content: a })).status, 201);
    const over = await uploadRequest(owner, pilotId, { agent, content: b });
    assert.equal(over.status, 413, JSON.stringify(over.body));
    assert.equal(over.body.code, 'storage-quota-exceeded');
    assert.equal(over.body.quotaBytes, 3000);
    assert.equal(over.body.usedBytes, 1604);
    // The same bytes again cost nothing.
    const again = await uploadRequest(owner, pilotId, { agent, content: a });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.equal(again.body.version, 2);
    // Another organisation has its own quota.
    const other = await signup('startup');
    const otherPilot = (await createPilot(other)).id;
    assert.equal((await uploadRequest(other, otherPilot, { agent, content: b })).status, 201);
    assert.deepEqual(tempFiles(uploadsDir), []);
    assert.equal(objectFiles(uploadsDir).length, 2);
  });

  it('leaves no temporary file and no row when the client disconnects mid-upload', async () => {
    const server = http.createServer(ctx().app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const boundary = 'vanishing';
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nv\r\n--${boundary}\r\nContent-Disposition: form-data; name="sensitivity"\r\n\r\npublic\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n`;
      const req = http.request({
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: `/v1/pilots/${pilotId}/datasets`,
        headers: {
          ...owner.auth,
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': String(50 * 1024 * 1024),
        },
      });
      req.on('error', () => undefined);
      req.write(head + 'a,b\n');
      const chunk = Buffer.from('1,2\n'.repeat(16 * 1024));
      for (let i = 0; i < 32; i++) req.write(chunk); // 2 MiB of the promised 50
      await waitFor(() => tempFiles().length > 0);
      req.destroy();
      await waitFor(() => tempFiles().length === 0);
      assert.equal(await countRows('datasets'), 0);
      assert.equal(await countRows('dataset_blobs'), 0);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the start-up sweep', () => {
  it('removes temporaries, blobs no live version references and hour-old objects without a row; keeps the rest', async () => {
    clearUploads();
    const owner = await signup('startup');
    const pilotId = (await createPilot(owner)).id;
    const kept = await uploadRequest(owner, pilotId, { content: csv(7) });
    assert.equal(kept.status, 201);
    const { uploadsDir } = ctx().config;
    const old = new Date(Date.now() - 2 * 3600_000);
    const orphan = join(
      uploadsDir,
      'objects',
      owner.orgId,
      'ab',
      `${'ab'.repeat(32)}-00000000-0000-4000-8000-000000000000`,
    );
    mkdirSync(join(orphan, '..'), { recursive: true });
    writeFileSync(orphan, 'left between rename and commit');
    utimesSync(orphan, old, old);
    const fresh = `${orphan.slice(0, -1)}1`;
    writeFileSync(fresh, 'another process may be about to commit this one');
    writeFileSync(join(uploadsDir, 'tmp', 'crashed.part'), 'half an upload');
    for (const f of objectFiles()) utimesSync(join(uploadsDir, 'objects', f), old, old);
    utimesSync(fresh, new Date(), new Date());
    const swept = await sweepUploads(ctx().db, blobStoreFor(ctx().config), 0);
    assert.deepEqual(swept, { temporaries: 1, blobs: 0, orphans: 1 });
    assert.deepEqual(tempFiles(), []);
    assert.equal(objectFiles().length, 2, 'the kept upload and the fresh object remain');
    assert.equal(sha256((await download(owner, kept.body.id)).body as Buffer), kept.body.sha256);
    rmSync(fresh);
  });
});

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Child {
  proc: ChildProcess;
  base: string;
}

async function startChild(env: Record<string, string>): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'test/support/dataset-server.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`dataset server exited with ${code}`)));
  });
  return { proc, base: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}` };
}

describe('a server killed with SIGKILL in the middle of an upload', function () {
  this.timeout(120_000);

  it('after restart leaves no temporary file and no row, and other uploads intact', async () => {
    const work = mkdtempSync(join(tmpdir(), 'ax-kill-'));
    const env: Record<string, string> = { UPLOADS_DIR: join(work, 'uploads'), UPLOAD_TEMP_MAX_AGE_SECONDS: '0' };
    if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;
    else env.DATA_DIR = join(work, 'db');
    let child = await startChild(env);
    try {
      const agent = () => supertest(child.base);
      const email = `kill-${Date.now()}@example.kr`;
      const signed = await agent()
        .post('/v1/auth/signup')
        .send({
          organization: { name: 'Crash test', kind: 'startup', businessNumber: businessNumber() },
          user: { email, password: 'correct horse battery staple', name: 'K' },
        });
      assert.equal(signed.status, 201, JSON.stringify(signed.body));
      const auth = { Authorization: `Bearer ${signed.body.token as string}` };
      const start = new Date(Date.now() + 7 * DAY);
      const pilot = await agent()
        .post('/v1/pilots')
        .set(auth)
        .send({
          title: 'Crash pilot',
          summary: 'Uploads under fire.',
          domain: 'transport-safety',
          requirements: {
            capabilities: ['driving-simulator'],
            units: 1,
            durationHours: 8,
            earliestStart: start.toISOString(),
            latestEnd: new Date(start.getTime() + 30 * DAY).toISOString(),
          },
        });
      assert.equal(pilot.status, 201, JSON.stringify(pilot.body));
      const kept = csv(500);
      const done = await agent()
        .post(`/v1/pilots/${pilot.body.id}/datasets`)
        .set(auth)
        .field('name', 'kept')
        .field('sensitivity', 'internal')
        .attach('file', Buffer.from(kept), 'kept.csv');
      assert.equal(done.status, 201, JSON.stringify(done.body));

      // A large upload, cut off by SIGKILL once its temporary file is growing.
      const url = new URL(child.base);
      const boundary = 'killed';
      const req = http.request({
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: `/v1/pilots/${pilot.body.id}/datasets`,
        headers: {
          ...auth,
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': String(512 * 1024 * 1024),
        },
      });
      req.on('error', () => undefined);
      req.write(
        `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nhalf\r\n--${boundary}\r\nContent-Disposition: form-data; name="sensitivity"\r\n\r\npublic\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.csv"\r\n\r\na,b\n`,
      );
      const chunk = Buffer.from('1,2\n'.repeat(64 * 1024));
      for (let i = 0; i < 16; i++) req.write(chunk);
      await waitFor(() => tempFiles(env.UPLOADS_DIR).length > 0);
      child.proc.kill('SIGKILL');
      await new Promise((resolve) => child.proc.once('exit', resolve));
      req.destroy();
      assert.equal(tempFiles(env.UPLOADS_DIR).length, 1, 'the kill left a temporary file behind');

      child = await startChild(env);
      assert.deepEqual(tempFiles(env.UPLOADS_DIR), [], 'the start-up sweep removed it');
      const list = await supertest(child.base).get(`/v1/pilots/${pilot.body.id}/datasets`).set(auth);
      assert.equal(list.status, 200, JSON.stringify(list.body));
      assert.deepEqual(
        list.body.data.map((d: { name: string }) => d.name),
        ['kept'],
      );
      const got = await supertest(child.base)
        .get(`/v1/datasets/${done.body.id}/content`)
        .set(auth)
        .buffer(true)
        .parse((res, cb) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => cb(null, Buffer.concat(chunks)));
        });
      assert.equal(sha256(got.body as Buffer), sha256(kept));
      assert.equal(objectFiles(env.UPLOADS_DIR).length, 1);
    } finally {
      child.proc.kill('SIGTERM');
      await new Promise((resolve) => (child.proc.exitCode !== null ? resolve(null) : child.proc.once('exit', resolve)));
      rmSync(work, { recursive: true, force: true });
    }
  });
});
