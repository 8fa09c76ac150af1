/**
 * The real entry point as an operator runs it: a child process started from src/server.ts on a fresh
 * embedded data directory.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

interface Running {
  child: ChildProcess;
  base: string;
  logs: string[];
  exited: Promise<number | null>;
}

function start(env: Record<string, string>): Promise<Running> {
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    PORT: '0',
    LOG_LEVEL: 'info',
    DEMO_DATA: 'false',
    ...env,
  };
  delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('\n')}`)), 60_000);
    createInterface({ input: child.stderr! }).on('line', (l) => logs.push(l));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      const port = (JSON.parse(line) as { port?: number }).port;
      if (port) {
        clearTimeout(timer);
        resolve({ child, base: `http://127.0.0.1:${port}`, logs, exited });
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${logs.join('\n')}`)));
  });
}

describe('the server process', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'ax-server-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps its embedded data across a graceful restart', async function () {
    this.timeout(120_000);
    const first = await start({ DATA_DIR: dataDir });
    const signup = await fetch(`${first.base}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        organization: { name: 'Restart Lab', kind: 'startup' },
        user: { email: 'restart@example.kr', password: 'a long enough password', name: 'R' },
      }),
    });
    assert.equal(signup.status, 201);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, 'SIGTERM is a clean exit');
    assert.ok(first.logs.some((l) => l.includes('"msg":"stopped"')));

    const second = await start({ DATA_DIR: dataDir });
    try {
      const login = await fetch(`${second.base}/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'restart@example.kr', password: 'a long enough password' }),
      });
      assert.equal(login.status, 200);
      const migrated = second.logs.find((l) => l.includes('"msg":"database ready"'));
      assert.match(String(migrated), /"applied":\[\]/, 'nothing to migrate the second time');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  it('logs no secret: neither the admin password nor bearer tokens', async function () {
    this.timeout(120_000);
    const password = 'op-secret-Value-123';
    const s = await start({ DATA_DIR: dataDir, ADMIN_EMAIL: 'ops@gwangju.go.kr', ADMIN_PASSWORD: password });
    try {
      const login = await fetch(`${s.base}/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'ops@gwangju.go.kr', password }),
      });
      const { token } = (await login.json()) as { token: string };
      await fetch(`${s.base}/v1/me?trace=${token}`, { headers: { Authorization: `Bearer ${token}` } });
      await new Promise((r) => setTimeout(r, 200));
      const all = s.logs.join('\n');
      assert.ok(all.includes('/v1/me'), 'the request was logged');
      assert.ok(!all.includes(password));
      assert.ok(!all.includes(token));
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });

  it('refuses to start with a bad setting, naming it', async function () {
    this.timeout(60_000);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, PORT: 'eighty', DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 2);
    assert.match(stderr, /PORT must be a whole number/);
  });
});
