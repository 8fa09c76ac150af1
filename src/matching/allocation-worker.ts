/** Worker-thread entry: builds and solves one allocation off the API process's event loop. */
import { parentPort, workerData } from 'node:worker_threads';
import { allocate, allocatePlans, type AllocateOptions, type AllocationInstance } from './allocation.js';
import { buildPlanInstance, type PlanScene } from './allocation-instance.js';
import { SCARCE } from './candidates.js';

const data = workerData as { instance?: AllocationInstance; scene?: PlanScene; options: AllocateOptions };
// A scene is built here too: the plan search for a thousand pilots is seconds of CPU work of its own.
parentPort!.postMessage(
  data.scene
    ? await allocatePlans(buildPlanInstance(data.scene, SCARCE), data.options)
    : await allocate(data.instance!, data.options),
);
