/**
 * A bound on allocation runs in flight in one API process. Each run solves on a worker thread and holds large
 * reads in memory; a burst of them starved the process (on the embedded database six parallel runs stopped
 * /healthz answering for ten seconds). Past the bound a run is refused with 429 and Retry-After, not queued,
 * so the operator sees at once that the earlier runs are still working.
 */
import { AppError } from '../core/errors.js';

export class RunGate {
  private inFlight = 0;

  constructor(readonly limit: number) {}

  get running(): number {
    return this.inFlight;
  }

  /** Runs fn if a place is free, else throws 429 allocation-runs-busy. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.limit) {
      throw new AppError(
        429,
        'allocation-runs-busy',
        'Too many requests',
        `${this.inFlight} allocation run(s) are already in flight, the most this process runs at once; retry when one finishes.`,
        { limit: this.limit },
      );
    }
    this.inFlight += 1;
    try {
      return await fn();
    } finally {
      this.inFlight -= 1;
    }
  }
}
