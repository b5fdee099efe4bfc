/**
 * Daily-boundary ticks, as pure planning: which boundaries the configuration implies and which of them
 * have passed. The instants come from session-core's boundary rule, so a tick lands exactly where a
 * session's daily expiry does — DST included (a spring-forward gap moves it to the first instant after
 * the gap, a repeated fall-back hour gives its earlier occurrence, once).
 */
import { dailyBoundaryAfter, dailyResetSchedule, type ThreadlineConfig } from '@threadline/session-core';
import { DateTime } from 'luxon';

/** One daily boundary that passed: the body of `tl.tick.v1.<timeZone>.<atHour>`. */
export interface TickV1 {
  v: 1;
  type: 'clock.tick';
  /** `tick:<timeZone>:<atHour>:<at>`: the same for every replica, so the stream keeps one. */
  id: string;
  /** The boundary instant (epoch ms). */
  at: number;
  timeZone: string;
  atHour: number;
  /** The boundary as wall time in its zone, with its offset (ISO 8601). */
  local: string;
}

/** The zones and hours to tick, from the configuration (`hostTimeZone` when none is configured). */
export function tickSchedule(
  config: ThreadlineConfig,
  hostTimeZone: string,
): { timeZone: string; atHours: number[] } {
  const schedule = dailyResetSchedule(config, hostTimeZone);
  return { timeZone: schedule.timeZone ?? hostTimeZone, atHours: schedule.atHours };
}

/** The ticks of `atHour` strictly after `after` and at or before `now`, oldest first. */
export function ticksBetween(after: number, now: number, atHour: number, timeZone: string): TickV1[] {
  const ticks: TickV1[] = [];
  for (
    let at = dailyBoundaryAfter(after, atHour, timeZone);
    at <= now;
    at = dailyBoundaryAfter(at, atHour, timeZone)
  ) {
    ticks.push(tickAt(at, atHour, timeZone));
  }
  return ticks;
}

export function tickAt(at: number, atHour: number, timeZone: string): TickV1 {
  return {
    v: 1,
    type: 'clock.tick',
    id: `tick:${timeZone}:${atHour}:${at}`,
    at,
    timeZone,
    atHour,
    local: DateTime.fromMillis(at, { zone: timeZone }).toISO() ?? new Date(at).toISOString(),
  };
}
