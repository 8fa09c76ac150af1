/**
 * What a newcomer meets first: the service root, the console when the service is installed under a
 * dot-directory (~/.local/…, /srv/.apps/…), and a start that compiles only when the build is stale.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { pino } from 'pino';
import supertest from 'supertest';
import { inputsDigest, needsBuild, recordBuild } from '../scripts/build-if-stale.mjs';
import { serveConsole } from '../src/console/serve.js';
import { errorHandler } from '../src/http/errors.js';
import { ctx } from './support/context.js';

describe('GET /', () => {
  it('answers a JSON index linking the docs, the OpenAPI document and the console, each of which answers', async () => {
    const res = await ctx().api().get('/');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /application\/json/);
    assert.equal(res.body.name, 'AX Testbed Registry');
    assert.deepEqual(
      { docs: res.body.links.docs, openapi: res.body.links.openapi, console: res.body.links.console },
      { docs: '/docs', openapi: '/openapi.json', console: '/console/' },
    );
    for (const link of Object.values(res.body.links as Record<string, string>)) {
      // /v1 is a prefix, and the console may not be built where this runs.
      if (link === '/v1' || link === res.body.links.console) continue;
      const followed = await ctx().api().get(link).redirects(1);
      assert.equal(followed.status, 200, link);
    }
  });

  it('is declared in the OpenAPI document', () => {
    const paths = ctx().app.openapi.paths as Record<string, { get?: { operationId?: string } }>;
    assert.equal(paths['/']?.get?.operationId, 'getServiceIndex');
  });
});

describe('the console installed under a dot-directory', () => {
  let root: string;
  let app: express.Express;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'ax-dot-'));
    const dist = join(root, '.apps', 'registry', 'console', 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    const page = '<!doctype html><title>console</title><script src="/console/assets/app-1.js"></script>';
    writeFileSync(join(dist, 'index.html'), page);
    writeFileSync(join(dist, 'assets', 'app-1.js'), 'console.log(1)');
    writeFileSync(join(dist, 'icon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    app = express();
    serveConsole(app, dist);
    // A file the handler cannot find, as send reports it (a 404 error without a type).
    app.get('/missing-file', (_req, res, next) => res.sendFile('nope.html', { root }, (err) => next(err)));
    app.use(errorHandler(pino({ level: 'silent' }), 1024));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('serves the page, its assets and its public files', async () => {
    for (const path of ['/console', '/console/', '/console/index.html']) {
      const res = await supertest(app).get(path);
      assert.equal(res.status, 200, path);
      assert.match(res.text, /<title>console<\/title>/, path);
      assert.equal(res.headers['cache-control'], 'no-cache');
    }
    const asset = await supertest(app).get('/console/assets/app-1.js');
    assert.equal(asset.status, 200);
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal((await supertest(app).get('/console/icon.svg')).status, 200);
  });

  it('answers a missing file with a "Not found" problem, not a "Bad request" titled 404', async () => {
    const res = await supertest(app).get('/missing-file');
    assert.equal(res.status, 404);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    assert.equal(res.body.title, 'Not found');
    assert.equal(res.body.code, 'not-found');
  });
});

describe('npm start compiles only a stale build (scripts/build-if-stale.mjs)', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ax-build-'));
    for (const dir of ['src/generated', 'schemas', 'console/src', 'console/dist', 'dist']) {
      mkdirSync(join(root, dir), { recursive: true });
    }
    writeFileSync(join(root, 'package.json'), '{}');
    writeFileSync(join(root, 'src/server.ts'), 'export {};');
    writeFileSync(join(root, 'schemas/a.json'), '{}');
    writeFileSync(join(root, 'console/src/app.tsx'), 'export {};');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const built = () => {
    writeFileSync(join(root, 'dist/server.js'), '');
    writeFileSync(join(root, 'console/dist/index.html'), '');
    recordBuild(root, inputsDigest(root));
  };

  it('builds a fresh clone, then starts without compiling while the inputs stay the same', () => {
    assert.equal(needsBuild(root), true, 'nothing built yet');
    built();
    assert.equal(needsBuild(root), false);
    // Rewriting a file with the same bytes (a checkout, a copy) or regenerating derived types changes nothing.
    writeFileSync(join(root, 'src/server.ts'), 'export {};');
    writeFileSync(join(root, 'src/generated/types.ts'), 'export type X = 1;');
    assert.equal(needsBuild(root), false);
  });

  it('builds again after a change to the server, the schemas or the console, or when an output is gone', () => {
    for (const [file, text] of [
      ['src/server.ts', 'export const x = 1;'],
      ['schemas/b.json', '{"type": "object"}'],
      ['console/src/app.tsx', 'export const y = 2;'],
    ] as const) {
      built();
      writeFileSync(join(root, file), text);
      assert.equal(needsBuild(root), true, file);
    }
    built();
    rmSync(join(root, 'console/dist/index.html'));
    assert.equal(needsBuild(root), true, 'the console build is gone');
  });
});
