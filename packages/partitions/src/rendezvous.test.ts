import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rendezvousOwner, rendezvousScore } from './rendezvous.js';

const workerId = fc.stringMatching(/^[a-z0-9][-a-z0-9_]{0,15}$/);
const workerSet = (min: number, max: number) => fc.uniqueArray(workerId, { minLength: min, maxLength: max });
const partition = fc.nat({ max: 10_000 });

function assign(partitions: number, workers: readonly string[]): Map<string, number[]> {
  const out = new Map<string, number[]>(workers.map((w) => [w, []]));
  for (let p = 0; p < partitions; p++) {
    const owner = rendezvousOwner(p, workers);
    if (owner !== undefined) out.get(owner)?.push(p);
  }
  return out;
}

describe('rendezvousOwner', () => {
  it('is deterministic and stable across processes (pinned values)', () => {
    const workers = ['worker-a', 'worker-b', 'worker-c'];
    const owners = Array.from({ length: 16 }, (_, p) => rendezvousOwner(p, workers));
    expect(Array.from({ length: 16 }, (_, p) => rendezvousOwner(p, workers))).toEqual(owners);
    // Pinned: a change of hash would silently move every partition of a running fleet during a rolling
    // upgrade (old and new workers disagreeing), so it must be a deliberate, visible change.
    expect(rendezvousScore(7, 'worker-a')).toBe(7891174787550490802n);
    expect(owners).toEqual([
      'worker-c',
      'worker-a',
      'worker-a',
      'worker-b',
      'worker-b',
      'worker-a',
      'worker-a',
      'worker-c',
      'worker-c',
      'worker-a',
      'worker-b',
      'worker-b',
      'worker-c',
      'worker-c',
      'worker-a',
      'worker-a',
    ]);
  });

  it('spreads 16 partitions over 3 workers: each gets some', () => {
    const spread = assign(16, ['worker-a', 'worker-b', 'worker-c']);
    for (const [, owned] of spread) expect(owned.length).toBeGreaterThanOrEqual(2);
    expect([...spread.values()].flat().sort((a, b) => a - b)).toEqual(
      Array.from({ length: 16 }, (_, p) => p),
    );
  });

  it('spreads many partitions evenly over any 3 workers', () => {
    fc.assert(
      fc.property(workerSet(3, 3), (workers) => {
        // 300 partitions: 100 expected each, standard deviation about 8; 60 is five deviations away.
        for (const [, owned] of assign(300, workers)) expect(owned.length).toBeGreaterThan(60);
      }),
      { numRuns: 50 },
    );
  });

  it('returns undefined for no workers, a member otherwise, independent of order and duplicates', () => {
    expect(rendezvousOwner(3, [])).toBeUndefined();
    fc.assert(
      fc.property(partition, workerSet(1, 8), fc.nat(), (p, workers, rotate) => {
        const owner = rendezvousOwner(p, workers);
        expect(workers).toContain(owner);
        const k = rotate % workers.length;
        const reordered = [...workers.slice(k), ...workers.slice(0, k)].reverse();
        expect(rendezvousOwner(p, [...reordered, ...workers])).toBe(owner);
      }),
    );
  });

  it('removing a worker moves only the partitions that worker owned', () => {
    fc.assert(
      fc.property(workerSet(2, 8), fc.nat(), (workers, pick) => {
        const leaving = workers[pick % workers.length] as string;
        const remaining = workers.filter((w) => w !== leaving);
        for (let p = 0; p < 64; p++) {
          const before = rendezvousOwner(p, workers);
          const after = rendezvousOwner(p, remaining);
          if (before !== leaving) expect(after).toBe(before);
          else expect(after).not.toBe(leaving);
        }
      }),
    );
  });

  it('adding a worker moves partitions only to the newcomer', () => {
    fc.assert(
      fc.property(workerSet(2, 8), (workers) => {
        const [joining, ...existing] = workers as [string, ...string[]];
        for (let p = 0; p < 64; p++) {
          const after = rendezvousOwner(p, workers);
          if (after !== joining) expect(after).toBe(rendezvousOwner(p, existing));
        }
      }),
    );
  });

  it('refuses a partition that is not a non-negative integer', () => {
    expect(() => rendezvousOwner(-1, ['a'])).toThrow(RangeError);
    expect(() => rendezvousOwner(1.5, ['a'])).toThrow(RangeError);
  });
});
