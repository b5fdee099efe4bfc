/**
 * The send policy (spec §3): whether replies of a session may be delivered to its chat.
 *
 * A decision is data, never an exception: {@link explainSendPolicy} also says which part of the
 * configuration decided, so `/status` and the audit can show it. Deciding does not block anything by
 * itself; the caller records and holds back what a `deny` covers.
 */
import { deriveChatType, keyRestTokens, parseSessionKey } from './keys.js';
import type { SendAction, SendDecision, SendPolicyRule, SessionConfig } from './types.js';

/** What the send policy looks at. */
export interface SendPolicyInput {
  session: SessionConfig;
  sessionKey: string;
  /** The per-session override set by `/send` (`allow`/`on`, `deny`/`off`; anything else is no override). */
  override?: string | null;
  /** The channel of the delivery, when the caller knows it. */
  channel?: string | null;
  /** The chat type of the delivery, when the caller knows it (`dm` = `direct`). */
  chatType?: string | null;
  /** The session entry: its channel, last delivery channel and chat type. */
  entry?: { channel?: string; lastChannel?: string; chatType?: string } | null;
}

/** Which part of the configuration decided. */
export type SendPolicySource = 'override' | 'rule' | 'default' | 'unconfigured';

export interface SendPolicyExplanation {
  decision: SendDecision;
  source: SendPolicySource;
  /** 0-based index of the deciding rule: the deny that matched, or the first allow that matched. */
  rule?: number;
}

/**
 * Reads a `/send` override: `allow`/`on` → `allow`, `deny`/`off` → `deny` (trimmed, any case); anything
 * else — `inherit`, `default`, empty, unknown words — is `undefined`, meaning no override.
 */
export function normalizeSendOverride(raw: string | null | undefined): SendAction | undefined {
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (value === 'allow' || value === 'on') return 'allow';
  if (value === 'deny' || value === 'off') return 'deny';
  return undefined;
}

/** The decision of the send policy for one delivery (spec §3). Never fails; see {@link explainSendPolicy}. */
export function resolveSendPolicy(input: SendPolicyInput): SendDecision {
  return explainSendPolicy(input).decision;
}

/**
 * The decision of the send policy with its source (spec §3). Never fails.
 *
 * The override wins; without `session.sendPolicy` everything is allowed (`unconfigured`). Otherwise the
 * rules are walked in order: the first matching deny decides at once, a matching allow is remembered and
 * the walk goes on. After the walk: allow if some allow matched, else the configured `default`, else allow.
 * A rule that names a field the delivery's value of which cannot be determined (a channel rule for a
 * direct session with no recorded channel) does not match.
 */
export function explainSendPolicy(input: SendPolicyInput): SendPolicyExplanation {
  const override = normalizeSendOverride(input.override);
  if (override) return { decision: override, source: 'override' };
  const policy = input.session.sendPolicy;
  if (policy == null) return { decision: 'allow', source: 'unconfigured' };

  const key = String(input.sessionKey ?? '')
    .trim()
    .toLowerCase();
  const facts: DeliveryFacts = {
    key,
    rest: parseSessionKey(key)?.rest,
    channel:
      matchValue(input.channel) ??
      matchValue(input.entry?.channel) ??
      matchValue(input.entry?.lastChannel) ??
      channelFromKey(key),
    chatType:
      chatTypeValue(input.chatType) ??
      chatTypeValue(input.entry?.chatType) ??
      chatTypeValue(deriveChatType(key)),
  };

  let firstAllow: number | undefined;
  const rules: readonly (SendPolicyRule | null | undefined)[] = Array.isArray(policy.rules)
    ? policy.rules
    : [];
  for (const [index, rule] of rules.entries()) {
    if (rule == null || !ruleMatches(rule, facts)) continue;
    // Anything but an explicit deny is an allow, as in OpenClaw: a rule without `action` allows.
    if (matchValue(rule.action) === 'deny') return { decision: 'deny', source: 'rule', rule: index };
    firstAllow ??= index;
  }
  if (firstAllow !== undefined) return { decision: 'allow', source: 'rule', rule: firstAllow };
  return { decision: matchValue(policy.default) === 'deny' ? 'deny' : 'allow', source: 'default' };
}

interface DeliveryFacts {
  /** The trimmed, lowercased key. */
  key: string;
  /** The key without `agent:<id>:`, when it parses. */
  rest: string | undefined;
  channel: string | undefined;
  chatType: string | undefined;
}

function ruleMatches(rule: SendPolicyRule, facts: DeliveryFacts): boolean {
  const match = rule.match;
  if (match == null) return true;
  const channel = matchValue(match.channel);
  if (channel !== undefined && channel !== facts.channel) return false;
  const chatType = chatTypeValue(match.chatType);
  if (chatType !== undefined && chatType !== facts.chatType) return false;
  const rawKeyPrefix = matchValue(match.rawKeyPrefix);
  if (rawKeyPrefix !== undefined && !facts.key.startsWith(rawKeyPrefix)) return false;
  const keyPrefix = matchValue(match.keyPrefix);
  if (keyPrefix === undefined) return true;
  // Either form of the key may carry the prefix: `cron:` and `agent:main:cron:` both name cron sessions.
  return facts.key.startsWith(keyPrefix) || (facts.rest?.startsWith(keyPrefix) ?? false);
}

/** Trimmed, lowercased; empty or not a string → `undefined` (a rule field set to `''` names nothing). */
function matchValue(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const value = raw.trim().toLowerCase();
  return value || undefined;
}

/** A chat type for comparison: `dm` is `direct`; `unknown` is not a chat type anyone can match. */
function chatTypeValue(raw: unknown): string | undefined {
  const value = matchValue(raw);
  if (value === 'dm') return 'direct';
  return value === 'unknown' ? undefined : value;
}

/**
 * The channel named by a group or channel key: the token right before the `group` (or, failing that,
 * `channel`) token. Never from a direct key: there the channel position depends on `dmScope` and the
 * per-peer layout has none.
 */
function channelFromKey(sessionKey: string): string | undefined {
  const tokens = keyRestTokens(sessionKey);
  const chatType = deriveChatType(sessionKey);
  if (chatType !== 'group' && chatType !== 'channel') return undefined;
  const index = tokens.indexOf(chatType);
  return index > 0 ? tokens[index - 1] : undefined;
}
