/**
 * The inbound contract: what channel adapters (in any language) publish on `tl.in.v1.<channel>.<peer>`,
 * what agents publish on `tl.reply.v1.<sessionKey>`, what the scheduler and ops tools publish on
 * `tl.ctl.v1.<sessionKey>`, and what the worker writes to `tl.dlq.<code>` when it refuses a message. docs/protocol.md is the prose version; docs/schemas/*.json are generated from the
 * zod schemas below ({@link inboundJsonSchemas}), so these schemas are the single source of truth.
 *
 * Rules that hold for every schema here:
 * - **Everything is bounded** (the `MAX_*` constants): a hostile producer cannot make the worker hold or
 *   store an unbounded string, record or number. String limits count Unicode code points, as JSON
 *   Schema's `maxLength` does, so a validator in another language gives the same verdict.
 * - **Strings are Unicode text**: an unpaired surrogate escape (`"\ud800"`) is refused, because such a
 *   string cannot be UTF-8 encoded (and so cannot become a subject token). This is the one rule JSON
 *   Schema cannot express.
 * - **Unknown fields are ignored** (and dropped from the parsed value), so a producer can start sending
 *   a field before every worker knows it. A changed meaning needs a new `v`.
 * - **Optional fields may be absent, `null`, or (for strings) empty**, all meaning "not given", because
 *   Go's zero values, Python's `None` and Java's `null` all show up in real producers. The parsed value has
 *   them absent.
 * - **Numbers are exact**: integers only where integers are meant, and within ±(2^53−1), because a
 *   larger JSON number is silently rounded by every JavaScript parser (send 64-bit ids as strings).
 */
import * as z from 'zod';
import { Subjects } from './subjects.js';

// ───────────────────────────── limits ─────────────────────────────

/** The envelope versions this code understands. Any other `v` is dead-lettered, never guessed at. */
export const SUPPORTED_INBOUND_VERSIONS = [1] as const;

/** Producer ids (the idempotency key), peer, sender, thread, account and agent ids, `inReplyTo`. */
export const MAX_ID_LENGTH = 256;
/** `channel` and `provider` names. */
export const MAX_NAME_LENGTH = 64;
/** `sender.displayName`. */
export const MAX_DISPLAY_NAME_LENGTH = 256;
/** Message and reply `text`: 64 Ki code points. */
export const MAX_TEXT_LENGTH = 65_536;
/** An explicit or addressed session key. Keys are built from several ids, hence longer than one id. */
export const MAX_SESSION_KEY_LENGTH = 1024;
/** `meta`: at most this many entries, each key and value bounded. */
export const MAX_META_ENTRIES = 32;
export const MAX_META_KEY_LENGTH = 64;
export const MAX_META_VALUE_LENGTH = 1024;
/** Token counts: fits a signed 32-bit integer, so a Go/Java adapter can use `int32`. */
export const MAX_TOKENS = 2_147_483_647;
/** The largest time an ECMAScript `Date` can hold (year 275760), so every `at` is a valid date. */
export const MAX_EPOCH_MS = 8_640_000_000_000_000;
/** Dead letters: the reason and the subject the message arrived on. */
export const MAX_REASON_LENGTH = 1024;
export const MAX_SUBJECT_LENGTH = 4096;
/** Tool calls one agent turn may name. */
export const MAX_TOOL_CALLS = 128;
/** Turns a compaction may keep verbatim. */
export const MAX_KEPT_TURNS = 1024;
/** A delivery's text: a reply's, or a command answer (a `/context json` answer can be long). */
export const MAX_DELIVERY_TEXT_LENGTH = 131_072;
/** Turns one imported session may bring (its latest summary and the conversation after it). */
export const MAX_IMPORTED_TURNS = 2048;
/**
 * The default byte cap for one inbound message, NATS's default `max_payload` (1 MiB). The cap is checked
 * before anything is decoded.
 */
export const DEFAULT_MAX_INBOUND_BYTES = 1_048_576;
/**
 * A dead letter keeps at most this many bytes of the original (base64, so about 683 KiB of text), so that
 * the dead letter itself fits under the default 1 MiB `max_payload`.
 */
export const DEAD_LETTER_MAX_ORIGINAL_BYTES = 524_288;

// ───────────────────────────── rejection codes ─────────────────────────────

/**
 * Why an inbound message was refused. The value is the last token of the dead-letter subject
 * (`tl.dlq.<code>`) and the `code` of the {@link DeadLetterV1}.
 */
export const RejectionCode = {
  /** More bytes than the configured cap; checked before decoding. */
  TooLarge: 'too_large',
  /** The bytes are not well-formed UTF-8. */
  InvalidUtf8: 'invalid_utf8',
  /** UTF-8, but not JSON (a byte-order mark counts as not JSON). */
  InvalidJson: 'invalid_json',
  /** JSON, but not an object (an array, a string, a number, `null`…). */
  NotAnObject: 'not_an_object',
  /** `v` is present but not one of {@link SUPPORTED_INBOUND_VERSIONS}. */
  UnknownVersion: 'unknown_version',
  /** `type` is present but not a type this subject carries. */
  UnknownType: 'unknown_type',
  /** Anything else the schema refuses: a missing field, a wrong type, a limit exceeded. */
  SchemaViolation: 'schema_violation',
  /**
   * Valid, but it cannot become part of a session history: a subject that does not carry the body's
   * session key, a key too long for a subject, a record over the size limit, or an id another session's
   * record already holds.
   */
  Unrecordable: 'unrecordable',
} as const;
export type RejectionCode = (typeof RejectionCode)[keyof typeof RejectionCode];

const REJECTION_CODES = Object.values(RejectionCode) as [RejectionCode, ...RejectionCode[]];

// ───────────────────────────── building blocks ─────────────────────────────

/**
 * Code points in `value`, or undefined when it holds an unpaired surrogate (not Unicode text).
 * Counted by hand because `String.prototype.isWellFormed` is ES2024 and `.length` counts UTF-16 units.
 */
export function unicodeLength(value: string): number | undefined {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return undefined;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return undefined;
    }
    count++;
  }
  return count;
}

/**
 * A string of `min`..`max` code points with no unpaired surrogate. zod's own `.max()` counts UTF-16
 * units, which would refuse emoji-heavy text that the JSON Schema (code points) accepts; so the check is
 * custom and the JSON Schema bounds are stated as metadata.
 */
function text(max: number, min = 0) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const length = unicodeLength(value);
      if (length === undefined) {
        ctx.addIssue({ code: 'custom', message: 'not Unicode text (contains an unpaired surrogate)' });
      } else if (length > max) {
        ctx.addIssue({ code: 'custom', message: `too long: ${length} characters, at most ${max}` });
      } else if (length < min) {
        ctx.addIssue({
          code: 'custom',
          message: min === 1 ? 'must not be empty' : `too short: ${length} characters, at least ${min}`,
        });
      }
    })
    .meta(min > 0 ? { minLength: min, maxLength: max } : { maxLength: max });
}

/** An optional field: absent, `null` and (for strings) `""` all mean "not given" and parse to absent. */
function optional<T extends z.ZodType>(schema: T) {
  return schema
    .nullish()
    .transform((value) => (value === null || value === '' ? undefined : value))
    .optional();
}

/** A non-negative safe integer no larger than `max`. */
function count(max: number) {
  return z.number().int().min(0).max(max);
}

const epochMs = z
  .number()
  .int()
  .min(0)
  .max(MAX_EPOCH_MS)
  .describe('Event time: integer milliseconds since 1970-01-01T00:00:00Z.');

const producerId = (what: string) => text(MAX_ID_LENGTH, 1).describe(what);

/** `dm` is the legacy spelling of `direct`, kept as is: the session-key rules read it (spec §1.2). */
export const PEER_KINDS = ['direct', 'dm', 'group', 'channel'] as const;
export type PeerKindV1 = (typeof PEER_KINDS)[number];

export const CHAT_TYPES = ['direct', 'group', 'channel'] as const;
export type ChatTypeV1 = (typeof CHAT_TYPES)[number];

const peerSchema = z.object({
  kind: z.enum(PEER_KINDS).describe('`dm` is the legacy spelling of `direct`.'),
  id: z
    .union([text(MAX_ID_LENGTH, 1), z.number().int()])
    .describe('The conversation id on the channel. Numbers must be integers within ±(2^53−1).'),
});

const metaKey = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/)
  .describe('1–64 characters: ASCII letters, digits, `.`, `_`, `:`, `-`, starting with a letter or digit.');

/**
 * Free-form adapter annotations. The entry count is checked before the entries (bounding the work), and an
 * own `__proto__` key is refused explicitly: zod would otherwise drop it silently, while the JSON Schema's
 * key pattern refuses it, and the two must agree.
 */
const metaSchema = z
  .preprocess(
    (value, ctx) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
      const keys = Object.keys(value);
      if (keys.length > MAX_META_ENTRIES) {
        ctx.addIssue({
          code: 'custom',
          message: `too many entries: ${keys.length}, at most ${MAX_META_ENTRIES}`,
          input: value,
        });
        return {};
      }
      if (Object.hasOwn(value, '__proto__')) {
        ctx.addIssue({
          code: 'custom',
          message: 'the key "__proto__" is not allowed',
          path: ['__proto__'],
          input: value,
        });
      }
      return value;
    },
    z.record(metaKey, text(MAX_META_VALUE_LENGTH)),
  )
  .meta({ maxProperties: MAX_META_ENTRIES })
  .describe('Adapter annotations, string to string. The worker records them and gives them no meaning.');

// ───────────────────────────── chat.message ─────────────────────────────

/** Providers whose events are system turns: never a reset, never activity (spec §2.3). Matched exactly. */
export const SYSTEM_TURN_PROVIDERS = ['heartbeat', 'cron-event', 'exec-event'] as const;

/** The body of `tl.in.v1.<channel>.<peer>`: one chat message from a channel adapter, version 1. */
export const chatEventV1Schema = z
  .object({
    v: z.literal(1).describe('Envelope version.'),
    type: z.literal('chat.message').describe('What this message is; the only type on tl.in.v1.'),
    id: producerId(
      'The producer message id, unique across the whole inbound stream (prefix it with the channel and ' +
        'chat). The idempotency key; also sent as the `Nats-Msg-Id` header.',
    ),
    agentId: optional(text(MAX_ID_LENGTH)).describe(
      'The agent this message is for; absent means routing decides.',
    ),
    channel: text(MAX_NAME_LENGTH, 1).describe('The channel adapter: `telegram`, `whatsapp`, `discord`…'),
    accountId: optional(text(MAX_ID_LENGTH)).describe(
      'The account on that channel, for multi-account setups.',
    ),
    chatType: z
      .enum([...CHAT_TYPES, 'dm'])
      .transform((value): ChatTypeV1 => (value === 'dm' ? 'direct' : value))
      .describe('The conversation type. The legacy `dm` is accepted and means `direct`.'),
    peer: peerSchema.describe('The conversation: the other person in a DM, or the group/channel.'),
    threadId: optional(text(MAX_ID_LENGTH)).describe('A thread or topic inside the conversation.'),
    parentPeer: optional(peerSchema).describe(
      'For a thread the channel models as its own conversation (Discord): the conversation it belongs to.',
    ),
    sender: z
      .object({
        id: producerId('The sender on the channel.'),
        displayName: optional(text(MAX_DISPLAY_NAME_LENGTH)),
        isOwner: optional(z.boolean()).describe('The gateway owner. Absent means no.'),
        isAuthorized: optional(z.boolean()).describe('May run chat commands. Absent means no.'),
      })
      .describe('Who wrote the message.'),
    provider: optional(text(MAX_NAME_LENGTH)).describe(
      '`heartbeat`, `cron-event` and `exec-event` mark system turns; any other value is an ordinary provider name.',
    ),
    text: text(MAX_TEXT_LENGTH).describe('The message text; may be empty (an attachment-only message).'),
    at: epochMs,
    tokens: optional(count(MAX_TOKENS)).describe(
      'Tokens this message adds to the context, if the adapter knows.',
    ),
    sessionKey: optional(text(MAX_SESSION_KEY_LENGTH)).describe(
      'An explicit session key (cron jobs, hooks, sub-agents); it replaces routing.',
    ),
    meta: optional(metaSchema),
  })
  .meta({
    title: 'Threadline chat event, v1',
    description: 'Published by channel adapters on tl.in.v1.<channel>.<peer>. See docs/protocol.md.',
  });

export type ChatEventV1 = z.output<typeof chatEventV1Schema>;

/** True for heartbeat, cron and exec events: recorded, but never a reset and never activity. */
export function isSystemTurn(event: Pick<ChatEventV1, 'provider'>): boolean {
  return (SYSTEM_TURN_PROVIDERS as readonly (string | undefined)[]).includes(event.provider);
}

// ───────────────────────────── agent.reply ─────────────────────────────

/** The body of `tl.reply.v1.<sessionKey>`: one reply an agent produced for a session, version 1. */
export const agentReplyV1Schema = z
  .object({
    v: z.literal(1).describe('Envelope version.'),
    type: z.literal('agent.reply').describe('What this message is; the only type on tl.reply.v1.'),
    id: producerId(
      'The reply id, unique across the whole keyed stream (replies and control events). The idempotency ' +
        'key; also sent as the `Nats-Msg-Id` header.',
    ),
    sessionKey: text(MAX_SESSION_KEY_LENGTH, 1).describe('The session the reply belongs to.'),
    text: text(MAX_TEXT_LENGTH).describe('The reply text.'),
    at: epochMs,
    inReplyTo: optional(text(MAX_ID_LENGTH)).describe('The `id` of the chat event this answers.'),
    tokens: optional(count(MAX_TOKENS)).describe('Tokens this reply adds to the context.'),
    usage: optional(
      z.object({
        inputTokens: optional(count(MAX_TOKENS)),
        outputTokens: optional(count(MAX_TOKENS)),
        contextTokens: optional(count(MAX_TOKENS)).describe('The context size after this run.'),
      }),
    ).describe('What the agent run that produced this reply reported.'),
    system: optional(z.boolean()).describe('A reply to a system turn: recorded, but not activity.'),
    toolCallIds: optional(z.array(producerId('A tool call id.')).max(MAX_TOOL_CALLS)).describe(
      'Tool calls this turn issued. Compaction never separates a tool call from its result.',
    ),
    toolResultOf: optional(text(MAX_ID_LENGTH)).describe('This turn carries the result of that tool call.'),
    noDelivery: optional(z.boolean()).describe(
      'Record the turn but never deliver it to the chat (tool calls and results, internal turns).',
    ),
  })
  .meta({
    title: 'Threadline agent reply, v1',
    description: 'Published by agents on tl.reply.v1.<sessionKey>. See docs/protocol.md.',
  });

export type AgentReplyV1 = z.output<typeof agentReplyV1Schema>;

// ───────────────────────────── control events ─────────────────────────────

/** What a control event can say. Each is addressed to one session key; none comes from a chat. */
export const CONTROL_EVENT_TYPES = [
  'timer.fired',
  'clock.tick',
  'session.reset',
  'compaction.completed',
  'compaction.failed',
  'compaction.requested',
  'send-policy.set',
  'session.imported',
] as const;
export type ControlEventTypeV1 = (typeof CONTROL_EVENT_TYPES)[number];

const controlVersion = z.literal(1).describe('Envelope version.');

/** The fields every control event has after `v` and `type`, whatever its type. */
const controlEventCommon = {
  id: producerId(
    'The producer event id, unique across the whole keyed stream (replies and control events: prefix it ' +
      'with the producer and the type). The idempotency key; also sent as the `Nats-Msg-Id` header.',
  ),
  sessionKey: text(MAX_SESSION_KEY_LENGTH, 1).describe('The session the event is addressed to.'),
  at: epochMs.describe(
    'When the event happened (for a timer, when it fired): integer milliseconds since 1970-01-01T00:00:00Z.',
  ),
};

/** Where a conversation is on a channel (a session's origin or delivery route), as an import states it. */
const routeSchema = z
  .object({
    channel: text(MAX_NAME_LENGTH, 1).describe('The channel, e.g. `telegram`.'),
    to: text(MAX_ID_LENGTH, 1).describe('The peer: the other person in a DM, else the group or channel id.'),
    chatType: text(MAX_NAME_LENGTH, 1).describe('`direct`, `group`, `channel` (or another the source used).'),
    accountId: optional(text(MAX_ID_LENGTH)).describe('The account on the channel.'),
    threadId: optional(text(MAX_ID_LENGTH)).describe('The thread inside the conversation.'),
    provider: optional(text(MAX_NAME_LENGTH)).describe('The provider that carried it.'),
  })
  .describe('A conversation on a channel.');

const importedTurnSchema = z
  .object({
    id: producerId('The turn id in the source (a message id, a reply id, a compaction id).'),
    role: z.enum(['user', 'assistant', 'summary']).describe('Who wrote it; `summary` replaces older turns.'),
    text: text(MAX_TEXT_LENGTH).describe('What it says.'),
    at: epochMs.describe('When it was written.'),
    tokens: optional(count(MAX_TOKENS)).describe('Tokens it holds in the context, when the source knew.'),
    senderId: optional(text(MAX_ID_LENGTH)).describe('Who sent a `user` turn.'),
    senderName: optional(text(MAX_DISPLAY_NAME_LENGTH)).describe('Their display name.'),
  })
  .describe('One turn of the imported conversation.');

const setting = (what: string) => optional(text(MAX_SESSION_KEY_LENGTH)).describe(what);
const importedSettingsSchema = z
  .object({
    thinkingLevel: setting('`/think` level.'),
    verboseLevel: setting('`/verbose` level.'),
    reasoningLevel: setting('`/reasoning` level.'),
    modelOverride: setting('The model chosen for the session.'),
    providerOverride: setting('The provider chosen for the session.'),
    label: setting('A label the person gave the session.'),
    displayName: setting('A display name for the session.'),
    spawnedBy: setting('The key of the session that spawned this one (sub-agents).'),
  })
  .describe("The person's settings in the session (spec §2.6).");

/**
 * The body of `tl.ctl.v1.<sessionKey>`: one key-addressed control event from the scheduler or an ops
 * tool, version 1. `type` says which ({@link CONTROL_EVENT_TYPES}); each type has its own fields.
 */
export const controlEventV1Schema = z
  .discriminatedUnion('type', [
    z
      .object({
        v: controlVersion,
        type: z.literal('timer.fired').describe('A timer set for this session fired.'),
        ...controlEventCommon,
        timerId: producerId('The timer that fired, as its producer knows it.'),
      })
      .describe('A timer set for the session fired; `at` is when it fired.'),
    z
      .object({
        v: controlVersion,
        type: z.literal('clock.tick').describe('It is now `at`.'),
        ...controlEventCommon,
      })
      .describe('A clock tick for one session: it is now `at` (a daily-boundary tick).'),
    z
      .object({
        v: controlVersion,
        type: z.literal('session.reset').describe('Reset the session, from outside the chat.'),
        ...controlEventCommon,
        trigger: text(MAX_NAME_LENGTH, 1).describe('Who or what asked for the reset, e.g. `operator`.'),
      })
      .describe('An operator reset of the session, from outside the chat.'),
    z
      .object({
        v: controlVersion,
        type: z.literal('compaction.completed').describe('A summariser finished a compaction.'),
        ...controlEventCommon,
        compactionId: producerId('The compaction the session started (its CompactionStarted fact).'),
        summary: text(MAX_TEXT_LENGTH, 1).describe('The summary entry that replaces the older turns.'),
        keptIds: z
          .array(producerId('A message or reply id.'))
          .max(MAX_KEPT_TURNS)
          .describe('The turns kept verbatim after the summary; every other earlier turn is inside it.'),
        tokensBefore: count(MAX_TOKENS).describe('Context tokens before the compaction.'),
        tokensAfter: count(MAX_TOKENS).describe('Context tokens after it: the summary plus the kept turns.'),
      })
      .describe('Published by the worker when the summariser of a compaction it started has finished.'),
    z
      .object({
        v: controlVersion,
        type: z.literal('compaction.failed').describe('A compaction could not be finished.'),
        ...controlEventCommon,
        compactionId: producerId('The compaction the session started.'),
        reason: text(MAX_REASON_LENGTH, 1).describe('Why, for the person in the chat.'),
      })
      .describe('Published by the worker when the summariser failed or ran out of time.'),
    z
      .object({
        v: controlVersion,
        type: z.literal('compaction.requested').describe('Compact the session, from outside the chat.'),
        ...controlEventCommon,
        instructions: text(MAX_REASON_LENGTH, 1)
          .optional()
          .describe('What the summary should keep, as the text after `/compact` would say.'),
      })
      .describe('An operator asks to compact the running session, as `/compact` would; no chat answer.'),
    z
      .object({
        v: controlVersion,
        type: z.literal('send-policy.set').describe("Set the session's send-policy override."),
        ...controlEventCommon,
        override: z
          .enum(['allow', 'deny', 'inherit'])
          .describe('`allow` or `deny` replies for this session, or `inherit` the configured policy.'),
      })
      .describe("An operator sets the running session's send override, as `/send on|off|inherit` would."),
    z
      .object({
        v: controlVersion,
        type: z.literal('session.imported').describe('A session moved in from another store.'),
        ...controlEventCommon,
        source: text(MAX_NAME_LENGTH, 1).describe('The store it came from, e.g. `openclaw`.'),
        sessionId: producerId('The session id in the source, kept.'),
        startedAt: epochMs.describe('When the session started.'),
        updatedAt: epochMs.describe('When it last changed.'),
        lastActivityAt: epochMs.describe('Its last activity: what freshness is measured from.'),
        settings: importedSettingsSchema.optional(),
        sendPolicy: optional(z.enum(['allow', 'deny'])).describe("The session's send override."),
        tokens: z
          .object({
            input: count(MAX_TOKENS),
            output: count(MAX_TOKENS),
            total: count(MAX_TOKENS),
            context: count(MAX_TOKENS),
          })
          .optional()
          .describe('Token counts: input, output, total, and what is in the context now.'),
        compactionCount: optional(count(MAX_TOKENS)).describe('Compactions so far.'),
        origin: optional(routeSchema).describe('Where its first message came from.'),
        lastRoute: optional(routeSchema).describe("Where replies go: the latest message's conversation."),
        turns: z
          .array(importedTurnSchema)
          .max(MAX_IMPORTED_TURNS)
          .describe('The conversation, oldest first: the latest summary, then every turn after it.'),
      })
      .describe(
        'An ops tool moves a session in (`threadline import`). Only a key that never had a session takes it.',
      ),
  ])
  .meta({
    title: 'Threadline control event, v1',
    description: 'Published by the scheduler and ops tools on tl.ctl.v1.<sessionKey>. See docs/protocol.md.',
  });

export type ControlEventV1 = z.output<typeof controlEventV1Schema>;

// ───────────────────────────── deliveries ─────────────────────────────

export const DELIVERY_KINDS = ['reply', 'answer'] as const;

/**
 * The body of `tl.out.v1.<channel>.<peer>`: one message the worker hands to a channel adapter, version
 * 1 — an agent reply or a command answer the send policy allowed. A denied one is never published; the
 * session records it as blocked instead.
 */
export const deliveryV1Schema = z
  .object({
    v: z.literal(1).describe('Envelope version.'),
    type: z.literal('delivery').describe('What this message is; the only type on tl.out.v1.'),
    id: producerId(
      'The delivery id, `<record id>:<n>`: the same on every re-publication, so an adapter that sees it ' +
        'twice sends it once. Also the `Nats-Msg-Id` header (prefixed `out:`).',
    ),
    kind: z.enum(DELIVERY_KINDS).describe('`reply` from the agent, or `answer` to a chat command.'),
    sessionKey: text(MAX_SESSION_KEY_LENGTH, 1).describe('The session it belongs to.'),
    sessionId: optional(text(MAX_ID_LENGTH)).describe('The session id at the time; absent before the first.'),
    replyId: optional(text(MAX_ID_LENGTH)).describe('For a reply: the agent reply id.'),
    inReplyTo: optional(text(MAX_ID_LENGTH)).describe('The chat message this answers, when known.'),
    command: optional(text(MAX_NAME_LENGTH)).describe(
      'For an answer: what it answers (`status`, `context`, …).',
    ),
    text: text(MAX_DELIVERY_TEXT_LENGTH).describe('What to send.'),
    at: epochMs.describe('When the worker decided it: integer epoch milliseconds.'),
    route: z
      .object({
        channel: text(MAX_NAME_LENGTH, 1),
        to: text(MAX_ID_LENGTH, 1).describe('The peer id: the person in a DM, else the group or channel.'),
        chatType: z.enum(CHAT_TYPES),
        accountId: optional(text(MAX_ID_LENGTH)),
        threadId: optional(text(MAX_ID_LENGTH)),
      })
      .describe("Where to send it: the session's delivery route (its latest conversation)."),
  })
  .meta({
    title: 'Threadline delivery, v1',
    description: 'Published by the worker on tl.out.v1.<channel>.<peer>. See docs/protocol.md.',
  });

export type DeliveryV1 = z.output<typeof deliveryV1Schema>;

/** The subject a delivery goes to: `tl.out.v1.<channel>.<to>`. */
export function deliverySubjectFor(delivery: Pick<DeliveryV1, 'route'>): string {
  return Subjects.delivery(delivery.route.channel, delivery.route.to);
}

// ───────────────────────────── dead letters ─────────────────────────────

/** What the worker publishes on `tl.dlq.<code>` for a refused message. */
export const deadLetterV1Schema = z
  .object({
    v: z.literal(1).describe('Envelope version.'),
    code: z.enum(REJECTION_CODES).describe('Why the message was refused; also the last subject token.'),
    reason: text(MAX_REASON_LENGTH).describe('What exactly was wrong, for a human.'),
    subject: text(MAX_SUBJECT_LENGTH).describe('The subject the message arrived on.'),
    receivedAt: epochMs.describe('When the worker received it: integer epoch milliseconds.'),
    originalSize: z.number().int().min(0).describe('Byte length of the whole original message.'),
    originalBase64: z
      .string()
      .max(Math.ceil(DEAD_LETTER_MAX_ORIGINAL_BYTES / 3) * 4)
      .regex(/^[A-Za-z0-9+/]*={0,2}$/)
      .describe('The original bytes (at most the first 512 KiB), standard base64 with padding.'),
    truncated: z.boolean().describe('True when originalBase64 holds only the first part of the original.'),
  })
  .meta({
    title: 'Threadline dead letter, v1',
    description: 'Published by the worker on tl.dlq.<code> for every refused inbound message.',
  });

export type DeadLetterV1 = z.output<typeof deadLetterV1Schema>;

// ───────────────────────────── subjects ─────────────────────────────

/**
 * The subject an adapter publishes `event` on: `tl.in.v1.<channel>.<peer id>`, both tokens taken verbatim
 * from the body (numbers in decimal) and subject-token encoded. Never throws for a parsed event.
 */
export function inboundSubjectFor(event: Pick<ChatEventV1, 'channel' | 'peer'>): string {
  return Subjects.inbound(event.channel, String(event.peer.id));
}

/** The subject an agent publishes `reply` on: `tl.reply.v1.<sessionKey>`. */
export function replySubjectFor(reply: Pick<AgentReplyV1, 'sessionKey'>): string {
  return Subjects.reply(reply.sessionKey);
}

/** The subject the scheduler or an ops tool publishes `event` on: `tl.ctl.v1.<sessionKey>`. */
export function controlSubjectFor(event: Pick<ControlEventV1, 'sessionKey'>): string {
  return Subjects.control(event.sessionKey);
}

/** The subject a dead letter goes to: `tl.dlq.<code>`. */
export function deadLetterSubjectFor(deadLetter: Pick<DeadLetterV1, 'code'>): string {
  return Subjects.deadLetter(deadLetter.code);
}

// ───────────────────────────── JSON Schema ─────────────────────────────

/** The committed JSON Schema files (docs/schemas/) by file name. */
export type InboundJsonSchemaFile =
  | 'chat-event.v1.json'
  | 'agent-reply.v1.json'
  | 'control-event.v1.json'
  | 'dead-letter.v1.json'
  | 'delivery.v1.json';

/**
 * The JSON Schemas (draft 2020-12) of the four messages, generated from the zod schemas. They describe
 * what a producer may send (`io: 'input'`: `null` for optional fields, the legacy `dm`, and no
 * `additionalProperties: false`, because unknown fields are ignored). Pure and deterministic: the same
 * code always gives the same documents.
 */
export function inboundJsonSchemas(): Record<InboundJsonSchemaFile, Record<string, unknown>> {
  const generate = (schema: z.ZodType, file: InboundJsonSchemaFile) => ({
    $comment: `Generated from packages/protocol/src/inboundEvents.ts; do not edit. Regenerate: pnpm --filter @threadline/protocol generate-schemas (${file}).`,
    ...z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'throw' }),
  });
  return {
    'chat-event.v1.json': generate(chatEventV1Schema, 'chat-event.v1.json'),
    'agent-reply.v1.json': generate(agentReplyV1Schema, 'agent-reply.v1.json'),
    'control-event.v1.json': generate(controlEventV1Schema, 'control-event.v1.json'),
    'dead-letter.v1.json': generate(deadLetterV1Schema, 'dead-letter.v1.json'),
    'delivery.v1.json': generate(deliveryV1Schema, 'delivery.v1.json'),
  };
}
