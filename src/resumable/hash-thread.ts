/**
 * SHA-256 with a saveable state (hash-wasm) in a worker thread. WebAssembly hashes at a fraction of the speed
 * of the process's native SHA-256, and a PATCH body hashed on the event loop would slow the upload it belongs
 * to; on its own thread it runs beside the receiving and writing. One worker serves every upload of the process
 * (unref'd: it never keeps the process alive); chunks are copied to it, and a writer waits while more than
 * IN_FLIGHT bytes are queued, so memory stays bounded whatever the client sends.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const IN_FLIGHT = 8 * 1024 * 1024;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createSHA256 } = require(workerData.hashWasm);
const jobs = new Map();
parentPort.on('message', (m) => {
  const prev = jobs.get(m.job) ?? Promise.resolve(undefined);
  const next = prev.then(async (hasher) => {
    if (m.op === 'start') {
      const h = await createSHA256();
      h.init();
      if (m.state) h.load(m.state);
      return h;
    }
    if (!hasher) {
      jobs.delete(m.job);
      return undefined;
    }
    if (m.op === 'update') {
      hasher.update(m.chunk);
      parentPort.postMessage({ job: m.job, op: 'ack', bytes: m.chunk.length });
      return hasher;
    }
    jobs.delete(m.job);
    if (m.op === 'save') parentPort.postMessage({ job: m.job, op: 'state', state: hasher.save() });
    return undefined;
  }).catch((err) => {
    jobs.delete(m.job);
    parentPort.postMessage({ job: m.job, op: 'error', message: String(err && err.message) });
    return undefined;
  });
  if (m.op !== 'save' && m.op !== 'drop') jobs.set(m.job, next);
});
`;

interface Job {
  inFlight: number;
  drained?: () => void;
  saved?: { resolve(state: Uint8Array): void; reject(err: Error): void };
  error?: Error;
}

let worker: Worker | undefined;
const jobs = new Map<number, Job>();
let nextJob = 1;

function hashWorker(): Worker {
  if (worker) return worker;
  const hashWasm = createRequire(import.meta.url).resolve('hash-wasm');
  const w = new Worker(WORKER, { eval: true, workerData: { hashWasm } });
  w.unref();
  w.on('message', (m: { job: number; op: string; bytes?: number; state?: Uint8Array; message?: string }) => {
    const job = jobs.get(m.job);
    if (!job) return;
    if (m.op === 'ack') {
      job.inFlight -= m.bytes!;
      if (job.inFlight <= IN_FLIGHT / 2) job.drained?.();
    } else if (m.op === 'state') {
      jobs.delete(m.job);
      job.saved?.resolve(m.state!);
    } else fail(m.job, new Error(`hashing failed: ${m.message}`));
  });
  const lost = (err: Error) => {
    if (worker === w) worker = undefined;
    for (const id of [...jobs.keys()]) fail(id, err);
  };
  w.on('error', lost);
  w.on('exit', () => lost(new Error('the hashing thread exited')));
  worker = w;
  return w;
}

function fail(id: number, err: Error) {
  const job = jobs.get(id);
  if (!job) return;
  jobs.delete(id);
  job.error = err;
  job.drained?.();
  job.saved?.reject(err);
}

/** A running SHA-256 on the hashing thread, from a saved state (or the start). */
export interface ThreadHash {
  /** Queues a chunk; resolves at once unless too much is queued, then once the thread caught up. */
  update(chunk: Uint8Array): Promise<void> | undefined;
  /** The state after every chunk queued; rejects when hashing failed. */
  save(): Promise<Uint8Array>;
  /** Abandons the hash. */
  drop(): void;
}

export function threadHash(state: Uint8Array | null): ThreadHash {
  const w = hashWorker();
  const id = nextJob++;
  const job: Job = { inFlight: 0 };
  jobs.set(id, job);
  w.postMessage({ job: id, op: 'start', state });
  return {
    update(chunk) {
      if (job.error) return undefined;
      // A copy the thread owns: the chunk may be a view into a larger buffer that is reused.
      const copy = new Uint8Array(chunk);
      job.inFlight += copy.length;
      w.postMessage({ job: id, op: 'update', chunk: copy }, [copy.buffer]);
      if (job.inFlight <= IN_FLIGHT) return undefined;
      return new Promise<void>((resolve) => {
        job.drained = () => {
          job.drained = undefined;
          resolve();
        };
      });
    },
    save() {
      if (job.error) return Promise.reject(job.error);
      return new Promise<Uint8Array>((resolve, reject) => {
        job.saved = { resolve, reject };
        w.postMessage({ job: id, op: 'save' });
      });
    },
    drop() {
      jobs.delete(id);
      if (!job.error) w.postMessage({ job: id, op: 'drop' });
    },
  };
}
