/** How long the protocol's fuzz properties run (test-only, not part of the build). */

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
const override = Number(env.FC_NUM_RUNS);
const longRun = Number.isInteger(override) && override > 0;

/**
 * The number of runs of a property: the CI-sized `ci`, or with `FC_NUM_RUNS` (a positive integer) set
 * that many — divided by `cost` for a property whose single run is that many times more expensive (deep
 * nesting, huge strings).
 */
export const runs = (ci: number, cost = 1): number =>
  longRun ? Math.max(ci, Math.ceil(override / cost)) : ci;

/** No per-test time limit for a long run; a generous one in CI. */
export const TIMEOUT = longRun ? 24 * 3_600_000 : 30_000;
