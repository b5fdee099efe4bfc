/**
 * The session lifecycle as an XState v5 machine, used as a pure decider.
 *
 * One machine instance ("actor") per session KEY. It holds the key's current session (id, timers,
 * counters) and moves through:
 *   new        — the key has never had a session;
 *   active     — a conversation in progress;
 *   idle       — quiet for `quietMs` but still fresh; may be evicted from memory and resumed unchanged;
 *   expired    — the freshness rule ended the session (daily or idle); the next message starts a new one;
 *   compacting — older context is being summarised; messages arriving meanwhile are queued and applied
 *                in order afterwards.
 *
 * It is driven only through `initialTransition` / `transition` (see sessionDecider.ts) and never executes
 * anything: no setTimeout, no Date.now, no Math.random. Every decision uses the times carried by the
 * events; ids come in with the events (`newSessionId`) or are derived from counters in the context. The
 * machine's outputs are custom actions the host interprets:
 *   fact          — a domain event to append to the session's log (SessionStarted, MessageRecorded, …);
 *   scheduleTimer — a durable timer with an ABSOLUTE due time (XState `after` delays are not persisted,
 *                   so the machine never uses them); cancelTimer — drop one;
 *   runCompaction — ask the host to summarise; its result comes back as compaction.completed/failed;
 *   answer        — a chat command to answer (/status, /context, /send, /compact results).
 * A timer that fires comes back as `timer.fired`; one that is no longer current is ignored.
 */

import { isSystemTurn } from '@threadline/protocol';
import { produce } from 'immer';
import { and, enqueueActions, setup } from 'xstate';
import type { ChatCommand } from './chatCommands.js';
import { evaluateFreshness, nextExpiryAt } from './freshness.js';
import type { ResetPolicy } from './types.js';

/** Bumped whenever the context shape or the meaning of a state changes; stamped into every snapshot. */
export const SESSION_MACHINE_VERSION = 4;

// ───────────────────────────── inputs ─────────────────────────────

export interface SenderInfo {
  id: string;
  displayName?: string;
  owner?: boolean;
  /** May run chat commands. The host parses commands only for such senders. */
  authorized?: boolean;
}

/** The rules in force for this key when the event was accepted, resolved by the host from config. */
export interface LifecycleRules {
  policy: ResetPolicy;
  /** IANA zone of the daily boundary; undefined = the host zone. */
  timeZone?: string;
  /** active → idle after this much quiet. */
  quietMs: number;
  /** Start compaction by itself when context tokens exceed this (contextWindow − reserveTokens). */
  compactAtTokens?: number;
  /** A compaction that has not finished by then fails. */
  compactionTimeoutMs: number;
}

export interface InboundMessage {
  type: 'message.inbound';
  messageId: string;
  at: number;
  /** `heartbeat`, `cron-event`, `exec-event` are system turns. */
  provider?: string;
  text: string;
  sender: SenderInfo;
  /** Tokens this message adds to the context. */
  tokens?: number;
  /** The chat command in the text, parsed by the host (null/absent: ordinary text). */
  command?: ChatCommand | null;
  rules: LifecycleRules;
  /** The id a session started by this message gets. Supplied by the host so that replay is deterministic. */
  newSessionId: string;
  /**
   * A direct message routed to a session that every DM shares (`dmScope: main`), as the host resolved
   * it. Beyond (spec §6): the second distinct person in such a session raises a privacy warning.
   */
  sharedDm?: boolean;
  /** Where the message came from: what the session's origin and delivery route are made of (spec §4). */
  route?: MessageRoute;
}

/** A conversation on a channel: where a message came from and where a reply would go (spec §4). */
export interface MessageRoute {
  channel: string;
  /** The peer id (the other person in a DM, else the group or channel). */
  to: string;
  chatType: string;
  accountId?: string;
  threadId?: string;
  provider?: string;
}

export interface OutboundReply {
  type: 'reply.outbound';
  replyId: string;
  at: number;
  text: string;
  tokens?: number;
  /** Usage the agent reported for the run that produced this reply. */
  usage?: { inputTokens?: number; outputTokens?: number; contextTokens?: number };
  /** A reply to a system turn: recorded, but not activity. */
  system?: boolean;
  /** The chat message this answers (the host's, for the delivery; the machine does not read it). */
  inReplyTo?: string;
  /** Tool calls this turn issued, and the call whose result it carries: compaction keeps such pairs together. */
  toolCallIds?: string[];
  toolResultOf?: string;
  /** Recorded in the session, never delivered to the chat (tool traffic, internal turns). */
  noDelivery?: boolean;
  /**
   * The send policy's verdict for delivering this reply (spec §3), decided by the host from the config
   * and this session's override and route as they stand when the reply is applied. Absent: not gated.
   */
  delivery?: DeliveryVerdict;
}

/** Whether a reply may go to the chat, and which part of the configuration said so. */
export interface DeliveryVerdict {
  decision: 'allow' | 'deny';
  source: 'override' | 'rule' | 'default' | 'unconfigured';
  /** 0-based index of the deciding rule in `session.sendPolicy.rules`, when a rule decided. */
  rule?: number;
}

export interface TimerFired {
  type: 'timer.fired';
  timerId: string;
  /** When the timer actually fired (>= its due time). */
  at: number;
}

export interface CompactionCompleted {
  type: 'compaction.completed';
  compactionId: string;
  at: number;
  tokensBefore: number;
  tokensAfter: number;
  /** The summary entry that replaces the older part of the conversation. */
  summary: string;
  /**
   * The turns (message and reply ids) kept verbatim after the summary. Every other turn recorded in the
   * session before this compaction is inside the summary; turns recorded after it follow it verbatim.
   */
  keptIds: string[];
}

export interface CompactionFailed {
  type: 'compaction.failed';
  compactionId: string;
  at: number;
  reason: string;
}

/** A reset requested outside the chat (operator CLI, API). Same carry-over as `/reset`. */
export interface ResetRequested {
  type: 'session.reset';
  at: number;
  trigger: string;
  newSessionId: string;
  rules: LifecycleRules;
}

/**
 * "It is now `at`": expires the session if the freshness rule says it is stale at that instant. The
 * scheduler sends it at daily boundaries; the machine raises it itself after applying queued turns.
 */
export interface ClockTick {
  type: 'clock.tick';
  at: number;
}

/** An operator asks to compact the running session, as `/compact [instructions]` would (no chat answer). */
export interface CompactionRequested {
  type: 'compaction.requested';
  at: number;
  instructions?: string;
}

/** An operator sets the running session's send-policy override, as `/send on|off|inherit` would. */
export interface SendPolicySet {
  type: 'send-policy.set';
  at: number;
  /** `null` inherits the configured policy. */
  override: 'allow' | 'deny' | null;
}

/** One turn of an imported conversation, oldest first: a person's message, an agent reply, or a summary. */
export interface ImportedTurn {
  id: string;
  role: 'user' | 'assistant' | 'summary';
  text: string;
  at: number;
  tokens?: number;
  senderId?: string;
  senderName?: string;
}

/**
 * A session moved in from another store (`threadline import --openclaw`): its id, times, counters,
 * settings, routes and current conversation (the latest summary and the turns after it). Only a key that
 * has never had a session takes it; on any other key it changes nothing, so importing twice is harmless.
 */
export interface SessionImported {
  type: 'session.imported';
  /** When the import ran. The session's own times below are the source store's. */
  at: number;
  /** Where it came from, e.g. `openclaw`. */
  source: string;
  sessionId: string;
  startedAt: number;
  updatedAt: number;
  lastActivityAt: number;
  settings: SessionSettings;
  sendOverride: 'allow' | 'deny' | null;
  tokens: TokenCounters;
  compactionCount: number;
  origin: MessageRoute | null;
  lastRoute: MessageRoute | null;
  turns: ImportedTurn[];
  rules: LifecycleRules;
}

export interface SettingsUpdated {
  type: 'settings.updated';
  at: number;
  patch: Partial<SessionSettings>;
}

export type SessionInput =
  | InboundMessage
  | OutboundReply
  | TimerFired
  | CompactionCompleted
  | CompactionFailed
  | ResetRequested
  | ClockTick
  | SettingsUpdated
  | CompactionRequested
  | SendPolicySet
  | SessionImported;

// ───────────────────────────── state ─────────────────────────────

/** The person's settings: carried over by an explicit reset, dropped by an automatic ending (spec §2.6). */
export interface SessionSettings {
  thinkingLevel?: string;
  verboseLevel?: string;
  reasoningLevel?: string;
  modelOverride?: string;
  providerOverride?: string;
  label?: string;
  displayName?: string;
  /** Sub-agent lineage: the key of the session that spawned this one. */
  spawnedBy?: string;
}

export type TimerKind = 'expiry' | 'quiet' | 'compaction';

export interface TimerRef {
  id: string;
  dueAt: number;
}

export interface TokenCounters {
  input: number;
  output: number;
  total: number;
  /** Tokens currently in the context window (since the last compaction). */
  context: number;
}

export interface SessionContext {
  machineVersion: number;
  sessionId: string | null;
  previousSessionId: string | null;
  startedAt: number | null;
  /** Last non-system inbound message or reply: what freshness is measured from. */
  lastActivityAt: number | null;
  /** Time of the last event applied. */
  updatedAt: number | null;
  rules: LifecycleRules | null;
  endReason: 'daily' | 'idle' | 'reset' | null;
  settings: SessionSettings;
  sendOverride: 'allow' | 'deny' | null;
  tokens: TokenCounters;
  compactionCount: number;
  /** Messages applied to this session since it started or was last compacted. */
  turnsSinceCompaction: number;
  messageCount: number;
  timers: { expiry: TimerRef | null; quiet: TimerRef | null; compaction: TimerRef | null };
  /** Monotonic per key; makes timer and compaction ids unique and replay-stable. */
  seq: number;
  /** The compaction running, and for `/compact` the message that asked (its answer replies to it). */
  compaction: {
    id: string;
    trigger: 'manual' | 'auto';
    startedAt: number;
    requestedBy: string | null;
  } | null;
  /**
   * After a failed compaction, automatic compaction waits until the context has grown past this many
   * tokens, so that a broken summariser is not retried on every message.
   */
  autoCompactFloor: number | null;
  /** Inputs that arrived while compacting, applied in order afterwards. */
  pending: (InboundMessage | OutboundReply)[];
  /** Distinct senders of shared-DM messages in this session (the first {@link MAX_DM_SENDERS}). */
  dmSenders: string[];
  /** Beyond (spec §6): set when a second person's DM landed in this shared session. */
  privacyWarning: { at: number; senderIds: string[] } | null;
  /** Where this session's first message came from (spec §4 `origin`); null until one arrives. */
  origin: MessageRoute | null;
  /** Where the latest message came from: the delivery route (spec §4 `lastChannel`, `lastTo`, …). Kept across sessions of the key. */
  lastRoute: MessageRoute | null;
  /** The latest non-system inbound message of the key, and the latest agent reply: the agent's health in `/status`. */
  lastMessageAt: number | null;
  lastReplyAt: number | null;
}

/** How many distinct shared-DM senders a session remembers (enough to warn; bounded for hostile input). */
export const MAX_DM_SENDERS = 32;

export function initialSessionContext(): SessionContext {
  return {
    machineVersion: SESSION_MACHINE_VERSION,
    sessionId: null,
    previousSessionId: null,
    startedAt: null,
    lastActivityAt: null,
    updatedAt: null,
    rules: null,
    endReason: null,
    settings: {},
    sendOverride: null,
    tokens: { input: 0, output: 0, total: 0, context: 0 },
    compactionCount: 0,
    turnsSinceCompaction: 0,
    messageCount: 0,
    timers: { expiry: null, quiet: null, compaction: null },
    seq: 0,
    compaction: null,
    autoCompactFloor: null,
    pending: [],
    dmSenders: [],
    privacyWarning: null,
    origin: null,
    lastRoute: null,
    lastMessageAt: null,
    lastReplyAt: null,
  };
}

// ───────────────────────────── outputs ─────────────────────────────

export type SessionFact =
  | {
      type: 'SessionStarted';
      at: number;
      sessionId: string;
      reason: 'first' | 'daily' | 'idle' | 'reset';
      previousSessionId: string | null;
      settings: SessionSettings;
      policy: ResetPolicy;
      timeZone?: string;
    }
  /**
   * A session moved in from another store, with its conversation (ids, roles, times and tokens of the
   * turns; their texts are in the recorded input). It is running from here on, on its own times.
   */
  | {
      type: 'SessionImported';
      at: number;
      sessionId: string;
      source: string;
      startedAt: number;
      policy: ResetPolicy;
      timeZone?: string;
      turns: { id: string; role: ImportedTurn['role']; at: number; tokens: number }[];
    }
  | { type: 'SessionReset'; at: number; sessionId: string; trigger: string }
  | { type: 'SessionIdled'; at: number; sessionId: string }
  | { type: 'SessionExpired'; at: number; sessionId: string; reason: 'daily' | 'idle' }
  | {
      type: 'MessageRecorded';
      at: number;
      sessionId: string | null;
      messageId: string;
      senderId: string;
      system: boolean;
      command?: ChatCommand['kind'];
      tokens?: number;
    }
  | { type: 'MessageQueued'; at: number; sessionId: string; messageId: string }
  | {
      type: 'ReplyRecorded';
      at: number;
      sessionId: string | null;
      replyId: string;
      system: boolean;
      tokens?: number;
      delivery?: DeliveryVerdict;
    }
  /** The send policy denied delivering a reply: it is recorded, and held back from the chat (spec §3). */
  | {
      type: 'DeliveryBlocked';
      at: number;
      sessionId: string | null;
      replyId: string;
      source: DeliveryVerdict['source'];
      rule?: number;
    }
  | { type: 'ReplyQueued'; at: number; sessionId: string; replyId: string }
  | { type: 'SendPolicyChanged'; at: number; sessionId: string; override: 'allow' | 'deny' | null }
  | { type: 'SettingsChanged'; at: number; sessionId: string | null; settings: SessionSettings }
  | {
      type: 'CompactionStarted';
      at: number;
      sessionId: string;
      compactionId: string;
      trigger: 'manual' | 'auto';
      instructions?: string;
      tokensBefore: number;
      deadlineAt: number;
    }
  | {
      type: 'CompactionCompleted';
      at: number;
      sessionId: string;
      compactionId: string;
      tokensBefore: number;
      tokensAfter: number;
      compactionCount: number;
      summary: string;
      keptIds: string[];
    }
  | { type: 'CompactionFailed'; at: number; sessionId: string; compactionId: string; reason: string }
  /**
   * Beyond (spec §6): a second distinct person's DM landed in a session all DMs share, so each one's
   * messages are context for the other's. Recorded once per session; the isolated scope is the fix.
   */
  | {
      type: 'PrivacyWarning';
      at: number;
      sessionId: string;
      kind: 'shared-dm';
      senderIds: string[];
      recommendation: 'per-channel-peer';
    };

export type CommandAnswer =
  /** `/new` or `/reset`: the new session's id, and the model it was asked to use. */
  | { kind: 'reset'; trigger: string; sessionId: string; model?: { provider: string; model?: string } }
  | { kind: 'status' }
  | { kind: 'context'; mode: 'list' | 'detail' | 'json' }
  | { kind: 'send'; override: 'allow' | 'deny' | null }
  | { kind: 'send-usage' }
  | { kind: 'context-usage' }
  | { kind: 'compact-skipped'; reason: string }
  | { kind: 'compact-done'; tokensBefore: number; tokensAfter: number }
  | { kind: 'compact-failed'; reason: string };

// ───────────────────────────── helpers ─────────────────────────────

const MIN_TURNS_TO_COMPACT = 2;
/** After a failed compaction, retry automatically only once the context has grown by this share of the threshold. */
const AUTO_RETRY_GROWTH = 0.1;

function isResetInput(event: SessionInput): boolean {
  return (
    event.type === 'session.reset' ||
    (event.type === 'message.inbound' && !isSystemTurn(event) && event.command?.kind === 'reset')
  );
}

/**
 * True when the current session, measured at `now`, is past its freshness deadline. The armed expiry
 * timer's due time IS that deadline (`nextExpiryAt` of the last activity, the first stale millisecond),
 * so this is a comparison rather than a new evaluation of the rule.
 */
function staleAt(context: SessionContext, now: number): boolean {
  const expiry = context.timers.expiry;
  return expiry !== null && now >= expiry.dueAt;
}

function expiryOf(context: SessionContext): { at: number; reason: 'daily' | 'idle' } | null {
  if (context.lastActivityAt === null || context.rules === null) return null;
  const tz = context.rules.timeZone === undefined ? {} : { timeZone: context.rules.timeZone };
  const at = nextExpiryAt({ lastActivityAt: context.lastActivityAt, policy: context.rules.policy, ...tz });
  if (at === undefined) return null;
  const verdict = evaluateFreshness({
    lastActivityAt: context.lastActivityAt,
    now: at,
    policy: context.rules.policy,
    ...tz,
  });
  return { at, reason: verdict.staleReason ?? 'daily' };
}

function currentTimerKind(context: SessionContext, timerId: string): TimerKind | null {
  for (const kind of TIMER_KINDS) {
    if (context.timers[kind]?.id === timerId) return kind;
  }
  return null;
}

type Enqueue = {
  assign: (
    ctx: Partial<SessionContext> | ((args: { context: SessionContext }) => Partial<SessionContext>),
  ) => void;
  (action: { type: 'fact'; params: SessionFact }): void;
  (action: { type: 'scheduleTimer'; params: { timerId: string; kind: TimerKind; dueAt: number } }): void;
  (action: { type: 'cancelTimer'; params: { timerId: string; kind: TimerKind; dueAt: number } }): void;
  (action: { type: 'runCompaction'; params: CompactionRequest }): void;
  (action: {
    type: 'answer';
    params: { sessionId: string | null; inReplyTo: string | null; answer: CommandAnswer };
  }): void;
  raise: (event: SessionInput) => void;
};

type Emitted =
  | { type: 'fact'; params: SessionFact }
  | { type: 'runCompaction'; params: CompactionRequest }
  | { type: 'answer'; params: { sessionId: string | null; inReplyTo: string | null; answer: CommandAnswer } };

export interface CompactionRequest {
  compactionId: string;
  sessionId: string;
  instructions?: string;
  deadlineAt: number;
}

/**
 * A small builder that threads the context through the steps of one transition, so that each step sees
 * the previous one's result. Context changes use immer. Timers are only changed in the context; at
 * `commit` the builder emits the net difference (cancel what disappeared, schedule what appeared), so a
 * timer re-armed twice in one transition produces one schedule, not a churn of schedule/cancel pairs.
 */
class Step {
  private readonly before: SessionContext['timers'];
  private readonly out: Emitted[] = [];
  /** Timers that fired in this transition: gone from the host already, so never "cancelled". */
  private readonly consumed = new Set<string>();

  constructor(
    public ctx: SessionContext,
    private readonly enqueue: Enqueue,
  ) {
    this.before = ctx.timers;
  }

  update(recipe: (draft: SessionContext) => void): this {
    this.ctx = produce(this.ctx, recipe);
    return this;
  }

  fact(fact: SessionFact): this {
    this.out.push({ type: 'fact', params: fact });
    return this;
  }

  answer(inReplyTo: string | null, answer: CommandAnswer): this {
    this.out.push({ type: 'answer', params: { sessionId: this.ctx.sessionId, inReplyTo, answer } });
    return this;
  }

  runCompaction(request: CompactionRequest): this {
    this.out.push({ type: 'runCompaction', params: request });
    return this;
  }

  /** Marks the timer of `kind` as fired (the host has delivered it) and clears it. */
  consume(kind: TimerKind): this {
    const timer = this.ctx.timers[kind];
    if (timer) this.consumed.add(timer.id);
    return this.cancel(kind);
  }

  cancel(kind: TimerKind): this {
    if (this.ctx.timers[kind]) {
      this.update((d) => {
        d.timers[kind] = null;
      });
    }
    return this;
  }

  schedule(kind: TimerKind, dueAt: number): this {
    // Already armed for that instant (a daily deadline does not move with each message): keep it, so the
    // host is not asked to replace a timer with an identical one.
    if (this.ctx.timers[kind]?.dueAt === dueAt) return this;
    const id = `${this.ctx.sessionId ?? 'none'}:${kind}:${this.ctx.seq + 1}`;
    return this.update((d) => {
      d.seq += 1;
      d.timers[kind] = { id, dueAt };
    });
  }

  /** Re-arms the expiry and quiet timers after activity. */
  rearm(at: number): this {
    const expiry = expiryOf(this.ctx);
    if (expiry) this.schedule('expiry', expiry.at);
    else this.cancel('expiry');
    if (this.ctx.rules) this.schedule('quiet', at + this.ctx.rules.quietMs);
    return this;
  }

  startSession(
    at: number,
    sessionId: string,
    reason: 'first' | 'daily' | 'idle' | 'reset',
    rules: LifecycleRules,
    settings: SessionSettings,
  ): this {
    this.cancel('expiry').cancel('quiet').cancel('compaction');
    const previous = this.ctx.sessionId;
    this.update((d) => {
      d.previousSessionId = previous;
      d.sessionId = sessionId;
      d.startedAt = at;
      d.lastActivityAt = at;
      touch(d, at);
      d.rules = rules;
      d.endReason = null;
      d.settings = settings;
      d.sendOverride = null;
      d.tokens = { input: 0, output: 0, total: 0, context: 0 };
      d.compactionCount = 0;
      d.turnsSinceCompaction = 0;
      d.messageCount = 0;
      d.compaction = null;
      d.autoCompactFloor = null;
      // A new session's context holds nobody's messages yet.
      d.dmSenders = [];
      d.privacyWarning = null;
      d.origin = null;
    });
    this.fact({
      type: 'SessionStarted',
      at,
      sessionId,
      reason,
      previousSessionId: previous,
      settings,
      policy: rules.policy,
      ...(rules.timeZone === undefined ? {} : { timeZone: rules.timeZone }),
    });
    return this.rearm(at);
  }

  commit(): void {
    const ctx = this.ctx;
    this.enqueue.assign(() => ctx);
    for (const kind of TIMER_KINDS) {
      const was = this.before[kind];
      const now = ctx.timers[kind];
      if (was && was.id !== now?.id && !this.consumed.has(was.id)) {
        this.enqueue({ type: 'cancelTimer', params: { timerId: was.id, kind, dueAt: was.dueAt } });
      }
    }
    for (const kind of TIMER_KINDS) {
      const was = this.before[kind];
      const now = ctx.timers[kind];
      if (now && now.id !== was?.id) {
        this.enqueue({ type: 'scheduleTimer', params: { timerId: now.id, kind, dueAt: now.dueAt } });
      }
    }
    for (const action of this.out) this.enqueue(action as never);
  }
}

const TIMER_KINDS = ['expiry', 'quiet', 'compaction'] as const;

/**
 * `updatedAt` is the latest time the session has seen. Queued turns are applied after later events and
 * carry their older arrival times, so it must never move backwards: anything timed from "now" (a
 * compaction's time limit) is timed from it.
 */
function touch(draft: SessionContext, at: number): void {
  draft.updatedAt = Math.max(draft.updatedAt ?? at, at);
}

function tokensOf(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/**
 * Remembers who wrote in a shared DM session, and the first time a second person does, records the
 * privacy warning (spec §6, Beyond).
 */
function noteSharedDmSender(step: Step, senderId: string, at: number): void {
  const known = step.ctx.dmSenders;
  if (known.includes(senderId) || known.length >= MAX_DM_SENDERS) return;
  const first = known[0];
  step.update((d) => {
    d.dmSenders.push(senderId);
  });
  if (first === undefined || step.ctx.privacyWarning !== null) return;
  const senderIds = [first, senderId];
  step.update((d) => {
    d.privacyWarning = { at, senderIds };
  });
  step.fact({
    type: 'PrivacyWarning',
    at,
    sessionId: step.ctx.sessionId as string,
    kind: 'shared-dm',
    senderIds,
    recommendation: 'per-channel-peer',
  });
}

/** Records a reply with its delivery verdict, and a blocked delivery as its own fact (spec §3). */
function recordReply(step: Step, event: OutboundReply, sessionId: string | null, tokens: number): void {
  step.fact({
    type: 'ReplyRecorded',
    at: event.at,
    sessionId,
    replyId: event.replyId,
    system: event.system === true,
    ...(tokens ? { tokens } : {}),
    ...(event.delivery ? { delivery: event.delivery } : {}),
  });
  if (event.delivery?.decision === 'deny') {
    step.fact({
      type: 'DeliveryBlocked',
      at: event.at,
      sessionId,
      replyId: event.replyId,
      source: event.delivery.source,
      ...(event.delivery.rule === undefined ? {} : { rule: event.delivery.rule }),
    });
  }
}

/** Applies a non-system inbound message or a reply to a live (fresh) session. */
function applyTurn(step: Step, event: InboundMessage | OutboundReply): void {
  const sessionId = step.ctx.sessionId as string;
  if (event.type === 'message.inbound') {
    const tokens = tokensOf(event.tokens);
    step.update((d) => {
      d.lastActivityAt = Math.max(d.lastActivityAt ?? event.at, event.at);
      touch(d, event.at);
      d.rules = event.rules;
      // A command the gateway answers itself is not a message the agent owes a reply to.
      if (!event.command) d.lastMessageAt = Math.max(d.lastMessageAt ?? event.at, event.at);
      d.messageCount += 1;
      d.turnsSinceCompaction += 1;
      d.tokens.context += tokens;
      d.tokens.total += tokens;
      if (event.route) {
        d.origin ??= event.route;
        d.lastRoute = event.route;
      }
    });
    step.fact({
      type: 'MessageRecorded',
      at: event.at,
      sessionId,
      messageId: event.messageId,
      senderId: event.sender.id,
      system: false,
      ...(event.command ? { command: event.command.kind } : {}),
      ...(tokens ? { tokens } : {}),
    });
    if (event.sharedDm) noteSharedDmSender(step, event.sender.id, event.at);
  } else {
    const tokens = tokensOf(event.tokens);
    step.update((d) => {
      if (!event.system) d.lastActivityAt = Math.max(d.lastActivityAt ?? event.at, event.at);
      touch(d, event.at);
      d.lastReplyAt = Math.max(d.lastReplyAt ?? event.at, event.at);
      d.messageCount += 1;
      d.turnsSinceCompaction += 1;
      d.tokens.input += tokensOf(event.usage?.inputTokens);
      d.tokens.output += tokensOf(event.usage?.outputTokens);
      d.tokens.total += tokensOf(event.usage?.inputTokens) + tokensOf(event.usage?.outputTokens);
      d.tokens.context =
        event.usage?.contextTokens !== undefined
          ? tokensOf(event.usage.contextTokens)
          : d.tokens.context + tokens;
    });
    recordReply(step, event, sessionId, tokens);
  }
  if (event.type === 'message.inbound' || !event.system) step.rearm(event.at);
}

/** The per-session send override (`/send`, or an operator): recorded, cleared by the next session. */
function setSendOverride(step: Step, at: number, override: 'allow' | 'deny' | null): void {
  step.update((d) => {
    d.sendOverride = override;
  });
  step.fact({ type: 'SendPolicyChanged', at, sessionId: step.ctx.sessionId as string, override });
}

function beginCompaction(
  step: Step,
  eventAt: number,
  trigger: 'manual' | 'auto',
  instructions: string | undefined,
  requestedBy: string | null,
) {
  const sessionId = step.ctx.sessionId as string;
  // A turn applied from the queue carries its (older) arrival time; the compaction starts now.
  const at = Math.max(eventAt, step.ctx.updatedAt ?? eventAt);
  const timeout = step.ctx.rules?.compactionTimeoutMs ?? 120_000;
  const compactionId = `${sessionId}:compaction:${step.ctx.seq + 1}`;
  step.update((d) => {
    d.seq += 1;
    d.compaction = { id: compactionId, trigger, startedAt: at, requestedBy };
  });
  step.cancel('quiet');
  step.schedule('compaction', at + timeout);
  step.fact({
    type: 'CompactionStarted',
    at,
    sessionId,
    compactionId,
    trigger,
    ...(instructions ? { instructions } : {}),
    tokensBefore: step.ctx.tokens.context,
    deadlineAt: at + timeout,
  });
  step.runCompaction({
    compactionId,
    sessionId,
    deadlineAt: at + timeout,
    ...(instructions ? { instructions } : {}),
  });
}

// ───────────────────────────── the machine ─────────────────────────────

/**
 * `new` and `expired` behave alike: no session is running. A user message starts one (reason `first`
 * or the previous ending's reason), a reset starts one with the settings carried over, and system turns
 * and late replies are recorded without starting anything.
 */
const notRunning = {
  on: {
    'message.inbound': [
      { guard: 'isSystemTurn', actions: 'recordSystemTurn' },
      { guard: 'isReset', target: 'active', actions: 'startByReset' },
      { target: 'active', actions: 'startForMessage' },
    ],
    'session.reset': { target: 'active', actions: 'startByReset' },
    'reply.outbound': { actions: 'recordDetachedReply' },
  },
} as const;

/** `new` also takes an imported session: the only state in which one is accepted. */
const fresh = {
  on: { ...notRunning.on, 'session.imported': { target: 'active', actions: 'startByImport' } },
} as const;

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionInput,
    input: {} as Partial<SessionContext>,
  },
  actions: {
    // Declared so that the machine is complete; the host interprets them, the machine never executes them.
    fact: (_, _params: SessionFact) => {},
    scheduleTimer: (_, _params: { timerId: string; kind: TimerKind; dueAt: number }) => {},
    cancelTimer: (_, _params: { timerId: string; kind: TimerKind; dueAt: number }) => {},
    runCompaction: (_, _params: CompactionRequest) => {},
    answer: (_, _params: { sessionId: string | null; inReplyTo: string | null; answer: CommandAnswer }) => {},
    // The transitions' logic: each computes the next context and the outputs above.
    recordSystemTurn: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'message.inbound') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      step.update((d) => {
        touch(d, event.at);
      });
      step.fact({
        type: 'MessageRecorded',
        at: event.at,
        sessionId: context.sessionId,
        messageId: event.messageId,
        senderId: event.sender.id,
        system: true,
      });
      step.commit();
    }),
    recordDetachedReply: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'reply.outbound') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      step.update((d) => {
        touch(d, event.at);
        d.lastReplyAt = Math.max(d.lastReplyAt ?? event.at, event.at);
      });
      // A reply that lands after its session ended belongs to that session's history; it revives nothing.
      recordReply(step, event, context.sessionId, 0);
      step.commit();
    }),
    startForMessage: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'message.inbound') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      // The first session of the key, or the next after an automatic ending — which carries nothing
      // over (spec §2.6).
      const reason = context.sessionId === null ? 'first' : context.endReason === 'idle' ? 'idle' : 'daily';
      step.startSession(event.at, event.newSessionId, reason, event.rules, {});
      step.commit();
      enqueue.raise(event);
    }),
    startByReset: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'message.inbound' && event.type !== 'session.reset') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      const command =
        event.type === 'message.inbound' && event.command?.kind === 'reset' ? event.command : null;
      const trigger = command ? command.trigger : event.type === 'session.reset' ? event.trigger : 'reset';
      // Only a session still running is reset; an expired one has already ended.
      if (context.sessionId !== null && context.endReason === null) {
        step.fact({ type: 'SessionReset', at: event.at, sessionId: context.sessionId, trigger });
      }
      // An explicit reset carries the person's settings over (spec §2.6); `/new <model>` sets the model.
      const settings: SessionSettings = { ...context.settings };
      if (command?.model) {
        settings.providerOverride = command.model.provider;
        if (command.model.model !== undefined) settings.modelOverride = command.model.model;
        else delete settings.modelOverride;
      }
      step.startSession(event.at, event.newSessionId, 'reset', event.rules, settings);
      step.update((d) => {
        d.endReason = null;
      });
      if (command) {
        step.answer(event.type === 'message.inbound' ? event.messageId : null, {
          kind: 'reset',
          trigger,
          sessionId: event.newSessionId,
          ...(command.model
            ? {
                model: {
                  provider: command.model.provider,
                  ...(command.model.model === undefined ? {} : { model: command.model.model }),
                },
              }
            : {}),
        });
      }
      step.commit();
      // The rest of the text becomes the new session's first message.
      if (event.type === 'message.inbound' && command && command.rest !== '') {
        enqueue.raise({ ...event, text: command.rest, command: null });
      }
    }),
    startByImport: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'session.imported') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      const turns = event.turns.map((turn) => ({
        id: turn.id,
        role: turn.role,
        at: turn.at,
        tokens: tokensOf(turn.tokens),
      }));
      const lastOf = (role: ImportedTurn['role']) =>
        turns.reduce<number | null>(
          (last, t) => (t.role === role ? Math.max(last ?? t.at, t.at) : last),
          null,
        );
      step.update((d) => {
        d.sessionId = event.sessionId;
        d.startedAt = event.startedAt;
        d.lastActivityAt = event.lastActivityAt;
        d.updatedAt = event.updatedAt;
        d.rules = event.rules;
        d.settings = event.settings;
        d.sendOverride = event.sendOverride;
        d.tokens = {
          input: tokensOf(event.tokens.input),
          output: tokensOf(event.tokens.output),
          total: tokensOf(event.tokens.total),
          context: tokensOf(event.tokens.context),
        };
        d.compactionCount = tokensOf(event.compactionCount);
        d.messageCount = turns.filter((t) => t.role !== 'summary').length;
        d.turnsSinceCompaction = d.messageCount;
        d.origin = event.origin;
        d.lastRoute = event.lastRoute;
        d.lastMessageAt = lastOf('user');
        d.lastReplyAt = lastOf('assistant');
      });
      step.fact({
        type: 'SessionImported',
        at: event.at,
        sessionId: event.sessionId,
        source: event.source,
        startedAt: event.startedAt,
        policy: event.rules.policy,
        ...(event.rules.timeZone === undefined ? {} : { timeZone: event.rules.timeZone }),
        turns,
      });
      // From here on the clock rules it, measured from its own last activity: an imported session that is
      // already past its deadline ends at that deadline when the timer is delivered.
      step.rearm(event.lastActivityAt);
      step.commit();
    }),
    expireAtDeadline: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'message.inbound' && event.type !== 'reply.outbound' && event.type !== 'clock.tick')
        return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      // The lazy path records exactly what the expiry timer would have: the deadline and its reason.
      const expiry = expiryOf(context) ?? { at: event.at, reason: 'daily' as const };
      expire(step, expiry.at, expiry.reason);
      step.commit();
    }),
    reraise: enqueueActions(({ event, enqueue }) => {
      enqueue.raise(event);
    }),
    expireOnTimer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'timer.fired') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      const due = context.timers.expiry?.dueAt ?? event.at;
      const expiry = expiryOf(context);
      // The delivered timer is consumed whichever it was; the expiry deadline is what ended the session.
      const fired = currentTimerKind(context, event.timerId);
      if (fired) step.consume(fired);
      expire(step, due, expiry?.reason ?? 'daily');
      step.commit();
    }),
    idleOnTimer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'timer.fired') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      const due = context.timers.quiet?.dueAt ?? event.at;
      step.consume('quiet');
      step.update((d) => {
        touch(d, due);
      });
      step.fact({ type: 'SessionIdled', at: due, sessionId: context.sessionId as string });
      step.commit();
    }),
    applyTurn: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'message.inbound' && event.type !== 'reply.outbound') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      applyTurn(step, event);
      step.commit();
    }),
    applyTurnAndAnswer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'message.inbound' && event.type !== 'reply.outbound') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      applyTurn(step, event);
      if (event.type === 'message.inbound' && event.command) {
        const command = event.command;
        switch (command.kind) {
          case 'status':
            step.answer(event.messageId, { kind: 'status' });
            break;
          case 'context':
            step.answer(event.messageId, { kind: 'context', mode: command.mode });
            break;
          case 'send': {
            const override = command.mode === 'inherit' ? null : command.mode;
            setSendOverride(step, event.at, override);
            step.answer(event.messageId, { kind: 'send', override });
            break;
          }
          case 'send-usage':
          case 'context-usage':
            step.answer(event.messageId, { kind: command.kind });
            break;
          case 'compact':
            // Reached only when there is too little history to summarise (see hasHistoryToCompact).
            step.answer(event.messageId, { kind: 'compact-skipped', reason: 'nothing to compact yet' });
            break;
          default:
            break;
        }
      }
      step.commit();
    }),
    compactOnCommand: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'message.inbound' || event.command?.kind !== 'compact') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      // The /compact message itself is part of the conversation; what came before it is summarised.
      applyTurn(step, event);
      beginCompaction(step, event.at, 'manual', event.command.instructions, event.messageId);
      step.commit();
    }),
    compactOnRequest: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'compaction.requested') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      beginCompaction(step, event.at, 'manual', event.instructions, null);
      step.commit();
    }),
    setSendPolicy: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'send-policy.set') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      setSendOverride(step, event.at, event.override);
      step.commit();
    }),
    compactAutomatically: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'message.inbound' && event.type !== 'reply.outbound') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      beginCompaction(step, event.at, 'auto', undefined, null);
      step.commit();
    }),
    queue: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'message.inbound' && event.type !== 'reply.outbound') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      step.update((d) => {
        d.pending.push(event);
        touch(d, event.at);
      });
      const sessionId = context.sessionId as string;
      step.fact(
        event.type === 'message.inbound'
          ? { type: 'MessageQueued', at: event.at, sessionId, messageId: event.messageId }
          : { type: 'ReplyQueued', at: event.at, sessionId, replyId: event.replyId },
      );
      step.commit();
    }),
    finishCompaction: enqueueActions(({ context, event, enqueue }) => {
      const step = new Step(context, enqueue as unknown as Enqueue);
      const compaction = context.compaction;
      const sessionId = context.sessionId as string;
      if (event.type === 'timer.fired') step.consume('compaction');
      else step.cancel('compaction');
      if (event.type === 'compaction.completed' && compaction) {
        step.update((d) => {
          d.compactionCount += 1;
          d.turnsSinceCompaction = 0;
          d.tokens.context = tokensOf(event.tokensAfter);
          d.compaction = null;
          d.autoCompactFloor = null;
          touch(d, event.at);
        });
        step.fact({
          type: 'CompactionCompleted',
          at: event.at,
          sessionId,
          compactionId: compaction.id,
          tokensBefore: tokensOf(event.tokensBefore),
          tokensAfter: tokensOf(event.tokensAfter),
          compactionCount: step.ctx.compactionCount,
          // Records from before machine version 4 carry neither (no compaction ever completed then).
          summary: event.summary ?? '',
          keptIds: [...(event.keptIds ?? [])],
        });
        if (compaction.trigger === 'manual' && compaction.requestedBy !== null) {
          step.answer(compaction.requestedBy, {
            kind: 'compact-done',
            tokensBefore: tokensOf(event.tokensBefore),
            tokensAfter: tokensOf(event.tokensAfter),
          });
        }
      } else if (compaction) {
        const at = event.type === 'timer.fired' ? (context.timers.compaction?.dueAt ?? event.at) : event.at;
        const reason =
          event.type === 'compaction.failed' ? event.reason : 'the summariser did not finish in time';
        step.update((d) => {
          d.compaction = null;
          d.autoCompactFloor = d.tokens.context;
          touch(d, at);
        });
        step.fact({ type: 'CompactionFailed', at, sessionId, compactionId: compaction.id, reason });
        // The chat hears of a failure of its own /compact or of an automatic compaction; an operator's
        // compaction (manual, asked by no message) answers nobody.
        if (compaction.trigger === 'auto' || compaction.requestedBy !== null)
          step.answer(compaction.requestedBy, { kind: 'compact-failed', reason });
      }
      const pending = step.ctx.pending;
      step.update((d) => {
        d.pending = [];
      });
      // Back in `active`: re-arm the quiet timer, then apply what arrived meanwhile, in order.
      if (step.ctx.rules && step.ctx.lastActivityAt !== null) {
        step.schedule(
          'quiet',
          Math.max(step.ctx.updatedAt ?? 0, step.ctx.lastActivityAt) + step.ctx.rules.quietMs,
        );
      }
      step.commit();
      for (const input of pending) enqueue.raise(input);
      // An expiry that fell due meanwhile, or that the queued turns leave in the past, applies now.
      enqueue.raise({ type: 'clock.tick', at: 'at' in event ? event.at : (step.ctx.updatedAt ?? 0) });
    }),
    abandonCompactionThenReraise: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'message.inbound' && event.type !== 'session.reset') return;
      const step = new Step(context, enqueue as unknown as Enqueue);
      const compaction = context.compaction;
      step.cancel('compaction');
      if (compaction) {
        step.fact({
          type: 'CompactionFailed',
          at: event.at,
          sessionId: context.sessionId as string,
          compactionId: compaction.id,
          reason: 'cancelled by a reset',
        });
      }
      const pending = step.ctx.pending;
      step.update((d) => {
        d.pending = [];
        d.compaction = null;
      });
      step.commit();
      // What was queued happened before the reset: apply it to the old session first, then the reset.
      for (const input of pending) enqueue.raise(input);
      enqueue.raise(event);
    }),
  },
  guards: {
    isSystemTurn: ({ event }) => event.type === 'message.inbound' && isSystemTurn(event),
    isReset: ({ event }) => isResetInput(event),
    isStale: ({ context, event }) =>
      (event.type === 'message.inbound' || event.type === 'reply.outbound' || event.type === 'clock.tick') &&
      staleAt(context, event.at),
    isCurrentTimer: ({ context, event }) =>
      event.type === 'timer.fired' && currentTimerKind(context, event.timerId) !== null,
    isCurrentExpiry: ({ context, event }) =>
      event.type === 'timer.fired' && currentTimerKind(context, event.timerId) === 'expiry',
    /** Another timer is delivered at or after the expiry deadline: the session ended first. */
    isPastExpiry: ({ context, event }) => {
      if (event.type !== 'timer.fired') return false;
      const kind = currentTimerKind(context, event.timerId);
      const expiry = context.timers.expiry;
      return (
        kind !== null &&
        kind !== 'expiry' &&
        expiry !== null &&
        expiry.dueAt <= (context.timers[kind] as TimerRef).dueAt
      );
    },
    isCurrentQuiet: ({ context, event }) =>
      event.type === 'timer.fired' && currentTimerKind(context, event.timerId) === 'quiet',
    isCompactCommand: ({ event }) => event.type === 'message.inbound' && event.command?.kind === 'compact',
    /** Compaction summarises the turns before the command; with fewer than two there is nothing to do. */
    hasHistoryToCompact: ({ context }) => context.turnsSinceCompaction >= MIN_TURNS_TO_COMPACT,
    wouldExceedThreshold: ({ context, event }) => {
      if (event.type !== 'message.inbound' && event.type !== 'reply.outbound') return false;
      const limit = (event.type === 'message.inbound' ? event.rules : context.rules)?.compactAtTokens;
      if (limit === undefined) return false;
      const next =
        event.type === 'reply.outbound' && event.usage?.contextTokens !== undefined
          ? tokensOf(event.usage.contextTokens)
          : context.tokens.context + tokensOf(event.tokens);
      const floor = context.autoCompactFloor;
      return (
        next > limit && (floor === null || next > floor + Math.max(1, Math.floor(limit * AUTO_RETRY_GROWTH)))
      );
    },
    isCurrentCompaction: ({ context, event }) =>
      (event.type === 'compaction.completed' || event.type === 'compaction.failed') &&
      context.compaction?.id === event.compactionId,
    isCurrentCompactionTimeout: ({ context, event }) =>
      event.type === 'timer.fired' && currentTimerKind(context, event.timerId) === 'compaction',
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({ ...initialSessionContext(), ...input }),
  initial: 'new',
  on: {
    'settings.updated': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'settings.updated') return;
        const step = new Step(context, enqueue as unknown as Enqueue);
        step.update((d) => {
          Object.assign(d.settings, event.patch);
          touch(d, event.at);
        });
        step.fact({
          type: 'SettingsChanged',
          at: event.at,
          sessionId: step.ctx.sessionId,
          settings: step.ctx.settings,
        });
        step.commit();
      }),
    },
  },
  states: {
    new: fresh,
    active: {
      on: {
        'message.inbound': [
          // Past the deadline, whatever the message: the session ended then (as the timer would have
          // recorded), and the message is handled by the expired session.
          { guard: 'isStale', target: 'expired', actions: ['expireAtDeadline', 'reraise'] },
          { guard: 'isSystemTurn', actions: 'recordSystemTurn' },
          { guard: 'isReset', target: 'active', reenter: true, actions: 'startByReset' },
          {
            guard: and(['isCompactCommand', 'hasHistoryToCompact']),
            target: 'compacting',
            actions: 'compactOnCommand',
          },
          {
            guard: 'wouldExceedThreshold',
            target: 'compacting',
            actions: ['applyTurn', 'compactAutomatically'],
          },
          { actions: 'applyTurnAndAnswer' },
        ],
        'reply.outbound': [
          { guard: 'isStale', target: 'expired', actions: ['expireAtDeadline', 'reraise'] },
          {
            guard: 'wouldExceedThreshold',
            target: 'compacting',
            actions: ['applyTurn', 'compactAutomatically'],
          },
          { actions: 'applyTurn' },
        ],
        'session.reset': { target: 'active', reenter: true, actions: 'startByReset' },
        // An operator's compaction needs history to summarise, as /compact does; without it, nothing.
        'compaction.requested': {
          guard: 'hasHistoryToCompact',
          target: 'compacting',
          actions: 'compactOnRequest',
        },
        'send-policy.set': { actions: 'setSendPolicy' },
        'timer.fired': [
          { guard: 'isCurrentExpiry', target: 'expired', actions: 'expireOnTimer' },
          { guard: 'isPastExpiry', target: 'expired', actions: 'expireOnTimer' },
          { guard: 'isCurrentQuiet', target: 'idle', actions: 'idleOnTimer' },
        ],
        'clock.tick': { guard: 'isStale', target: 'expired', actions: 'expireAtDeadline' },
      },
    },
    idle: {
      on: {
        'message.inbound': [
          { guard: 'isStale', target: 'expired', actions: ['expireAtDeadline', 'reraise'] },
          { guard: 'isSystemTurn', actions: 'recordSystemTurn' },
          { guard: 'isReset', target: 'active', actions: 'startByReset' },
          {
            guard: and(['isCompactCommand', 'hasHistoryToCompact']),
            target: 'compacting',
            actions: 'compactOnCommand',
          },
          {
            guard: 'wouldExceedThreshold',
            target: 'compacting',
            actions: ['applyTurn', 'compactAutomatically'],
          },
          { target: 'active', actions: 'applyTurnAndAnswer' },
        ],
        'reply.outbound': [
          { guard: 'isStale', target: 'expired', actions: ['expireAtDeadline', 'reraise'] },
          {
            guard: 'wouldExceedThreshold',
            target: 'compacting',
            actions: ['applyTurn', 'compactAutomatically'],
          },
          { target: 'active', actions: 'applyTurn' },
        ],
        'session.reset': { target: 'active', actions: 'startByReset' },
        'compaction.requested': {
          guard: 'hasHistoryToCompact',
          target: 'compacting',
          actions: 'compactOnRequest',
        },
        'send-policy.set': { actions: 'setSendPolicy' },
        'timer.fired': [{ guard: 'isCurrentExpiry', target: 'expired', actions: 'expireOnTimer' }],
        'clock.tick': { guard: 'isStale', target: 'expired', actions: 'expireAtDeadline' },
      },
    },
    expired: notRunning,
    compacting: {
      on: {
        'message.inbound': [
          { guard: 'isReset', target: 'active', actions: 'abandonCompactionThenReraise' },
          { actions: 'queue' },
        ],
        'reply.outbound': { actions: 'queue' },
        'session.reset': { target: 'active', actions: 'abandonCompactionThenReraise' },
        // Already compacting: a second request changes nothing. The override applies at once.
        'send-policy.set': { actions: 'setSendPolicy' },
        'compaction.completed': {
          guard: 'isCurrentCompaction',
          target: 'active',
          actions: 'finishCompaction',
        },
        'compaction.failed': { guard: 'isCurrentCompaction', target: 'active', actions: 'finishCompaction' },
        'timer.fired': [
          { guard: 'isCurrentCompactionTimeout', target: 'active', actions: 'finishCompaction' },
          // An expiry that falls due while compacting stays armed and is applied when compaction ends.
        ],
      },
    },
  },
});

function expire(step: Step, at: number, reason: 'daily' | 'idle'): void {
  const sessionId = step.ctx.sessionId as string;
  step.cancel('expiry').cancel('quiet').cancel('compaction');
  step.update((d) => {
    d.endReason = reason;
    touch(d, at);
  });
  step.fact({ type: 'SessionExpired', at, sessionId, reason });
}

export type SessionMachine = typeof sessionMachine;
