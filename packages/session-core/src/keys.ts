/**
 * Session keys (spec §1) and the reset type of a session (spec §2.4).
 *
 * A key is a lowercase string `agent:<agentId>:<rest>`. Routing turns what it knows about an inbound
 * message (a {@link SessionRoute}) into a key with {@link resolveSessionKey}; everything else reads keys
 * back with {@link parseSessionKey}, {@link deriveChatType} and {@link classifyResetType}.
 *
 * Every function here is total: malformed input is normalised to a fallback (`main`, `default`,
 * `unknown`) or reported as `null`, never thrown, because routing must place every message somewhere.
 */
import type { ChatType, DmScope, Peer, ResetType, SessionConfig, SessionRoute } from './types.js';

export const DEFAULT_AGENT_ID = 'main';
export const DEFAULT_ACCOUNT_ID = 'default';
export const DEFAULT_MAIN_KEY = 'main';
/** Placeholder for a channel or conversation id that routing could not name. */
export const UNKNOWN_ID = 'unknown';

const VALID_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/i;
const INVALID_ID_CHARS = /[^a-z0-9_-]+/g;
const EDGE_DASHES = /^-+|-+$/g;
const MAX_ID_LENGTH = 64;
/** Account ids become object keys in stores and configs; these names would reach the prototype. */
const BLOCKED_ACCOUNT_IDS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** `agentId` / `accountId` character rules (spec §1.1); `''` when nothing usable is left. */
function canonicalId(raw: string | null | undefined): string {
  const trimmed = (raw ?? '').trim();
  if (!trimmed) return '';
  if (VALID_ID.test(trimmed)) return trimmed.toLowerCase();
  return trimmed
    .toLowerCase()
    .replace(INVALID_ID_CHARS, '-')
    .replace(EDGE_DASHES, '')
    .slice(0, MAX_ID_LENGTH);
}

/**
 * Normalises an agent id: trimmed and lowercased when it is already a safe id, otherwise every run of
 * characters outside `[a-z0-9_-]` becomes one `-`, edge dashes go, and it is cut to 64 characters.
 * Never fails: an id with nothing usable left is `main` (`My Agent!` → `my-agent`, `../../etc` → `etc`).
 */
export function normalizeAgentId(raw: string | null | undefined): string {
  return canonicalId(raw) || DEFAULT_AGENT_ID;
}

/**
 * Normalises an account id with the agent-id character rules. Never fails: a missing or unusable id, and
 * the prototype names `__proto__`, `constructor` and `prototype` (before or after normalising), give
 * `default`.
 */
export function normalizeAccountId(raw: string | null | undefined): string {
  const canonical = canonicalId(raw);
  if (!canonical) return DEFAULT_ACCOUNT_ID;
  const lowered = (raw ?? '').trim().toLowerCase();
  if (BLOCKED_ACCOUNT_IDS.has(canonical) || BLOCKED_ACCOUNT_IDS.has(lowered)) return DEFAULT_ACCOUNT_ID;
  return canonical;
}

/**
 * Normalises a channel name for a key: trimmed and lowercased; empty → `unknown`. Deliberately does not
 * resolve aliases (`imsg`, `teams`): keys carry the channel as routing named it.
 */
export function normalizeChannel(raw: string | null | undefined): string {
  return (raw ?? '').trim().toLowerCase() || UNKNOWN_ID;
}

/**
 * Normalises a peer or group id: numbers are stringified, then trimmed and lowercased; empty → `unknown`.
 * Never fails.
 */
export function normalizePeerId(raw: string | number | null | undefined): string {
  return lowerToken(raw) || UNKNOWN_ID;
}

/** Trimmed, lowercased text of a string or number; `''` for anything else. */
function lowerToken(raw: unknown): string {
  if (typeof raw === 'number') return String(raw).trim().toLowerCase();
  if (typeof raw === 'string') return raw.trim().toLowerCase();
  return '';
}

/**
 * `session.mainKey` trimmed and lowercased, `main` by default. A value with no non-empty `:` segment
 * (`:`, `::`) also falls back to `main`, because it would make the main key unparsable.
 */
function normalizeMainKey(raw: string | undefined): string {
  const mainKey = (raw ?? '').trim().toLowerCase();
  return mainKey.split(':').some((part) => part !== '') ? mainKey : DEFAULT_MAIN_KEY;
}

/** The main key of an agent: `agent:<agentId>:<mainKey>` (spec §1.2). Never fails. */
export function resolveMainKey(agentId: string | undefined, session: SessionConfig): string {
  return `agent:${normalizeAgentId(agentId)}:${normalizeMainKey(session.mainKey)}`;
}

/**
 * The session key of an inbound message (spec §1). Never fails; the result is lowercase and, unless it
 * came from `route.explicitKey`, always parses with {@link parseSessionKey}.
 *
 * - An explicit key is kept (trimmed, lowercased); without its own `agent:` prefix it gets
 *   `agent:<agentId>:`. No thread suffix is added to it.
 * - No peer → the main key. A direct peer (kind `direct` or legacy `dm`) → the `dmScope` layout, with
 *   `identityLinks` applied except under `main`. A group/channel peer → `agent:<a>:<C>:<kind>:<id>`.
 * - A thread id appends `:thread:<id>`, except for Telegram forum topics (`…:group:<chatId>:topic:<n>`)
 *   and when `parentPeer` says the peer already is the thread.
 */
export function resolveSessionKey(route: SessionRoute, session: SessionConfig): string {
  const explicitKey = (route.explicitKey ?? '').trim().toLowerCase();
  if (explicitKey) {
    return explicitKey.startsWith('agent:')
      ? explicitKey
      : `agent:${normalizeAgentId(route.agentId)}:${explicitKey}`;
  }
  const threadId = lowerToken(route.threadId);
  const peer = route.peer;
  if (!peer) {
    // No conversation to name: the main key, still split per thread so the key agrees with the reset type.
    return withThread(resolveMainKey(route.agentId, session), threadId);
  }
  const channel = normalizeChannel(route.channel);
  const kind = lowerToken(peer.kind);
  const baseKey =
    kind === 'direct' || kind === 'dm'
      ? directKey(route, session, channel, peer)
      : `agent:${normalizeAgentId(route.agentId)}:${channel}:${kind}:${normalizePeerId(peer.id)}`;
  if (channel === 'telegram' && kind === 'group' && threadId) {
    // Forum topics are part of the group id; an id that already names its topic is left alone.
    return baseKey.includes(':topic:') ? baseKey : `${baseKey}:topic:${threadId}`;
  }
  // A parent peer means the peer id is the thread's own id (Discord): the key already names the thread.
  if (route.parentPeer != null) return baseKey;
  return withThread(baseKey, threadId);
}

function withThread(key: string, threadId: string): string {
  return threadId ? `${key}:thread:${threadId}` : key;
}

/** The key of a direct conversation under `session.dmScope` (spec §1.2, §1.3). */
function directKey(route: SessionRoute, session: SessionConfig, channel: string, peer: Peer): string {
  const scope: DmScope = session.dmScope ?? 'main';
  if (scope === 'main') return resolveMainKey(route.agentId, session);
  const agentId = normalizeAgentId(route.agentId);
  const peerId = resolveLinkedPeer(session.identityLinks, channel, peer.id) ?? normalizePeerId(peer.id);
  switch (scope) {
    case 'per-peer':
      return `agent:${agentId}:direct:${peerId}`;
    case 'per-channel-peer':
      return `agent:${agentId}:${channel}:direct:${peerId}`;
    case 'per-account-channel-peer':
      return `agent:${agentId}:${channel}:${normalizeAccountId(route.accountId)}:direct:${peerId}`;
    default:
      // Only reachable with an unvalidated config. Fail safe: the most isolated layout, never the shared
      // main key, which would leak one person's conversation into another's (spec §6).
      return `agent:${agentId}:${channel}:${normalizeAccountId(route.accountId)}:direct:${peerId}`;
  }
}

/**
 * The canonical name `identityLinks` gives peer `rawPeerId` on `channel`, lowercased, or `undefined`.
 * Names are tried in the map's own order (JavaScript puts integer-like names first); the first whose list
 * holds `P` or `C:P` wins. An unknown (empty) peer id is never linked: it does not identify anyone.
 */
function resolveLinkedPeer(
  identityLinks: SessionConfig['identityLinks'],
  channel: string,
  rawPeerId: string | number,
): string | undefined {
  if (identityLinks == null || typeof identityLinks !== 'object') return undefined;
  const peerId = lowerToken(rawPeerId);
  if (!peerId) return undefined;
  const candidates = new Set([peerId, `${channel}:${peerId}`]);
  for (const [canonical, ids] of Object.entries(identityLinks)) {
    const name = canonical.trim().toLowerCase();
    if (!name || !Array.isArray(ids)) continue;
    if (ids.some((id: unknown) => candidates.has(lowerToken(id)))) return name;
  }
  return undefined;
}

/** A key split into its agent id and the rest (spec §1.6). */
export interface ParsedSessionKey {
  agentId: string;
  rest: string;
}

/**
 * Parses `agent:<agentId>:<rest>`: trims, lowercases, splits on `:` and drops empty segments. Returns
 * `null` (never throws) when fewer than 3 segments are left or the first is not `agent`.
 */
export function parseSessionKey(key: string): ParsedSessionKey | null {
  const parts = splitKey(key);
  const [head, agentId] = parts;
  if (parts.length < 3 || head !== 'agent' || agentId === undefined) return null;
  return { agentId, rest: parts.slice(2).join(':') };
}

function splitKey(key: string): string[] {
  return String(key ?? '')
    .trim()
    .toLowerCase()
    .split(':')
    .filter((part) => part !== '');
}

/** The `:`-tokens of a key after `agent:<id>:`; a key that does not parse is all rest. */
export function keyRestTokens(key: string): string[] {
  const parsed = parseSessionKey(key);
  return parsed ? parsed.rest.split(':') : splitKey(key);
}

/**
 * The chat type a key names (spec §1.6): a `group` token → `group`; else `channel` → `channel`; else
 * `direct` or legacy `dm` → `direct`; else `unknown` (the main key, cron, hook and sub-agent keys).
 */
export function deriveChatType(sessionKey: string): ChatType {
  const tokens = keyRestTokens(sessionKey);
  if (tokens.includes('group')) return 'group';
  if (tokens.includes('channel')) return 'channel';
  if (tokens.includes('direct') || tokens.includes('dm')) return 'direct';
  return 'unknown';
}

/** What {@link classifyResetType} looks at. */
export interface ResetTypeInput {
  sessionKey: string;
  threadId?: string | null;
  parentPeer?: unknown;
  chatType?: string | null;
}

/**
 * The reset type of a session (spec §2.4): `thread` when the message carries a thread id or a parent
 * conversation, or the key has a `thread` or Telegram `topic` token; else `group` when the given chat
 * type or the key's is group/channel; else `direct` (main, cron and hook keys included). Never fails.
 */
export function classifyResetType(input: ResetTypeInput): ResetType {
  if (lowerToken(input.threadId) || input.parentPeer != null) return 'thread';
  const tokens = keyRestTokens(input.sessionKey);
  if (tokens.includes('thread') || tokens.includes('topic')) return 'thread';
  const chatType = lowerToken(input.chatType);
  if (chatType === 'group' || chatType === 'channel') return 'group';
  const keyChatType = deriveChatType(input.sessionKey);
  if (keyChatType === 'group' || keyChatType === 'channel') return 'group';
  return 'direct';
}
