/**
 * Serves the operator console (console/, built by Vite into console/dist) at /console. Built file names carry
 * a content hash, so /console/assets/* is cached for a year as immutable; index.html names the current
 * hashes and is served `no-cache` (revalidated by ETag on every load), so a deploy takes effect at once.
 * The console talks only to the public /v1 API, with the signed-in user's bearer token.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express, type Request, type Response, type NextFunction } from 'express';
import { projectRoot } from '../paths.js';

export const consoleDistDir = join(projectRoot, 'console', 'dist');

const NOT_BUILT = `<!doctype html><html lang="ko"><meta charset="utf-8"><title>AX console</title>
<p>운영 콘솔이 아직 빌드되지 않았습니다. <code>npm run build</code>를 실행하세요.</p>
<p lang="en">The console has not been built yet: run <code>npm run build</code>.</p></html>`;

export function serveConsole(app: Express, dir: string = consoleDistDir): void {
  const index = join(dir, 'index.html');

  const sendIndex = (_req: Request, res: Response, next: NextFunction) => {
    if (!existsSync(index)) {
      res.status(503).set('Cache-Control', 'no-store').type('html').send(NOT_BUILT);
      return;
    }
    // Relative to `root`: send refuses dot segments only in the part it resolves itself, so an installation
    // under ~/.local/… or /srv/.apps/… still serves the page (an absolute path there would be a 404).
    res.sendFile('index.html', { root: dir, headers: { 'Cache-Control': 'no-cache' }, cacheControl: false }, (err) => {
      if (err) next(err);
    });
  };

  // Hashed bundles: safe to cache forever. A missing asset falls through to the 404 problem.
  app.use(
    '/console/assets',
    express.static(join(dir, 'assets'), {
      index: false,
      redirect: false,
      immutable: true,
      maxAge: '365d',
      fallthrough: true,
    }),
  );
  // The page itself (hash routing keeps every screen on this one URL).
  app.get(['/console', '/console/', '/console/index.html'], sendIndex);
  // Anything else Vite copies from console/public (icons): short-lived, revalidated.
  app.use(
    '/console',
    express.static(dir, {
      index: false,
      redirect: false,
      fallthrough: true,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );
}
