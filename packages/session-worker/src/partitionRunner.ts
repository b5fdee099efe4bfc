/**
 * Serving one partition: two strictly ordered readers, each an ordered consumer started after its
 * checkpoint.
 *
 * - The **router** reads the partition's chat events (`THREADLINE_INBOUND`, stored by conversation),
 *   resolves each one's session key and republishes it to `tl.routed.v1.<key>` (`THREADLINE_KEYED`,
 *   stored by key). One conversation is one inbound partition, read in order and republished in order,
 *   so its messages reach their key in publish order — whichever partition the key itself falls in, and
 *   however dmScope and identity links join conversations into keys.
 * - The **applier** reads the partition's keyed inputs (routed chat events, agent replies, control
 *   events), in arrival order, and applies each to its key through {@link SessionActors}.
 *
 * Each message the runner writes continues the trace of the message that caused it (W3C trace context in
 * the headers, see tracing.ts): the routed event the chat event's, the session record the keyed input's,
 * a dead letter keeps the refused message's own `traceparent`.
 *
 * Nothing is acknowledged: progress is the checkpoint (a KV entry per reader) written after processing.
 * After a crash, the inputs after the checkpoint are read again and recognised — republished routed
 * events by their `Nats-Msg-Id`, applied inputs by the keyed sequence their record holds — so a restart
 * loses nothing and duplicates nothing. Bad input is dead-lettered with its reason and the original bytes
 * and the reader moves on; a failing handler is retried in place (the order must not change), with
 * back-off, until it succeeds or the runner is stopped.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Clock } from '@threadline/clock';
import {
  type CheckpointStore,
  InvalidRecordError,
  inboundPartitionFilter,
  keyedPartitionFilter,
  MAX_SUBJECT_LENGTH as MAX_SESSION_SUBJECT_LENGTH,
  type ReadMessage,
  RecordIdConflictError,
  RecordTooLargeError,
  startCheckpointedReader,
} from '@threadline/event-log';
import {
  type AgentReplyV1,
  type ChatEventV1,
  type ControlEventV1,
  deadLetterSubjectFor,
  type InboundKind,
  inboundSubjectFor,
  makeDeadLetter,
  RejectionCode,
  StreamNames,
  Subjects,
  type TraceContext,
  validateInbound,
} from '@threadline/protocol';
import type { SessionSnapshot } from '@threadline/session-core';
import {
  chatInput,
  controlInput,
  type InputContext,
  replyInput,
  sessionKeyOf,
  type WorkItem,
} from './inputs.js';
import { type RecordSource, type RoutedChatV1, routedChatV1Schema } from './records.js';
import type { ApplyResult, SessionActors } from './sessionActors.js';
import {
  nextHop,
  randomTraceIds,
  recordTraceOf,
  type TraceIds,
  traceMsgHeaders,
  traceOf,
} from './tracing.js';

export interface PartitionRunnerOptions {
  nc: NatsConnection;
  partition: number;
  actors: SessionActors;
  checkpoints: CheckpointStore;
  clock: Clock;
  inputs: InputContext;
  /** Messages larger than this are dead-lettered unread (`too_large`). */
  maxInboundBytes: number;
  /** Checkpoint after this many messages at the latest. Default 100. */
  checkpointEvery?: number;
  /** And at least this often while there is unrecorded progress (ms). Default 250. */
  checkpointIntervalMs?: number;
  /** New span and trace ids (randomness, injected for deterministic tests). Default: `node:crypto`. */
  traceIds?: TraceIds;
  /** Called for each input applied to a key of this partition (the worker tracks which keys it holds). */
  onApplied?: (sessionKey: string) => void;
  /**
   * Carries out what an applied input's record asks for — publish its deliveries, start its compaction —
   * before the input counts as processed (checkpoint). Called for a newly recorded input and for one read
   * again after a crash (`replayed`), whose effects may not have happened; so it must be idempotent.
   * `trace` is the applier's span for this input: what the effects publish continues it.
   */
  effects?: (
    sessionKey: string,
    source: RecordSource,
    result: ApplyResult,
    trace: TraceContext,
  ) => Promise<void>;
  onDeadLetter?: (code: RejectionCode, reason: string, subject: string) => void;
  onError?: (error: unknown, where: string) => void;
}

export interface PartitionMetrics {
  routed: number;
  applied: number;
  /** Dead letters written, in all and by rejection code. */
  deadLettered: number;
  deadLettersByCode: Partial<Record<RejectionCode, number>>;
  retries: number;
  /** Chat events whose subject was not the one their body implies (applied; ordering may suffer). */
  subjectMismatches: number;
}

/**
 * Each reader's lag: messages of its partition after the last one it handled, as the server said when it
 * delivered the latest message (the one in hand counts while it is being handled, retries included).
 * 0 once a reader has caught up.
 */
export interface PartitionLag {
  route: number;
  apply: number;
}

export interface PartitionRunner {
  readonly partition: number;
  readonly metrics: PartitionMetrics;
  /** The readers' lag now. */
  lag(): PartitionLag;
  /** Stops both readers after the message in hand and writes their checkpoints. */
  stop(): Promise<void>;
}

/** All counts zero. */
export function emptyPartitionMetrics(): PartitionMetrics {
  return { routed: 0, applied: 0, deadLettered: 0, deadLettersByCode: {}, retries: 0, subjectMismatches: 0 };
}

export async function startPartitionRunner(options: PartitionRunnerOptions): Promise<PartitionRunner> {
  const js = jetstream(options.nc);
  const metrics = emptyPartitionMetrics();
  const lag: PartitionLag = { route: 0, apply: 0 };
  const { partition } = options;
  const ids = options.traceIds ?? randomTraceIds;

  const deadLetter = async (
    stream: 'inbound' | 'keyed',
    seq: number,
    subject: string,
    data: Uint8Array,
    code: RejectionCode,
    reason: string,
    trace: TraceContext | undefined,
  ) => {
    const letter = makeDeadLetter({ code, reason, subject, receivedAt: options.clock.now(), original: data });
    // One dead letter per stored message, however often it is read again. It keeps the refused message's
    // own trace context, so a trace shows where its message ended.
    await js.publish(deadLetterSubjectFor(letter), JSON.stringify(letter), {
      msgID: `dlq:${stream}:${seq}`,
      ...(trace === undefined ? {} : { headers: traceMsgHeaders(trace) }),
    });
    metrics.deadLettered += 1;
    metrics.deadLettersByCode[code] = (metrics.deadLettersByCode[code] ?? 0) + 1;
    options.onDeadLetter?.(code, reason, subject);
  };

  const route = async ({ subject, seq, data, headers }: ReadMessage) => {
    const incoming = traceOf(headers);
    const verdict = validateInbound(data, { maxBytes: options.maxInboundBytes, kind: 'chat' });
    if (!verdict.ok) return deadLetter('inbound', seq, subject, data, verdict.code, verdict.reason, incoming);
    const event = verdict.event as ChatEventV1;
    if (inboundSubjectFor(event) !== subject) metrics.subjectMismatches += 1;
    let sessionKey: string;
    let routedSubject: string;
    try {
      sessionKey = sessionKeyOf(event, options.inputs.config);
      routedSubject = Subjects.routed(sessionKey); // a key no subject token can hold is refused, not retried
      // A key the session log would refuse as too long a subject is refused here, before it is routed: a
      // routed subject longer than the server's protocol line limit (4 KiB) gets the connection closed,
      // and the router would retry it forever, stalling every reader on the connection.
      if (Subjects.session(sessionKey).length > MAX_SESSION_SUBJECT_LENGTH)
        throw new InvalidRecordError(
          'sessionKey',
          `encodes to a subject longer than ${MAX_SESSION_SUBJECT_LENGTH} characters`,
        );
    } catch (error) {
      return deadLetter(
        'inbound',
        seq,
        subject,
        data,
        RejectionCode.Unrecordable,
        (error as Error).message,
        incoming,
      );
    }
    const routed: RoutedChatV1 = { v: 1, type: 'chat.routed', sessionKey, event, inboundSeq: seq };
    // Named by the inbound position, not the producer id: re-reading the same stored message after a
    // crash is dropped by the keyed stream, while a producer id reused for another conversation still
    // reaches its key, where the session stream's id check turns it into a dead letter, not a silent loss.
    await js.publish(routedSubject, JSON.stringify(routed), {
      msgID: `routed:${seq}`,
      headers: traceMsgHeaders(nextHop(incoming, ids)),
    });
    metrics.routed += 1;
  };

  /**
   * What a keyed message is: the key it is for, the subject that key's messages of its family belong on,
   * and how to make its session input — or why it is refused.
   */
  const readKeyed = (
    subject: string,
    data: Uint8Array,
  ):
    | {
        sessionKey: string;
        belongsOn: string;
        hint: string;
        build: (snapshot: SessionSnapshot, at: number) => WorkItem;
      }
    | { code: RejectionCode; reason: string } => {
    const family = subject.split('.')[1];
    if (family === 'routed') {
      const parsed = parseRouted(data);
      if (!parsed.ok) return { code: RejectionCode.SchemaViolation, reason: parsed.reason };
      const { sessionKey, event } = parsed.value;
      return {
        sessionKey,
        belongsOn: Subjects.routed(sessionKey),
        hint: '',
        build: (_snapshot, at) => chatInput(sessionKey, event, at, options.inputs),
      };
    }
    const kind: InboundKind | undefined =
      family === 'reply' ? 'reply' : family === 'ctl' ? 'control' : undefined;
    if (kind === undefined)
      return { code: RejectionCode.UnknownType, reason: `no input kind for ${subject}` };
    const verdict = validateInbound(data, { maxBytes: options.maxInboundBytes, kind });
    if (!verdict.ok) return { code: verdict.code, reason: verdict.reason };
    if (kind === 'reply') {
      const reply = verdict.event as AgentReplyV1;
      const belongsOn = Subjects.reply(reply.sessionKey);
      return {
        sessionKey: reply.sessionKey,
        belongsOn,
        hint: ` (publish it on ${belongsOn})`,
        build: (snapshot, at) => replyInput(reply, at, options.inputs, snapshot),
      };
    }
    const control = verdict.event as ControlEventV1;
    const belongsOn = Subjects.control(control.sessionKey);
    return {
      sessionKey: control.sessionKey,
      belongsOn,
      hint: ` (publish it on ${belongsOn})`,
      build: (snapshot) => controlInput(control, snapshot, options.inputs),
    };
  };

  const apply = async (
    subject: string,
    seq: number,
    data: Uint8Array,
    incoming: TraceContext | undefined,
  ) => {
    const keyed = readKeyed(subject, data);
    if ('code' in keyed) return deadLetter('keyed', seq, subject, data, keyed.code, keyed.reason, incoming);
    // The subject decides the partition, the body the key: they must agree, or the key would get a second
    // writer (this partition's) beside its own.
    if (keyed.belongsOn !== subject)
      return deadLetter(
        'keyed',
        seq,
        subject,
        data,
        RejectionCode.Unrecordable,
        `sessionKey ${JSON.stringify(keyed.sessionKey)} does not belong on ${subject}${keyed.hint}`,
        incoming,
      );
    const at = options.clock.now();
    const source: RecordSource = { stream: StreamNames.keyed, seq };
    // The applier's span: the record is written in it, and the effects continue it.
    const span = nextHop(incoming, ids);
    const result = await options.actors.apply(
      keyed.sessionKey,
      source,
      (snapshot) => keyed.build(snapshot, at),
      recordTraceOf(span),
    );
    await options.effects?.(keyed.sessionKey, source, result, span);
    options.onApplied?.(keyed.sessionKey);
    metrics.applied += 1;
  };

  /**
   * Applies with the input's own errors turned into dead letters: an input the log can never store (its
   * key cannot be a subject, its record is too large, its id belongs to another key's record) would
   * otherwise be retried forever and block its partition. Everything else — transport errors, a broken
   * chain — is the system's fault and is retried in place.
   */
  const applyOrDeadLetter = async ({ subject, seq, data, headers }: ReadMessage) => {
    const incoming = traceOf(headers);
    try {
      await apply(subject, seq, data, incoming);
    } catch (error) {
      if (
        error instanceof InvalidRecordError ||
        error instanceof RecordTooLargeError ||
        error instanceof RecordIdConflictError
      )
        return deadLetter('keyed', seq, subject, data, RejectionCode.Unrecordable, error.message, incoming);
      throw error;
    }
  };

  const reader = (
    stream: string,
    filter: string,
    checkpointKey: string,
    stage: keyof PartitionLag,
    handle: (message: ReadMessage) => Promise<void>,
  ) =>
    startCheckpointedReader({
      js,
      stream,
      filter,
      checkpoints: options.checkpoints,
      checkpointKey,
      handle: async (m) => {
        lag[stage] = m.pending + 1; // the message in hand is not handled yet
        await handle(m);
        lag[stage] = m.pending;
      },
      ...(options.checkpointEvery === undefined ? {} : { checkpointEvery: options.checkpointEvery }),
      ...(options.checkpointIntervalMs === undefined
        ? {}
        : { checkpointIntervalMs: options.checkpointIntervalMs }),
      onError: (error, where) => options.onError?.(error, where),
      onRetry: () => {
        metrics.retries += 1;
      },
    });
  const readers = [
    await reader(
      StreamNames.inbound,
      inboundPartitionFilter(partition),
      `route.${partition}`,
      'route',
      route,
    ),
    await reader(
      StreamNames.keyed,
      keyedPartitionFilter(partition),
      `apply.${partition}`,
      'apply',
      applyOrDeadLetter,
    ),
  ];

  return {
    partition,
    metrics,
    lag: () => ({ ...lag }),
    async stop() {
      await Promise.all(readers.map((r) => r.stop()));
    },
  };
}

function parseRouted(data: Uint8Array): { ok: true; value: RoutedChatV1 } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (error) {
    return { ok: false, reason: `routed event is not JSON: ${(error as Error).message}` };
  }
  const parsed = routedChatV1Schema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `routed event: ${parsed.error.message.slice(0, 500)}` };
  return { ok: true, value: parsed.data as RoutedChatV1 };
}
