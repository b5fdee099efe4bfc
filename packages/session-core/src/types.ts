import { SYSTEM_TURN_PROVIDERS } from '@threadline/protocol';

/**
 * Shared types of the session core. The `session` block is OpenClaw's shape (spec:
 * ../shared/spec/session-semantics.md); fields marked Beyond are Threadline's own additions.
 * Times are epoch milliseconds; time zones are IANA names.
 */

export type DmScope = 'main' | 'per-peer' | 'per-channel-peer' | 'per-account-channel-peer';

export type ResetMode = 'daily' | 'idle';

/** One reset rule as configured (`session.reset`, an entry of `resetByType` or `resetByChannel`). */
export interface ResetConfig {
  mode?: ResetMode;
  atHour?: number;
  idleMinutes?: number;
  /** Beyond: IANA zone of the daily boundary. Read from `session.reset.timeZone` only (gateway-wide). */
  timeZone?: string;
}

export interface ResetByTypeConfig {
  direct?: ResetConfig;
  /** Legacy alias of `direct`; `direct` wins when both are set. */
  dm?: ResetConfig;
  group?: ResetConfig;
  thread?: ResetConfig;
}

export type SendAction = 'allow' | 'deny';

export interface SendPolicyMatch {
  channel?: string;
  /** `direct` | `dm` (= direct) | `group` | `channel` | … */
  chatType?: string;
  /** The lowercased key, or the key without `agent:<id>:`, starts with it. */
  keyPrefix?: string;
  /** The lowercased full key starts with it. */
  rawKeyPrefix?: string;
}

export interface SendPolicyRule {
  /** A rule without an action is an allow. */
  action?: SendAction;
  /** A rule without a match matches everything. */
  match?: SendPolicyMatch;
}

export interface SendPolicyConfig {
  default?: SendAction;
  rules?: SendPolicyRule[];
}

/** The `session` block of the config: OpenClaw's shape. Every field is optional. */
export interface SessionConfig {
  dmScope?: DmScope;
  mainKey?: string;
  identityLinks?: Record<string, string[]>;
  reset?: ResetConfig;
  resetByType?: ResetByTypeConfig;
  resetByChannel?: Record<string, ResetConfig>;
  /** Legacy top-level idle limit in minutes. */
  idleMinutes?: number;
  resetTriggers?: string[];
  sendPolicy?: SendPolicyConfig;
}

/** The policy in force for one session, after precedence (spec §2.2). */
export interface ResetPolicy {
  mode: ResetMode;
  /** 0..23 */
  atHour: number;
  /** Minutes of inactivity after which the session is stale; absent or 0 means no idle limit. */
  idleMinutes?: number;
}

export type ResetType = 'direct' | 'group' | 'thread';

export type ChatType = 'direct' | 'group' | 'channel' | 'unknown';

export type PeerKind = 'direct' | 'dm' | 'group' | 'channel';

export interface Peer {
  kind: PeerKind;
  id: string | number;
}

/** What routing knows about an inbound message (the input of {@link resolveSessionKey}). */
export interface SessionRoute {
  agentId?: string;
  channel: string;
  accountId?: string | null;
  peer?: Peer | null;
  threadId?: string | null;
  parentPeer?: { kind: string; id: string } | null;
  /** A request that already carries a key keeps it (lowercased); its `agent:` prefix wins over agentId. */
  explicitKey?: string | null;
}

export interface FreshnessResult {
  fresh: boolean;
  staleReason?: 'daily' | 'idle';
  /** The daily boundary the evaluation used (the most recent atHour:00 at or before `now`), daily mode only. */
  dailyResetAt?: number;
  /** `lastActivityAt + idleMinutes·60000`, when an idle limit applies. */
  idleExpiresAt?: number;
}

export type SendDecision = 'allow' | 'deny';

/**
 * Providers whose inbound events are system turns: never a reset, never activity (spec §2.3). Defined
 * once, by the inbound contract (docs/protocol.md), which matches them exactly.
 */
export const SYSTEM_PROVIDERS = SYSTEM_TURN_PROVIDERS;
export type SystemProvider = (typeof SYSTEM_PROVIDERS)[number];
