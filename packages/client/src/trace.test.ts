import { isSpanId, isTraceId } from '@threadline/protocol';
import { describe, expect, it } from 'vitest';
import { publishTrace, randomTraceIds } from './trace.js';

const ids = () => ({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) });
const CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('publishTrace', () => {
  it("continues the caller's trace with the publish as the new parent span", () => {
    expect(publishTrace(CALLER, ids)).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      parentId: 'b'.repeat(16),
      flags: '01',
    });
    expect(publishTrace({ traceparent: CALLER, tracestate: 'vendor=1' }, ids)).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      tracestate: 'vendor=1',
    });
    expect(
      publishTrace(
        { traceId: '0af7651916cd43dd8448eb211c80319c', parentId: 'c'.repeat(16), flags: '00' },
        ids,
      ),
    ).toEqual({ traceId: '0af7651916cd43dd8448eb211c80319c', parentId: 'b'.repeat(16), flags: '00' });
  });

  it('starts a new sampled trace without a context or with an invalid one', () => {
    const fresh = { traceId: 'a'.repeat(32), parentId: 'b'.repeat(16), flags: '01' };
    expect(publishTrace(undefined, ids)).toEqual(fresh);
    expect(publishTrace('not a traceparent', ids)).toEqual(fresh);
    expect(publishTrace({ traceId: '0'.repeat(32), parentId: 'c'.repeat(16), flags: '01' }, ids)).toEqual(
      fresh,
    );
  });

  it('draws valid random ids', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const { traceId, spanId } = randomTraceIds();
      expect(isTraceId(traceId) && isSpanId(spanId)).toBe(true);
      seen.add(traceId);
    }
    expect(seen.size).toBe(50);
  });
});
