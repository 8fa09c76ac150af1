/**
 * The axv binary as a user runs it: a child process (node bin/axv.js) against the app on a loopback port,
 * with HOME pointing at a throw-away directory so the config file is the test's own.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from '../src/paths.js';
import { ctx } from './support/context.js';
import { csv } from './support/dataset-factories.js';
import { countRows, createPilot, operator, signup, type Actor } from './support/factories.js';
import { listenApp, type Listening } from './support/listening.js';
import { UploadProxy } from './support/upload-proxy.js';
import { at, testbedWithSlot } from './support/matching-factories.js';
import { waitFor, WebhookReceiver } from './support/webhook-receiver.js';

const BIN = join(projectRoot, 'bin', 'axv.js');
const PASSWORD = 'correct horse battery staple';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('axv command line', function () {
  this.timeout(120_000);
  let server: Listening;
  let home: string;
  let owner: Actor;

  beforeEach(async () => {
    server = await listenApp();
    home = mkdtempSync(join(tmpdir(), 'axv-home-'));
    owner = await signup();
  });
  afterEach(async () => {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  });

  function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const e: NodeJS.ProcessEnv = { ...process.env, HOME: home, AXV_URL: server.url, LANG: 'en_US.UTF-8', ...extra };
    for (const k of ['XDG_CONFIG_HOME', 'AXV_TOKEN', 'LC_ALL', 'LC_MESSAGES']) if (!(k in extra)) delete e[k];
    return e;
  }

  function start(args: string[], extra: Record<string, string> = {}): ChildProcessWithoutNullStreams {
    return spawn(process.execPath, [BIN, ...args], { env: env(extra), cwd: home });
  }

  function axv(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = start(args, opts.env);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(opts.input ?? '');
    });
  }

  /** The first defined answer of `check`, asked again until it has one (a condition, not a delay). */
  async function poll<T>(check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await check().catch(() => undefined);
      if (got !== undefined) return got;
      if (Date.now() > deadline) throw new Error('the condition never held');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const login = () => axv(['login', '--email', owner.email, '--password-stdin'], { input: PASSWORD + '\n' });
  const json = (r: Run) => JSON.parse(r.stdout) as Record<string, unknown> & { id: string };

  it('logs in with --password-stdin, keeps the token in a 0600 file, and whoami uses it', async () => {
    const r = await login();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Logged in as/);
    const file = join(home, '.config', 'axv', 'config.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { token: string; url: string };
    assert.match(saved.token, /^axs_/);
    const who = await axv(['whoami', '--json']);
    assert.equal(who.code, 0, who.stderr);
    assert.equal((JSON.parse(who.stdout) as { user: { email: string } }).user.email, owner.email);
  });

  it('honours XDG_CONFIG_HOME, and AXV_TOKEN over the file', async () => {
    const xdg = join(home, 'xdg');
    assert.equal(
      (
        await axv(['login', '--email', owner.email, '--password-stdin'], {
          input: PASSWORD,
          env: { XDG_CONFIG_HOME: xdg },
        })
      ).code,
      0,
    );
    assert.equal(statSync(join(xdg, 'axv', 'config.json')).mode & 0o777, 0o600);
    const other = await signup();
    const who = await axv(['whoami', '--json'], { env: { XDG_CONFIG_HOME: xdg, AXV_TOKEN: other.token } });
    assert.equal((JSON.parse(who.stdout) as { user: { email: string } }).user.email, other.email);
  });

  it('exits 1 and prints the problem when the API refuses; 2 on wrong usage', async () => {
    const bad = await axv(['login', '--email', owner.email, '--password-stdin'], { input: 'wrong password' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /401/);
    const asJson = await axv(['login', '--email', owner.email, '--password-stdin', '--json'], {
      input: 'wrong password',
    });
    assert.equal(asJson.code, 1);
    assert.equal((JSON.parse(asJson.stdout) as { status: number }).status, 401);
    assert.equal((await axv(['login'])).code, 2); // --email missing
    assert.equal((await axv(['pilots', 'launch'])).code, 2);
    assert.equal((await axv(['whoami'])).code, 2); // not logged in
    assert.equal((await axv(['login', '--email', owner.email])).code, 2); // no terminal to prompt on
    assert.equal((await axv(['datasets', 'upload', 'x', 'y', '--sensitivity', 'secret'])).code, 2);
  });

  it('answers --help on every command with exit 0', async () => {
    const commands = [
      [],
      ['login'],
      ['whoami'],
      ['pilots'],
      ['pilots', 'list'],
      ['pilots', 'show'],
      ['pilots', 'create'],
      ['pilots', 'submit'],
      ['pilots', 'withdraw'],
      ['candidates'],
      ['plans'],
      ['datasets'],
      ['datasets', 'upload'],
      ['datasets', 'download'],
      ['listen'],
    ];
    for (const c of commands) {
      const r = await axv([...c, '--help']);
      assert.equal(r.code, 0, c.join(' '));
      assert.match(r.stdout, /Usage: axv/, c.join(' '));
      if (c.length && c[0] !== 'pilots' && c[0] !== 'datasets') assert.match(r.stdout, /--json/, c.join(' '));
    }
  });

  it('creates a pilot from YAML, shows, lists, submits, withdraws; --json prints the API answer', async () => {
    await login();
    const file = join(home, 'pilot.yaml');
    writeFileSync(
      file,
      [
        'title: 감성 AI 노인 돌봄 실증',
        'summary: Multimodal senior mind-care video generation, tried in a care centre.',
        'domain: health',
        'requirements:',
        '  capabilities: [driving-simulator]',
        '  units: 1',
        '  durationHours: 8',
        `  earliestStart: "${at(0)}"`,
        `  latestEnd: "${at(30)}"`,
      ].join('\n'),
    );
    const created = await axv(['pilots', 'create', '-f', file, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const pilot = json(created);
    assert.equal(pilot.status, 'draft');
    const api = await ctx().api().get(`/v1/pilots/${pilot.id}`).set(owner.auth);
    assert.deepEqual(JSON.parse((await axv(['pilots', 'show', pilot.id, '--json'])).stdout), api.body);
    const list = await axv(['pilots', 'list']);
    assert.match(list.stdout, new RegExp(`${pilot.id}\\s+draft\\s+health`));
    const submitted = await axv(['pilots', 'submit', pilot.id]);
    assert.match(submitted.stdout, /is now submitted/);
    const again = await axv(['pilots', 'submit', pilot.id]);
    assert.equal(again.code, 1); // an illegal transition is the API's 409
    assert.match(again.stderr, /409/);
    assert.equal(json(await axv(['pilots', 'withdraw', pilot.id, '--json'])).status, 'withdrawn');
    assert.equal((await axv(['pilots', 'create', '-f', join(home, 'missing.yaml')])).code, 2);
  });

  it('prints ranked candidates, in Korean under LANG=ko_KR', async () => {
    await login();
    const op = await operator();
    await testbedWithSlot(op, 1, 2, { name: 'Large driving simulator' });
    const pilot = await createPilot(owner, {}, { earliestStart: at(0), latestEnd: at(30) });
    await ctx().api().post(`/v1/pilots/${pilot.id}/submit`).set(owner.auth).expect(200);
    const asJson = await axv(['candidates', pilot.id, '--json']);
    assert.equal(asJson.code, 0, asJson.stderr);
    const data = (JSON.parse(asJson.stdout) as { data: { testbedName: string }[] }).data;
    assert.equal(data[0]!.testbedName, 'Large driving simulator');
    const ko = await axv(['candidates', pilot.id], { env: { LANG: 'ko_KR.UTF-8' } });
    assert.match(ko.stdout, /Large driving simulator/);
    assert.match(ko.stdout, /[가-힣]/); // reasons in Korean, through Accept-Language
    const en = await axv(['candidates', pilot.id]);
    assert.doesNotMatch(en.stdout, /[가-힣]/);
    const koUsage = await axv(['whoami'], { env: { LANG: 'ko_KR.UTF-8', HOME: join(home, 'nobody') } });
    assert.match(koUsage.stderr, /로그인하지 않았습니다/);
  });

  it('plans prints the API answer as it comes, exit code by its status', async () => {
    await login();
    const pilot = await createPilot(owner);
    const r = await axv(['plans', pilot.id, '--json']);
    const api = await fetch(`${server.url}/v1/pilots/${pilot.id}/plans`, { headers: owner.auth });
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(r.code, api.ok ? 0 : 1, r.stderr);
    assert.deepEqual(Object.keys(printed).sort(), Object.keys((await api.json()) as object).sort());
    const missing = await axv(['plans', '00000000-0000-4000-8000-000000000000', '--json']);
    assert.equal(missing.code, 1);
    assert.equal((JSON.parse(missing.stdout) as { status: number }).status, 404);
  });

  it('uploads quietly when piped (single request where no tus is offered) and downloads with a matching sha256', async () => {
    await login();
    const pilot = await createPilot(owner);
    const file = join(home, 'counts.csv');
    const content = csv(2000);
    writeFileSync(file, content);
    const proxy = await new UploadProxy(server.url).start();
    proxy.hideTus = true;
    const args = ['datasets', 'upload', pilot.id, file, '--sensitivity', 'internal'];
    const up = await axv(args, { env: { AXV_URL: proxy.url } });
    await proxy.close();
    assert.equal(up.code, 0, up.stderr);
    assert.ok(proxy.passed.some((r) => r.method === 'POST' && r.path === `/v1/pilots/${pilot.id}/datasets`));
    assert.ok(!proxy.passed.some((r) => r.method === 'POST' && r.path.endsWith('/uploads')));
    assert.equal(up.stderr, ''); // no progress bar when stderr is not a terminal
    const id = /dataset ([0-9a-f-]{36})/.exec(up.stdout)![1]!;
    const out = join(home, 'copy.csv');
    const down = await axv(['datasets', 'download', id, '-o', out, '--json']);
    assert.equal(down.code, 0, down.stderr);
    const sha = createHash('sha256').update(content).digest('hex');
    assert.equal((JSON.parse(down.stdout) as { sha256: string }).sha256, sha);
    assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), sha);
    const refused = await axv(['datasets', 'upload', pilot.id, file, '--sensitivity', 'personal']);
    assert.equal(refused.code, 1); // personal data needs a legal basis
    assert.match(refused.stderr, /legalBasis/);
  });

  it('resumes an upload killed mid-transfer from the offset the server holds, into one dataset version', async () => {
    await login();
    const pilot = await createPilot(owner);
    const file = join(home, 'drive.csv');
    const content = csv(80_000); // ~2 MB, sent as one PATCH
    writeFileSync(file, content);
    const size = Buffer.byteLength(content);
    const sha = createHash('sha256').update(content).digest('hex');
    // The link stalls after an eighth of the file, whatever the machine's speed; the CLI is killed there.
    const proxy = await new UploadProxy(server.url).start();
    proxy.holdAfter = Math.floor(size / 8);
    const args = ['datasets', 'upload', pilot.id, file, '--sensitivity', 'internal'];
    const first = start(args, { AXV_URL: proxy.url });
    first.stdin.end();
    const exited = new Promise<string | null>((resolve) => first.on('exit', (_code, signal) => resolve(signal)));
    const store = join(home, '.config', 'axv', 'uploads.json');
    const storedUrl = async () => {
      const entries = JSON.parse(readFileSync(store, 'utf8')) as Record<string, { uploadUrl?: string }>;
      return Object.values(entries)
        .map((v) => v.uploadUrl)
        .find(Boolean);
    };
    const uploadUrl = await poll(async () => (existsSync(store) ? storedUrl() : undefined));
    const path = new URL(uploadUrl).pathname;
    // Server-side state decides the moment: the upload's offset, asked directly of the service.
    const offset = async () => {
      const headers = { ...owner.auth, 'Tus-Resumable': '1.0.0' };
      const res = await fetch(server.url + path, { method: 'HEAD', headers });
      return res.status === 200 ? Number(res.headers.get('Upload-Offset')) : 0;
    };
    const held = await poll(async () => ((await offset()) > 0 ? offset() : undefined));
    first.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.ok(held > 0 && held < size, `the server held ${held} of ${size} bytes`);
    assert.equal(await countRows('datasets'), 0);
    assert.equal(await storedUrl(), uploadUrl, 'the interrupted upload stays remembered');

    proxy.holdAfter = undefined;
    const before = proxy.passed.length;
    const sentBefore = proxy.patchedBytes;
    const again = await axv(args, { env: { AXV_URL: proxy.url } });
    await proxy.close();
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, ''); // no progress bar when piped
    assert.match(again.stdout, /Resumed an interrupted upload/);
    assert.match(again.stdout, new RegExp(`sha256 ${sha}`));
    const second = proxy.passed.slice(before);
    assert.ok(!second.some((r) => r.method === 'POST' && r.path.endsWith('/uploads')), 'no new upload was created');
    assert.ok(
      second.some((r) => r.method === 'PATCH' && r.path === path),
      'the stored upload URL was reused',
    );
    const resent = proxy.patchedBytes - sentBefore;
    assert.ok(resent < size, `the second run sent ${resent} of ${size} bytes`);
    assert.ok(proxy.patchedBytes < 2 * size, `${proxy.patchedBytes} bytes reached the server in total`);
    assert.equal(await countRows('datasets'), 1); // one row per version
    assert.equal(await countRows('resumable_uploads'), 1);
    const id = /dataset ([0-9a-f-]{36})/.exec(again.stdout)![1]!;
    const out = join(home, 'copy.csv');
    assert.equal((await axv(['datasets', 'download', id, '-o', out])).code, 0);
    assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), sha);
    assert.equal(await storedUrl(), undefined, 'a finished upload is forgotten');
  });

  describe('listen --forward-to', () => {
    interface Listener {
      child: ChildProcessWithoutNullStreams;
      lines: string[];
      stderr: string[];
      ready: Promise<{ secret: string }>;
      exited: Promise<number>;
    }

    function listenTo(url: string): Listener {
      const child = start(['listen', '--forward-to', url, '--json', '--poll-interval', '100'], {
        AXV_TOKEN: owner.token,
      });
      const lines: string[] = [];
      const stderr: string[] = [];
      createInterface({ input: child.stderr }).on('line', (l) => stderr.push(l));
      const rl = createInterface({ input: child.stdout });
      const ready = new Promise<{ secret: string }>((resolve, reject) => {
        rl.on('line', (l) => {
          lines.push(l);
          const msg = JSON.parse(l) as { ready?: boolean; secret: string };
          if (msg.ready) resolve(msg);
        });
        child.on('close', () => reject(new Error(`listen exited early: ${stderr.join('\n')}`)));
      });
      const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
      return { child, lines, stderr, ready, exited };
    }

    it('forwards events signed per Standard Webhooks, survives the receiver being down, and resumes after a restart without skipping or repeating', async () => {
      const receiver = await new WebhookReceiver().start();
      const port = receiver.port;
      try {
        // Events from before the first start are not forwarded: listen begins at the end of the feed.
        await createPilot(owner, { title: 'before listen' });
        const first = listenTo(receiver.url);
        const { secret } = await first.ready;
        assert.match(secret, /^whsec_/);
        receiver.secrets = [secret];

        const created: string[] = [];
        const titleOf = (r: { body: { data: Record<string, unknown> } }) =>
          ((r.body.data.pilot ?? r.body.data) as { title?: string }).title;
        created.push((await createPilot(owner, { title: 'one' })).id);
        assert.ok(
          await waitFor(() => receiver.received.length >= 1, 60_000),
          `first event not forwarded: ${first.stderr.join('\n')} ${first.lines.join('\n')}`,
        );

        // The receiver goes away; the event waits and arrives once it is back on the same port.
        await receiver.stop();
        created.push((await createPilot(owner, { title: 'two' })).id);
        assert.ok(
          await waitFor(() => first.stderr.some((l) => /did not take event/.test(l)), 60_000),
          'no retry reported',
        );
        const back = await new WebhookReceiver().start(port);
        back.secrets = [secret];
        assert.ok(
          await waitFor(() => back.received.length >= 1, 60_000),
          'event not forwarded after the receiver came back',
        );

        // listen stops; events happen meanwhile; listen starts again from its saved place.
        first.child.kill('SIGTERM');
        assert.equal(await first.exited, 0);
        created.push((await createPilot(owner, { title: 'three' })).id);
        created.push((await createPilot(owner, { title: 'four' })).id);
        const second = listenTo(back.url);
        assert.equal((await second.ready).secret, secret); // the same secret: the receiver's setting stays valid
        assert.ok(
          await waitFor(() => back.received.length >= 3, 60_000),
          'events during the restart were not forwarded',
        );
        second.child.kill('SIGTERM');
        await second.exited;

        const all = [...receiver.received, ...back.received];
        assert.deepEqual(all.map(titleOf), ['one', 'two', 'three', 'four']);
        assert.equal(new Set(all.map((r) => r.id)).size, all.length, 'an event was forwarded twice');
        assert.deepEqual([...receiver.rejected, ...back.rejected], []);
        // What was forwarded is exactly the feed after the first start, in order.
        const feed = await ctx().api().get('/v1/events').query({ limit: 200 }).set(owner.auth);
        const expected = (feed.body.data as { id: string; type: string; data: Record<string, unknown> }[]).slice(1);
        assert.deepEqual(
          all.map((r) => r.id),
          expected.map((e) => e.id),
        );
        await back.stop();
      } finally {
        await receiver.stop().catch(() => undefined);
      }
    });
  });
});
