/**
 * From validated messages to session-core inputs. Pure: the decision time, the host's time zone and the
 * config come in as arguments; the new-session id is derived from the key and the input id, so replaying a
 * record or re-deciding an input after a conflict gives the same id.
 */
import { createHash } from 'node:crypto';
import { type AgentReplyV1, type ChatEventV1, type ControlEventV1, isSystemTurn } from '@threadline/protocol';
import {
  type DeliveryVerdict,
  type LifecycleRules,
  type MessageRoute,
  parseChatCommand,
  resolveLifecycleRules,
  resolveSessionKey,
  type SessionImported,
  type SessionInput,
  type SessionSettings,
  type SessionSnapshot,
  sendPolicyOf,
  type ThreadlineConfig,
} from '@threadline/session-core';

/** An input for one key, ready for the session core, with the ids its record will carry. */
export interface WorkItem {
  sessionKey: string;
  /** Unique across all keys and kinds; the record id (`Nats-Msg-Id`) and the duplicate check's key. */
  inputId: string;
  input: SessionInput;
  /** The conversation turn this belongs to (a reply's `inReplyTo`, else the input's own id). */
  correlationId: string;
  causationId: string;
}

export interface InputContext {
  config: ThreadlineConfig;
  /** The worker's IANA zone, for daily boundaries when the config names none. */
  hostTimeZone?: string;
  /**
   * Counts the tokens of a text the producer sent without a count (a real tokenizer, see
   * `@threadline/tokens`). The count is recorded with the input, so a replay never re-counts.
   */
  countTokens?: (text: string) => number;
}

/** The session key of a chat event: dmScope, identity links, threads, an explicit key (spec §1). */
export function sessionKeyOf(event: ChatEventV1, config: ThreadlineConfig): string {
  return resolveSessionKey(
    {
      channel: event.channel,
      ...(event.agentId === undefined ? {} : { agentId: event.agentId }),
      accountId: event.accountId ?? null,
      peer: event.peer,
      threadId: event.threadId ?? null,
      parentPeer:
        event.parentPeer === undefined ? null : { ...event.parentPeer, id: String(event.parentPeer.id) },
      explicitKey: event.sessionKey ?? null,
    },
    config.session,
  );
}

/** A UUID (version 4 layout) derived from `seed`: stable across replays, unique per seed. */
export function deterministicUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** What the rules depend on besides the key: the channel, thread and chat type a message came with. */
type RulesWhere = Pick<ChatEventV1, 'channel' | 'threadId' | 'parentPeer' | 'chatType'>;

function rulesFor(sessionKey: string, where: Partial<RulesWhere> | null, ctx: InputContext): LifecycleRules {
  return resolveLifecycleRules(ctx.config, {
    sessionKey,
    ...(where
      ? {
          ...(where.channel === undefined ? {} : { channel: where.channel }),
          threadId: where.threadId ?? null,
          parentPeer: where.parentPeer ?? null,
          ...(where.chatType === undefined ? {} : { chatType: where.chatType }),
        }
      : {}),
    ...(ctx.hostTimeZone === undefined ? {} : { hostTimeZone: ctx.hostTimeZone }),
  });
}

/**
 * A routed chat event as a `message.inbound` decided at `at` (the worker's receipt time: freshness is
 * judged by when the gateway sees a message, as in OpenClaw, never by a producer's clock). Commands are
 * parsed only for authorized senders and never in system turns.
 */
export function chatInput(sessionKey: string, event: ChatEventV1, at: number, ctx: InputContext): WorkItem {
  const authorized = event.sender.isAuthorized === true && !isSystemTurn(event);
  const command = authorized
    ? parseChatCommand(event.text, {
        authorized: true,
        owner: event.sender.isOwner === true,
        chatType: event.chatType,
        ...(ctx.config.session.resetTriggers ? { resetTriggers: ctx.config.session.resetTriggers } : {}),
        ...(ctx.config.gateway.botMentions ? { botMentions: ctx.config.gateway.botMentions } : {}),
        models: ctx.config.models,
      })
    : null;
  const inputId = `chat:${event.id}`;
  return {
    sessionKey,
    inputId,
    correlationId: event.id,
    causationId: inputId,
    input: {
      type: 'message.inbound',
      messageId: event.id,
      at,
      ...(event.provider === undefined ? {} : { provider: event.provider }),
      text: event.text,
      sender: {
        id: event.sender.id,
        ...(event.sender.displayName === undefined ? {} : { displayName: event.sender.displayName }),
        owner: event.sender.isOwner === true,
        authorized: event.sender.isAuthorized === true,
      },
      ...tokensOf(event.tokens, event.text, ctx),
      command,
      rules: rulesFor(sessionKey, event, ctx),
      newSessionId: deterministicUuid(`${sessionKey}\n${inputId}`),
      ...(isSharedDm(event, ctx.config) ? { sharedDm: true } : {}),
      route: {
        channel: event.channel,
        to: String(event.peer.id),
        chatType: event.chatType,
        ...(event.accountId === undefined ? {} : { accountId: event.accountId }),
        ...(event.threadId === undefined ? {} : { threadId: event.threadId }),
        ...(event.provider === undefined ? {} : { provider: event.provider }),
      },
    },
  };
}

/**
 * A DM that lands in the one session every DM shares: `dmScope: main` (the default) routes every direct
 * peer without an explicit key to the main key (spec §1.2), so each person's messages are context for
 * the others'. The session machine warns when a second person appears (spec §6).
 */
export function isSharedDm(event: ChatEventV1, config: ThreadlineConfig): boolean {
  const direct = event.peer.kind === 'direct' || event.peer.kind === 'dm';
  return direct && event.sessionKey === undefined && (config.session.dmScope ?? 'main') === 'main';
}

/** The producer's count when it sent one, else the tokenizer's, else none. */
function tokensOf(
  given: number | undefined,
  text: string,
  ctx: InputContext | undefined,
): { tokens?: number } {
  if (given !== undefined) return { tokens: given };
  if (ctx?.countTokens === undefined || text.length === 0) return {};
  return { tokens: ctx.countTokens(text) };
}

/**
 * The send policy's verdict for delivering a reply of `sessionKey` now (spec §3): the config's rules,
 * this session's `/send` override, and the channel and chat type of its origin and delivery route — all
 * read from the snapshot the reply is decided on, so the recorded verdict is what a replay sees too.
 */
export function deliveryVerdict(
  sessionKey: string,
  snapshot: SessionSnapshot,
  config: ThreadlineConfig,
): DeliveryVerdict {
  const explained = sendPolicyOf(sessionKey, snapshot, config);
  return {
    decision: explained.decision,
    source: explained.source,
    ...(explained.rule === undefined ? {} : { rule: explained.rule }),
  };
}

/**
 * An agent reply as a `reply.outbound` decided at `at` (receipt time, as for chat events), gated by the
 * send policy when the key's snapshot is given.
 */
export function replyInput(
  reply: AgentReplyV1,
  at: number,
  ctx?: InputContext,
  snapshot?: SessionSnapshot,
): WorkItem {
  const inputId = `reply:${reply.id}`;
  return {
    sessionKey: reply.sessionKey,
    inputId,
    correlationId: reply.inReplyTo ?? reply.id,
    causationId: inputId,
    input: {
      type: 'reply.outbound',
      replyId: reply.id,
      at,
      text: reply.text,
      ...tokensOf(reply.tokens, reply.text, ctx),
      ...(reply.usage === undefined ? {} : { usage: reply.usage }),
      ...(reply.system === undefined ? {} : { system: reply.system }),
      ...(reply.inReplyTo === undefined ? {} : { inReplyTo: reply.inReplyTo }),
      ...(reply.toolCallIds === undefined ? {} : { toolCallIds: reply.toolCallIds }),
      ...(reply.toolResultOf === undefined ? {} : { toolResultOf: reply.toolResultOf }),
      ...(reply.noDelivery === undefined ? {} : { noDelivery: reply.noDelivery }),
      ...(ctx && snapshot ? { delivery: deliveryVerdict(reply.sessionKey, snapshot, ctx.config) } : {}),
    },
  };
}

/**
 * A control event as its session input. Its `at` is the event's own: the scheduler (or the operator)
 * decides when a timer fired or a day ended, and the machine judges against that instant. An operator
 * reset keeps the session's current rules when it has some.
 */
export function controlInput(
  event: ControlEventV1,
  snapshot: SessionSnapshot | undefined,
  ctx: InputContext,
): WorkItem {
  const inputId = `ctl:${event.id}`;
  const base = { sessionKey: event.sessionKey, inputId, correlationId: event.id, causationId: inputId };
  switch (event.type) {
    case 'timer.fired':
      return { ...base, input: { type: 'timer.fired', timerId: event.timerId, at: event.at } };
    case 'clock.tick':
      return { ...base, input: { type: 'clock.tick', at: event.at } };
    case 'session.reset':
      return {
        ...base,
        input: {
          type: 'session.reset',
          at: event.at,
          trigger: event.trigger,
          newSessionId: deterministicUuid(`${event.sessionKey}\n${inputId}`),
          rules: snapshot?.context.rules ?? rulesFor(event.sessionKey, null, ctx),
        },
      };
    case 'compaction.completed':
      return {
        ...base,
        input: {
          type: 'compaction.completed',
          compactionId: event.compactionId,
          at: event.at,
          tokensBefore: event.tokensBefore,
          tokensAfter: event.tokensAfter,
          summary: event.summary,
          keptIds: event.keptIds,
        },
      };
    case 'compaction.failed':
      return {
        ...base,
        input: {
          type: 'compaction.failed',
          compactionId: event.compactionId,
          at: event.at,
          reason: event.reason,
        },
      };
    case 'compaction.requested':
      return {
        ...base,
        input: {
          type: 'compaction.requested',
          at: event.at,
          ...(event.instructions === undefined ? {} : { instructions: event.instructions }),
        },
      };
    case 'send-policy.set':
      return {
        ...base,
        input: {
          type: 'send-policy.set',
          at: event.at,
          override: event.override === 'inherit' ? null : event.override,
        },
      };
    case 'session.imported':
      return { ...base, input: importInput(event, ctx) };
  }
}

type ImportEvent = Extract<ControlEventV1, { type: 'session.imported' }>;

/**
 * An imported session as its input. The rules are this system's, resolved for the key and the channel,
 * thread and chat type the session came with; everything else is the source's, copied.
 */
function importInput(event: ImportEvent, ctx: InputContext): SessionImported {
  const route = (r: ImportEvent['origin']): MessageRoute | null =>
    r === undefined
      ? null
      : {
          channel: r.channel,
          to: r.to,
          chatType: r.chatType,
          ...(r.accountId === undefined ? {} : { accountId: r.accountId }),
          ...(r.threadId === undefined ? {} : { threadId: r.threadId }),
          ...(r.provider === undefined ? {} : { provider: r.provider }),
        };
  const where = event.lastRoute ?? event.origin;
  const chatType = where?.chatType;
  const settings: SessionSettings = {};
  for (const [name, value] of Object.entries(event.settings ?? {}))
    if (typeof value === 'string') settings[name as keyof SessionSettings] = value;
  return {
    type: 'session.imported',
    at: event.at,
    source: event.source,
    sessionId: event.sessionId,
    startedAt: event.startedAt,
    updatedAt: event.updatedAt,
    lastActivityAt: event.lastActivityAt,
    settings,
    sendOverride: event.sendPolicy ?? null,
    tokens: event.tokens ?? { input: 0, output: 0, total: 0, context: 0 },
    compactionCount: event.compactionCount ?? 0,
    origin: route(event.origin),
    lastRoute: route(event.lastRoute),
    turns: event.turns.map((turn) => ({
      id: turn.id,
      role: turn.role,
      text: turn.text,
      at: turn.at,
      ...(turn.tokens === undefined ? {} : { tokens: turn.tokens }),
      ...(turn.senderId === undefined ? {} : { senderId: turn.senderId }),
      ...(turn.senderName === undefined ? {} : { senderName: turn.senderName }),
    })),
    rules: rulesFor(
      event.sessionKey,
      where
        ? {
            channel: where.channel,
            ...(where.threadId === undefined ? {} : { threadId: where.threadId }),
            ...(chatType === 'direct' || chatType === 'group' || chatType === 'channel' ? { chatType } : {}),
          }
        : null,
      ctx,
    ),
  };
}
