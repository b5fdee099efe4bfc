/**
 * Which reset policy applies to a session (spec §2.1, §2.2).
 *
 * The `session` block is OpenClaw's shape, so precedence follows OpenClaw exactly: a channel override
 * replaces everything else; otherwise the reset-type entry is merged field by field over `reset`, with the
 * legacy top-level `idleMinutes` as the last idle fallback. Everything here is total: malformed numbers
 * are normalised, never thrown about, because a config that loaded must always yield a policy.
 *
 * The time zone of the daily boundary is deliberately NOT part of the policy: it is gateway-wide
 * (`session.reset.timeZone`, Beyond) and read with {@link resolveResetTimeZone}.
 */
import type { ResetConfig, ResetMode, ResetPolicy, ResetType, SessionConfig } from './types.js';

/** The built-in policy (spec §2.1): daily at 04:00, no idle limit. */
export const DEFAULT_RESET_POLICY: Readonly<ResetPolicy> = Object.freeze({ mode: 'daily', atHour: 4 });

const DEFAULT_MODE: ResetMode = 'daily';
const DEFAULT_AT_HOUR = 4;

/**
 * Channel aliases resolved before a `resetByChannel` lookup. `imsg`, `gchat`, `google-chat` and
 * `internet-relay-chat` are OpenClaw's core aliases; `teams` is the alias its Microsoft Teams plugin
 * registers. A null-prototype object so that `__proto__` or `constructor` can never resolve to anything.
 */
const CHANNEL_ALIASES: Readonly<Record<string, string>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, string>, {
    imsg: 'imessage',
    teams: 'msteams',
    gchat: 'googlechat',
    'google-chat': 'googlechat',
    'internet-relay-chat': 'irc',
  }),
);

/**
 * Normalises a channel name for reset lookups: trimmed, lowercased, aliases resolved
 * (`imsg`→`imessage`, `teams`→`msteams`, `gchat`/`google-chat`→`googlechat`, `internet-relay-chat`→`irc`).
 * Never throws; `null`, `undefined` and blank input give `''`.
 */
export function normalizeResetChannel(raw: string | null | undefined): string {
  const key = (raw ?? '').trim().toLowerCase();
  return CHANNEL_ALIASES[key] ?? key;
}

/**
 * The daily reset hour as used everywhere: floored and clamped to 0..23; a missing or non-finite value
 * gives the default 4. Never throws.
 */
export function normalizeResetAtHour(value: number | null | undefined): number {
  if (value == null || !Number.isFinite(value)) return DEFAULT_AT_HOUR;
  return Math.min(23, Math.max(0, Math.floor(value)));
}

/**
 * An idle limit in minutes as used everywhere: `max(floor(value), 0)`, where 0 means no limit. A missing
 * or non-finite value is unset and gives `undefined` (the caller decides what unset means). Never throws.
 */
export function normalizeIdleMinutes(value: number | null | undefined): number | undefined {
  if (value == null || !Number.isFinite(value)) return undefined;
  return Math.max(0, Math.floor(value));
}

/**
 * The policy in force for a session of `ctx.resetType` on `ctx.channel`, after precedence (spec §2.2):
 *
 * 1. A `resetByChannel` entry for the normalised channel replaces `reset`, `resetByType` and the legacy
 *    `idleMinutes` entirely; the fields it omits take the built-in defaults.
 * 2. Otherwise `resetByType[type]` (for `direct`: `direct`, else `dm`) is merged field by field over `reset`.
 * 3. `mode`: type, reset, `idle` when only the legacy `idleMinutes` is configured, else `daily`.
 * 4. `atHour`: see {@link normalizeResetAtHour}.
 * 5. `idleMinutes`: type, reset, then legacy; see {@link normalizeIdleMinutes}. Unset gives 0 in idle mode
 *    and is omitted in daily mode.
 *
 * Returns a new object on every call. Never throws: an unusable field falls back as described.
 */
export function resolveResetPolicy(
  session: SessionConfig,
  ctx: { resetType: ResetType; channel?: string | null },
): ResetPolicy {
  const channelOverride = findChannelOverride(session.resetByChannel, ctx.channel);
  if (channelOverride !== undefined) {
    // The override stands alone: no type entry, no `reset` underneath, no legacy idle fallback.
    return buildPolicy(
      channelOverride.mode ?? DEFAULT_MODE,
      channelOverride.atHour,
      channelOverride.idleMinutes,
    );
  }

  const base = session.reset ?? undefined;
  const typeEntry = findTypeEntry(session, ctx.resetType);
  const legacyIdle = session.idleMinutes ?? undefined;
  // `reset: {}` counts as configured (presence, not content), as in OpenClaw.
  const onlyLegacy = session.reset == null && session.resetByType == null && legacyIdle !== undefined;
  const mode = typeEntry?.mode ?? base?.mode ?? (onlyLegacy ? 'idle' : DEFAULT_MODE);
  return buildPolicy(
    mode,
    typeEntry?.atHour ?? base?.atHour,
    typeEntry?.idleMinutes ?? base?.idleMinutes ?? legacyIdle,
  );
}

/**
 * The IANA zone of the daily boundary: `session.reset.timeZone` (Beyond), else `hostTimeZone`, else
 * `undefined` (meaning the host's local zone). Blank strings count as unset. A channel override or a
 * type entry never changes it: the zone is gateway-wide. Does not validate the name; freshness
 * evaluation rejects an unknown zone.
 */
export function resolveResetTimeZone(session: SessionConfig, hostTimeZone?: string): string | undefined {
  const configured = session.reset?.timeZone?.trim();
  if (configured) return configured;
  const host = hostTimeZone?.trim();
  return host ? host : undefined;
}

const RESET_TYPES: readonly ResetType[] = ['direct', 'group', 'thread'];

/**
 * Every `atHour` at which some session's daily reset can fall under this configuration: the hours of
 * the daily-mode policies {@link resolveResetPolicy} can give, for every reset type, with and without
 * each `resetByChannel` entry — ascending, without repeats. Empty when no policy is daily.
 */
export function dailyResetHours(session: SessionConfig): number[] {
  const channels: (string | null)[] = [null, ...Object.keys(session.resetByChannel ?? {})];
  const hours = new Set<number>();
  for (const resetType of RESET_TYPES) {
    for (const channel of channels) {
      const policy = resolveResetPolicy(session, { resetType, channel });
      if (policy.mode === 'daily') hours.add(policy.atHour);
    }
  }
  return [...hours].sort((a, b) => a - b);
}

function buildPolicy(mode: ResetMode, atHour: number | undefined, idleRaw: number | undefined): ResetPolicy {
  const policy: ResetPolicy = { mode, atHour: normalizeResetAtHour(atHour) };
  const idleMinutes = normalizeIdleMinutes(idleRaw);
  if (idleMinutes !== undefined) policy.idleMinutes = idleMinutes;
  else if (mode === 'idle') policy.idleMinutes = 0;
  return policy;
}

function findTypeEntry(session: SessionConfig, resetType: ResetType): ResetConfig | undefined {
  const byType = session.resetByType;
  if (byType == null) return undefined;
  if (resetType === 'direct') return byType.direct ?? byType.dm ?? undefined;
  return byType[resetType] ?? undefined;
}

/**
 * The `resetByChannel` entry for a message channel. The channel is normalised with aliases; the keys are
 * only trimmed and lowercased, so a key spelled as an alias (`teams`) can never match. An exact key wins
 * over one that only matches after trimming/lowercasing; among those, the first in insertion order.
 */
function findChannelOverride(
  byChannel: Record<string, ResetConfig> | undefined,
  channel: string | null | undefined,
): ResetConfig | undefined {
  if (byChannel == null) return undefined;
  const wanted = normalizeResetChannel(channel);
  if (wanted === '') return undefined;
  // Object.entries only sees own enumerable keys, so `constructor` & co. never match by inheritance.
  const entries = Object.entries(byChannel).filter(([, value]) => value != null);
  const exact = entries.find(([key]) => key === wanted);
  if (exact) return exact[1];
  return entries.find(([key]) => key.trim().toLowerCase() === wanted)?.[1];
}
