/**
 * What the declarations guarantee by construction: problem codes come from one catalogue (the compiler refuses
 * others), route params are typed from the declared path, and every path is written out where it is declared,
 * so a search for a path finds the code that serves it. The @ts-expect-error lines are checked by
 * `npm run typecheck`: if the union widened to string, or params accepted any name, they would stop compiling.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AppError,
  PROBLEM_CODES,
  conflict,
  isProblemCode,
  problemCodes,
  type ProblemCode,
} from '../src/core/errors.js';
import type { PathParams } from '../src/http/route.js';
import { projectRoot } from '../src/paths.js';
import { ctx } from './support/context.js';

const api = () => ctx().api();

describe('problem codes', () => {
  it('are a closed union: a code missing from the catalogue does not compile', () => {
    // @ts-expect-error 'no-such-code' is not in PROBLEM_CODES
    const unknown: ProblemCode = 'no-such-code';
    // @ts-expect-error helpers taking a code take only catalogue codes
    const viaHelper = () => conflict('made-up-conflict', 'x');
    // @ts-expect-error nor does the constructor
    const direct = () => new AppError(400, 'no-such-code', 'Bad request', 'x');
    const wide: string extends ProblemCode ? 'wide' : 'closed' = 'closed';
    assert.equal(wide, 'closed');
    assert.equal(isProblemCode(unknown), false);
    assert.equal(typeof viaHelper, 'function');
    assert.equal(typeof direct, 'function');
  });

  it('include the codes the idempotency check and logout answer with', () => {
    for (const code of ['invalid-idempotency-key', 'not-a-session']) assert.ok(isProblemCode(code), code);
  });

  it('are each described at GET /problems/{code}', async () => {
    for (const code of problemCodes) {
      const res = await api().get(`/problems/${code}`);
      assert.equal(res.status, 200, code);
      assert.deepEqual(res.body, { code, description: PROBLEM_CODES[code] });
    }
  });

  it('do not include what every object inherits: GET /problems/toString is 404', async () => {
    for (const name of ['toString', 'constructor', 'hasOwnProperty', '__proto__']) {
      const res = await api().get(`/problems/${name}`);
      assert.equal(res.status, 404, name);
      assert.equal(res.body.code, 'not-found');
    }
  });
});

describe('route declarations', () => {
  it('type params from the declared path', () => {
    const params: PathParams<'/v1/pilots/{id}/uploads/{uploadId}'> = { id: 'a', uploadId: 'b' };
    const id: string = params.id;
    const uploadId: string = params.uploadId;
    // @ts-expect-error the path names no {slotId}
    const slotId: string = params.slotId;
    // @ts-expect-error a path without parameters gives none
    const none: string = ({} as PathParams<'/v1/pilots'>).id;
    assert.deepEqual([id, uploadId, slotId, none], ['a', 'b', undefined, undefined]);
  });

  it('write every documented path out in full, at least once per method, as a `path:` in src/', async () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(dir, e.name));
        else if (e.name.endsWith('.ts')) files.push(join(dir, e.name));
      }
    };
    walk(join(projectRoot, 'src'));
    const source = files.map((f) => readFileSync(f, 'utf8')).join('\n');
    const doc = (await api().get('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const methods = ['get', 'head', 'post', 'put', 'patch', 'delete'];
    const wrong: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      const declared = methods.filter((m) => m in item).length;
      const written = source.split(`path: '${path}'`).length - 1;
      // At least: the tus server is also configured with `path: '/v1/pilots'`.
      if (written < declared) wrong.push(`${path}: ${declared} operation(s), written ${written} time(s)`);
    }
    assert.deepEqual(wrong, []);
  });
});
