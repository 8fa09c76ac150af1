/**
 * Bad input of any shape gets a 4xx problem+json, never a 5xx, never a partial write (core guarantee 5).
 *
 * Thousands of malformed requests are derived from GET /openapi.json — every operation, every parameter and
 * body — and sent as a startup, a partner, an operator, with no token and with garbage tokens. The generator
 * (support/fuzz.ts) is deterministic for a seed: FUZZ_SEED=<n> reproduces a run, FUZZ_TARGET=<n> changes its
 * size. Before the batch, real resources are created through the documented creating operations so that
 * path ids, If-Match and the like are checked against things that exist.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import supertest from 'supertest';
import { ctx, resetDatabase } from './support/context.js';
import { createPilot, operator, signup, type Actor } from './support/factories.js';
import {
  ACTORS,
  Rng,
  SchemaKit,
  collectionOf,
  generateCases,
  hostileValidCases,
  operationsOf,
  validInstance,
  type ActorName,
  type FuzzCase,
  type GenerateOptions,
  type Operation,
} from './support/fuzz.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_401) >>> 0;
const TARGET = Number(process.env.FUZZ_TARGET ?? 3000);
const CONCURRENCY = 8;
const MIN_REQUESTS = 2000;
/** Tables a refused request may legitimately touch: bookkeeping, not data. */
const BOOKKEEPING = ['schema_migrations', 'rate_limits', 'idempotency_keys', 'sessions'];

type Json = Record<string, unknown>;

interface Outcome {
  c: FuzzCase;
  status: number;
  contentType: string;
  body: unknown;
  error?: string;
}

async function rowCounts(): Promise<Record<string, number>> {
  const { db } = ctx();
  const { rows } = await db.query<{ tablename: string }>(
    `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND NOT (tablename = ANY($1)) ORDER BY tablename`,
    [BOOKKEEPING],
  );
  const counts: Record<string, number> = {};
  for (const { tablename } of rows) {
    const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${tablename.replace(/"/g, '""')}"`);
    counts[tablename] = Number(r.rows[0]!.n);
  }
  return counts;
}

/**
 * Creates one resource through each documented creating operation (POST answering 201), trying each kind
 * of caller with a schema-valid body, so that item paths have ids that exist. Best effort: a body that the
 * business rules refuse just leaves that collection to random ids.
 */
async function seed(
  agent: supertest.Agent,
  ops: Operation[],
  kit: SchemaKit,
  actors: Record<Exclude<ActorName, 'none'>, Actor>,
  ids: Map<string, string[]>,
): Promise<string[]> {
  const seeded: string[] = [];
  const rng = new Rng(SEED).fork('seed');
  const creating = ops
    .filter(
      (o) => o.method === 'post' && o.successStatus === 201 && !o.isPublic && o.body && /json/.test(o.body.mediaType),
    )
    .sort((a, b) => (a.path.match(/\{/g) ?? []).length - (b.path.match(/\{/g) ?? []).length);
  for (const op of creating) {
    const body = validInstance(kit, op.body!.schema, rng);
    for (const name of ['startup', 'partner', 'operator'] as const) {
      let missing = false;
      const url = op.path.replace(/\{(\w+)\}/g, (_m, p: string) => {
        const known = ids.get(collectionOf(op.path, p));
        if (!known?.length) missing = true;
        return known?.[0] ?? '';
      });
      if (missing) break;
      const res = await agent
        .post(url)
        .set(actors[name].auth)
        .send(body as object);
      if (res.status !== 201) continue;
      const location = res.get('Location');
      const id = (res.body as Json | undefined)?.id;
      let collection: string | undefined;
      let itemId: string | undefined;
      if (location) {
        const m = /^(.*)\/([0-9a-f-]{36})$/i.exec(new URL(location, 'http://x').pathname);
        if (m) [collection, itemId] = [m[1], m[2]];
      } else if (typeof id === 'string' && !op.path.includes('{')) [collection, itemId] = [op.path, id];
      if (collection && itemId) {
        ids.set(collection, [...(ids.get(collection) ?? []), itemId]);
        seeded.push(`${op.operationId} as ${name} → ${collection}/${itemId}`);
      }
      break;
    }
  }
  return seeded;
}

async function send(agent: supertest.Agent, c: FuzzCase): Promise<Outcome> {
  try {
    let req = agent[c.method](c.url);
    for (const [k, v] of Object.entries(c.headers)) req = req.set(k, v);
    if (c.body) {
      if (c.body.contentType === null) req = req.send(Buffer.from(c.body.text, 'utf8'));
      else req = req.set('Content-Type', c.body.contentType).send(c.body.text);
    }
    const res = await req;
    return { c, status: res.status, contentType: String(res.get('Content-Type') ?? ''), body: res.body };
  } catch (err) {
    return { c, status: 0, contentType: '', body: undefined, error: (err as Error).message };
  }
}

/**
 * Sends every case, CONCURRENCY at a time. With retryBusy, a 503 "retry" (two valid writes collided in
 * PostgreSQL) is retried the way a client would, up to three times; malformed input never gets that far.
 */
async function runAll(agent: supertest.Agent, cases: FuzzCase[], retryBusy = false): Promise<Outcome[]> {
  const out: Outcome[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      let o = await send(agent, cases[i]!);
      for (
        let attempt = 1;
        retryBusy && attempt <= 3 && o.status === 503 && (o.body as Json | undefined)?.code === 'retry';
        attempt++
      ) {
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
        o = await send(agent, cases[i]!);
      }
      out[i] = o;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return out;
}

/** What is wrong with a response, if anything: a 5xx, or an error that is not RFC 9457 problem+json. */
function contractViolations(status: number, contentType: string, body: unknown): string[] {
  const v: string[] = [];
  if (status >= 500) v.push(`answered ${status}`);
  if (status >= 400) {
    if (!/^application\/problem\+json\b/.test(contentType))
      v.push(`Content-Type ${contentType || '(none)'}, not application/problem+json`);
    const b = body as Json | undefined;
    if (!b || typeof b !== 'object') v.push('no problem body');
    else {
      for (const k of ['type', 'title', 'detail'] as const)
        if (typeof b[k] !== 'string' || !b[k]) v.push(`problem without a string "${k}"`);
      if (b.status !== status) v.push(`problem "status" ${String(b.status)} differs from the HTTP status ${status}`);
      if (/\bat .+\.(ts|js):\d+/.test(JSON.stringify(b))) v.push('problem leaks a stack trace');
    }
  }
  return v;
}

function violations(o: Outcome): string[] {
  if (o.error) return [`no response: ${o.error}`];
  const v = contractViolations(o.status, o.contentType, o.body);
  if (o.c.mustRefuse && o.status < 400) v.unshift(`accepted malformed input with ${o.status}`);
  return v;
}

/** An app on a port, its document, three callers and one seeded resource per collection. */
interface World {
  agent: supertest.Agent;
  doc: Json;
  kit: SchemaKit;
  ops: Operation[];
  options: GenerateOptions;
  seeded: string[];
}

async function withWorld<T>(fn: (w: World) => Promise<T>): Promise<T> {
  await resetDatabase(ctx().db);
  const server = http.createServer(ctx().app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const agent = supertest.agent(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const doc = (await agent.get('/openapi.json').expect(200)).body as Json;
    const kit = new SchemaKit(doc);
    const ops = operationsOf(doc);
    const startup = await signup('startup');
    const partner = await signup('partner');
    const op = await operator();
    const ids = new Map<string, string[]>();
    ids.set('/v1/pilots', [(await createPilot(startup)).id]);
    const seeded = await seed(agent, ops, kit, { startup, partner, operator: op }, ids);
    const options: GenerateOptions = {
      seed: SEED,
      ids,
      tokens: { startup: startup.token, partner: partner.token, operator: op.token },
      bodyLimitBytes: ctx().config.bodyLimitBytes,
      target: TARGET,
    };
    return await fn({ agent, doc, kit, ops, options, seeded });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function report(outcomes: Outcome[], check: (o: Outcome) => string[]): string | undefined {
  const bad = outcomes.map((o) => ({ o, v: check(o) })).filter((x) => x.v.length);
  if (!bad.length) return undefined;
  const shown = bad
    .slice(0, 25)
    .map(
      ({ o, v }) =>
        `  ${describeCase(o.c)}\n      → ${o.status} ${o.contentType}: ${v.join('; ')}\n      ${JSON.stringify(o.body)?.slice(0, 300)}`,
    )
    .join('\n');
  return `${bad.length} of ${outcomes.length} responses break the contract (FUZZ_SEED=${SEED}):\n${shown}`;
}

function describeCase(c: FuzzCase): string {
  const body = c.body
    ? `${c.body.contentType ?? '(no Content-Type)'} ${c.body.text.length > 160 ? c.body.text.slice(0, 160) + `… (${c.body.text.length} chars)` : c.body.text}`
    : '(no body)';
  const headers = Object.entries(c.headers)
    .map(([k, v]) => `${k}: ${v.length > 60 ? v.slice(0, 60) + '…' : v}`)
    .join('; ');
  return `#${c.n} ${c.operationId} [${c.category}: ${c.label}] as ${c.actor}\n      ${c.method.toUpperCase()} ${c.url.length > 200 ? c.url.slice(0, 200) + '…' : c.url}\n      headers: ${headers || '(none)'}\n      body: ${body}`;
}

describe('fuzzing every operation in the OpenAPI document', function () {
  this.timeout(180_000);

  let outcomes: Outcome[] = [];
  let countsBefore: Record<string, number> = {};
  let countsAfter: Record<string, number> = {};
  let ops: Operation[] = [];
  let elapsedMs = 0;

  // One batch for the whole suite, run before the root beforeEach empties the tables again.
  before(async function () {
    const started = Date.now();
    await withWorld(async (w) => {
      ops = w.ops;
      const { cases, invalidBases, perOperation } = generateCases(w.doc, w.kit, w.options);
      console.log(
        `      fuzz seed ${SEED} (FUZZ_SEED=${SEED} reproduces): ${cases.length} requests over ${ops.length} operations, up to ${perOperation} each`,
      );
      if (w.seeded.length) console.log(`      seeded: ${w.seeded.join(', ')}`);
      if (invalidBases.length)
        console.log(`      no schema-valid base body could be built for: ${invalidBases.join(', ')}`);
      countsBefore = await rowCounts();
      outcomes = await runAll(w.agent, cases);
      countsAfter = await rowCounts();
    });
    elapsedMs = Date.now() - started;

    const byStatus = new Map<number, number>();
    for (const o of outcomes) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
    const statuses = [...byStatus.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([s, n]) => `${s}×${n}`)
      .join(' ');
    console.log(`      ${outcomes.length} requests in ${(elapsedMs / 1000).toFixed(1)} s: ${statuses}`);

    if (process.env.FUZZ_VERBOSE) {
      const table = new Map<string, Map<number, number>>();
      for (const o of outcomes) {
        const row = table.get(o.c.category) ?? new Map<number, number>();
        row.set(o.status, (row.get(o.status) ?? 0) + 1);
        table.set(o.c.category, row);
      }
      for (const [cat, row] of [...table].sort()) {
        console.log(
          `        ${cat.padEnd(16)} ${[...row]
            .sort((a, b) => a[0] - b[0])
            .map(([st, n]) => `${st}×${n}`)
            .join(' ')}`,
        );
      }
      if (process.env.FUZZ_VERBOSE === '2') for (const o of outcomes) console.log(`${o.status} ${describeCase(o.c)}`);
    }

    // Statuses the document does not list for the operation: worth a look, not a failure.
    const undocumented = new Map<string, Set<number>>();
    for (const o of outcomes) {
      const op = ops.find((x) => x.operationId === o.c.operationId);
      // A broken path may route elsewhere; Express reads (and limits) a JSON body before routing, on every path.
      if (!op || o.status === 0 || ['path-id', 'oversize', 'raw-json'].includes(o.c.category)) continue;
      const listed =
        op.responses.includes(String(o.status)) ||
        op.responses.includes(`${String(o.status)[0]}XX`) ||
        op.responses.includes('default');
      if (!listed) undocumented.set(op.operationId, (undocumented.get(op.operationId) ?? new Set()).add(o.status));
    }
    if (undocumented.size) {
      console.log(
        `      statuses not in the document: ${[...undocumented].map(([id, s]) => `${id} ${[...s].join('/')}`).join(', ')}`,
      );
    }
  });

  it(`sends at least ${MIN_REQUESTS} malformed requests, covering every operation and every kind of caller`, () => {
    assert.ok(outcomes.length >= MIN_REQUESTS, `only ${outcomes.length} requests`);
    for (const op of ops) {
      const mine = outcomes.filter((o) => o.c.operationId === op.operationId);
      const callers = new Set(mine.map((o) => o.c.actor));
      for (const a of ACTORS) assert.ok(callers.has(a), `${op.operationId} was never called as ${a}`);
      if (!op.isPublic) assert.ok(callers.has('garbage-token'), `${op.operationId} never met a garbage token`);
      if (op.body)
        assert.ok(
          mine.some((o) => o.c.category === 'content-type'),
          `${op.operationId} never got a wrong Content-Type`,
        );
    }
  });

  it('answers every one with a status below 500, refusing the malformed ones with 4xx application/problem+json', () => {
    const problems = report(outcomes, violations);
    assert.ok(!problems, problems);
  });

  it('answers a body over the limit with 413', () => {
    const big = outcomes.filter((o) => o.c.category === 'oversize');
    assert.ok(big.length >= ops.length, `only ${big.length} oversized bodies`);
    const wrong = big.filter((o) => o.status !== 413);
    assert.equal(wrong.length, 0, wrong.map((o) => `${describeCase(o.c)} → ${o.status}`).join('\n'));
  });

  it('writes nothing: every data table has as many rows after the batch as before', () => {
    assert.deepEqual(countsAfter, countsBefore);
  });
});

describe('schema-valid but hostile values in every request body', function () {
  this.timeout(180_000);

  it('never answer 5xx: SQL, markup, control characters, surrogates, limits, extreme dates', async () => {
    await withWorld(async (w) => {
      const cases = hostileValidCases(w.doc, w.kit, w.options);
      const started = Date.now();
      const outcomes = await runAll(w.agent, cases, true);
      console.log(
        `      ${outcomes.length} schema-valid hostile requests in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      assert.ok(outcomes.length > 0);
      const problems = report(outcomes, (o) =>
        o.error ? [`no response: ${o.error}`] : contractViolations(o.status, o.contentType, o.body),
      );
      assert.ok(!problems, problems);
    });
  });

  // PostgreSQL text and jsonb cannot hold U+0000; bodies carrying one must be refused, never reach the database.
  it('never answer 5xx to a NUL character in a string field', async () => {
    await withWorld(async (w) => {
      const cases = hostileValidCases(w.doc, w.kit, w.options, [['NUL', 'fuzz\u0000value']]);
      const outcomes = await runAll(w.agent, cases, true);
      assert.ok(outcomes.length > 0);
      const problems = report(outcomes, (o) =>
        o.error ? [`no response: ${o.error}`] : contractViolations(o.status, o.contentType, o.body),
      );
      assert.ok(!problems, problems);
    });
  });
});
