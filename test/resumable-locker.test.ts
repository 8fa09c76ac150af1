/**
 * The upload lock on the PostgreSQL server, against a holder the test controls: a session of its own that takes
 * an upload's advisory lock and never lets go (a process that does not answer release requests), and the API
 * process's own lock session cut under a writer. The embedded database has one process and no such session.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import supertest from 'supertest';
import { ctx } from './support/context.js';
import { csv, sha256 } from './support/dataset-factories.js';
import { createPilot, signup, type Actor } from './support/factories.js';
import { waitFor } from './support/child-server.js';
import { stalledPatch, UPLOAD_LOCK_HOLDER } from './support/stalled-patch.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const KEY = `hashtextextended('tus-upload:' || $1::text, 0)`;

if (process.env.DATABASE_URL) {
  describe('resumable upload locks on the PostgreSQL server', function () {
    this.timeout(90_000);
    let server: http.Server;
    let base: string;
    let owner: Actor;
    const content = Buffer.from(csv(8000));

    before(async () => {
      server = http.createServer(ctx().app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise((resolve) => server.close(resolve)));

    async function newUpload(): Promise<{ path: string; id: string }> {
      owner = await signup('startup');
      const pilot = await createPilot(owner);
      const res = await supertest(base)
        .post(`/v1/pilots/${pilot.id}/uploads`)
        .set(owner.auth)
        .set('Tus-Resumable', '1.0.0')
        .set('Upload-Length', String(content.length))
        .set('Upload-Metadata', `name ${b64('locked')},sensitivity ${b64('internal')},filename ${b64('l.csv')}`);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const path = new URL(String(res.headers.location), base).pathname;
      return { path, id: path.split('/').pop()! };
    }

    const patch = (path: string, offset: number) =>
      supertest(base)
        .patch(path)
        .set(owner.auth)
        .set('Tus-Resumable', '1.0.0')
        .set('Upload-Offset', String(offset))
        .set('Content-Type', 'application/offset+octet-stream')
        .send(content.subarray(offset));
    const head = (path: string) => supertest(base).head(path).set(owner.auth).set('Tus-Resumable', '1.0.0');

    it('a PATCH does not write while another session holds the upload: asks it to let go, then 423', async () => {
      const { path, id } = await newUpload();
      const holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await holder.connect();
      try {
        const asked: string[] = [];
        holder.on('notification', (m) => asked.push(String(m.payload)));
        await holder.query('LISTEN tus_upload_release');
        await holder.query(`SELECT pg_advisory_lock(${KEY})`, [id]);

        const refused = await patch(path, 0);
        assert.equal(refused.status, 423, JSON.stringify(refused.body));
        assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
        assert.equal(refused.body.code, 'upload-locked');
        assert.equal(refused.headers['retry-after'], '1');
        assert.equal(refused.headers['tus-resumable'], '1.0.0');
        await waitFor(() => asked.includes(id));

        await holder.query(`SELECT pg_advisory_unlock(${KEY})`, [id]);
        const after = await head(path);
        assert.equal(after.status, 200);
        assert.equal(after.headers['upload-offset'], '0', 'the refused PATCH wrote nothing');
        const done = await patch(path, 0);
        assert.equal(done.status, 204, JSON.stringify(done.body));
        assert.match(String(done.headers['dataset-id']), /^[0-9a-f-]{36}$/);
      } finally {
        await holder.end();
      }
    });

    it('a writer whose process lost its lock session is asked to stop at once, keeping what it wrote', async () => {
      const { path, id } = await newUpload();
      const FIRST = 64 * 1024;
      const stalled = stalledPatch(base, path, owner.auth, 0, content.length, content.subarray(0, FIRST));
      let pid = 0;
      await waitFor(async () => {
        const { rows } = await ctx().db.query<{ pid: number }>(UPLOAD_LOCK_HOLDER, [id]);
        pid = rows[0]?.pid ?? 0;
        return pid !== 0;
      });
      // Its lock is gone with the session: another process could take the upload now, so the writer must stop
      // (within the drain) rather than go on until its body stops arriving.
      await ctx().db.query('SELECT pg_terminate_backend($1)', [pid]);
      const answer = await stalled.answer;
      assert.equal(answer.status, 204, answer.body);
      const reached = Number(answer.headers['upload-offset']);
      assert.ok(reached <= FIRST, `offset ${reached}`);

      const held = await head(path);
      assert.equal(Number(held.headers['upload-offset']), reached);
      const done = await patch(path, reached);
      assert.equal(done.status, 204, JSON.stringify(done.body));
      const got = await supertest(base)
        .get(`/v1/datasets/${String(done.headers['dataset-id'])}`)
        .set(owner.auth);
      assert.equal(got.body.sha256, sha256(content));
    });
  });
}
