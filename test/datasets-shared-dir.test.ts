/**
 * Several processes on one uploads directory: a start-up sweep in one never removes what another live process
 * is writing, and a temporary lost anyway answers a deliberate 503, never a 500.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ctx } from './support/context.js';
import { startChild, startupWithPilot, stopChild, waitFor, type Child } from './support/child-server.js';
import { countRows, createPilot, signup } from './support/factories.js';
import { tempFiles } from './support/dataset-factories.js';

const BOUNDARY = 'shared-dir';
const HEAD = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\nshared\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="sensitivity"\r\n\r\npublic\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="shared.csv"\r\nContent-Type: text/csv\r\n\r\na,b\n`;
const TAIL = `\r\n--${BOUNDARY}--\r\n`;

/** A multipart upload whose body is sent in two halves: the caller decides when the second half goes. */
function halfSentUpload(base: string, path: string, auth: Record<string, string>) {
  const url = new URL(base);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    method: 'POST',
    path,
    headers: { ...auth, 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Transfer-Encoding': 'chunked' },
  });
  const answer = new Promise<{ status: number; body: Record<string, unknown>; headers: http.IncomingHttpHeaders }>(
    (resolve, reject) => {
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: JSON.parse(Buffer.concat(chunks).toString() || '{}'),
          }),
        );
      });
      req.on('error', reject);
    },
  );
  req.write(HEAD);
  req.write('1,2\n'.repeat(16 * 1024));
  return {
    answer,
    finish: () => {
      req.write('3,4\n'.repeat(16 * 1024));
      req.end(TAIL);
    },
  };
}

describe('processes sharing one uploads directory', function () {
  this.timeout(180_000);

  it("a second process's start-up sweep leaves the first one's live upload alone (default settings)", async () => {
    const work = mkdtempSync(join(tmpdir(), 'ax-shared-'));
    const uploads = join(work, 'uploads');
    const envOf = (name: string): Record<string, string> => {
      // The defaults: UPLOAD_TEMP_MAX_AGE_SECONDS is not set. The upload deliberately pauses while the second
      // process starts, which on a busy machine can outlast the idle deadline for stalled bodies.
      const env: Record<string, string> = { UPLOADS_DIR: uploads, REQUEST_IDLE_TIMEOUT_SECONDS: '3600' };
      if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;
      else env.DATA_DIR = join(work, `db-${name}`); // each embedded database belongs to one process
      return env;
    };
    const children: Child[] = [];
    try {
      const a = await startChild(envOf('a'));
      children.push(a);
      const { auth, pilotId } = await startupWithPilot(a.base);
      const upload = halfSentUpload(a.base, `/v1/pilots/${pilotId}/datasets`, auth);
      await waitFor(() => tempFiles(uploads).length === 1);

      const b = await startChild(envOf('b')); // bootstraps: runs the start-up sweep on the shared directory
      children.push(b);
      assert.equal(tempFiles(uploads).length, 1, "the sweep removed another process's live temporary file");

      upload.finish();
      const res = await upload.answer;
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual(tempFiles(uploads), []);
    } finally {
      for (const c of children) await stopChild(c);
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('answers 503 upload-interrupted (not 500) and keeps nothing when the temporary vanishes mid-upload', async () => {
    const owner = await signup('startup');
    const pilotId = (await createPilot(owner)).id;
    const server = http.createServer(ctx().app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const upload = halfSentUpload(base, `/v1/pilots/${pilotId}/datasets`, owner.auth);
      await waitFor(() => tempFiles().length === 1);
      unlinkSync(join(ctx().config.uploadsDir, 'tmp', tempFiles()[0]!));
      upload.finish();
      const res = await upload.answer;
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.equal(res.body.code, 'upload-interrupted');
      assert.equal(res.headers['retry-after'], '1');
      assert.equal(await countRows('datasets'), 0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
