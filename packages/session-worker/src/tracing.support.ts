/** Test-only trace ids (exported through `@threadline/session-worker/testing`). */
import type { TraceIds } from './tracing.js';

/**
 * Deterministic trace ids for tests: span ids 1, 2, 3, … and trace ids `a…1`, `a…2`, … (hex, padded), in
 * the order they are asked for.
 */
export function countingTraceIds(): TraceIds {
  let spans = 0;
  let traces = 0;
  return {
    spanId: () => (++spans).toString(16).padStart(16, '0'),
    traceId: () => `a${(++traces).toString(16).padStart(31, '0')}`,
  };
}
