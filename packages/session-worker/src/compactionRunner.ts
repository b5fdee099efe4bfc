/**
 * Runs the compactions the session machine asks for (`runCompaction` in a record) — off the partition's
 * reading path, so a slow summariser never holds up other sessions — and reports each result back as a
 * control event on the key's own subject (`compaction.completed` / `compaction.failed`), where it is
 * applied in order with everything else the key receives. Messages that arrive meanwhile are queued by
 * the machine and applied after the result.
 *
 * A result is named by its compaction (`worker:compaction:<compactionId>`), so a compaction started again
 * after a crash reports once, and a result for a compaction the session no longer runs changes nothing.
 * The summariser is given until the compaction's deadline; past it, or on any failure of its own, the
 * session gets `Compaction failed: <reason>` and keeps every message.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Clock } from '@threadline/clock';
import { planCompaction, type Summariser, SummariserError } from '@threadline/compaction';
import type { SessionLog } from '@threadline/event-log';
import {
  type ControlEventV1,
  MAX_KEPT_TURNS,
  MAX_TEXT_LENGTH,
  MAX_TOKENS,
  Subjects,
  type TraceContext,
  unicodeLength,
} from '@threadline/protocol';
import type { CompactionRequest } from '@threadline/session-core';
import type { TransitionRecordV1 } from './records.js';
import { nextHop, randomTraceIds, type TraceIds, traceMsgHeaders } from './tracing.js';
import { transcriptOf } from './transcript.js';

export interface CompactionRunnerOptions {
  nc: NatsConnection;
  log: SessionLog;
  clock: Clock;
  summariser: Summariser;
  /** Turns kept verbatim after the summary (config `compaction.keepRecentTurns`). */
  keepRecentTurns: number;
  countTokens: (text: string) => number;
  /** New span and trace ids for the results' trace context. Default: `node:crypto`. */
  traceIds?: TraceIds;
  onError?: (error: unknown, where: string) => void;
}

export interface CompactionRunner {
  /**
   * Starts `request` for `sessionKey` unless it is already running here. Never throws. The result's
   * control event continues `trace` (the span of the input that started the compaction), else starts one.
   */
  start(sessionKey: string, request: CompactionRequest, trace?: TraceContext): void;
  /** Compactions in flight. */
  readonly running: number;
  /** Cancels what is in flight (their results are not published) and waits for them to settle. */
  stop(): Promise<void>;
}

export function compactionResultId(compactionId: string): string {
  return `worker:compaction:${compactionId}`;
}

export function startCompactionRunner(options: CompactionRunnerOptions): CompactionRunner {
  const js = jetstream(options.nc);
  const inFlight = new Map<string, Promise<void>>();
  const stopping = new AbortController();

  const ids = options.traceIds ?? randomTraceIds;
  const publish = async (event: ControlEventV1, trace: TraceContext | undefined) => {
    await js.publish(Subjects.control(event.sessionKey), JSON.stringify(event), {
      msgID: event.id,
      headers: traceMsgHeaders(nextHop(trace, ids)),
    });
  };

  const run = async (
    sessionKey: string,
    request: CompactionRequest,
    trace: TraceContext | undefined,
  ): Promise<void> => {
    const common = {
      v: 1 as const,
      id: compactionResultId(request.compactionId),
      sessionKey,
      compactionId: request.compactionId,
    };
    let result: ControlEventV1;
    try {
      const records: TransitionRecordV1[] = [];
      for await (const record of options.log.read<TransitionRecordV1>(sessionKey)) records.push(record.body);
      const transcript = transcriptOf(records);
      const tokensBefore = transcript.turns.reduce((sum, t) => sum + t.tokens, 0);
      const plan = planCompaction(transcript.turns, { keepRecentTurns: options.keepRecentTurns });
      if (plan.summarise.length === 0)
        throw new SummariserError(
          'BAD_RESPONSE',
          `nothing older than the last ${options.keepRecentTurns} turns to summarise yet`,
        );
      if (plan.keep.length > MAX_KEPT_TURNS)
        throw new SummariserError('BAD_RESPONSE', `more than ${MAX_KEPT_TURNS} turns to keep verbatim`);
      const timeout = AbortSignal.timeout(Math.max(1, request.deadlineAt - options.clock.now()));
      const summary = (
        await options.summariser.summarise(
          {
            sessionKey,
            sessionId: request.sessionId,
            ...(request.instructions === undefined ? {} : { instructions: request.instructions }),
            turns: plan.summarise,
          },
          AbortSignal.any([timeout, stopping.signal]),
        )
      ).trim();
      if (summary === '')
        throw new SummariserError('BAD_RESPONSE', 'the summariser returned an empty summary');
      if ((unicodeLength(summary) ?? Number.POSITIVE_INFINITY) > MAX_TEXT_LENGTH)
        throw new SummariserError(
          'BAD_RESPONSE',
          `the summary is longer than ${MAX_TEXT_LENGTH} characters; keep more turns or summarise less`,
        );
      const keptTokens = plan.keep.reduce((sum, t) => sum + t.tokens, 0);
      result = {
        ...common,
        type: 'compaction.completed',
        at: options.clock.now(),
        summary,
        keptIds: plan.keep.map((t) => t.id),
        // Sums of turns' counts can pass the bound one count has (a producer may send any count up to
        // MAX_TOKENS per message), and an event over it would be refused by the worker's own validation:
        // the session would never see its compaction finish. So the reported counts saturate.
        tokensBefore: Math.min(tokensBefore, MAX_TOKENS),
        tokensAfter: Math.min(options.countTokens(summary) + keptTokens, MAX_TOKENS),
      };
    } catch (error) {
      if (stopping.signal.aborted) return; // the next owner's deadline or restart decides
      result = {
        ...common,
        type: 'compaction.failed',
        at: options.clock.now(),
        reason: reasonOf(error),
      };
    }
    await publish(result, trace);
  };

  return {
    start(sessionKey, request, trace) {
      if (inFlight.has(request.compactionId) || stopping.signal.aborted) return;
      const job = run(sessionKey, request, trace)
        .catch((error) => options.onError?.(error, `compaction ${request.compactionId}`))
        .finally(() => inFlight.delete(request.compactionId));
      inFlight.set(request.compactionId, job);
    },
    get running() {
      return inFlight.size;
    },
    async stop() {
      stopping.abort();
      await Promise.all(inFlight.values());
    },
  };
}

/** What the chat is told after `Compaction failed: `: short, and never a stack or a credential. */
function reasonOf(error: unknown): string {
  const message =
    error instanceof SummariserError
      ? error.message
      : error instanceof Error && error.name === 'TimeoutError'
        ? 'the summariser did not finish in time'
        : 'the summariser failed unexpectedly';
  return message.length > 1000 ? `${message.slice(0, 999)}…` : message || 'the summariser failed';
}
