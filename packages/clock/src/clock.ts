/**
 * Time for every Threadline component comes from one {@link Clock}. Production uses {@link SystemClock};
 * tests use a {@link SimulatedClock}, alone or shared between processes through NATS
 * ({@link followSharedClock}), so that a two-hour idle timeout or a 04:00 daily reset can be tested end to
 * end in seconds. The session logic itself never reads a clock: times reach it inside events.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Resolves once the clock reads `at` or later. Rejects with the signal's reason if aborted first.
   * A simulated clock resolves only when it is advanced, never by real time passing.
   */
  sleepUntil(at: number, signal?: AbortSignal): Promise<void>;
}

export const ClockErrorCodes = {
  TestClockInProduction: 'TEST_CLOCK_IN_PRODUCTION',
  TimeWentBackwards: 'TIME_WENT_BACKWARDS',
} as const;
export type ClockErrorCode = (typeof ClockErrorCodes)[keyof typeof ClockErrorCodes];

export class ClockError extends Error {
  override readonly name = 'ClockError';
  constructor(
    readonly code: ClockErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The real clock. `sleepUntil` uses timers in slices of at most 24 days (setTimeout's limit). */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        if (timer) clearTimeout(timer);
        reject(signal?.reason);
      };
      const arm = () => {
        const wait = at - Date.now();
        if (wait <= 0) {
          signal?.removeEventListener('abort', onAbort);
          return resolve();
        }
        timer = setTimeout(arm, Math.min(wait, 2 ** 31 - 1));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      arm();
    });
  }
}

interface Sleeper {
  at: number;
  resolve: () => void;
}

/**
 * A clock that moves only when told to. Time never goes backwards: `set` to an earlier instant throws.
 * Sleepers wake in due-time order when the clock passes their instant.
 */
export class SimulatedClock implements Clock {
  #now: number;
  #sleepers: Sleeper[] = [];

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves the clock to `at` (>= now) and wakes every sleeper due by then, earliest first. */
  set(at: number): void {
    if (at < this.#now) {
      throw new ClockError(
        ClockErrorCodes.TimeWentBackwards,
        `simulated clock cannot go back from ${this.#now} to ${at}`,
      );
    }
    this.#now = at;
    const due = this.#sleepers.filter((s) => s.at <= at).sort((a, b) => a.at - b.at);
    this.#sleepers = this.#sleepers.filter((s) => s.at > at);
    for (const sleeper of due) sleeper.resolve();
  }

  advance(ms: number): void {
    this.set(this.#now + ms);
  }

  /** How many sleepers are waiting (for tests that wait until a component is parked on the clock). */
  get pendingSleepers(): number {
    return this.#sleepers.length;
  }

  sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
    if (at <= this.#now) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const sleeper: Sleeper = {
        at,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#sleepers.push(sleeper);
    });
  }
}

/**
 * The clock a component runs on, from the validated config. The test clock is refused when the config
 * says `production: true` (config validation refuses the combination too; this is the second lock, at
 * the place where the clock is actually chosen).
 */
export function chooseClock(
  config: { clock: { mode: 'system' | 'test' }; production: boolean },
  makeTestClock: () => Clock,
): Clock {
  if (config.clock.mode === 'system') return new SystemClock();
  if (config.production) {
    throw new ClockError(
      ClockErrorCodes.TestClockInProduction,
      'clock.mode "test" is refused in production: the simulated clock would let anyone move time',
    );
  }
  return makeTestClock();
}
