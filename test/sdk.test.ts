/** The TypeScript client (sdk/) against the real app on a loopback port. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AxClient,
  iterate,
  ok,
  ProblemError,
  backoffMs,
  retryAfterMs,
  uploadDataset,
  downloadDataset,
  type Progress,
} from '../sdk/index.js';
import { offersTus } from '../sdk/tus.js';
import { projectRoot } from '../src/paths.js';
import { csv } from './support/dataset-factories.js';
import { countRows, pilotBody, signup, type Actor } from './support/factories.js';
import { listenApp, type Listening } from './support/listening.js';

describe('TypeScript client (sdk/)', () => {
  let server: Listening;
  let owner: Actor;
  let dir: string;
  beforeEach(async () => {
    server = await listenApp();
    owner = await signup();
    dir = mkdtempSync(join(tmpdir(), 'ax-sdk-'));
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A client whose requests pass through `spy` (which may answer itself) before reaching the server. */
  function clientWith(spy?: (req: Request, n: number) => Response | undefined) {
    const seen: Request[] = [];
    const client = new AxClient({
      baseUrl: server.url,
      token: owner.token,
      retry: { baseDelayMs: 1, maxDelayMs: 5000 },
      fetch: async (req) => {
        seen.push(req.clone());
        return spy?.(req, seen.length) ?? fetch(req);
      },
    });
    return { client, seen };
  }

  it('authenticates with the bearer token and returns typed data', async () => {
    const { client, seen } = clientWith();
    const me = ok(await client.api.GET('/v1/me'));
    assert.equal(me.user.email, owner.email);
    assert.equal(seen[0]!.headers.get('Authorization'), `Bearer ${owner.token}`);
  });

  it('sends an Idempotency-Key on creating POSTs and keeps it across a retry, so one pilot is created', async () => {
    // The first attempt is answered 503 Retry-After: 0 before reaching the server; the retry goes through.
    const { client, seen } = clientWith((_req, n) =>
      n === 1 ? new Response('busy', { status: 503, headers: { 'Retry-After': '0' } }) : undefined,
    );
    const before = await countRows('pilots');
    const pilot = ok(await client.api.POST('/v1/pilots', { body: pilotBody() as never }));
    assert.equal(pilot.status, 'draft');
    assert.equal(seen.length, 2);
    const keys = seen.map((r) => r.headers.get('Idempotency-Key'));
    assert.match(keys[0]!, /^[0-9a-f-]{36}$/);
    assert.equal(keys[1], keys[0]);
    assert.equal(await countRows('pilots'), before + 1);
    // Not on actions that create nothing.
    ok(await client.api.POST('/v1/pilots/{id}/submit', { params: { path: { id: pilot.id } } }));
    assert.equal(seen.at(-1)!.headers.get('Idempotency-Key'), null);
  });

  it('waits at least what Retry-After asks on 429 before retrying', async () => {
    const { client, seen } = clientWith((_req, n) =>
      n === 1 ? new Response('slow down', { status: 429, headers: { 'Retry-After': '1' } }) : undefined,
    );
    const started = Date.now();
    ok(await client.api.GET('/v1/me'));
    assert.ok(Date.now() - started >= 1000, 'retried before Retry-After');
    assert.equal(seen.length, 2);
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs(new Date(Date.now() + 60_000).toUTCString())! > 55_000, true);
    assert.equal(backoffMs(1, '2', { retries: 3, baseDelayMs: 100, maxDelayMs: 10_000 }), 2000);
    assert.ok(backoffMs(3, null, { retries: 3, baseDelayMs: 100, maxDelayMs: 10_000 }, () => 1) === 400);
  });

  it('gives up after the configured retries and raises the problem', async () => {
    const { client, seen } = clientWith(
      () =>
        new Response(JSON.stringify({ status: 503, code: 'unavailable', title: 'Busy', detail: 'Try later' }), {
          status: 503,
          headers: { 'Retry-After': '0', 'Content-Type': 'application/problem+json' },
        }),
    );
    await assert.rejects(
      client.api.GET('/v1/me'),
      (e: ProblemError) => e instanceof ProblemError && e.status === 503 && e.code === 'unavailable',
    );
    assert.equal(seen.length, 5); // the first attempt and four retries
  });

  it('raises refusals as ProblemError with status, code and per-field errors', async () => {
    const { client } = clientWith();
    await assert.rejects(
      client.api.GET('/v1/pilots/{id}', { params: { path: { id: '00000000-0000-4000-8000-000000000000' } } }),
      (e: ProblemError) => e instanceof ProblemError && e.status === 404 && e.code === 'not-found',
    );
    await assert.rejects(
      client.api.POST('/v1/pilots', { body: { ...pilotBody(), domain: 'astrology' } as never }),
      (e: ProblemError) =>
        e.status === 400 && e.code === 'validation-failed' && e.errors.some((x) => x.pointer === '/body/domain'),
    );
  });

  it('iterates a list across cursors', async () => {
    const { client } = clientWith();
    for (let i = 0; i < 5; i++)
      ok(await client.api.POST('/v1/pilots', { body: pilotBody({ title: `Pilot ${i}` }) as never }));
    const titles: string[] = [];
    const pages: (string | undefined)[] = [];
    for await (const p of iterate((cursor) => {
      pages.push(cursor);
      return client.api.GET('/v1/pilots', { params: { query: { limit: 2, ...(cursor ? { cursor } : {}) } } }).then(ok);
    })) {
      titles.push(p.title);
    }
    assert.equal(titles.length, 5);
    assert.deepEqual([...titles].sort(), ['Pilot 0', 'Pilot 1', 'Pilot 2', 'Pilot 3', 'Pilot 4']);
    assert.equal(pages.length, 3);
  });

  it('uploads over tus with progress, takes the version from Dataset-Id, and downloads the same bytes', async () => {
    const { client, seen } = clientWith();
    const pilot = ok(await client.api.POST('/v1/pilots', { body: pilotBody() as never }));
    assert.equal(await offersTus(client, pilot.id), true);
    const file = join(dir, 'drive.csv');
    const content = csv(60_000); // ~1.6 MB
    writeFileSync(file, content);
    const size = Buffer.byteLength(content);
    const progress: Progress[] = [];
    const onProgress = (p: Progress) => progress.push(p);
    const result = await uploadDataset(client, pilot.id, file, { sensitivity: 'internal', onProgress });
    assert.equal(result.method, 'tus');
    assert.equal(result.resumed, false);
    const sha = createHash('sha256').update(content).digest('hex');
    assert.equal(result.dataset.sha256, sha);
    assert.equal(result.dataset.sizeBytes, size);
    assert.equal(result.dataset.name, 'drive.csv');
    // The dataset fetched afterwards is the one the final PATCH named in Dataset-Id.
    assert.ok(seen.some((r) => r.method === 'GET' && r.url.endsWith(`/v1/datasets/${result.dataset.id}`)));
    assert.equal(await countRows('datasets'), 1);
    assert.ok(progress.length >= 2);
    assert.deepEqual(progress.at(-1), { bytes: size, total: size });
    assert.ok(progress.every((p, i) => p.total === size && (i === 0 || p.bytes >= progress[i - 1]!.bytes)));

    const out = join(dir, 'copy.csv');
    const got = await downloadDataset(client, result.dataset.id, out);
    assert.equal(got.sha256, sha);
    assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), sha);
  });

  it('uploads a file in one streamed request with progress when the server offers no tus, and downloads it verified', async () => {
    // A deployment without tus: nothing at the uploads URL, and a document that does not declare it.
    const hidden = (req: Request) =>
      /\/uploads$/.test(new URL(req.url).pathname) || new URL(req.url).pathname === '/openapi.json'
        ? new Response('{"status":404}', { status: 404, headers: { 'Content-Type': 'application/problem+json' } })
        : undefined;
    const { client } = clientWith(hidden);
    const pilot = ok(await client.api.POST('/v1/pilots', { body: pilotBody() as never }));
    assert.equal(await offersTus(client, pilot.id), false);
    const file = join(dir, 'counts.csv');
    const content = csv(5000);
    writeFileSync(file, content);
    const progress: Progress[] = [];
    const result = await uploadDataset(client, pilot.id, file, {
      sensitivity: 'internal',
      onProgress: (p) => progress.push(p),
    });
    assert.equal(result.method, 'multipart');
    assert.equal(result.dataset.sha256, createHash('sha256').update(content).digest('hex'));
    assert.equal(result.dataset.name, 'counts.csv');
    assert.ok(progress.length >= 1);
    assert.deepEqual(progress.at(-1), { bytes: Buffer.byteLength(content), total: Buffer.byteLength(content) });
    assert.ok(progress.every((p, i) => i === 0 || p.bytes >= progress[i - 1]!.bytes));

    const out = join(dir, 'copy.csv');
    const got = await downloadDataset(client, result.dataset.id, out);
    assert.equal(got.sha256, result.dataset.sha256);
    assert.equal(readFileSync(out, 'utf8'), content);
  });

  it('refuses a download whose bytes do not match Repr-Digest, leaving no file', async () => {
    const { client: plain } = clientWith();
    const pilot = ok(await plain.api.POST('/v1/pilots', { body: pilotBody() as never }));
    const file = join(dir, 'counts.csv');
    writeFileSync(file, csv(10));
    const { dataset } = await uploadDataset(plain, pilot.id, file, { sensitivity: 'internal' });
    const { client } = clientWith((req) => {
      if (!req.url.endsWith('/content')) return undefined;
      return new Response('tampered', {
        status: 200,
        headers: { 'Repr-Digest': `sha-256=:${Buffer.from(dataset.sha256, 'hex').toString('base64')}:` },
      });
    });
    const out = join(dir, 'copy.csv');
    await assert.rejects(downloadDataset(client, dataset.id, out), /does not match/);
    assert.equal(existsSync(out), false);
  });

  it('type-checks a program against the SDK with tsc --strict, and rejects a wrong one', async function () {
    this.timeout(180_000);
    const program = (body: string) =>
      [
        `import { AxClient, ok, iterate, ProblemError } from '${join(projectRoot, 'sdk', 'index.js')}';`,
        `const ax = new AxClient({ baseUrl: 'http://localhost:3000', token: process.env.AXV_TOKEN });`,
        `export async function run(): Promise<void> {`,
        body,
        `}`,
      ].join('\n');
    const good = join(dir, 'good.ts');
    writeFileSync(
      good,
      program(`
  const pilot = ok(await ax.api.POST('/v1/pilots', { body: { title: 't', summary: 's', domain: 'health',
    requirements: { capabilities: ['gpu-cluster'], units: 1, durationHours: 4, earliestStart: '2027-01-01T00:00:00Z', latestEnd: '2027-02-01T00:00:00Z' } } }));
  const status: 'draft' | 'submitted' | 'matched' | 'booked' | 'active' | 'completed' | 'withdrawn' = pilot.status;
  const report = ok(await ax.api.GET('/v1/reports/utilization', { params: { query: { from: '2027-01-01T00:00:00Z', to: '2027-02-01T00:00:00Z' } } }));
  const share: number | null | undefined = report.data[0]?.utilization;
  for await (const p of iterate((cursor) => ax.api.GET('/v1/pilots', { params: { query: { cursor } } }).then(ok))) console.log(p.id, status, share);
  try { await ax.api.GET('/v1/me'); } catch (e) { if (e instanceof ProblemError) console.log(e.code, e.errors.length); }`),
    );
    const bad = join(dir, 'bad.ts');
    writeFileSync(
      bad,
      program(`  const me = ok(await ax.api.GET('/v1/me')); const n: number = me.user.email; console.log(n);`),
    );
    const tsc = join(projectRoot, 'node_modules', '.bin', 'tsc');
    const args = (f: string) => [
      ...[
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--target',
        'es2022',
      ],
      ...['--typeRoots', join(projectRoot, 'node_modules', '@types'), '--types', 'node', f],
    ];
    await promisify(execFile)(tsc, args(good), { cwd: projectRoot });
    await assert.rejects(promisify(execFile)(tsc, args(bad), { cwd: projectRoot }), (e: { stdout: string }) =>
      /TS2322/.test(e.stdout),
    );
  });
});
