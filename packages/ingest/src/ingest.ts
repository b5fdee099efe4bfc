import { AckPolicy, DeliverPolicy, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Clock } from '@threadline/clock';
import {
  type AgentReplyV1,
  type ChatEventV1,
  type DeadLetterV1,
  deadLetterSubjectFor,
  type InboundKind,
  inboundSubjectFor,
  makeDeadLetter,
  RejectionCode,
  replySubjectFor,
  StreamNames,
  Subjects,
  validateInbound,
} from '@threadline/protocol';

/** A valid input, with where it came from in the inbound stream. */
export type IngestedInput =
  | { kind: 'chat'; event: ChatEventV1; subject: string; streamSeq: number; subjectMatchesBody: boolean }
  | { kind: 'reply'; event: AgentReplyV1; subject: string; streamSeq: number; subjectMatchesBody: boolean };

export interface IngestOptions {
  nc: NatsConnection;
  clock: Clock;
  /** Messages larger than this are dead-lettered unread (`too_large`). */
  maxBytes: number;
  /**
   * Applies one valid input. Resolving acknowledges it; rejecting means "not now" — the input is
   * redelivered after a back-off, never dead-lettered (a failing handler is not bad input). It must be
   * idempotent: after a crash an input can be delivered again.
   */
  handle: (input: IngestedInput) => Promise<void>;
  /** Durable consumer name; every ingest process sharing it shares the work. */
  consumerName?: string;
  /** Called after each dead letter is stored (for logs). */
  onDeadLetter?: (deadLetter: DeadLetterV1) => void;
}

export interface IngestMetrics {
  received: number;
  handled: number;
  handlerFailures: number;
  /** Dead letters stored, by rejection code. */
  deadLettered: Partial<Record<RejectionCode, number>>;
  /** Valid inputs whose subject was not the one their body implies (they still apply; ordering may suffer). */
  subjectMismatches: number;
}

export interface RunningIngest {
  readonly metrics: IngestMetrics;
  /** Stops taking messages, lets the one in hand finish, and resolves. */
  stop(): Promise<void>;
}

const DEFAULT_CONSUMER = 'threadline-ingest';
/** Back-off for a handler failure, by delivery attempt (ms); the last value repeats. */
const RETRY_BACKOFF_MS = [200, 1_000, 5_000, 15_000];

// The subject families, from the one namespace definition (`tl.in.>` → `tl.in.`).
const CHAT_PREFIX = Subjects.inboundAll.slice(0, -1);
const REPLY_PREFIX = Subjects.replyAll.slice(0, -1);

function kindOf(subject: string): InboundKind | undefined {
  if (subject.startsWith(CHAT_PREFIX)) return 'chat';
  if (subject.startsWith(REPLY_PREFIX)) return 'reply';
  return undefined;
}

/**
 * Consumes `THREADLINE_INBOUND` with a durable pull consumer and processes one message at a time, so the
 * order in which a conversation's messages were published is the order they are handled in.
 *
 * Bad input never blocks the pipe and is never lost: it is written to `THREADLINE_DEAD_LETTERS`
 * (`tl.dlq.<code>`, a DeadLetterV1 with the reason and the original bytes) and only then acknowledged. The
 * dead letter's `Nats-Msg-Id` is derived from the inbound stream sequence, so a crash between storing it
 * and acknowledging the original stores it once. The streams must exist (see @threadline/event-log).
 */
export async function startIngest(options: IngestOptions): Promise<RunningIngest> {
  const { nc, clock, maxBytes, handle } = options;
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const durable = options.consumerName ?? DEFAULT_CONSUMER;
  await jsm.consumers.add(StreamNames.inbound, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: 30_000_000_000, // 30 s in ns: a handler taking longer is presumed dead and redelivered
    max_deliver: -1,
  });
  const consumer = await js.consumers.get(StreamNames.inbound, durable);
  const metrics: IngestMetrics = {
    received: 0,
    handled: 0,
    handlerFailures: 0,
    deadLettered: {},
    subjectMismatches: 0,
  };

  const deadLetter = async (msg: JsMsg, code: RejectionCode, reason: string) => {
    const letter = makeDeadLetter({
      code,
      reason,
      subject: msg.subject,
      receivedAt: clock.now(),
      original: msg.data,
    });
    await js.publish(deadLetterSubjectFor(letter), JSON.stringify(letter), { msgID: `dlq:${msg.seq}` });
    metrics.deadLettered[code] = (metrics.deadLettered[code] ?? 0) + 1;
    options.onDeadLetter?.(letter);
  };

  const process = async (msg: JsMsg) => {
    metrics.received += 1;
    const kind = kindOf(msg.subject);
    if (kind === undefined) {
      await deadLetter(msg, RejectionCode.UnknownType, `no inbound kind for subject ${msg.subject}`);
      msg.ack();
      return;
    }
    const verdict = validateInbound(msg.data, { maxBytes, kind });
    if (!verdict.ok) {
      await deadLetter(msg, verdict.code, verdict.reason);
      msg.ack();
      return;
    }
    const input: IngestedInput =
      kind === 'chat'
        ? {
            kind,
            event: verdict.event as ChatEventV1,
            subject: msg.subject,
            streamSeq: msg.seq,
            subjectMatchesBody: inboundSubjectFor(verdict.event as ChatEventV1) === msg.subject,
          }
        : {
            kind,
            event: verdict.event as AgentReplyV1,
            subject: msg.subject,
            streamSeq: msg.seq,
            subjectMatchesBody: replySubjectFor(verdict.event as AgentReplyV1) === msg.subject,
          };
    if (!input.subjectMatchesBody) metrics.subjectMismatches += 1;
    try {
      await handle(input);
      metrics.handled += 1;
      msg.ack();
    } catch {
      metrics.handlerFailures += 1;
      const attempt = Math.max(1, msg.info.deliveryCount);
      msg.nak(RETRY_BACKOFF_MS[Math.min(attempt, RETRY_BACKOFF_MS.length) - 1]);
    }
  };

  const messages = await consumer.consume({ max_messages: 64 });
  const loop = (async () => {
    for await (const msg of messages) await process(msg);
  })();

  return {
    metrics,
    async stop() {
      await messages.close();
      await loop;
    },
  };
}
