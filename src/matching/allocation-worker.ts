/** Worker-thread entry: solves one allocation instance off the API process's event loop. */
import { parentPort, workerData } from 'node:worker_threads';
import { allocate, type AllocateOptions, type AllocationInstance } from './allocation.js';

const { instance, options } = workerData as { instance: AllocationInstance; options: AllocateOptions };
parentPort!.postMessage(await allocate(instance, options));
