import { describe, expect, it } from 'vitest';
import { inWindows } from './inWindows.js';

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

describe('inWindows', () => {
  it('never has more than the window in flight, and runs every task', async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    const tasks = Array.from({ length: 40 }, (_, i) => async () => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await tick();
      inFlight -= 1;
      done.push(i);
    });
    await inWindows(tasks, 7);
    expect(peak).toBe(7);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('runs the rest when one fails, then throws the first failure', async () => {
    const ran: number[] = [];
    const tasks = Array.from({ length: 5 }, (_, i) => async () => {
      ran.push(i);
      if (i === 1) throw new Error('one');
      if (i === 3) throw new Error('three');
    });
    await expect(inWindows(tasks, 2)).rejects.toThrow('one');
    expect(ran.sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses a window that is not a positive integer, and does nothing for no tasks', async () => {
    await expect(inWindows([], 0)).rejects.toThrow(RangeError);
    await expect(inWindows([], 3)).resolves.toBeUndefined();
  });
});
