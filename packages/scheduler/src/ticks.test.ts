import { dailyBoundaryAfter, parseConfig } from '@threadline/session-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type TickV1, tickAt, tickSchedule, ticksBetween } from './ticks.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const NY = 'America/New_York';
const utc = (y: number, mo: number, d: number, h = 0, mi = 0) => Date.UTC(y, mo - 1, d, h, mi);

describe('tickSchedule', () => {
  it('given session.reset.timeZone and gateway.timeZone, when planned, then the reset zone wins', () => {
    const { config } = parseConfig({
      session: { reset: { mode: 'daily', atHour: 4, timeZone: 'Europe/Berlin' } },
      gateway: { timeZone: 'Asia/Kolkata' },
    });
    expect(tickSchedule(config, 'UTC')).toStrictEqual({ timeZone: 'Europe/Berlin', atHours: [4] });
  });

  it('given only gateway.timeZone, when planned, then the gateway zone is used', () => {
    const { config } = parseConfig({
      session: { reset: { mode: 'daily', atHour: 6 } },
      gateway: { timeZone: 'Asia/Kolkata' },
    });
    expect(tickSchedule(config, 'UTC')).toStrictEqual({ timeZone: 'Asia/Kolkata', atHours: [6] });
  });

  it('given no configured zone, when planned, then the host zone passed in is used', () => {
    const { config } = parseConfig({});
    expect(tickSchedule(config, NY)).toStrictEqual({ timeZone: NY, atHours: [4] });
    expect(tickSchedule(config, 'Australia/Sydney').timeZone).toBe('Australia/Sydney');
  });

  it('given daily policies across reset, resetByType and resetByChannel, when planned, then every distinct daily hour, ascending', () => {
    const { config } = parseConfig({
      session: {
        reset: { mode: 'daily', atHour: 4 },
        resetByType: {
          thread: { mode: 'daily', atHour: 3 },
          group: { mode: 'idle', idleMinutes: 120 },
          direct: { atHour: 4 },
        },
        resetByChannel: {
          discord: { mode: 'daily', atHour: 22 },
          slack: { mode: 'idle', idleMinutes: 60, atHour: 9 },
          telegram: { mode: 'daily', atHour: 3 },
        },
      },
    });
    expect(tickSchedule(config, 'UTC')).toStrictEqual({ timeZone: 'UTC', atHours: [3, 4, 22] });
  });

  it('given a resetByChannel entry without an hour, when planned, then it contributes the default 04:00', () => {
    const { config } = parseConfig({
      session: { reset: { mode: 'idle', idleMinutes: 30 }, resetByChannel: { discord: { mode: 'daily' } } },
    });
    expect(tickSchedule(config, 'UTC').atHours).toStrictEqual([4]);
  });

  it('given only idle policies, when planned, then there is no hour to tick', () => {
    const { config } = parseConfig({
      session: {
        reset: { mode: 'idle', idleMinutes: 30 },
        resetByChannel: { discord: { mode: 'idle', idleMinutes: 5 } },
      },
      gateway: { timeZone: 'Europe/Berlin' },
    });
    expect(tickSchedule(config, 'UTC')).toStrictEqual({ timeZone: 'Europe/Berlin', atHours: [] });
  });
});

describe('ticksBetween in America/New_York', () => {
  it('given a window over one ordinary winter day, when ticked at 04:00, then one tick at 04:00 EST', () => {
    const ticks = ticksBetween(utc(2026, 1, 15, 0), utc(2026, 1, 15, 12), 4, NY);
    expect(ticks).toStrictEqual<TickV1[]>([
      {
        v: 1,
        type: 'clock.tick',
        id: `tick:${NY}:4:${utc(2026, 1, 15, 9)}`,
        at: utc(2026, 1, 15, 9),
        timeZone: NY,
        atHour: 4,
        local: '2026-01-15T04:00:00.000-05:00',
      },
    ]);
  });

  it('given a window over one ordinary summer day, when ticked at 04:00, then one tick at 04:00 EDT', () => {
    const ticks = ticksBetween(utc(2026, 7, 15, 0), utc(2026, 7, 15, 12), 4, NY);
    expect(ticks.map((t) => [t.at, t.local])).toStrictEqual([
      [utc(2026, 7, 15, 8), '2026-07-15T04:00:00.000-04:00'],
    ]);
  });

  it('given the 2026 spring-forward day and atHour 2 (inside the gap), when ticked, then 03:00 EDT, the first instant after the gap', () => {
    const ticks = ticksBetween(utc(2026, 3, 7, 12), utc(2026, 3, 9, 12), 2, NY);
    expect(ticks.map((t) => t.local)).toStrictEqual([
      '2026-03-08T03:00:00.000-04:00',
      '2026-03-09T02:00:00.000-04:00',
    ]);
    // 02:00 EST would have been 07:00Z; the gap ends at 07:00Z = 03:00 EDT.
    expect(ticks[0]?.at).toBe(utc(2026, 3, 8, 7));
    expect(ticks[1]?.at).toBe(utc(2026, 3, 9, 6));
    expect(ticks[0]?.id).toBe(`tick:${NY}:2:${utc(2026, 3, 8, 7)}`);
  });

  it('given the spring-forward day and atHour 3 (just after the gap), when ticked, then also 03:00 EDT: the gap does not shift other hours', () => {
    const ticks = ticksBetween(utc(2026, 3, 8, 0), utc(2026, 3, 8, 12), 3, NY);
    expect(ticks.map((t) => [t.at, t.local])).toStrictEqual([
      [utc(2026, 3, 8, 7), '2026-03-08T03:00:00.000-04:00'],
    ]);
  });

  it('given the 2026 fall-back day and atHour 1 (the repeated hour), when ticked, then exactly one tick, the earlier 01:00 EDT, and the next 25 h later', () => {
    const ticks = ticksBetween(utc(2026, 10, 31, 12), utc(2026, 11, 2, 12), 1, NY);
    const onFallBackDay = ticks.filter((t) => t.local.startsWith('2026-11-01'));
    expect(onFallBackDay).toHaveLength(1);
    expect(ticks.map((t) => t.local)).toStrictEqual([
      '2026-11-01T01:00:00.000-04:00',
      '2026-11-02T01:00:00.000-05:00',
    ]);
    expect(ticks[0]?.at).toBe(utc(2026, 11, 1, 5));
    expect((ticks[1]?.at ?? 0) - (ticks[0]?.at ?? 0)).toBe(25 * HOUR);
  });

  it('given a window from inside the repeated hour (after its first 01:00), when ticked at 1, then the second 01:00 EST is not a tick', () => {
    // 05:30Z is 01:30 EDT; 06:00Z–07:00Z is 01:00–02:00 EST, the repeat.
    const ticks = ticksBetween(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 23), 1, NY);
    expect(ticks).toStrictEqual([]);
  });

  it('given a window of exactly one week whose ends are boundaries, when ticked, then 7 ticks, oldest first, after excluded and now included', () => {
    const after = utc(2026, 1, 10, 9); // 2026-01-10T04:00 EST: a boundary, excluded
    const now = utc(2026, 1, 17, 9); // 2026-01-17T04:00 EST: a boundary, included
    const ticks = ticksBetween(after, now, 4, NY);
    expect(ticks).toHaveLength(7);
    expect(ticks.map((t) => t.at)).toStrictEqual([11, 12, 13, 14, 15, 16, 17].map((d) => utc(2026, 1, d, 9)));
    expect(ticks.map((t) => t.local)).toStrictEqual(
      [11, 12, 13, 14, 15, 16, 17].map((d) => `2026-01-${d}T04:00:00.000-05:00`),
    );
    for (const t of ticks) {
      expect(t.at).toBeGreaterThan(after);
      expect(t.at).toBeLessThanOrEqual(now);
    }
  });

  it('given windows one millisecond either side of a boundary, when ticked, then the boundary is in or out exactly at its instant', () => {
    const boundary = utc(2026, 1, 15, 9);
    expect(ticksBetween(boundary - 1, boundary, 4, NY).map((t) => t.at)).toStrictEqual([boundary]);
    expect(ticksBetween(boundary - 1, boundary - 1, 4, NY)).toStrictEqual([]);
    expect(ticksBetween(boundary, boundary + DAY - 1, 4, NY)).toStrictEqual([]);
    expect(ticksBetween(boundary - HOUR, boundary - 1, 4, NY)).toStrictEqual([]);
  });

  it('given an empty or inverted window, when ticked, then nothing', () => {
    const t = utc(2026, 1, 15, 9);
    expect(ticksBetween(t + DAY, t, 4, NY)).toStrictEqual([]);
    expect(ticksBetween(t - 1, t - 1, 4, NY)).toStrictEqual([]);
  });

  it('given any window of up to ten days, when ticked, then the ticks are exactly the boundaries in (after, now], ascending, one per local day', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: utc(2024, 1, 1), max: utc(2030, 1, 1) }),
        fc.integer({ min: 0, max: 10 * DAY }),
        fc.integer({ min: 0, max: 23 }),
        (after, span, atHour) => {
          const now = after + span;
          const ticks = ticksBetween(after, now, atHour, NY);
          // Independent walk: every boundary after `after` up to `now`.
          const expected: number[] = [];
          for (
            let at = dailyBoundaryAfter(after, atHour, NY);
            at <= now;
            at = dailyBoundaryAfter(at, atHour, NY)
          ) {
            expected.push(at);
          }
          expect(ticks.map((t) => t.at)).toStrictEqual(expected);
          const days = ticks.map((t) => t.local.slice(0, 10));
          expect(new Set(days).size).toBe(days.length);
          for (const t of ticks) {
            expect(t.at).toBeGreaterThan(after);
            expect(t.at).toBeLessThanOrEqual(now);
            expect(t).toStrictEqual(tickAt(t.at, atHour, NY));
          }
          // Within ten days a tick lands at most 25 h and at least 23 h after the previous one.
          for (let i = 1; i < ticks.length; i++) {
            const gap = (ticks[i]?.at ?? 0) - (ticks[i - 1]?.at ?? 0);
            expect(gap).toBeGreaterThanOrEqual(23 * HOUR);
            expect(gap).toBeLessThanOrEqual(25 * HOUR);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('tick ids', () => {
  it('given the same boundary, when two replicas build its tick, then the ticks and ids are equal', () => {
    const at = utc(2026, 1, 15, 9);
    const a = tickAt(at, 4, NY);
    const b = tickAt(at, 4, NY);
    expect(a.id).toBe(`tick:America/New_York:4:${at}`);
    expect(b).toStrictEqual(a);
    expect(ticksBetween(at - DAY, at, 4, NY)).toStrictEqual(ticksBetween(at - 2 * HOUR, at + HOUR, 4, NY));
  });

  it('given a different zone, hour or instant, when built, then the id differs', () => {
    const at = utc(2026, 1, 15, 9);
    const id = tickAt(at, 4, NY).id;
    expect(tickAt(at, 4, 'Europe/Berlin').id).not.toBe(id);
    expect(tickAt(at, 5, NY).id).not.toBe(id);
    expect(tickAt(at + DAY, 4, NY).id).not.toBe(id);
  });

  it('given a tick in another zone, when built, then local is the wall time there with its offset', () => {
    const at = utc(2026, 1, 15, 3);
    expect(tickAt(at, 4, 'Europe/Berlin')).toStrictEqual<TickV1>({
      v: 1,
      type: 'clock.tick',
      id: `tick:Europe/Berlin:4:${at}`,
      at,
      timeZone: 'Europe/Berlin',
      atHour: 4,
      local: '2026-01-15T04:00:00.000+01:00',
    });
  });
});
