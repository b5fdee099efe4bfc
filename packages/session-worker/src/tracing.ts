/**
 * W3C trace context through the worker (ADR 0019): each message the worker writes because of another —
 * the routed chat event, the session record, the deliveries, the compaction result — is a hop. A hop
 * keeps the incoming trace id, flags and `tracestate` and names its own new span as the parent; a message
 * without a valid `traceparent` starts a new trace at the first hop. The context travels in headers only,
 * never in a body, so it can never change a session's history or its hashes.
 *
 * The ids are randomness, so they come from an injected {@link TraceIds} (tests pass a deterministic one).
 * This module only names spans; it does not time, sample or export them.
 */
import { randomBytes } from 'node:crypto';
import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import type { RecordTrace } from '@threadline/event-log';
import {
  continueTrace,
  formatTraceparent,
  parseTraceparent,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  type TraceContext,
  traceHeaders,
} from '@threadline/protocol';

/** Where new span and trace ids come from. */
export interface TraceIds {
  /** 16 lowercase hex digits, not all zero. */
  spanId(): string;
  /** 32 lowercase hex digits, not all zero. */
  traceId(): string;
}

/**
 * Random bytes drawn 4 KiB at a time and handed out in slices: one `randomBytes` call per id cost the
 * worker several percent of its CPU under load (docs/performance.md).
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolOffset = 0;

function randomHex(bytes: number): string {
  for (;;) {
    if (poolOffset + bytes > pool.length) {
      pool = randomBytes(POOL_BYTES);
      poolOffset = 0;
    }
    const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
    poolOffset += bytes;
    if (/[^0]/.test(hex)) return hex; // all zeros is the one invalid value
  }
}

/** Random ids from `node:crypto` (the worker's default). */
export const randomTraceIds: TraceIds = {
  spanId: () => randomHex(8),
  traceId: () => randomHex(16),
};

/** `tracestate` is printable ASCII by its grammar; anything else is dropped rather than passed on. */
const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * The trace context a message's headers carry, or undefined for none or an invalid one (never a reason
 * to refuse the message). A `tracestate` that is not printable ASCII is dropped, the trace kept.
 */
export function traceOf(h: MsgHdrs | undefined): TraceContext | undefined {
  if (h === undefined) return undefined;
  const context = parseTraceparent(h.get(TRACEPARENT_HEADER) || undefined, h.get(TRACESTATE_HEADER) || null);
  if (context?.tracestate !== undefined && !PRINTABLE.test(context.tracestate)) {
    const { tracestate: _dropped, ...rest } = context;
    return rest;
  }
  return context;
}

/**
 * A new hop: the incoming trace (or, without one, a new trace) with a new span of this hop as the parent
 * of what it sends.
 */
export function nextHop(incoming: TraceContext | undefined, ids: TraceIds): TraceContext {
  return continueTrace(incoming, {
    spanId: ids.spanId(),
    traceId: incoming === undefined ? ids.traceId() : incoming.traceId,
  });
}

/** NATS headers carrying `context` (and nothing else; callers add their own). */
export function traceMsgHeaders(context: TraceContext): MsgHdrs {
  const h = natsHeaders();
  for (const [name, value] of Object.entries(traceHeaders(context))) h.set(name, value);
  return h;
}

/** `context` as a session record stores it (headers outside the hash). */
export function recordTraceOf(context: TraceContext): RecordTrace {
  return {
    traceparent: formatTraceparent(context),
    ...(context.tracestate === undefined ? {} : { tracestate: context.tracestate }),
  };
}
