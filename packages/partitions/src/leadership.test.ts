import { describe, expect, it } from 'vitest';
import { defaultHeartbeatMs } from './leadership.js';

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
