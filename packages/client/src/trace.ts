/**
 * The trace context a publish carries (docs/protocol.md, "Trace context"): the publish is a span of its
 * own, a child of the caller's span when the caller passes its context, else the root of a new trace.
 * The protocol's pure helpers do the work; this file only chooses the random ids.
 */
import { randomBytes } from 'node:crypto';
import { continueTrace, parseTraceparent, type TraceContext } from '@threadline/protocol';

/** Where the ids of a new span (and of a new trace) come from; injectable for tests. */
export type TraceIdSource = () => { traceId: string; spanId: string };

/** Random ids from node:crypto: 16 bytes of trace id, 8 of span id (all-zero ids are invalid: redrawn). */
export const randomTraceIds: TraceIdSource = () => {
  const hex = (bytes: number) => {
    for (;;) {
      const value = randomBytes(bytes).toString('hex');
      if (!/^0+$/.test(value)) return value;
    }
  };
  return { traceId: hex(16), spanId: hex(8) };
};

/**
 * The caller's side of a trace: a `traceparent` header value (with an optional `tracestate`), or a
 * parsed {@link TraceContext}. An invalid `traceparent` is not an error — as everywhere in Threadline it
 * starts a new trace — so a publish never fails over tracing.
 */
export type TraceInput = string | TraceContext | { traceparent: string; tracestate?: string };

/** The context to send: the caller's trace continued with a new span, or a new trace. */
export function publishTrace(input: TraceInput | undefined, ids: TraceIdSource): TraceContext {
  const incoming =
    input === undefined
      ? undefined
      : typeof input === 'string'
        ? parseTraceparent(input)
        : 'traceparent' in input
          ? parseTraceparent(input.traceparent, input.tracestate)
          : // Re-read through the parser, so a hand-built context with bad ids starts a new trace too.
            parseTraceparent(`00-${input.traceId}-${input.parentId}-${input.flags}`, input.tracestate);
  return continueTrace(incoming, ids());
}
