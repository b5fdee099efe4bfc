import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  continueTrace,
  formatTraceparent,
  MAX_TRACESTATE_LENGTH,
  parseTraceparent,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  traceHeaders,
} from './traceContext.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${SPAN}-01`;

describe('W3C traceparent', () => {
  it('reads the example of the W3C spec and writes it back unchanged', () => {
    const context = parseTraceparent(VALID, 'congo=t61rcWkgMzE');
    expect(context).toEqual({ traceId: TRACE, parentId: SPAN, flags: '01', tracestate: 'congo=t61rcWkgMzE' });
    expect(formatTraceparent(context as never)).toBe(VALID);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['upper-case hex', VALID.toUpperCase()],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['version 00 with extra fields', `${VALID}-extra`],
    ['short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['junk', 'hello'],
  ])('refuses %s, so the next hop starts a new trace', (_, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('reads a future version by its first four fields', () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-what-comes-next`)).toMatchObject({ traceId: TRACE });
  });

  it('drops an oversized tracestate but keeps the trace', () => {
    const context = parseTraceparent(VALID, 'a='.padEnd(MAX_TRACESTATE_LENGTH + 1, 'x'));
    expect(context).toEqual({ traceId: TRACE, parentId: SPAN, flags: '01' });
  });

  it('a hop keeps the trace id, flags and tracestate and names its own span as the parent', () => {
    const incoming = parseTraceparent(`00-${TRACE}-${SPAN}-00`, 'k=v');
    const next = continueTrace(incoming, { spanId: 'aaaaaaaaaaaaaaaa', traceId: 'b'.repeat(32) });
    expect(traceHeaders(next)).toEqual({
      [TRACEPARENT_HEADER]: `00-${TRACE}-aaaaaaaaaaaaaaaa-00`,
      [TRACESTATE_HEADER]: 'k=v',
    });
  });

  it('without an incoming context a new sampled trace starts', () => {
    const next = continueTrace(undefined, { spanId: 'aaaaaaaaaaaaaaaa', traceId: 'b'.repeat(32) });
    expect(traceHeaders(next)).toEqual({ [TRACEPARENT_HEADER]: `00-${'b'.repeat(32)}-aaaaaaaaaaaaaaaa-01` });
  });

  it('refuses invalid ids instead of sending a header nobody can read', () => {
    expect(() => continueTrace(undefined, { spanId: '0'.repeat(16), traceId: TRACE })).toThrow(/span id/);
    expect(() => continueTrace(undefined, { spanId: SPAN, traceId: 'xyz' })).toThrow(/trace id/);
  });

  it('every valid context survives format then parse', () => {
    const hex = (n: number) =>
      fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`)).filter((s) => /[1-9a-f]/.test(s));
    fc.assert(
      fc.property(hex(32), hex(16), fc.stringMatching(/^[0-9a-f]{2}$/), (traceId, parentId, flags) => {
        expect(parseTraceparent(formatTraceparent({ traceId, parentId, flags }))).toEqual({
          traceId,
          parentId,
          flags,
        });
      }),
    );
  });
});
