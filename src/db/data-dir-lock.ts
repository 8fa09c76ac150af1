/**
 * One process per embedded data directory. PGlite has no postmaster to arbitrate: a second process opening the
 * same directory works on its own copy in memory and what it writes is lost (the admin command printed "Created
 * operator" while `npm start` ran, and the user never existed). The first process writes its pid to a lock file
 * created with O_EXCL; the next one refuses with a message naming the holder. A lock whose process is gone
 * (kill -9, power loss) is taken over: it is moved aside atomically, so two processes taking over a stale lock at
 * once cannot both win.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'ax-registry.lock';

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by process ${holderPid}; two processes cannot share it. ` +
        'Stop that process first, or run this against the same PostgreSQL server with DATABASE_URL.',
    );
    this.name = 'DataDirLockedError';
  }
}

/** Lock files this process holds: a pid equal to ours is stale (containers reuse pid 1) unless listed here. */
const held = new Set<string>();

function alive(pid: number, path: string): boolean {
  if (pid === process.pid) return held.has(path);
  try {
    process.kill(pid, 0); // a probe: sends nothing
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function holderOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

export interface DataDirLock {
  release(): void;
}

/** Takes the directory's lock or throws DataDirLockedError. Released by release() or when the process exits. */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    if (tryCreate(path)) break;
    const holder = holderOf(path);
    if (holder !== undefined && alive(holder, path)) throw new DataDirLockedError(dataDir, holder);
    // An empty file is a holder between create and write: give it a turn before calling it stale.
    if (holder === undefined && attempt < 3) continue;
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else moved it: try again
      throw err;
    }
    const moved = holderOf(aside);
    if (moved !== undefined && moved !== holder && alive(moved, path)) {
      // We moved a live lock taken in between: put it back unless yet another appeared, and refuse.
      try {
        linkSync(aside, path);
      } catch {
        // a newer lock is in place; the live holder keeps running on its open database either way
      }
      unlinkSync(aside);
      throw new DataDirLockedError(dataDir, moved);
    }
    unlinkSync(aside);
    if (attempt > 10) throw new Error(`Could not take the lock ${path}`);
  }
  held.add(path);
  const release = () => {
    if (!held.delete(path)) return;
    process.removeListener('exit', release);
    if (holderOf(path) === process.pid) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', release);
  return { release };
}
