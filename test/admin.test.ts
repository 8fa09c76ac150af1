import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ensureOperator, verifyLogin } from '../src/auth/service.js';
import { bootstrap } from '../src/bootstrap.js';
import { openDb, type Db } from '../src/db/client.js';
import { migrate, readMigrations } from '../src/db/migrate.js';
import { projectRoot } from '../src/paths.js';
import { ctx, testConfig } from './support/context.js';
import { signup } from './support/factories.js';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a CLI entry the way npm scripts do, on the embedded database in dataDir (never DATABASE_URL). */
function runCli(
  entry: string,
  args: string[],
  options: { dataDir: string; env?: Record<string, string>; input?: string },
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: options.dataDir, ...options.env };
  delete env.DATABASE_URL;
  if (!options.env?.ADMIN_PASSWORD) delete env.ADMIN_PASSWORD;
  if (!options.env?.ADMIN_EMAIL) delete env.ADMIN_EMAIL;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      cwd: projectRoot,
      env,
      stdio: 'pipe',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

const admin = (args: string[], options: { dataDir: string; env?: Record<string, string>; input?: string }) =>
  runCli('src/admin/cli.ts', args, options);

async function withDb<T>(dataDir: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb({ dataDir });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function operatorUser(db: Db, email: string) {
  const { rows } = await db.query<{ id: string; name: string; kind: string }>(
    'SELECT u.id, u.name, o.kind FROM users u JOIN organizations o ON o.id = u.organization_id WHERE u.email = $1',
    [email],
  );
  return rows[0];
}

describe('admin command (npm run admin)', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ax-admin-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('create-operator creates an operator from ADMIN_PASSWORD without ever printing the password', async () => {
    const password = 'Sup3r-secret-operator-pw';
    const res = await admin(['create-operator', '--email', 'Ops.Kim@Gwangju.go.kr', '--name', '김운영'], {
      dataDir: dir,
      env: { ADMIN_PASSWORD: password },
    });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Created operator ops\.kim@gwangju\.go\.kr/);
    assert.ok(!res.stdout.includes(password) && !res.stderr.includes(password), 'the password was printed');
    await withDb(dir, async (db) => {
      const user = await operatorUser(db, 'ops.kim@gwangju.go.kr');
      assert.deepEqual(user && { name: user.name, kind: user.kind }, { name: '김운영', kind: 'operator' });
      assert.ok(await verifyLogin(db, 'ops.kim@gwangju.go.kr', password));
      assert.deepEqual(await migrate(db), []);
    });
  });

  it('reads the password from stdin when ADMIN_PASSWORD is unset, and a second run resets it', async () => {
    const first = 'first-password-from-stdin';
    const second = 'second-password-from-stdin';
    const a = await admin(['create-operator', '--email', 'ops@gwangju.go.kr'], { dataDir: dir, input: `${first}\n` });
    assert.equal(a.code, 0, a.stderr);
    const b = await admin(['create-operator', '--email', 'ops@gwangju.go.kr'], { dataDir: dir, input: `${second}\n` });
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /password updated/);
    for (const out of [a.stdout, a.stderr, b.stdout, b.stderr]) {
      assert.ok(!out.includes(first) && !out.includes(second), 'a password was printed');
    }
    await withDb(dir, async (db) => {
      assert.equal(await verifyLogin(db, 'ops@gwangju.go.kr', first), undefined);
      assert.ok(await verifyLogin(db, 'ops@gwangju.go.kr', second));
      const ops = await db.query(
        `SELECT 1 FROM users u JOIN organizations o ON o.id = u.organization_id WHERE o.kind = 'operator'`,
      );
      assert.equal(ops.rows.length, 1);
    });
  });

  it('refuses an email that belongs to a startup, exit code 1, changing nothing', async () => {
    await withDb(dir, async (db) => {
      await migrate(db);
      const org = await db.query<{ id: string }>(
        `INSERT INTO organizations (name, kind) VALUES ('광주 스타트업', 'startup') RETURNING id`,
      );
      await db.query(
        `INSERT INTO users (organization_id, email, name, password_hash) VALUES ($1, 'founder@startup.kr', 'Founder', 'x')`,
        [org.rows[0]!.id],
      );
    });
    const res = await admin(['create-operator', '--email', 'founder@startup.kr'], {
      dataDir: dir,
      env: { ADMIN_PASSWORD: 'a-long-enough-password' },
    });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /startup/);
    await withDb(dir, async (db) => {
      const user = await operatorUser(db, 'founder@startup.kr');
      assert.equal(user?.kind, 'startup');
      const ops = await db.query(`SELECT 1 FROM organizations WHERE kind = 'operator'`);
      assert.equal(ops.rows.length, 0);
    });
  });

  it('answers wrong usage with the usage text and exit code 2, touching no database', async () => {
    const cases: [string[], RegExp, string?][] = [
      [[], /Usage: npm run admin/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['create-operator'], /needs --email/],
      [['create-operator', '--email', 'not-an-email'], /not an email address/],
      [['create-operator', '--email', 'ops@gwangju.go.kr', '--role', 'x'], /Unknown option '--role'/],
      [['create-operator', '--email', 'ops@gwangju.go.kr'], /at least|10 to 256/, 'short'],
      [['load-demo', 'extra'], /takes no arguments/],
    ];
    for (const [args, message, input] of cases) {
      const res = await admin(args, { dataDir: dir, input: input ?? '' });
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message, args.join(' '));
      assert.match(res.stderr, /create-operator --email/, 'no usage text');
    }
    assert.deepEqual(readdirSync(dir), [], 'a database was created');
    const help = await admin(['help'], { dataDir: dir });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /load-demo/);
  });

  it('reports a bad configuration with exit code 2', async () => {
    const res = await admin(['load-demo'], { dataDir: dir, env: { LOG_LEVEL: 'loud' } });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /configuration error: LOG_LEVEL/);
  });

  it('load-demo loads the demo catalogue once; running it again inserts nothing', async () => {
    const a = await admin(['load-demo'], { dataDir: dir });
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /Applied migrations: 0001_foundation\.sql/);
    assert.match(a.stdout, /inserted organizations \d+, users \d+, testbeds \d+, slots \d+, pilots \d+/);
    const b = await admin(['load-demo'], { dataDir: dir });
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /inserted organizations 0, users 0, testbeds 0, slots 0, pilots 0\./);
  });
});

describe('database command (npm run db:migrate, db:seed)', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ax-dbcli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('migrate lists what it applied, then that nothing is pending; seed loads the demo data', async () => {
    const a = await runCli('src/db/cli.ts', ['migrate'], { dataDir: dir });
    assert.equal(a.code, 0, a.stderr);
    for (const m of readMigrations()) assert.ok(a.stdout.includes(m.name), a.stdout);
    const b = await runCli('src/db/cli.ts', ['migrate'], { dataDir: dir });
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /up to date .*none pending/);
    const c = await runCli('src/db/cli.ts', ['seed'], { dataDir: dir });
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /testbeds [1-9]\d*/);
    const bad = await runCli('src/db/cli.ts', ['drop-everything'], { dataDir: dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Usage/);
  });
});

describe('ensureOperator (the admin command and ADMIN_EMAIL at start-up)', () => {
  const PASSWORD = 'first-operator-password';

  it('creates the operator and the programme office, then only updates the password', async () => {
    const a = await ensureOperator(ctx().db, 'Ops@Gwangju.go.kr', PASSWORD);
    assert.equal(a.created, true);
    const b = await ensureOperator(ctx().db, 'ops@gwangju.go.kr', 'second-operator-password');
    assert.deepEqual(b, { userId: a.userId, organizationId: a.organizationId, created: false });
    assert.equal(await verifyLogin(ctx().db, 'ops@gwangju.go.kr', PASSWORD), undefined);
    assert.ok(await verifyLogin(ctx().db, 'ops@gwangju.go.kr', 'second-operator-password'));
    const c = await ensureOperator(ctx().db, 'deputy@gwangju.go.kr', PASSWORD);
    assert.equal(c.organizationId, a.organizationId, 'a second operator joins the same organisation');
    const orgs = await ctx().db.query(`SELECT 1 FROM organizations WHERE kind = 'operator'`);
    assert.equal(orgs.rows.length, 1);
  });

  it('refuses an email that belongs to a startup and leaves that account alone', async () => {
    const startup = await signup('startup');
    await assert.rejects(ensureOperator(ctx().db, startup.email, PASSWORD), /startup/);
    const me = await ctx().api().get('/v1/me').set(startup.auth);
    assert.equal(me.body.role, 'startup');
    assert.equal(await verifyLogin(ctx().db, startup.email, PASSWORD), undefined);
  });

  it('runs at start-up from ADMIN_EMAIL/ADMIN_PASSWORD: creates, and on a later start takes the new password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ax-boot-'));
    const logger = pino({ level: 'silent' });
    try {
      // DATA_DIR is used by the embedded engine; with DATABASE_URL set this is the shared test database.
      const first = await bootstrap(
        testConfig({ DATA_DIR: dir, ADMIN_EMAIL: 'boot@gwangju.go.kr', ADMIN_PASSWORD: PASSWORD }),
        logger,
      );
      await first.close();
      const second = await bootstrap(
        testConfig({ DATA_DIR: dir, ADMIN_EMAIL: 'boot@gwangju.go.kr', ADMIN_PASSWORD: 'rotated-operator-password' }),
        logger,
      );
      try {
        assert.ok(await verifyLogin(second, 'boot@gwangju.go.kr', 'rotated-operator-password'));
        assert.equal(await verifyLogin(second, 'boot@gwangju.go.kr', PASSWORD), undefined);
        const user = await operatorUser(second, 'boot@gwangju.go.kr');
        assert.equal(user?.kind, 'operator');
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
