/**
 * Allocation as the problem grows: the pure allocation (instance build, MIP, LP bound, greedy) on generated
 * scenes from 500 pilots × 1,250 slots to 4,000 × 10,000 (seed 1, the generator of the matching suite), with
 * the solver's 10 s limit. Reports time, the gap to the LP bound and the solver's status per size.
 */
import { buildInstance } from '../../src/matching/allocation-instance.js';
import { allocate } from '../../src/matching/allocation.js';
import { SCARCE } from '../../src/matching/candidates.js';
import { generateScene } from './matching-instance.js';

export interface AllocationPoint {
  pilots: number;
  slots: number;
  pairs: number;
  buildMs: number;
  solveMs: number;
  matched: number;
  gap: number;
  gainOverGreedy: number;
  status: string;
}

/** BENCH_ALLOCATION_SIZES=500x1250,1000x2500 overrides the sizes. */
const ALLOCATION_SIZES: [number, number][] = process.env.BENCH_ALLOCATION_SIZES
  ? process.env.BENCH_ALLOCATION_SIZES.split(',').map((s) => s.split('x').map(Number) as [number, number])
  : [
      [500, 1250],
      [1000, 2500],
      [2000, 5000],
      [4000, 10000],
    ];

export async function runAllocationCurve(sizes = ALLOCATION_SIZES): Promise<AllocationPoint[]> {
  const out: AllocationPoint[] = [];
  // Load and compile the solver first, so the smallest size does not carry it.
  const warm = generateScene(2, 50, 125);
  await allocate(buildInstance(warm.pilots, warm.offers, SCARCE), { method: 'optimal', timeLimitSeconds: 10 });
  for (const [pilots, slots] of sizes) {
    const { pilots: ps, offers } = generateScene(1, pilots, slots);
    const t0 = performance.now();
    const instance = buildInstance(ps, offers, SCARCE);
    const t1 = performance.now();
    const { summary } = await allocate(instance, { method: 'optimal', timeLimitSeconds: 10 });
    const t2 = performance.now();
    out.push({
      pilots,
      slots,
      pairs: summary.pairs,
      buildMs: t1 - t0,
      solveMs: t2 - t1,
      matched: summary.matched,
      gap: summary.gap ?? NaN,
      gainOverGreedy: summary.gainOverGreedy / Math.max(1e-9, summary.greedyObjective),
      status: summary.solver.status,
    });
    console.log(
      `  allocation ${pilots} × ${slots}: ${((t2 - t0) / 1000).toFixed(2)} s, gap ${((summary.gap ?? NaN) * 100).toFixed(2)} %, ${summary.solver.status}`,
    );
  }
  return out;
}
