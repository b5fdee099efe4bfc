import { describe, expect, it } from 'vitest';
import { metaGroupFormed } from './natsCluster.js';

describe('metaGroupFormed', () => {
  // The `/jsz` a CI run's 3-node formation timed out on: every node routed and current, a size of 2.
  const seenInCi = {
    leader: 'threadline-local-n1',
    cluster_size: 2,
    replicas: [
      { name: 'threadline-local-n2', current: true },
      { name: 'threadline-local-n3', current: true },
    ],
  };

  it('accepts a leader with size - 1 current peers even when cluster_size lags', () => {
    expect(metaGroupFormed(seenInCi, 3)).toBe(true);
  });

  it('accepts a leader with the full cluster size', () => {
    expect(metaGroupFormed({ leader: 'n1', cluster_size: 3 }, 3)).toBe(true);
  });

  it('refuses without a leader, whatever the peers', () => {
    expect(metaGroupFormed({ ...seenInCi, leader: '' }, 3)).toBe(false);
    expect(metaGroupFormed({ cluster_size: 3 }, 3)).toBe(false);
    expect(metaGroupFormed(undefined, 3)).toBe(false);
  });

  it('refuses when a peer is missing or not current', () => {
    expect(metaGroupFormed({ ...seenInCi, replicas: seenInCi.replicas.slice(0, 1) }, 3)).toBe(false);
    expect(
      metaGroupFormed(
        {
          ...seenInCi,
          replicas: [seenInCi.replicas[0] as never, { name: 'threadline-local-n3', current: false }],
        },
        3,
      ),
    ).toBe(false);
  });

  it('counts a peer listed twice once', () => {
    const twice = [seenInCi.replicas[0], seenInCi.replicas[0]] as { name: string; current: boolean }[];
    expect(metaGroupFormed({ ...seenInCi, replicas: twice }, 3)).toBe(false);
  });
});
