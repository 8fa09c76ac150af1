/**
 * The README as a test: every ```sh block, in order, in one bash (set -euo pipefail), against the real entry
 * point freshly started with demo data, as a newcomer would paste them. Run twice on the same service, so a
 * second pass (sign-up taken → log in) works too. `shell` blocks (install, start, admin commands) are shown,
 * not run. The only rewrite is the address: localhost:3000 and the receiver's port become free ports.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from '../src/paths.js';

/** The fenced blocks of a Markdown text whose info string is exactly `lang`. */
export function fencedBlocks(markdown: string, lang: string): string[] {
  const blocks: string[] = [];
  const re = /^```([^\n`]*)\n([\s\S]*?)^```\s*$/gm;
  for (const m of markdown.matchAll(re)) if (m[1]!.trim() === lang) blocks.push(m[2]!);
  return blocks;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface Running {
  child: ChildProcess;
  port: number;
  logs: string[];
  exited: Promise<number | null>;
}

/** src/server.ts as `npm start` runs it (compiled or not makes no difference here), on a fresh embedded database. */
function startServer(env: Record<string, string>): Promise<Running> {
  const childEnv: Record<string, string | undefined> = { ...process.env, PORT: '0', LOG_LEVEL: 'info', ...env };
  delete childEnv.DATABASE_URL; // the first hour is the embedded default
  delete childEnv.DEMO_DATA;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: projectRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (l) => logs.push(l));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      const port = (JSON.parse(line) as { port?: number }).port;
      if (port) resolve({ child, port, logs, exited });
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${logs.join('\n')}`)));
  });
}

/**
 * The script in its own process group, so that whatever it left running (the webhook receiver, when a step
 * fails before `kill $RECEIVER`) is ended with it.
 */
function runBash(script: string, cwd: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // A background job left behind keeps the pipes open: end the group when bash exits, then read to the end.
    child.once('exit', () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is already gone
      }
    });
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

describe('the README, run as written', function () {
  this.timeout(300_000);
  const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
  let dataDir: string;
  let work: string;
  let server: Running | undefined;

  before(async function () {
    this.timeout(180_000);
    dataDir = mkdtempSync(join(tmpdir(), 'ax-readme-data-'));
    work = mkdtempSync(join(tmpdir(), 'ax-readme-work-'));
    server = await startServer({
      DATA_DIR: dataDir,
      UPLOADS_DIR: join(dataDir, 'uploads'),
      // What the README tells the reader to start with.
      WEBHOOK_ALLOW_NETWORKS: '127.0.0.0/8,::1/128',
    });
  });

  after(async () => {
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('runs every curl example inside a block the test runs', () => {
    const shown = fencedBlocks(readme, 'shell').filter((b) => b.includes('curl'));
    assert.deepEqual(shown, [], 'curl examples belong in ```sh blocks, which this test runs');
    assert.ok(fencedBlocks(readme, 'sh').length >= 5);
    for (const block of fencedBlocks(readme, 'sh')) {
      assert.doesNotMatch(block, /\bjq\b|sha256sum/, 'only bash, curl and node are assumed');
    }
    assert.match(readme, /WEBHOOK_ALLOW_NETWORKS=127\.0\.0\.0\/8,::1\/128 npm start/);
  });

  it('takes a startup from sign-up to a booking, a dataset and a verified webhook, twice in a row', async () => {
    const hookPort = await freePort();
    const script = [
      'set -euo pipefail',
      ...fencedBlocks(readme, 'sh').map((b) =>
        b
          .replaceAll('localhost:3000', `127.0.0.1:${server!.port}`)
          .replaceAll('HOOK_PORT=4000', `HOOK_PORT=${hookPort}`),
      ),
    ].join('\n');
    for (const pass of [1, 2]) {
      const { code, out, err } = await runBash(script, work);
      const report = `pass ${pass}, exit ${code}\n--- stdout\n${out}\n--- stderr\n${err}`;
      assert.equal(code, 0, report);
      const lines = out.split('\n');
      for (const expected of [
        '빛고을 모빌리티',
        'submitted',
        'approved',
        'confirmed',
        'pending',
        'verified webhook.test',
      ]) {
        assert.ok(lines.includes(expected), `${expected} missing from\n${report}`);
      }
      assert.match(out, /^HTTP\/1\.1 206 Partial Content/m, report);
      assert.match(out, /^axk_/m, 'the API key is printed once');
      assert.match(out, /"rowCount":2/, `the CSV was profiled\n${report}`);
    }
  });
});
