/**
 * Idempotency ids as docs/protocol.md recommends them: the producer's native id prefixed with what
 * makes it unique across the whole stream — the channel, account and chat for a chat message; the kind,
 * producer and session for a reply or control event. Deterministic (the same inputs give the same id, so
 * a retry of the same event reuses it and the server drops the copy) and injective (different inputs
 * never give the same id), because every part is escaped before the parts are joined with `:`.
 *
 * Escaping touches only `%` (`%25`) and `:` (`%3A`), so the common case stays readable and matches the
 * protocol's examples: `chatEventId({ channel: 'telegram', accountId: 'default', chatId: 123456789,
 * messageId: 4711 })` is `telegram:default:123456789:4711`. An id that would be longer than
 * {@link MAX_ID_LENGTH} code points becomes `<kind>:sha256:<64 hex digits>` of the readable form: still
 * deterministic, never equal to a readable id (which has one more part).
 */
import { createHash } from 'node:crypto';
import { CONTROL_EVENT_TYPES, MAX_ID_LENGTH, unicodeLength } from '@threadline/protocol';
import { ClientErrorCodes, ThreadlineClientError } from './errors.js';

/** A part of an id: a non-empty string, or a safe integer (Telegram chat and message ids). */
export type IdPart = string | number;

export interface ChatEventIdParts {
  /** The channel, as in the event's `channel` (`telegram`, `whatsapp`, …). */
  channel: string;
  /** The account on that channel; absent means `default`, as OpenClaw names the single account. */
  accountId?: string | null;
  /** The conversation the native id is unique within (Telegram: the chat id; WhatsApp: the JID). */
  chatId: IdPart;
  /** The channel's own message id. */
  messageId: IdPart;
}

/**
 * The id of a chat message: `<channel>:<accountId>:<chatId>:<messageId>`. Unique across channels,
 * accounts and chats even where the native id is only unique within a chat (Telegram).
 */
export function chatEventId(parts: ChatEventIdParts): string {
  return joinId('chat', [
    part('channel', parts.channel),
    part('accountId', parts.accountId ?? 'default'),
    part('chatId', parts.chatId),
    part('messageId', parts.messageId),
  ]);
}

export interface ReplyIdParts {
  /** Who produced the reply: the agent runner's name (unique among the agents publishing replies). */
  producer: string;
  /** The session the reply is for. */
  sessionKey: string;
  /** The producer's own id of this turn (a run id and turn number, `run-8f2c:1`). */
  turnId: IdPart;
}

/** The id of an agent reply: `reply:<producer>:<sessionKey>:<turnId>`. */
export function replyId(parts: ReplyIdParts): string {
  return joinId('reply', [
    'reply',
    part('producer', parts.producer),
    part('sessionKey', parts.sessionKey),
    part('turnId', parts.turnId),
  ]);
}

export interface ControlEventIdParts {
  /** The control event's `type` (`session.reset`, `compaction.requested`, …). */
  type: string;
  /** Who publishes it (`ops`, a tool's name). */
  producer: string;
  sessionKey: string;
  /** What makes this event unique for that producer and session (a request id, a due time). */
  eventId: IdPart;
}

/** The id of a control event: `<type>:<producer>:<sessionKey>:<eventId>`. */
export function controlEventId(parts: ControlEventIdParts): string {
  // Also what keeps these ids apart from replies': `reply` is not a control type.
  if (!(CONTROL_EVENT_TYPES as readonly string[]).includes(parts.type)) {
    throw new ThreadlineClientError(
      ClientErrorCodes.InvalidArgument,
      `type: expected one of ${CONTROL_EVENT_TYPES.join(', ')}, got ${JSON.stringify(parts.type)}`,
      false,
    );
  }
  return joinId('control', [
    part('type', parts.type),
    part('producer', parts.producer),
    part('sessionKey', parts.sessionKey),
    part('eventId', parts.eventId),
  ]);
}

/** `%` and `:` escaped, so that joining with `:` cannot make two part lists look alike. */
function escapePart(value: string): string {
  return value.replace(/%/g, '%25').replace(/:/g, '%3A');
}

function part(name: string, value: IdPart | null | undefined): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new ThreadlineClientError(
        ClientErrorCodes.InvalidArgument,
        `${name}: expected a string or a safe integer, got ${value} (send larger ids as strings)`,
        false,
      );
    }
    return String(value);
  }
  if (typeof value !== 'string' || value === '') {
    throw new ThreadlineClientError(
      ClientErrorCodes.InvalidArgument,
      `${name}: expected a non-empty string, got ${value === '' ? 'an empty string' : String(value)}`,
      false,
    );
  }
  if (unicodeLength(value) === undefined) {
    throw new ThreadlineClientError(
      ClientErrorCodes.InvalidArgument,
      `${name}: not Unicode text (contains an unpaired surrogate)`,
      false,
    );
  }
  return escapePart(value);
}

function joinId(kind: string, parts: string[]): string {
  const id = parts.join(':');
  if ((unicodeLength(id) as number) <= MAX_ID_LENGTH) return id;
  return `${kind}:sha256:${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}
