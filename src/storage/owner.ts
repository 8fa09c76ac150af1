/**
 * Which process owns a temporary upload, so that a start-up sweep in one process never removes a file another
 * live process is still writing (several API processes may share one uploads directory or bucket).
 *
 * A temporary's name starts with its owner: host, pid and start time. The owner refreshes a lease (a file
 * in a leases directory, its mtime) while it runs. A temporary is live when its owner is this process, or when
 * the owner's lease is fresh and, on this host, its pid still runs. A process killed with SIGKILL stops
 * refreshing: on its own host its temporaries are sweepable at once (the pid is gone); elsewhere after
 * LEASE_STALE_MS.
 */
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

const LEASE_REFRESH_MS = 10_000;
const LEASE_STALE_MS = 60_000;

const host = () =>
  hostname()
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 63) || 'host';
const started = Date.now().toString(36);
let self: string | undefined;

/** This process's owner name: `<host>.<pid>.<start>`. */
export function processOwner(): string {
  self ??= `${host()}.${process.pid}.${started}`;
  return self;
}

const OWNER = /^([a-z0-9-]+)\.(\d+)\.([a-z0-9]+)$/;

/** The owner part of a temporary's id (`<owner>~<uuid>`), or undefined for names without one. */
export function ownerOf(tempId: string): string | undefined {
  const i = tempId.indexOf('~');
  if (i < 0) return undefined;
  const owner = tempId.slice(0, i);
  return OWNER.test(owner) ? owner : undefined;
}

const leases = new Set<string>();

/** Starts refreshing this process's lease in dir (once per dir); the timer never keeps the process alive. */
export function startLease(dir: string): void {
  if (leases.has(dir)) return;
  leases.add(dir);
  const path = join(dir, processOwner());
  mkdirSync(dir, { recursive: true });
  writeFileSync(path, '');
  const timer = setInterval(() => {
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      // The lease was swept away (or the directory removed): recreate it.
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(path, '');
      } catch {
        // The directory is gone for good (a test removed it): nothing left to protect.
      }
    }
  }, LEASE_REFRESH_MS);
  timer.unref();
}

function pidRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the owner of a temporary (leases in dir) may still be writing it. */
export async function isLive(dir: string, owner: string, now = Date.now()): Promise<boolean> {
  if (owner === processOwner()) return true;
  const m = OWNER.exec(owner);
  if (!m) return false;
  if (m[1] === host()) {
    const pid = Number(m[2]);
    // The same pid under another start time is this process's predecessor (containers reuse pids).
    if (pid === process.pid || !pidRuns(pid)) return false;
  }
  const lease = await stat(join(dir, owner)).catch(() => undefined);
  return lease !== undefined && now - lease.mtimeMs < LEASE_STALE_MS;
}

/** Whether an owner may still run, judged on this host only (a pid gone); owners on other hosts count as live. */
export function isLiveOnThisHost(owner: string): boolean {
  if (owner === processOwner()) return true;
  const m = OWNER.exec(owner);
  if (!m || m[1] !== host()) return true;
  const pid = Number(m[2]);
  return pid !== process.pid && pidRuns(pid);
}
