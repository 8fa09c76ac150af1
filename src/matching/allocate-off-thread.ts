/**
 * Runs allocate() in a worker thread, so a solver working for seconds does not stall every other request the
 * process is serving. The input and result are plain data; the worker loads its own HiGHS instance.
 */
import { Worker } from 'node:worker_threads';
import type { AllocateOptions, AllocationInstance, AllocationResult, PlanAllocationResult } from './allocation.js';
import type { PlanScene } from './allocation-instance.js';

/**
 * Built, the worker is JavaScript beside this file. Under tsx (tests, npm run dev) it is TypeScript, and a
 * worker thread does not inherit tsx's loader, so a two-line bootstrap registers it before importing the entry.
 */
function startWorker(workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./allocation-worker.js', import.meta.url), { workerData });
  const entry = JSON.stringify(new URL('./allocation-worker.ts', import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
// HiGHS stops itself at the time limit; this only guards against a worker that never answers. A scene's plan
// search runs before the solver and has no limit of its own (it is bounded by the search limits), hence more grace.
const GRACE_MS = 30_000;
const SCENE_GRACE_MS = 300_000;

export function allocateOffThread(instance: AllocationInstance, options: AllocateOptions): Promise<AllocationResult> {
  return offThread({ instance, options }, options, GRACE_MS);
}

/** Builds the whole-plan instance of a scene (plan search per pilot) and solves it, both in the worker. */
export function allocatePlansOffThread(scene: PlanScene, options: AllocateOptions): Promise<PlanAllocationResult> {
  return offThread({ scene, options }, options, SCENE_GRACE_MS);
}

function offThread<T>(workerData: unknown, options: AllocateOptions, graceMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = startWorker(workerData);
    const timer = setTimeout(
      () => {
        void worker.terminate();
        reject(new Error('allocation worker did not answer within its time limit'));
      },
      options.timeLimitSeconds * 1000 + graceMs,
    );
    timer.unref();
    worker.once('message', (result: T) => {
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
