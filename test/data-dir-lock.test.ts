/**
 * Two processes must never open one embedded data directory: the second refuses with a clear message and a
 * non-zero exit. Real child processes: the server, the admin command, db:migrate and db:seed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DataDirLockedError, LOCK_FILE, lockDataDir } from '../src/db/data-dir-lock.js';
import { openDb } from '../src/db/client.js';
import { projectRoot } from '../src/paths.js';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function childEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'info',
    DEMO_DATA: 'false',
    ...extra,
  };
  delete env.DATABASE_URL;
  if (!extra.ADMIN_EMAIL) delete env.ADMIN_EMAIL;
  if (!extra.ADMIN_PASSWORD) delete env.ADMIN_PASSWORD;
  return env;
}

function run(entry: string, args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      cwd: projectRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts src/server.ts and resolves once it listens (its log line carries the port). */
function startServer(dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: projectRoot,
    env: childEnv(dataDir),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (l) => logs.push(l));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      if (/"port":\d+/.test(line)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${logs.join('\n')}`)));
  });
}

const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => c.once('exit', () => r()));

describe('one process per embedded data directory', function () {
  this.timeout(300_000);
  let dataDir: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ax-lock-'));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await exited(c);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('while the server runs, the admin command, db:migrate, db:seed and a second server refuse with exit 1; after it stops the admin command works', async () => {
    const server = await startServer(dataDir);
    children.push(server);
    const env = childEnv(dataDir, { ADMIN_PASSWORD: 'a long enough password' });
    const attempts = await Promise.all([
      run('src/admin/cli.ts', ['create-operator', '--email', 'ops@gwangju.go.kr'], env),
      run('src/db/cli.ts', ['migrate'], childEnv(dataDir)),
      run('src/db/cli.ts', ['seed'], childEnv(dataDir)),
      run('src/server.ts', [], childEnv(dataDir)),
    ]);
    for (const [i, r] of attempts.entries()) {
      assert.equal(r.code, 1, `attempt ${i}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`in use by process ${server.pid}`), `attempt ${i}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /Created operator/);
    }

    server.kill('SIGTERM');
    await exited(server);
    assert.equal(existsSync(join(dataDir, LOCK_FILE)), false, 'a clean stop releases the lock');
    const after = await run('src/admin/cli.ts', ['create-operator', '--email', 'ops@gwangju.go.kr'], env);
    assert.equal(after.code, 0, after.stderr);
    const db = await openDb({ dataDir });
    try {
      const { rows } = await db.query('SELECT 1 FROM users WHERE email = $1', ['ops@gwangju.go.kr']);
      assert.equal(rows.length, 1, 'the write was kept');
    } finally {
      await db.close();
    }
  });

  it('takes over the lock of a process killed with SIGKILL', async () => {
    const server = await startServer(dataDir);
    children.push(server);
    server.kill('SIGKILL');
    await exited(server);
    assert.ok(existsSync(join(dataDir, LOCK_FILE)), 'kill -9 leaves the lock file behind');
    const r = await run('src/db/cli.ts', ['migrate'], childEnv(dataDir));
    assert.equal(r.code, 0, r.stderr);
  });

  it('in one process, refuses a second lock on the directory and allows it after release', () => {
    const first = lockDataDir(dataDir);
    assert.throws(() => lockDataDir(dataDir), DataDirLockedError);
    first.release();
    lockDataDir(dataDir).release();
    writeFileSync(join(dataDir, LOCK_FILE), '999999999\n'); // a pid no process has
    lockDataDir(dataDir).release();
  });
});
