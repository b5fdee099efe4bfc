import { describe, expect, it } from 'vitest';
import { defaultHeartbeatMs, leaseTimings } from './leadership.js';

describe('defaultHeartbeatMs', () => {
  it.each([
    [10_000, 2_000],
    [600_000, 2_000],
    [6_000, 2_000],
    [2_000, 666],
    [1_000, 333],
    [500, 166],
  ])('given a lease TTL of %i ms, then the heartbeat is %i ms (below the TTL)', (ttl, beat) => {
    expect(defaultHeartbeatMs(ttl)).toBe(beat);
    expect(defaultHeartbeatMs(ttl)).toBeLessThan(ttl);
  });
});

describe('leaseTimings', () => {
  it('given a lease TTL, then the registry lives as long and the heartbeat is the default for it', () => {
    expect(leaseTimings(2_000)).toEqual({ leaseTtlMs: 2_000, registryTtlMs: 2_000, heartbeatMs: 666 });
  });

  it('given a heartbeat too, then it is kept; given nothing, then the ownership defaults apply', () => {
    expect(leaseTimings(3_000, 500)).toEqual({ leaseTtlMs: 3_000, registryTtlMs: 3_000, heartbeatMs: 500 });
    expect(leaseTimings(undefined)).toEqual({});
  });
});
