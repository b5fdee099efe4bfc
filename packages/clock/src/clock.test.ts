import { describe, expect, it } from 'vitest';
import { ClockErrorCodes, chooseClock, SimulatedClock, SystemClock } from './clock.js';

describe('SimulatedClock', () => {
  it('moves only when told to and wakes sleepers in due order', async () => {
    const clock = new SimulatedClock(1000);
    const woke: number[] = [];
    const a = clock.sleepUntil(3000).then(() => woke.push(3000));
    const b = clock.sleepUntil(2000).then(() => woke.push(2000));
    const c = clock.sleepUntil(9000).then(() => woke.push(9000));
    expect(clock.pendingSleepers).toBe(3);
    clock.set(5000);
    await Promise.all([a, b]);
    expect(woke).toEqual([2000, 3000]);
    expect(clock.pendingSleepers).toBe(1);
    clock.advance(4000);
    await c;
    expect(woke).toEqual([2000, 3000, 9000]);
    expect(clock.now()).toBe(9000);
  });

  it('resolves at once for an instant already reached', async () => {
    const clock = new SimulatedClock(1000);
    await expect(clock.sleepUntil(1000)).resolves.toBeUndefined();
    expect(clock.pendingSleepers).toBe(0);
  });

  it('refuses to go back in time', () => {
    const clock = new SimulatedClock(1000);
    expect(() => clock.set(999)).toThrow(
      expect.objectContaining({ code: ClockErrorCodes.TimeWentBackwards }),
    );
  });

  it('drops an aborted sleeper', async () => {
    const clock = new SimulatedClock(0);
    const abort = new AbortController();
    const sleeping = clock.sleepUntil(100, abort.signal);
    abort.abort(new Error('shutting down'));
    await expect(sleeping).rejects.toThrow('shutting down');
    expect(clock.pendingSleepers).toBe(0);
  });
});

describe('SystemClock', () => {
  it('reads the real time and sleeps until an instant', async () => {
    const clock = new SystemClock();
    const before = Date.now();
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    await clock.sleepUntil(Date.now() + 20);
    expect(Date.now()).toBeGreaterThanOrEqual(before + 20);
  });
});

describe('chooseClock', () => {
  const test = () => new SimulatedClock(0);
  it('gives the system clock by default and the test clock in test mode', () => {
    expect(chooseClock({ clock: { mode: 'system' }, production: true }, test)).toBeInstanceOf(SystemClock);
    expect(chooseClock({ clock: { mode: 'test' }, production: false }, test)).toBeInstanceOf(SimulatedClock);
  });
  it('refuses the test clock in production', () => {
    expect(() => chooseClock({ clock: { mode: 'test' }, production: true }, test)).toThrow(
      expect.objectContaining({ code: ClockErrorCodes.TestClockInProduction }),
    );
  });
});
