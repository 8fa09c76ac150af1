/**
 * Runs allocate() in a worker thread, so a solver working for seconds does not stall every other request the
 * process is serving. The input and result are plain data; the worker loads its own HiGHS instance.
 */
import { Worker } from 'node:worker_threads';
import type { AllocateOptions, AllocationInstance, AllocationResult } from './allocation.js';

/**
 * Built, the worker is JavaScript beside this file. Under tsx (tests, npm run dev) it is TypeScript, and a
 * worker thread does not inherit tsx's loader, so a two-line bootstrap registers it before importing the entry.
 */
function startWorker(workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./allocation-worker.js', import.meta.url), { workerData });
  const entry = JSON.stringify(new URL('./allocation-worker.ts', import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
// HiGHS stops itself at the time limit; this only guards against a worker that never answers.
const GRACE_MS = 30_000;

export function allocateOffThread(instance: AllocationInstance, options: AllocateOptions): Promise<AllocationResult> {
  return new Promise((resolve, reject) => {
    const worker = startWorker({ instance, options });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error('allocation worker did not answer within its time limit'));
    }, options.timeLimitSeconds * 1000 + GRACE_MS);
    timer.unref();
    worker.once('message', (result: AllocationResult) => {
      clearTimeout(timer);
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`allocation worker exited with code ${code}`));
    });
  });
}
