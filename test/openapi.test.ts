/**
 * The OpenAPI document is the contract clients build against: it must be complete (every operation named,
 * summarised, secured, with its errors), self-consistent (every $ref resolves, every schema compiles) and
 * lint-clean under Redocly's recommended ruleset. Everything is read from GET /openapi.json, so operations
 * added later are checked without touching this file.
 */
import assert from 'node:assert/strict';
import { lintOpenApi } from '../scripts/lint-openapi.js';
import { ctx } from './support/context.js';
import { SchemaKit, resolvePointer } from './support/fuzz.js';

type Json = Record<string, unknown>;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

interface OperationAt {
  where: string;
  op: Json;
}

function operations(doc: Json): OperationAt[] {
  const out: OperationAt[] = [];
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const m of HTTP_METHODS) {
      const op = (item as Json)[m];
      if (isObject(op)) out.push({ where: `${m.toUpperCase()} ${path}`, op });
    }
  }
  return out;
}

/** Calls fn(node, pointer) for every object in the tree. */
function walk(node: unknown, fn: (node: Json, at: string) => void, at = '#'): void {
  if (Array.isArray(node)) node.forEach((n, i) => walk(n, fn, `${at}/${i}`));
  else if (isObject(node)) {
    fn(node, at);
    for (const [k, v] of Object.entries(node)) walk(v, fn, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
  }
}

describe('GET /openapi.json', () => {
  let doc: Json;

  before(async () => {
    const res = await ctx().api().get('/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.get('Content-Type') ?? '', /^application\/json/);
    doc = res.body as Json;
  });

  it('is an OpenAPI 3.1 document with paths', () => {
    assert.match(String(doc.openapi), /^3\.1\.\d+$/);
    assert.equal(typeof (doc.info as Json).title, 'string');
    assert.equal(typeof (doc.info as Json).version, 'string');
    assert.ok(Object.keys(doc.paths as Json).length > 0);
  });

  it('gives every operation a unique operationId, a summary, security and a 4xx response', () => {
    const problems: string[] = [];
    const ids = new Map<string, string>();
    const schemes = Object.keys(((doc.components as Json).securitySchemes as Json | undefined) ?? {});
    for (const { where, op } of operations(doc)) {
      const id = op.operationId;
      if (typeof id !== 'string' || !id) problems.push(`${where}: no operationId`);
      else if (ids.has(id)) problems.push(`${where}: operationId "${id}" is also used by ${ids.get(id)}`);
      else ids.set(id, where);
      if (typeof op.summary !== 'string' || !op.summary.trim()) problems.push(`${where}: no summary`);
      if (!Array.isArray(op.security)) problems.push(`${where}: no security (use [] for a public operation)`);
      else {
        for (const req of op.security as Json[]) {
          for (const name of Object.keys(req))
            if (!schemes.includes(name)) problems.push(`${where}: unknown security scheme ${name}`);
        }
      }
      const statuses = Object.keys((op.responses as Json | undefined) ?? {});
      if (!statuses.some((s) => /^4(\d\d|XX)$/.test(s))) problems.push(`${where}: no 4xx response`);
      if (!statuses.some((s) => /^2(\d\d|XX)$/.test(s))) problems.push(`${where}: no 2xx response`);
    }
    assert.deepEqual(problems, []);
  });

  it('documents every error response as application/problem+json with the Problem schema', () => {
    const problems: string[] = [];
    for (const { where, op } of operations(doc)) {
      for (const [status, raw] of Object.entries(op.responses as Json)) {
        if (!/^[45]/.test(status)) continue;
        const response = (isObject(raw) && typeof raw.$ref === 'string' ? resolvePointer(doc, raw.$ref) : raw) as Json;
        const media = (response.content as Json | undefined)?.['application/problem+json'] as Json | undefined;
        if (!media) problems.push(`${where} ${status}: not application/problem+json`);
        else if ((media.schema as Json | undefined)?.$ref !== '#/components/schemas/Problem')
          problems.push(`${where} ${status}: not the Problem schema`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('resolves every $ref inside the document', () => {
    const broken: string[] = [];
    let refs = 0;
    walk(doc, (node, at) => {
      if (typeof node.$ref !== 'string') return;
      refs++;
      if (!node.$ref.startsWith('#/') || resolvePointer(doc, node.$ref) === undefined)
        broken.push(`${at}: ${node.$ref}`);
    });
    assert.ok(refs > 0);
    assert.deepEqual(broken, []);
  });

  it('compiles every JSON schema in it (2020-12, strict)', () => {
    const kit = new SchemaKit(doc);
    const failures: string[] = [];
    const tryCompile = (at: string, schema: unknown) => {
      try {
        kit.compile(schema);
      } catch (err) {
        failures.push(`${at}: ${(err as Error).message}`);
      }
    };
    const components = ((doc.components as Json).schemas as Json | undefined) ?? {};
    assert.ok(Object.keys(components).length > 0);
    for (const name of Object.keys(components))
      tryCompile(`#/components/schemas/${name}`, { $ref: `#/components/schemas/${name}` });
    // Inline schemas: parameters, headers, and media types of request and response bodies.
    let inline = 0;
    walk(doc, (node, at) => {
      if (at.startsWith('#/components/schemas')) return;
      if (!isObject(node.schema) && typeof node.schema !== 'boolean') return;
      // Media types (under content), parameters (with "in") and headers (under headers) carry a schema.
      const parent = at.split('/').slice(-2, -1)[0];
      if (parent === 'content' || parent === 'headers' || 'in' in node) {
        inline++;
        tryCompile(`${at}/schema`, node.schema);
      }
    });
    assert.ok(inline > 0);
    assert.deepEqual(failures, []);
  });

  it('passes Redocly lint with the recommended ruleset, without errors or warnings', async function () {
    this.timeout(90_000);
    const result = await lintOpenApi(doc);
    assert.ok(
      result.errors === 0 && result.warnings === 0,
      `redocly lint: ${result.errors} error(s), ${result.warnings} warning(s)\n${result.report}`,
    );
  });
});

describe('GET /docs', () => {
  it('serves the interactive API documentation as HTML', async () => {
    const res = await ctx().api().get('/docs').redirects(2);
    assert.equal(res.status, 200);
    assert.match(res.get('Content-Type') ?? '', /^text\/html/);
    assert.match(res.text, /swagger-ui/i);
  });
});
