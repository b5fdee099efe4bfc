import { afterEach, describe, expect, it, vi } from 'vitest';
import { sampleEvery } from './sampled.js';

describe('sampleEvery', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('given reads, then the value is the last successful one, refreshed on the timer, and a failure keeps it', async () => {
    vi.useFakeTimers();
    const answers: (number | Error)[] = [3, new Error('server gone'), 7];
    const errors: unknown[] = [];
    let reads = 0;
    const sampled = sampleEvery(
      async () => {
        const answer = answers[reads++] as number | Error;
        if (answer instanceof Error) throw answer;
        return answer;
      },
      { intervalMs: 1_000, onError: (error) => errors.push(error) },
    );
    expect(sampled.value()).toBeUndefined(); // the first read is under way
    await vi.advanceTimersByTimeAsync(0);
    expect(sampled.value()).toBe(3);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sampled.value()).toBe(3);
    expect(errors).toEqual([new Error('server gone')]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sampled.value()).toBe(7);
    sampled.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(reads).toBe(3);
  });

  it('given a slow read, then refreshes share it instead of overlapping, and a read landing after stop is ignored', async () => {
    let release: (value: number) => void = () => {};
    let reads = 0;
    const sampled = sampleEvery(
      () =>
        new Promise<number>((resolve) => {
          reads += 1;
          release = resolve;
        }),
      { intervalMs: 60_000 },
    );
    const a = sampled.refresh();
    const b = sampled.refresh();
    expect(reads).toBe(1);
    release(5);
    await Promise.all([a, b]);
    expect(sampled.value()).toBe(5);
    const c = sampled.refresh();
    sampled.stop();
    release(9);
    await c;
    expect(sampled.value()).toBe(5);
  });
});
