import { agentOfKey, type ThreadlineConfig } from './config.js';
import { classifyResetType } from './keys.js';
import { dailyResetHours, resolveResetPolicy, resolveResetTimeZone } from './resetPolicy.js';
import type { LifecycleRules } from './sessionMachine.js';

const MINUTE_MS = 60_000;

/** What the host knows about the message a session's rules are resolved for. */
export interface LifecycleRulesInput {
  sessionKey: string;
  channel?: string | null;
  threadId?: string | null;
  parentPeer?: unknown;
  chatType?: string | null;
  /** The host's own IANA zone, used when neither `session.reset.timeZone` nor `gateway.timeZone` is set. */
  hostTimeZone?: string;
}

/**
 * The rules the lifecycle machine records with each message: the reset policy in force for this key
 * (spec §2.2 precedence, by reset type and channel), the gateway's time zone, the quiet period, and the
 * agent's compaction threshold (`compactThresholdTokens`, else `contextWindow − reserveTokens`). Pure: the
 * host passes its own zone in; the result goes into the event so that a replay never re-reads config.
 */
export function resolveLifecycleRules(config: ThreadlineConfig, input: LifecycleRulesInput): LifecycleRules {
  const resetType = classifyResetType({
    sessionKey: input.sessionKey,
    ...(input.threadId == null ? {} : { threadId: input.threadId }),
    ...(input.parentPeer == null ? {} : { parentPeer: input.parentPeer }),
    ...(input.chatType == null ? {} : { chatType: input.chatType }),
  });
  const policy = resolveResetPolicy(config.session, { resetType, channel: input.channel ?? null });
  const timeZone = gatewayTimeZone(config, input.hostTimeZone);
  const agent = agentOfKey(input.sessionKey, config);
  const compactAtTokens = agent.compactThresholdTokens ?? agent.contextWindow - agent.reserveTokens;
  return {
    policy,
    ...(timeZone === undefined ? {} : { timeZone }),
    quietMs: Math.round(config.lifecycle.quietMinutes * MINUTE_MS),
    compactAtTokens,
    compactionTimeoutMs: config.lifecycle.compactionTimeoutMs,
  };
}

/** The zone of every daily boundary: `session.reset.timeZone`, else `gateway.timeZone`, else the host's. */
function gatewayTimeZone(config: ThreadlineConfig, hostTimeZone: string | undefined): string | undefined {
  return resolveResetTimeZone(config.session, config.gateway.timeZone ?? hostTimeZone);
}

/**
 * The daily boundaries this configuration implies, for the scheduler's ticks: the gateway's zone (the
 * zone the rules record, see {@link resolveLifecycleRules}) and every distinct `atHour` of a daily-mode
 * policy across `reset`, `resetByType` and `resetByChannel`.
 */
export function dailyResetSchedule(
  config: ThreadlineConfig,
  hostTimeZone?: string,
): { timeZone?: string; atHours: number[] } {
  const timeZone = gatewayTimeZone(config, hostTimeZone);
  return { ...(timeZone === undefined ? {} : { timeZone }), atHours: dailyResetHours(config.session) };
}
