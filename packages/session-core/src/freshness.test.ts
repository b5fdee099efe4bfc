import fc from 'fast-check';
import { DateTime, IANAZone, Settings } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  dailyBoundaryAfter,
  dailyBoundaryAtOrBefore,
  evaluateFreshness,
  FreshnessInputError,
  FreshnessInputErrorCodes,
  nextExpiryAt,
} from './freshness.js';
import type { ResetPolicy } from './types.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0) =>
  Date.UTC(y, mo - 1, d, h, mi, s, ms);

const daily = (atHour: number, idleMinutes?: number): ResetPolicy =>
  idleMinutes === undefined ? { mode: 'daily', atHour } : { mode: 'daily', atHour, idleMinutes };
const idle = (idleMinutes: number): ResetPolicy => ({ mode: 'idle', atHour: 4, idleMinutes });

describe('evaluateFreshness: daily part', () => {
  const policy = daily(4);
  const boundary = utc(2026, 1, 15, 4);

  it('given last activity exactly at the boundary, when evaluated after it, then it is fresh', () => {
    expect(
      evaluateFreshness({ lastActivityAt: boundary, now: boundary + HOUR, policy, timeZone: 'UTC' }),
    ).toStrictEqual({ fresh: true, dailyResetAt: boundary });
  });

  it('given last activity 1 ms before the boundary, when evaluated after it, then it is stale for daily', () => {
    expect(
      evaluateFreshness({ lastActivityAt: boundary - 1, now: boundary + HOUR, policy, timeZone: 'UTC' }),
    ).toStrictEqual({ fresh: false, staleReason: 'daily', dailyResetAt: boundary });
  });

  it("given now exactly at the boundary, when evaluated, then the boundary is today's and earlier activity is stale", () => {
    const result = evaluateFreshness({
      lastActivityAt: boundary - 1,
      now: boundary,
      policy,
      timeZone: 'UTC',
    });
    expect(result.dailyResetAt).toBe(boundary);
    expect(result.fresh).toBe(false);
  });

  it("given now 1 ms before the boundary, when evaluated, then yesterday's boundary is used and the session is fresh", () => {
    const result = evaluateFreshness({
      lastActivityAt: boundary - HOUR,
      now: boundary - 1,
      policy,
      timeZone: 'UTC',
    });
    expect(result).toStrictEqual({ fresh: true, dailyResetAt: boundary - DAY });
  });

  it('given no idle limit in daily mode, when evaluated, then no idleExpiresAt is reported', () => {
    const result = evaluateFreshness({
      lastActivityAt: boundary,
      now: boundary + 5 * HOUR,
      policy,
      timeZone: 'UTC',
    });
    expect('idleExpiresAt' in result).toBe(false);
  });

  it('given last activity after now (clock skew), when evaluated, then it is fresh', () => {
    expect(
      evaluateFreshness({ lastActivityAt: boundary + HOUR, now: boundary + 1, policy, timeZone: 'UTC' })
        .fresh,
    ).toBe(true);
  });
});

describe('evaluateFreshness: idle part', () => {
  const last = utc(2026, 1, 15, 10);
  const expiry = last + 90 * MIN;

  it.each([
    ['daily', daily(4, 90)],
    ['idle', idle(90)],
  ])(
    'given %s mode with a 90-minute limit, when now is exactly at the expiry, then it is still fresh',
    (_, policy) => {
      const result = evaluateFreshness({ lastActivityAt: last, now: expiry, policy, timeZone: 'UTC' });
      expect(result.fresh).toBe(true);
      expect(result.idleExpiresAt).toBe(expiry);
    },
  );

  it.each([
    ['daily', daily(4, 90)],
    ['idle', idle(90)],
  ])(
    'given %s mode with a 90-minute limit, when now is 1 ms past the expiry, then it is stale for idle',
    (_, policy) => {
      const result = evaluateFreshness({ lastActivityAt: last, now: expiry + 1, policy, timeZone: 'UTC' });
      expect(result.fresh).toBe(false);
      expect(result.staleReason).toBe('idle');
      expect(result.idleExpiresAt).toBe(expiry);
    },
  );

  it('given idle mode, when a daily boundary passes, then there is no daily part', () => {
    const lastBeforeFour = utc(2026, 1, 15, 3, 59);
    const result = evaluateFreshness({
      lastActivityAt: lastBeforeFour,
      now: utc(2026, 1, 15, 4, 30),
      policy: idle(60),
      timeZone: 'UTC',
    });
    expect(result).toStrictEqual({ fresh: true, idleExpiresAt: lastBeforeFour + 60 * MIN });
  });

  it('given idle mode with no limit, when evaluated years later, then it is fresh and reports neither part', () => {
    const result = evaluateFreshness({ lastActivityAt: last, now: last + 3000 * DAY, policy: idle(0) });
    expect(result).toStrictEqual({ fresh: true });
  });

  it('given a hand-built policy with a fractional or negative idle limit, when evaluated, then it is normalised like a resolved policy', () => {
    expect(
      evaluateFreshness({ lastActivityAt: last, now: last + 2 * MIN, policy: idle(1.9), timeZone: 'UTC' }),
    ).toStrictEqual({ fresh: false, staleReason: 'idle', idleExpiresAt: last + MIN });
    expect(
      evaluateFreshness({ lastActivityAt: last, now: last + 2 * MIN, policy: idle(-5), timeZone: 'UTC' }),
    ).toStrictEqual({ fresh: true });
  });
});

describe('evaluateFreshness: both parts, the earliest expiry is the reason', () => {
  const policy = daily(4, 60);

  it('given the daily boundary passes before the idle limit, when evaluated after both, then the reason is daily', () => {
    const result = evaluateFreshness({
      lastActivityAt: utc(2026, 1, 15, 3, 30),
      now: utc(2026, 1, 15, 5),
      policy,
      timeZone: 'UTC',
    });
    expect(result).toStrictEqual({
      fresh: false,
      staleReason: 'daily',
      dailyResetAt: utc(2026, 1, 15, 4),
      idleExpiresAt: utc(2026, 1, 15, 4, 30),
    });
  });

  it('given the idle limit expires before the daily boundary, when evaluated after both, then the reason is idle', () => {
    const result = evaluateFreshness({
      lastActivityAt: utc(2026, 1, 15, 2),
      now: utc(2026, 1, 15, 5),
      policy,
      timeZone: 'UTC',
    });
    expect(result.fresh).toBe(false);
    expect(result.staleReason).toBe('idle');
  });

  it('given idle expiring at the boundary instant itself, when evaluated, then daily wins because idle turns stale 1 ms later', () => {
    const last = utc(2026, 1, 15, 3);
    expect(
      evaluateFreshness({ lastActivityAt: last, now: utc(2026, 1, 15, 6), policy, timeZone: 'UTC' })
        .staleReason,
    ).toBe('daily');
  });

  it('given both turning stale at the very same millisecond, when evaluated, then the tie goes to daily', () => {
    const last = utc(2026, 1, 15, 4) - 60 * MIN - 1; // idle stale from 04:00:00.000, the boundary itself
    expect(nextExpiryAt({ lastActivityAt: last, policy, timeZone: 'UTC' })).toBe(utc(2026, 1, 15, 4));
    expect(
      evaluateFreshness({ lastActivityAt: last, now: utc(2026, 1, 15, 4), policy, timeZone: 'UTC' }),
    ).toStrictEqual({
      fresh: false,
      staleReason: 'daily',
      dailyResetAt: utc(2026, 1, 15, 4),
      idleExpiresAt: utc(2026, 1, 15, 4) - 1,
    });
  });

  it('given several boundaries passed, when the idle limit expired after the first but before the latest, then the reason is daily (it expired first)', () => {
    const last = utc(2026, 1, 15, 10);
    const longIdle = daily(4, 2000); // expires 2026-01-16 19:20, after the 2026-01-16 04:00 boundary
    const now = utc(2026, 1, 17, 5);
    const result = evaluateFreshness({ lastActivityAt: last, now, policy: longIdle, timeZone: 'UTC' });
    expect(result.staleReason).toBe('daily');
    expect(result.dailyResetAt).toBe(utc(2026, 1, 17, 4));
    expect(nextExpiryAt({ lastActivityAt: last, policy: longIdle, timeZone: 'UTC' })).toBe(
      utc(2026, 1, 16, 4),
    );
  });
});

describe('nextExpiryAt', () => {
  it('given daily mode, when last activity is before today’s boundary, then it is today’s boundary', () => {
    expect(nextExpiryAt({ lastActivityAt: utc(2026, 1, 15, 3), policy: daily(4), timeZone: 'UTC' })).toBe(
      utc(2026, 1, 15, 4),
    );
  });

  it('given daily mode, when last activity is exactly at a boundary, then it is the next day’s boundary', () => {
    expect(nextExpiryAt({ lastActivityAt: utc(2026, 1, 15, 4), policy: daily(4), timeZone: 'UTC' })).toBe(
      utc(2026, 1, 16, 4),
    );
  });

  it('given idle mode, when asked, then it is the idle expiry plus 1 ms', () => {
    const last = utc(2026, 1, 15, 10);
    expect(nextExpiryAt({ lastActivityAt: last, policy: idle(30), timeZone: 'UTC' })).toBe(
      last + 30 * MIN + 1,
    );
  });

  it('given daily mode with an idle limit, when asked, then it is the earlier of the two', () => {
    const last = utc(2026, 1, 15, 3, 50);
    expect(nextExpiryAt({ lastActivityAt: last, policy: daily(4, 5), timeZone: 'UTC' })).toBe(
      last + 5 * MIN + 1,
    );
    expect(nextExpiryAt({ lastActivityAt: last, policy: daily(4, 15), timeZone: 'UTC' })).toBe(
      utc(2026, 1, 15, 4),
    );
  });

  it('given idle mode without a limit, when asked, then it never expires', () => {
    expect(nextExpiryAt({ lastActivityAt: utc(2026, 1, 15), policy: idle(0) })).toBeUndefined();
    expect(
      nextExpiryAt({ lastActivityAt: utc(2026, 1, 15), policy: { mode: 'idle', atHour: 4 } }),
    ).toBeUndefined();
  });
});

describe("dailyBoundaryAfter (the scheduler's next tick)", () => {
  const zone = 'America/New_York';
  it("given an instant before 04:00, then the boundary is that day's 04:00; at 04:00 exactly, the next day's", () => {
    expect(dailyBoundaryAfter(utc(2026, 1, 15, 8), 4, zone)).toBe(utc(2026, 1, 15, 9)); // 03:00 EST → 04:00 EST
    expect(dailyBoundaryAfter(utc(2026, 1, 15, 9), 4, zone)).toBe(utc(2026, 1, 16, 9));
  });
  it('given the spring-forward day and atHour 2, then the tick lands at 03:00 EDT, the first instant after the gap', () => {
    const tick = dailyBoundaryAfter(utc(2026, 3, 8, 5), 2, zone); // from 00:00 EST
    expect(DateTime.fromMillis(tick, { zone }).toISO()).toBe('2026-03-08T03:00:00.000-04:00');
    // and the day after is a normal 02:00 EDT
    expect(DateTime.fromMillis(dailyBoundaryAfter(tick, 2, zone), { zone }).toISO()).toBe(
      '2026-03-09T02:00:00.000-04:00',
    );
  });
  it('given the fall-back day and atHour 1, then one tick, at the earlier 01:00 EDT, and the repeated hour gives none', () => {
    const tick = dailyBoundaryAfter(utc(2026, 11, 1, 4), 1, zone); // from 00:00 EDT
    expect(DateTime.fromMillis(tick, { zone }).toISO()).toBe('2026-11-01T01:00:00.000-04:00');
    const next = dailyBoundaryAfter(tick, 1, zone);
    expect(DateTime.fromMillis(next, { zone }).toISO()).toBe('2026-11-02T01:00:00.000-05:00');
    expect(next - tick).toBe(25 * 3_600_000);
  });
  it('agrees with dailyBoundaryAtOrBefore: the tick after an instant is the boundary at or before the tick', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: utc(2020, 1, 1), max: utc(2030, 1, 1) }),
        fc.integer({ min: 0, max: 23 }),
        (t, h) => {
          const next = dailyBoundaryAfter(t, h, zone);
          expect(next).toBeGreaterThan(t);
          expect(dailyBoundaryAtOrBefore(next, h, zone)).toBe(next);
          expect(dailyBoundaryAtOrBefore(next - 1, h, zone)).toBeLessThanOrEqual(t);
        },
      ),
    );
  });
});

describe('dailyBoundaryAtOrBefore: time zones', () => {
  describe('America/New_York', () => {
    const zone = 'America/New_York';

    it('given atHour 2 on the spring-forward day (02:00 does not exist), then the boundary is 03:00 EDT', () => {
      expect(dailyBoundaryAtOrBefore(utc(2026, 3, 8, 16), 2, zone)).toBe(utc(2026, 3, 8, 7));
      // 03:00 EDT is the first instant of the day at or after the missing 02:00.
      expect(DateTime.fromMillis(utc(2026, 3, 8, 7), { zone }).toISO()).toBe('2026-03-08T03:00:00.000-04:00');
    });

    it('given now just before the gap on the spring-forward day, then the boundary is the previous day’s 02:00 EST', () => {
      expect(dailyBoundaryAtOrBefore(utc(2026, 3, 8, 6, 59, 59, 999), 2, zone)).toBe(utc(2026, 3, 7, 7));
    });

    it('given the spring-forward day, then activity at 01:59:59.999 EST is stale and at 03:00 EDT fresh', () => {
      const now = utc(2026, 3, 8, 12);
      const policy = daily(2);
      expect(
        evaluateFreshness({ lastActivityAt: utc(2026, 3, 8, 6, 59, 59, 999), now, policy, timeZone: zone })
          .fresh,
      ).toBe(false);
      expect(
        evaluateFreshness({ lastActivityAt: utc(2026, 3, 8, 7), now, policy, timeZone: zone }).fresh,
      ).toBe(true);
      expect(nextExpiryAt({ lastActivityAt: utc(2026, 3, 7, 17), policy, timeZone: zone })).toBe(
        utc(2026, 3, 8, 7),
      );
    });

    it('given atHour 1 on the fall-back day (01:00 occurs twice), then the boundary is the earlier 01:00 EDT', () => {
      const earlier = utc(2026, 11, 1, 5); // 01:00 EDT; luxon's fromObject would pick 01:00 EST (06:00Z)
      expect(dailyBoundaryAtOrBefore(utc(2026, 11, 1, 5, 30), 1, zone)).toBe(earlier); // 01:30 EDT
      expect(dailyBoundaryAtOrBefore(utc(2026, 11, 1, 6), 1, zone)).toBe(earlier); // 01:00 EST
      expect(dailyBoundaryAtOrBefore(utc(2026, 11, 1, 6, 30), 1, zone)).toBe(earlier); // 01:30 EST
      expect(dailyBoundaryAtOrBefore(utc(2026, 11, 1, 4, 59, 59, 999), 1, zone)).toBe(utc(2026, 10, 31, 5));
    });

    it('given the fall-back day, then a session active in the repeated hour is not reset by its second pass', () => {
      const policy = daily(1);
      const last = utc(2026, 11, 1, 5, 15); // 01:15 EDT
      expect(
        evaluateFreshness({ lastActivityAt: last, now: utc(2026, 11, 1, 6, 5), policy, timeZone: zone })
          .fresh,
      ).toBe(true);
      expect(nextExpiryAt({ lastActivityAt: last, policy, timeZone: zone })).toBe(utc(2026, 11, 2, 6)); // 01:00 EST
      expect(nextExpiryAt({ lastActivityAt: utc(2026, 10, 31, 16), policy, timeZone: zone })).toBe(
        utc(2026, 11, 1, 5),
      );
    });

    it('given atHour 2 on the fall-back day (02:00 EST occurs once), then the boundary is 02:00 EST', () => {
      expect(dailyBoundaryAtOrBefore(utc(2026, 11, 1, 12), 2, zone)).toBe(utc(2026, 11, 1, 7));
    });

    it.each([
      [0, utc(2026, 3, 8, 5)], // 00:00 EST on the spring-forward day
      [23, utc(2026, 3, 8, 4)], // 23:00 EST on the day before
    ])('given atHour %j around the spring-forward day, then the boundary is exact', (atHour, expected) => {
      expect(dailyBoundaryAtOrBefore(utc(2026, 3, 8, 12), atHour, zone)).toBe(expected);
    });
  });

  describe('Europe/Berlin', () => {
    const zone = 'Europe/Berlin';

    it('given atHour 2 on the spring-forward day (02:00 CET → 03:00 CEST), then the boundary is 03:00 CEST', () => {
      expect(dailyBoundaryAtOrBefore(utc(2026, 3, 29, 10), 2, zone)).toBe(utc(2026, 3, 29, 1));
      expect(dailyBoundaryAtOrBefore(utc(2026, 3, 29, 0, 59, 59, 999), 2, zone)).toBe(utc(2026, 3, 28, 1));
      expect(dailyBoundaryAtOrBefore(utc(2026, 3, 30, 10), 2, zone)).toBe(utc(2026, 3, 30, 0));
    });

    it('given atHour 2 on the fall-back day (02:00–03:00 occurs twice), then the boundary is the earlier 02:00 CEST', () => {
      const earlier = utc(2026, 10, 25, 0); // luxon's fromObject would pick 02:00 CET (01:00Z)
      expect(dailyBoundaryAtOrBefore(utc(2026, 10, 25, 0, 30), 2, zone)).toBe(earlier);
      expect(dailyBoundaryAtOrBefore(utc(2026, 10, 25, 1, 30), 2, zone)).toBe(earlier);
      expect(dailyBoundaryAtOrBefore(utc(2026, 10, 24, 23, 59, 59, 999), 2, zone)).toBe(utc(2026, 10, 24, 0));
      expect(nextExpiryAt({ lastActivityAt: utc(2026, 10, 24, 10), policy: daily(2), timeZone: zone })).toBe(
        earlier,
      );
      expect(nextExpiryAt({ lastActivityAt: earlier, policy: daily(2), timeZone: zone })).toBe(
        utc(2026, 10, 26, 1),
      );
    });

    it.each([
      [0, utc(2026, 10, 24, 22)], // 00:00 CEST on the fall-back day
      [23, utc(2026, 10, 25, 22)], // 23:00 CET on the fall-back day
    ])('given atHour %j on the fall-back day, then the boundary is exact', (atHour, expected) => {
      expect(dailyBoundaryAtOrBefore(utc(2026, 10, 25, 22, 30), atHour, zone)).toBe(expected); // 23:30 CET
    });
  });

  describe('half-hour and odd zones', () => {
    it.each([
      [4, utc(2026, 1, 15, 12), utc(2026, 1, 14, 22, 30)],
      [0, utc(2026, 1, 15, 12), utc(2026, 1, 14, 18, 30)],
      [23, utc(2026, 1, 15, 12), utc(2026, 1, 14, 17, 30)],
      [23, utc(2026, 1, 15, 17, 30), utc(2026, 1, 15, 17, 30)],
      [23, utc(2026, 1, 15, 17, 29, 59, 999), utc(2026, 1, 14, 17, 30)],
    ])(
      'given Asia/Kolkata and atHour %j, when now is %j, then the boundary is %j',
      (atHour, now, expected) => {
        expect(dailyBoundaryAtOrBefore(now, atHour, 'Asia/Kolkata')).toBe(expected);
      },
    );

    it('given Australia/Lord_Howe’s 30-minute spring-forward gap (02:00 → 02:30), then atHour 2 is 02:30 LHDT', () => {
      expect(dailyBoundaryAtOrBefore(utc(2026, 10, 4, 0), 2, 'Australia/Lord_Howe')).toBe(
        utc(2026, 10, 3, 15, 30),
      );
    });

    it('given Pacific/Chatham’s 02:45 → 03:45 gap, then atHour 3 is 03:45 CHADT (first valid instant), not luxon’s 04:00', () => {
      const boundary = dailyBoundaryAtOrBefore(utc(2026, 9, 27, 0), 3, 'Pacific/Chatham');
      expect(boundary).toBe(utc(2026, 9, 26, 14));
      expect(DateTime.fromMillis(boundary, { zone: 'Pacific/Chatham' }).toISO()).toBe(
        '2026-09-27T03:45:00.000+13:45',
      );
    });

    it('given Pacific/Chatham’s repeated 02:45–03:45 on the fall-back day, then atHour 3 is the earlier 03:00 CHADT', () => {
      expect(dailyBoundaryAtOrBefore(utc(2026, 4, 5, 0), 3, 'Pacific/Chatham')).toBe(utc(2026, 4, 4, 13, 15));
    });

    it('given America/Santiago, whose spring-forward skips midnight, then atHour 0 is 01:00 -03', () => {
      expect(dailyBoundaryAtOrBefore(utc(2026, 9, 6, 12), 0, 'America/Santiago')).toBe(utc(2026, 9, 6, 4));
    });
  });

  describe('atHour normalisation', () => {
    it.each([
      [4.7, utc(2026, 1, 15, 4)],
      [30, utc(2026, 1, 14, 23)],
      [-2, utc(2026, 1, 15, 0)],
      [Number.NaN, utc(2026, 1, 15, 4)],
    ])('given atHour %j, then it is floored/clamped like a resolved policy', (atHour, expected) => {
      expect(dailyBoundaryAtOrBefore(utc(2026, 1, 15, 12), atHour, 'UTC')).toBe(expected);
    });
  });

  describe('default zone', () => {
    it('given no zone, when evaluated, then luxon’s default (host) zone is used', () => {
      const saved = Settings.defaultZone;
      try {
        Settings.defaultZone = 'Asia/Kolkata';
        expect(dailyBoundaryAtOrBefore(utc(2026, 1, 15, 12), 4)).toBe(utc(2026, 1, 14, 22, 30));
        Settings.defaultZone = 'America/New_York';
        expect(dailyBoundaryAtOrBefore(utc(2026, 1, 15, 12), 4)).toBe(utc(2026, 1, 15, 9));
        expect(
          evaluateFreshness({
            lastActivityAt: utc(2026, 1, 15, 8),
            now: utc(2026, 1, 15, 12),
            policy: daily(4),
          }),
        ).toStrictEqual({ fresh: false, staleReason: 'daily', dailyResetAt: utc(2026, 1, 15, 9) });
      } finally {
        Settings.defaultZone = saved;
      }
    });
  });
});

describe('invalid inputs', () => {
  it.each([
    [
      'evaluateFreshness',
      () => evaluateFreshness({ lastActivityAt: 0, now: 1, policy: daily(4), timeZone: 'Mars/Olympus' }),
    ],
    [
      'evaluateFreshness in idle mode',
      () => evaluateFreshness({ lastActivityAt: 0, now: 1, policy: idle(5), timeZone: 'Mars/Olympus' }),
    ],
    ['nextExpiryAt', () => nextExpiryAt({ lastActivityAt: 0, policy: daily(4), timeZone: 'Mars/Olympus' })],
    ['dailyBoundaryAtOrBefore', () => dailyBoundaryAtOrBefore(0, 4, 'Mars/Olympus')],
  ])('given an unknown zone, %s throws a RangeError naming it', (_, call) => {
    expect(call).toThrow(RangeError);
    expect(call).toThrow(/Mars\/Olympus/);
    try {
      call();
    } catch (error) {
      expect(error).toBeInstanceOf(FreshnessInputError);
      expect((error as FreshnessInputError).code).toBe(FreshnessInputErrorCodes.InvalidTimeZone);
      expect((error as FreshnessInputError).name).toBe('FreshnessInputError');
    }
  });

  it('given an empty zone string, then it is rejected rather than silently treated as the host zone', () => {
    expect(() => dailyBoundaryAtOrBefore(0, 4, '')).toThrow(RangeError);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, 9e15])(
    'given a time of %j, then it throws INVALID_INSTANT',
    (t) => {
      expect(() =>
        evaluateFreshness({ lastActivityAt: t, now: 0, policy: idle(5), timeZone: 'UTC' }),
      ).toThrow(expect.objectContaining({ code: FreshnessInputErrorCodes.InvalidInstant }));
      expect(() => dailyBoundaryAtOrBefore(t, 4, 'UTC')).toThrow(RangeError);
    },
  );
});

describe('properties', () => {
  const ZONES = [
    'UTC',
    'America/New_York',
    'Europe/Berlin',
    'Asia/Kolkata',
    'Australia/Lord_Howe',
    'Pacific/Chatham',
  ];
  const zoneArb = fc.constantFrom(...ZONES);
  const instantArb = fc.integer({ min: utc(2000, 1, 1), max: utc(2040, 1, 1) });
  const policyArb: fc.Arbitrary<ResetPolicy> = fc
    .record({
      mode: fc.constantFrom('daily' as const, 'idle' as const),
      atHour: fc.integer({ min: 0, max: 23 }),
      idleMinutes: fc.option(
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 5000 })),
        {
          nil: undefined,
        },
      ),
    })
    .map(({ mode, atHour, idleMinutes }) =>
      idleMinutes === undefined ? { mode, atHour } : { mode, atHour, idleMinutes },
    );
  const deltaArb = fc.integer({ min: 0, max: 10 * DAY });

  it('nextExpiryAt agrees with evaluateFreshness: fresh 1 ms before, stale at it, and the reason never changes afterwards', () => {
    fc.assert(
      fc.property(instantArb, policyArb, zoneArb, deltaArb, (last, policy, timeZone, later) => {
        const next = nextExpiryAt({ lastActivityAt: last, policy, timeZone });
        if (next === undefined) {
          expect(policy.mode).toBe('idle');
          expect(
            evaluateFreshness({ lastActivityAt: last, now: last + later + 400 * DAY, policy, timeZone })
              .fresh,
          ).toBe(true);
          return;
        }
        expect(next).toBeGreaterThan(last);
        expect(evaluateFreshness({ lastActivityAt: last, now: next - 1, policy, timeZone }).fresh).toBe(true);
        const atExpiry = evaluateFreshness({ lastActivityAt: last, now: next, policy, timeZone });
        expect(atExpiry.fresh).toBe(false);
        const afterwards = evaluateFreshness({ lastActivityAt: last, now: next + later, policy, timeZone });
        expect(afterwards.fresh).toBe(false);
        expect(afterwards.staleReason).toBe(atExpiry.staleReason);
      }),
      { numRuns: 1500 },
    );
  });

  it('once stale, a session stays stale for every later now', () => {
    fc.assert(
      fc.property(instantArb, policyArb, zoneArb, deltaArb, deltaArb, (last, policy, timeZone, d1, d2) => {
        const first = evaluateFreshness({ lastActivityAt: last, now: last + d1, policy, timeZone });
        fc.pre(!first.fresh);
        const later = evaluateFreshness({ lastActivityAt: last, now: last + d1 + d2, policy, timeZone });
        expect(later.fresh).toBe(false);
        expect(later.staleReason).toBe(first.staleReason);
      }),
      { numRuns: 1500 },
    );
  });

  it('the daily boundary reads atHour:00 (the earlier one if repeated) or is the instant a gap ends, and no boundary lies between it and now', () => {
    fc.assert(
      fc.property(instantArb, fc.integer({ min: 0, max: 23 }), zoneArb, (now, atHour, timeZone) => {
        const boundary = dailyBoundaryAtOrBefore(now, atHour, timeZone);
        expect(boundary).toBeLessThanOrEqual(now);
        expect(boundary).toBeGreaterThan(now - 2 * DAY);
        expect(nextExpiryAt({ lastActivityAt: boundary, policy: daily(atHour), timeZone })).toBeGreaterThan(
          now,
        );

        const zone = IANAZone.create(timeZone);
        const local = DateTime.fromMillis(boundary, { zone: timeZone });
        if (local.hour === atHour && local.minute === 0 && local.second === 0 && local.millisecond === 0) {
          // Earlier occurrence: the same wall time was not read half an hour or an hour before.
          for (const back of [30 * MIN, HOUR]) {
            const before = DateTime.fromMillis(boundary - back, { zone: timeZone });
            expect(before.hour === atHour && before.minute === 0 && before.day === local.day).toBe(false);
          }
        } else {
          // atHour:00 fell in a gap: the boundary is where the offset changes, just past the wall time.
          expect(zone.offset(boundary)).not.toBe(zone.offset(boundary - 1));
          const justBefore = DateTime.fromMillis(boundary - 1, { zone: timeZone });
          expect(justBefore.hour * 60 + justBefore.minute).toBeLessThan(atHour * 60);
          expect(local.hour * 60 + local.minute).toBeGreaterThan(atHour * 60);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('in fixed-offset zones the boundary is plain arithmetic', () => {
    fc.assert(
      fc.property(instantArb, fc.integer({ min: 0, max: 23 }), (now, atHour) => {
        const offset = 330 * MIN; // Asia/Kolkata, no DST since 1945
        const dayStart = Math.floor((now + offset) / DAY) * DAY - offset;
        const today = dayStart + atHour * HOUR;
        const expected = today <= now ? today : today - DAY;
        expect(dailyBoundaryAtOrBefore(now, atHour, 'Asia/Kolkata')).toBe(expected);
        expect(dailyBoundaryAtOrBefore(now, atHour, 'UTC')).toBe(
          Math.floor((now - atHour * HOUR) / DAY) * DAY + atHour * HOUR,
        );
      }),
      { numRuns: 1000 },
    );
  });
});
