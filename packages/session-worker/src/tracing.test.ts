import { headers } from '@nats-io/transport-node';
import { isSpanId, isTraceId } from '@threadline/protocol';
import { describe, expect, it } from 'vitest';
import { nextHop, randomTraceIds, recordTraceOf, traceMsgHeaders, traceOf } from './tracing.js';
import { countingTraceIds } from './tracing.support.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

const withHeaders = (fields: Record<string, string>) => {
  const h = headers();
  for (const [name, value] of Object.entries(fields)) h.set(name, value);
  return h;
};

describe('traceOf', () => {
  it('given a valid traceparent and tracestate, then both are read', () => {
    expect(traceOf(withHeaders({ traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'a=1,b=2' }))).toEqual({
      traceId: TRACE,
      parentId: PARENT,
      flags: '01',
      tracestate: 'a=1,b=2',
    });
  });

  it('given no headers, none, or an invalid traceparent, then there is no context', () => {
    expect(traceOf(undefined)).toBeUndefined();
    expect(traceOf(withHeaders({ other: 'x' }))).toBeUndefined();
    expect(traceOf(withHeaders({ traceparent: `00-${'0'.repeat(32)}-${PARENT}-01` }))).toBeUndefined();
    expect(traceOf(withHeaders({ traceparent: 'garbage', tracestate: 'a=1' }))).toBeUndefined();
  });

  it('given a tracestate that is not printable ASCII, then it is dropped and the trace kept', () => {
    expect(traceOf(withHeaders({ traceparent: `00-${TRACE}-${PARENT}-00`, tracestate: 'a=\u00e9' }))).toEqual(
      {
        traceId: TRACE,
        parentId: PARENT,
        flags: '00',
      },
    );
  });
});

describe('nextHop', () => {
  it('given an incoming context, then the trace, flags and tracestate stay and the span is new; no trace id is drawn', () => {
    const ids = countingTraceIds();
    const incoming = { traceId: TRACE, parentId: PARENT, flags: '00', tracestate: 'a=1' };
    expect(nextHop(incoming, ids)).toEqual({ ...incoming, parentId: '0000000000000001' });
    expect(nextHop(undefined, ids).traceId).toBe(`a${'1'.padStart(31, '0')}`); // the first trace id drawn
  });

  it('given none, then a new sampled trace starts, and its headers and record form carry it', () => {
    const hop = nextHop(undefined, countingTraceIds());
    const traceparent = `00-a${'1'.padStart(31, '0')}-0000000000000001-01`;
    expect(traceMsgHeaders(hop).get('traceparent')).toBe(traceparent);
    expect(traceMsgHeaders(hop).has('tracestate')).toBe(false);
    expect(recordTraceOf(hop)).toEqual({ traceparent });
    expect(recordTraceOf({ ...hop, tracestate: 'a=1' })).toEqual({ traceparent, tracestate: 'a=1' });
  });
});

describe('randomTraceIds', () => {
  it('gives valid, distinct ids', () => {
    const spans = new Set(Array.from({ length: 100 }, () => randomTraceIds.spanId()));
    const traces = new Set(Array.from({ length: 100 }, () => randomTraceIds.traceId()));
    expect(spans.size).toBe(100);
    expect(traces.size).toBe(100);
    expect([...spans].every(isSpanId)).toBe(true);
    expect([...traces].every(isTraceId)).toBe(true);
  });
});
