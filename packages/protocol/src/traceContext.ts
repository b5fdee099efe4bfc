/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) as Threadline carries it in NATS headers:
 * `traceparent` (`00-<trace id>-<parent span id>-<flags>`) and, passed through untouched, `tracestate`.
 * A producer starts a trace (or continues its own); every hop that republishes — router, session,
 * delivery — keeps the trace id and names itself as the new parent span. Pure: the span ids come in as
 * arguments, so a caller chooses random ids (live) or derived ones (tests, replays).
 */

export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

/** The parts of a `traceparent` header, lowercase hex. */
export interface TraceContext {
  /** 32 hex digits, not all zero. */
  traceId: string;
  /** 16 hex digits, not all zero: the span that sent the message. */
  parentId: string;
  /** 2 hex digits; bit 0 is `sampled`. */
  flags: string;
  /** The vendor `tracestate` list, passed through as received. */
  tracestate?: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/** The longest `tracestate` passed on (the spec's limit is 32 list members; this bounds hostile input). */
export const MAX_TRACESTATE_LENGTH = 512;

/**
 * Reads a `traceparent` (and optional `tracestate`) header. Undefined for an absent or invalid one: a
 * bad header starts a new trace downstream, it never rejects the message. Version `ff` is invalid; a
 * higher version than 00 is read by its first four fields, as the spec asks.
 */
export function parseTraceparent(
  traceparent: string | undefined | null,
  tracestate?: string | null,
): TraceContext | undefined {
  if (!traceparent) return undefined;
  const match = TRACEPARENT.exec(traceparent.trim());
  if (!match) return undefined;
  const [, version, traceId, parentId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined;
  const state = tracestate?.trim();
  return {
    traceId,
    parentId,
    flags,
    ...(state && state.length <= MAX_TRACESTATE_LENGTH ? { tracestate: state } : {}),
  };
}

/** The `traceparent` header value of a context (always version 00). */
export function formatTraceparent(context: Pick<TraceContext, 'traceId' | 'parentId' | 'flags'>): string {
  return `00-${context.traceId}-${context.parentId}-${context.flags}`;
}

/** Whether `id` is a valid span id (16 lowercase hex digits, not all zero). */
export function isSpanId(id: string): boolean {
  return /^[0-9a-f]{16}$/.test(id) && id !== ZERO_SPAN;
}

/** Whether `id` is a valid trace id (32 lowercase hex digits, not all zero). */
export function isTraceId(id: string): boolean {
  return /^[0-9a-f]{32}$/.test(id) && id !== ZERO_TRACE;
}

/**
 * The context a hop sends on: the same trace and flags (and tracestate), with `spanId` — the hop's own
 * span — as the parent. Without an incoming context, a new trace `traceId` starts here, sampled.
 */
export function continueTrace(
  incoming: TraceContext | undefined,
  ids: { spanId: string; traceId: string },
): TraceContext {
  if (!isSpanId(ids.spanId)) throw new TypeError(`not a span id: ${JSON.stringify(ids.spanId)}`);
  if (incoming) return { ...incoming, parentId: ids.spanId };
  if (!isTraceId(ids.traceId)) throw new TypeError(`not a trace id: ${JSON.stringify(ids.traceId)}`);
  return { traceId: ids.traceId, parentId: ids.spanId, flags: '01' };
}

/** The headers that carry a context: `traceparent`, and `tracestate` when there is one. */
export function traceHeaders(context: TraceContext): Record<string, string> {
  return {
    [TRACEPARENT_HEADER]: formatTraceparent(context),
    ...(context.tracestate === undefined ? {} : { [TRACESTATE_HEADER]: context.tracestate }),
  };
}
