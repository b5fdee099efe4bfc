/**
 * Runs the tasks with at most `window` in flight, in order of start; every task runs even when one fails,
 * and the first failure is thrown once all have settled (so a caller can re-queue the whole batch
 * knowing nothing is still running).
 */
export async function inWindows(tasks: readonly (() => Promise<unknown>)[], window: number): Promise<void> {
  if (!Number.isInteger(window) || window < 1)
    throw new RangeError(`window must be a positive integer, got ${window}`);
  let next = 0;
  let failed = false;
  let failure: unknown;
  const lane = async () => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<unknown>;
      try {
        await task();
      } catch (error) {
        if (!failed) {
          failed = true;
          failure = error;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, tasks.length) }, lane));
  if (failed) throw failure;
}
