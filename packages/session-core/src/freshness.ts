/**
 * Session freshness (spec §2.3): is a session whose last activity was at `lastActivityAt` still fresh at
 * `now` under a reset policy, and at which exact millisecond does it stop being fresh.
 *
 * Pure given its inputs: times are arguments, never the wall clock. The only ambient input is luxon's
 * default zone, used when no zone is given (that is the host's local zone unless someone changed it).
 *
 * Daily boundaries are computed here rather than with luxon's `DateTime.fromObject`, because luxon
 * resolves DST edge cases differently from the spec: in a repeated fall-back hour it picks the LATER
 * occurrence (New York 01:00 on the fall-back day → 01:00 EST), and in a spring-forward gap it shifts by
 * the gap's length (Chatham 03:00 in the 02:45→03:45 gap → 04:00) instead of taking the first valid
 * instant after the gap (03:45). Only luxon's zone offsets are used.
 */
import { IANAZone, Settings, type Zone } from 'luxon';
import { normalizeIdleMinutes, normalizeResetAtHour } from './resetPolicy.js';
import type { FreshnessResult, ResetPolicy } from './types.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** ECMAScript's time range, minus a margin so that neighbouring days can still be looked at. */
const MAX_INSTANT_MS = 8.64e15 - 4 * DAY_MS;

export const FreshnessInputErrorCodes = {
  InvalidTimeZone: 'INVALID_TIME_ZONE',
  InvalidInstant: 'INVALID_INSTANT',
} as const;
export type FreshnessInputErrorCode =
  (typeof FreshnessInputErrorCodes)[keyof typeof FreshnessInputErrorCodes];

/**
 * A programming or configuration error in the inputs of a freshness calculation (an unknown time zone, a
 * time that is not a finite epoch-millisecond value). It is a `RangeError`; it is never used for a policy
 * decision, which is always data.
 */
export class FreshnessInputError extends RangeError {
  override readonly name = 'FreshnessInputError';
  constructor(
    readonly code: FreshnessInputErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Evaluates a session's freshness at `now` (spec §2.3).
 *
 * - Daily part (mode `daily` only): `dailyResetAt` is the most recent `atHour:00:00.000` at or before
 *   `now` in `timeZone`; stale if `lastActivityAt < dailyResetAt` (equal is fresh).
 * - Idle part (whenever `idleMinutes > 0`): `idleExpiresAt = lastActivityAt + idleMinutes·60000`; stale if
 *   `now > idleExpiresAt` (equal is fresh).
 * - `staleReason` is the part that turned stale first: the first boundary after `lastActivityAt` versus
 *   `idleExpiresAt + 1`. On a tie (both at the same millisecond) it is `daily`. This makes the reason at
 *   any later `now` equal the reason at {@link nextExpiryAt}, so an expiry fired on the clock and a late
 *   message evaluated afterwards get the same answer.
 *
 * `atHour` and `idleMinutes` are normalised as in policy resolution ({@link normalizeResetAtHour},
 * {@link normalizeIdleMinutes}), so a hand-built policy behaves like a resolved one.
 * `timeZone` is an IANA name; `undefined` means luxon's default zone (the host's local zone).
 *
 * @throws {FreshnessInputError} (a `RangeError`) when `timeZone` is not a known zone, or a time is not a
 *   finite value within the ECMAScript time range. Never throws for any policy.
 */
export function evaluateFreshness(input: {
  lastActivityAt: number;
  now: number;
  policy: ResetPolicy;
  timeZone?: string;
}): FreshnessResult {
  const { lastActivityAt: last, now, policy } = input;
  assertInstant('lastActivityAt', last);
  assertInstant('now', now);
  const zone = resolveZone(input.timeZone);
  const idleMinutes = normalizeIdleMinutes(policy.idleMinutes) ?? 0;

  const result: FreshnessResult = { fresh: true };
  let dailyStaleFrom: number | undefined;
  let idleStaleFrom: number | undefined;

  if (policy.mode === 'daily') {
    const atHour = normalizeResetAtHour(policy.atHour);
    const boundary = boundaryAtOrBefore(zone, now, atHour);
    result.dailyResetAt = boundary;
    if (last < boundary) dailyStaleFrom = firstBoundaryAfter(zone, last, atHour);
  }
  if (idleMinutes > 0) {
    const idleExpiresAt = last + idleMinutes * MINUTE_MS;
    result.idleExpiresAt = idleExpiresAt;
    if (now > idleExpiresAt) idleStaleFrom = idleExpiresAt + 1;
  }

  if (dailyStaleFrom !== undefined && (idleStaleFrom === undefined || dailyStaleFrom <= idleStaleFrom)) {
    result.fresh = false;
    result.staleReason = 'daily';
  } else if (idleStaleFrom !== undefined) {
    result.fresh = false;
    result.staleReason = 'idle';
  }
  return result;
}

/**
 * The first millisecond at which {@link evaluateFreshness} reports the session stale, given its last
 * activity: the first daily boundary strictly after `lastActivityAt` (daily mode), or
 * `lastActivityAt + idleMinutes·60000 + 1` (when an idle limit applies), whichever is earlier.
 * `undefined` when the session never goes stale (idle mode without an idle limit).
 *
 * @throws {FreshnessInputError} (a `RangeError`) for an unknown `timeZone` or a non-finite
 *   `lastActivityAt`, as {@link evaluateFreshness}.
 */
export function nextExpiryAt(input: {
  lastActivityAt: number;
  policy: ResetPolicy;
  timeZone?: string;
}): number | undefined {
  const { lastActivityAt: last, policy } = input;
  assertInstant('lastActivityAt', last);
  const zone = resolveZone(input.timeZone);
  const idleMinutes = normalizeIdleMinutes(policy.idleMinutes) ?? 0;

  const candidates: number[] = [];
  if (policy.mode === 'daily') {
    candidates.push(firstBoundaryAfter(zone, last, normalizeResetAtHour(policy.atHour)));
  }
  if (idleMinutes > 0) candidates.push(last + idleMinutes * MINUTE_MS + 1);
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}

/**
 * The most recent daily boundary at or before `now`: the instant the wall clock in `timeZone` reads
 * `atHour:00:00.000`. When that wall time falls in a spring-forward gap, the boundary is the first valid
 * instant after the gap (New York, 02:00 on the spring-forward day → 03:00 EDT); when it occurs twice in a
 * fall-back, the earlier occurrence. `atHour` is floored and clamped to 0..23 (non-finite → 4).
 *
 * @throws {FreshnessInputError} (a `RangeError`) for an unknown `timeZone` or a non-finite `now`.
 */
export function dailyBoundaryAtOrBefore(now: number, atHour: number, timeZone?: string): number {
  assertInstant('now', now);
  return boundaryAtOrBefore(resolveZone(timeZone), now, normalizeResetAtHour(atHour));
}

/**
 * The first daily boundary strictly after `instant` (same DST rules as {@link dailyBoundaryAtOrBefore}):
 * when the scheduler's next tick for `atHour` is due.
 *
 * @throws {FreshnessInputError} (a `RangeError`) for an unknown `timeZone` or a non-finite `instant`.
 */
export function dailyBoundaryAfter(instant: number, atHour: number, timeZone?: string): number {
  assertInstant('instant', instant);
  return firstBoundaryAfter(resolveZone(timeZone), instant, normalizeResetAtHour(atHour));
}

function boundaryAtOrBefore(zone: Zone, now: number, atHour: number): number {
  const day = localDayStart(zone, now);
  // Starting one local day ahead covers a fall-back across midnight, where `now` can read as the previous
  // day although the boundary of the next day (its first occurrence) already passed.
  for (let k = 1; k >= -2; k--) {
    const boundary = resolveWallTime(zone, day + k * DAY_MS + atHour * HOUR_MS);
    if (boundary <= now) return boundary;
  }
  // Unreachable for real zones (a boundary exists every local day); kept total for odd zone data.
  return resolveWallTime(zone, day - 3 * DAY_MS + atHour * HOUR_MS);
}

function firstBoundaryAfter(zone: Zone, instant: number, atHour: number): number {
  const day = localDayStart(zone, instant);
  for (let k = -1; k <= 2; k++) {
    const boundary = resolveWallTime(zone, day + k * DAY_MS + atHour * HOUR_MS);
    if (boundary > instant) return boundary;
  }
  return resolveWallTime(zone, day + 3 * DAY_MS + atHour * HOUR_MS);
}

/** Start of the local calendar day containing `instant`, as a wall-clock value (local time read as UTC). */
function localDayStart(zone: Zone, instant: number): number {
  const wall = instant + offsetMs(zone, instant);
  return Math.floor(wall / DAY_MS) * DAY_MS;
}

/**
 * The instant at which the zone's wall clock reads `wall` (local time expressed as if it were UTC ms).
 * Two instants read it in a fall-back overlap: the earlier wins. None does in a spring-forward gap: the
 * transition instant, which is the first valid wall time after the gap, wins.
 */
function resolveWallTime(zone: Zone, wall: number): number {
  // Memoized: a pure function of the zone and the wall time, and every session of a gateway asks for the
  // same few boundaries (profiling showed Intl offset look-ups as half of a decision's cost without it).
  const key = `${zone.name}\u0000${wall}`;
  const hit = wallTimeCache.get(key);
  if (hit !== undefined) return hit;
  const instant = computeWallTime(zone, wall);
  if (wallTimeCache.size >= WALL_TIME_CACHE_LIMIT) wallTimeCache.clear();
  wallTimeCache.set(key, instant);
  return instant;
}

const WALL_TIME_CACHE_LIMIT = 4096;
const wallTimeCache = new Map<string, number>();

function computeWallTime(zone: Zone, wall: number): number {
  // The offsets in force a day either side of `wall` are the only ones a nearby instant can have
  // (zones do not change offset twice within two days).
  const offsetBefore = offsetMs(zone, wall - DAY_MS);
  const offsetAfter = offsetMs(zone, wall + DAY_MS);
  let earliest: number | undefined;
  for (const offset of [offsetBefore, offsetAfter]) {
    const instant = wall - offset;
    if (offsetMs(zone, instant) === offset && (earliest === undefined || instant < earliest)) {
      earliest = instant;
    }
  }
  if (earliest !== undefined) return earliest;

  // A gap: the transition lies in (wall - offsetAfter, wall - offsetBefore]. Find its exact millisecond.
  let lo = wall - offsetAfter;
  let hi = wall - offsetBefore;
  const offsetAtLo = offsetMs(zone, lo);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMs(zone, mid) === offsetAtLo) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The zone's UTC offset at `instant`, in whole milliseconds (luxon reports minutes, possibly fractional). */
function offsetMs(zone: Zone, instant: number): number {
  return Math.round(zone.offset(instant) * MINUTE_MS);
}

function resolveZone(timeZone: string | undefined): Zone {
  if (timeZone === undefined) {
    const fallback = Settings.defaultZone;
    if (!fallback.isValid) {
      throw new FreshnessInputError(
        FreshnessInputErrorCodes.InvalidTimeZone,
        `invalid default time zone ${JSON.stringify(fallback.name)}`,
      );
    }
    return fallback;
  }
  const zone = IANAZone.create(timeZone);
  if (!zone.isValid) {
    throw new FreshnessInputError(
      FreshnessInputErrorCodes.InvalidTimeZone,
      `invalid time zone ${JSON.stringify(timeZone)}: not a known IANA zone`,
    );
  }
  return zone;
}

function assertInstant(field: string, value: number): void {
  if (!Number.isFinite(value) || Math.abs(value) > MAX_INSTANT_MS) {
    throw new FreshnessInputError(
      FreshnessInputErrorCodes.InvalidInstant,
      `${field} must be a finite epoch-millisecond time within range, got ${String(value)}`,
    );
  }
}
