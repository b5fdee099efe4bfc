/**
 * OpenClaw's session store read back (the reverse of layout.ts): a `sessions.json` entry and its JSONL
 * transcript become the fields of a `session.imported` control event. Pure: parsed JSON in, fields and
 * findings out; the command reads the files and publishes.
 *
 * What is read:
 * - the key, normalised: trimmed and lowercased, the legacy peer kind `dm` spelled `direct` (spec §1.2),
 *   and a key without `agent:` put under the agent whose folder holds it (spec §1.5);
 * - the entry's spec §4 fields under OpenClaw's names (layout.ts writes the same names);
 * - the conversation the agent sees: the latest compaction's summary and the turns it kept — from its
 *   `firstKeptEntryId` when it names one, else the lines after it — then every turn after it. Older
 *   turns are inside the summary and are not brought over. Lines that are not a person's or the agent's
 *   text (tool calls, tool results, model changes) are skipped and counted.
 */
import { createHash } from 'node:crypto';
import {
  type ControlEventV1,
  MAX_IMPORTED_TURNS,
  MAX_TEXT_LENGTH,
  unicodeLength,
} from '@threadline/protocol';
import { parseSessionKey } from '@threadline/session-core';
import { OPENCLAW_SETTINGS } from './layout.js';

export type ImportFields = Omit<
  Extract<ControlEventV1, { type: 'session.imported' }>,
  'v' | 'type' | 'id' | 'sessionKey' | 'at'
>;
type ImportedTurnV1 = ImportFields['turns'][number];
type RouteV1 = NonNullable<ImportFields['origin']>;

/** The most turn bytes one import event carries, so that it and its record stay under a 1 MiB payload. */
export const IMPORT_TURN_BUDGET_BYTES = 512 * 1024;

export interface ReadSession {
  fields: ImportFields;
  /** Older turns dropped to fit {@link IMPORT_TURN_BUDGET_BYTES} or {@link MAX_IMPORTED_TURNS}. */
  omittedTurns: number;
  /** Turns whose text was cut to {@link MAX_TEXT_LENGTH} characters. */
  truncatedTurns: number;
  /** Transcript lines that are not conversation text (tool traffic, model changes, custom entries). */
  skippedLines: number;
}

/** A problem with one session of the source store: it is not imported, and the report names it. */
export class OpenClawReadError extends Error {
  override readonly name = 'OpenClawReadError';
}

/**
 * The Threadline key of an OpenClaw key found in `agentId`'s store, or undefined when it is not a key
 * (fewer than three parts once prefixed).
 */
export function normaliseOpenClawKey(rawKey: string, agentId: string): string | undefined {
  let parts = rawKey.trim().toLowerCase().split(':').filter(Boolean);
  if (parts[0] !== 'agent') parts = ['agent', agentId.toLowerCase(), ...parts];
  // The legacy peer kind: `dm` where `direct` stands, i.e. a `dm` token before the peer id, and only the
  // first kind token (a peer could be called `dm`).
  const kind = parts.findIndex((part, i) => i >= 2 && ['direct', 'dm', 'group', 'channel'].includes(part));
  if (kind >= 0 && parts[kind] === 'dm' && kind < parts.length - 1) parts[kind] = 'direct';
  const key = parts.join(':');
  return parseSessionKey(key) ? key : undefined;
}

/** The id of the import event of `sessionId` into `sessionKey`: the same on every run, so repeats are one. */
export function importEventId(sessionKey: string, sessionId: string): string {
  const digest = createHash('sha256').update(`${sessionKey}\n${sessionId}`).digest('hex').slice(0, 32);
  return `import:openclaw:${digest}`;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== ''
    ? value
    : typeof value === 'number'
      ? String(value)
      : undefined;
const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
/** An epoch-ms number, or an ISO text. */
const time = (value: unknown): number | undefined => {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) || at < 0 ? undefined : at;
};

/**
 * One session of the store: the entry and (when the file exists) its transcript lines, parsed. Throws
 * {@link OpenClawReadError} naming what is wrong when the entry cannot be a session.
 */
export function readOpenClawSession(entry: unknown, transcript: readonly unknown[] | undefined): ReadSession {
  if (!isObject(entry)) throw new OpenClawReadError('the entry is not an object');
  const sessionId = str(entry.sessionId);
  if (!sessionId) throw new OpenClawReadError('the entry has no sessionId');
  const updatedAt = time(entry.updatedAt);
  if (updatedAt === undefined) throw new OpenClawReadError('the entry has no valid updatedAt (epoch ms)');
  const conversation = conversationOf(transcript ?? []);
  const header = (transcript ?? []).find((line) => isObject(line) && line.type === 'session') as
    | Json
    | undefined;
  const startedAt =
    time(entry.startedAt) ?? time(header?.timestamp) ?? conversation.turns[0]?.at ?? updatedAt;
  const lastActivityAt = time(entry.lastActivityAt) ?? updatedAt;

  const settings: NonNullable<ImportFields['settings']> = {};
  for (const name of OPENCLAW_SETTINGS) {
    const value = str(entry[name]);
    if (value !== undefined) settings[name] = value;
  }
  const chatType = str(entry.chatType);
  const origin = routeOf(entry.origin, {
    channel: str(entry.channel),
    chatType,
  });
  const lastChannel = str(entry.lastChannel);
  const lastTo = str(entry.lastTo);
  const lastAccountId = str(entry.lastAccountId);
  const lastThreadId = str(entry.lastThreadId);
  const lastRoute: RouteV1 | undefined =
    lastChannel && lastTo
      ? {
          channel: lastChannel,
          to: lastTo,
          chatType: chatType ?? origin?.chatType ?? 'unknown',
          ...(lastAccountId ? { accountId: lastAccountId } : {}),
          ...(lastThreadId ? { threadId: lastThreadId } : {}),
        }
      : undefined;
  const sendPolicy =
    entry.sendPolicy === 'allow' || entry.sendPolicy === 'deny' ? entry.sendPolicy : undefined;
  const { turns, omittedTurns } = bound(conversation.turns);
  return {
    fields: {
      source: 'openclaw',
      sessionId,
      startedAt: Math.min(startedAt, updatedAt),
      updatedAt,
      lastActivityAt: Math.min(lastActivityAt, updatedAt),
      ...(Object.keys(settings).length > 0 ? { settings } : {}),
      ...(sendPolicy ? { sendPolicy } : {}),
      tokens: {
        input: count(entry.inputTokens) ?? 0,
        output: count(entry.outputTokens) ?? 0,
        total: count(entry.totalTokens) ?? 0,
        context: count(entry.contextTokens) ?? 0,
      },
      compactionCount: count(entry.compactionCount) ?? 0,
      ...(origin ? { origin } : {}),
      ...(lastRoute ? { lastRoute } : {}),
      turns,
    },
    omittedTurns,
    truncatedTurns: conversation.truncated,
    skippedLines: conversation.skipped,
  };
}

/** The entry's `origin`: Threadline's route shape, or OpenClaw's (`provider`, `from`, `to`, …). */
function routeOf(value: unknown, fallback: { channel?: string | undefined; chatType?: string | undefined }) {
  if (!isObject(value)) return undefined;
  const channel = str(value.channel) ?? str(value.provider) ?? fallback.channel;
  const to = str(value.to) ?? str(value.from);
  if (!channel || !to) return undefined;
  const accountId = str(value.accountId);
  const threadId = str(value.threadId);
  const provider = str(value.provider);
  return {
    channel,
    to,
    chatType: str(value.chatType) ?? fallback.chatType ?? 'unknown',
    ...(accountId ? { accountId } : {}),
    ...(threadId ? { threadId } : {}),
    ...(provider && provider !== channel ? { provider } : {}),
  } satisfies RouteV1;
}

/** A UTF-16 surrogate without its pair: not text, so it cannot be stored; it becomes U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The current conversation of a transcript: the latest summary, the turns it kept, the turns after it. */
function conversationOf(lines: readonly unknown[]): {
  turns: ImportedTurnV1[];
  truncated: number;
  skipped: number;
} {
  const entries = lines.filter(isObject).filter((line) => line.type !== 'session');
  let from = 0;
  let summary: ImportedTurnV1 | undefined;
  let compactionAt = -1;
  entries.forEach((line, i) => {
    if (line.type === 'compaction') compactionAt = i;
  });
  let truncated = 0;
  const textOf = (text: string): string => {
    const clean = text.replace(LONE_SURROGATE, '\uFFFD');
    const length = unicodeLength(clean) ?? 0;
    if (length <= MAX_TEXT_LENGTH) return clean;
    truncated += 1;
    return Array.from(clean).slice(0, MAX_TEXT_LENGTH).join('');
  };
  if (compactionAt >= 0) {
    const compaction = entries[compactionAt] as Json;
    const kept = str(compaction.firstKeptEntryId);
    const keptAt = kept === undefined ? -1 : entries.findIndex((line) => line.id === kept);
    from = keptAt >= 0 && keptAt < compactionAt ? keptAt : compactionAt + 1;
    const id = str(compaction.id);
    const at = time(compaction.timestamp);
    if (id && at !== undefined && typeof compaction.summary === 'string')
      summary = {
        id,
        role: 'summary',
        text: textOf(compaction.summary),
        at,
        ...(count(compaction.tokens) === undefined ? {} : { tokens: count(compaction.tokens) }),
      };
  }
  const turns: ImportedTurnV1[] = summary ? [summary] : [];
  let skipped = 0;
  entries.slice(from).forEach((line, i) => {
    if (from + i === compactionAt || line.type === 'compaction') return;
    const turn = line.type === 'message' ? turnOf(line, textOf) : undefined;
    if (turn) turns.push(turn);
    else skipped += 1;
  });
  return { turns, truncated, skipped };
}

function turnOf(line: Json, textOf: (text: string) => string): ImportedTurnV1 | undefined {
  const message = line.message;
  if (!isObject(message)) return undefined;
  const role = message.role;
  if (role !== 'user' && role !== 'assistant') return undefined;
  const content = message.content;
  const parts =
    typeof content === 'string'
      ? [content]
      : Array.isArray(content)
        ? content
            .filter((part) => isObject(part) && part.type === 'text' && typeof part.text === 'string')
            .map((part) => (part as { text: string }).text)
        : [];
  if (parts.length === 0) return undefined; // tool calls only: not conversation text
  const id = str(line.id);
  const at = time(line.timestamp) ?? time(message.timestamp);
  if (!id || at === undefined) return undefined;
  const tokens = count(line.tokens);
  const senderId = str(message.senderId);
  const senderName = str(message.senderName);
  return {
    id,
    role,
    text: textOf(parts.join('\n')),
    at,
    ...(tokens === undefined ? {} : { tokens }),
    ...(role === 'user' && senderId ? { senderId } : {}),
    ...(role === 'user' && senderName ? { senderName } : {}),
  };
}

/** Keeps the newest turns (and the summary) within the turn and byte budgets. */
function bound(turns: ImportedTurnV1[]): { turns: ImportedTurnV1[]; omittedTurns: number } {
  const head = turns[0]?.role === 'summary' ? 1 : 0;
  const kept: ImportedTurnV1[] = [];
  let bytes = head ? Buffer.byteLength(JSON.stringify(turns[0])) : 0;
  for (let i = turns.length - 1; i >= head; i--) {
    const turn = turns[i] as ImportedTurnV1;
    const size = Buffer.byteLength(JSON.stringify(turn)) + 1;
    if (kept.length + head >= MAX_IMPORTED_TURNS || bytes + size > IMPORT_TURN_BUDGET_BYTES) break;
    bytes += size;
    kept.unshift(turn);
  }
  return { turns: [...turns.slice(0, head), ...kept], omittedTurns: turns.length - head - kept.length };
}
