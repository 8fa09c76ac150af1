/**
 * `npm start`'s prestart: build only when the build is missing or its inputs changed since the last build.
 * A restart in production must not compile (tsc + Vite take tens of seconds), and a fresh clone must still
 * come up with `npm ci && npm start`. Freshness is a SHA-256 over the inputs' paths and contents (not mtimes:
 * a checkout or copy touches every file), recorded in dist/.build-inputs after a successful build.
 * Plain JavaScript on purpose: it runs before anything is compiled and needs nothing but Node.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the build reads. src/generated is derived from schemas/, so it is not an input. */
const INPUTS = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'scripts/gen-types.ts',
  'schemas',
  'src',
  'console/index.html',
  'console/tsconfig.json',
  'console/vite.config.ts',
  'console/src',
];
const IGNORED = new Set(['src/generated']);
/** What a build leaves; without any of them the build is missing whatever the stamp says. */
const OUTPUTS = ['dist/server.js', 'console/dist/index.html'];
export const STAMP = 'dist/.build-inputs';

function files(root, path) {
  const abs = join(root, path);
  if (!existsSync(abs) || IGNORED.has(path)) return [];
  const entries = readdirSync(abs, { withFileTypes: true });
  return entries.flatMap((e) => {
    const rel = relative(root, join(abs, e.name)).split(sep).join('/');
    if (e.isDirectory()) return files(root, rel);
    return e.isFile() && !IGNORED.has(rel) ? [rel] : [];
  });
}

/** SHA-256 over every input file's path and bytes, in a stable order. */
export function inputsDigest(root) {
  const hash = createHash('sha256');
  const all = INPUTS.flatMap((p) => {
    const abs = join(root, p);
    if (!existsSync(abs)) return [];
    return statSync(abs).isDirectory() ? files(root, p) : [p];
  }).sort();
  for (const rel of all) {
    hash
      .update(rel)
      .update('\0')
      .update(readFileSync(join(root, rel)))
      .update('\0');
  }
  return hash.digest('hex');
}

/** True when a build is missing or was made from other inputs than those on disk now. */
export function needsBuild(root) {
  if (OUTPUTS.some((o) => !existsSync(join(root, o)))) return true;
  const stamp = join(root, STAMP);
  return !existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== inputsDigest(root);
}

export function recordBuild(root, digest) {
  writeFileSync(join(root, STAMP), digest + '\n');
}

const invokedDirectly = process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  if (!needsBuild(root)) {
    process.stdout.write('build is current; starting without compiling\n');
  } else {
    // Digest first: a file edited during the build makes the next start build again rather than never.
    const digest = inputsDigest(root);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const built = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit' });
    if (built.status !== 0) process.exit(built.status ?? 1);
    recordBuild(root, digest);
  }
}
