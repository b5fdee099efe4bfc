/**
 * A strictly ordered reader of one stream (or one filtered part of it) that resumes after its
 * checkpoint: the worker's router and applier, the projector and the scheduler's timer indexer all read
 * this way.
 *
 * One ordered consumer at a time, started just after the checkpoint. Nothing is acknowledged: progress is
 * the checkpoint (a {@link CheckpointStore} entry) written after the work — every `checkpointEvery`
 * messages, every `checkpointIntervalMs` while there is progress, and on stop. A handler that buffers its
 * writes gives a `flush`: it runs before each checkpoint, so a checkpoint never covers work that is not
 * durable yet. After a crash the messages after the checkpoint are read again, so handlers must be
 * idempotent by stream sequence (or by the ids the messages carry).
 *
 * A failing handler is retried in place with back-off — never skipped, never reordered — until it
 * succeeds or the reader is stopped. A consumer that fails (a stream leader change it could not ride
 * out, a deleted consumer) is replaced by a new one resuming after the last handled message.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { CheckpointStore } from './checkpoints.js';
import { parseStoredSubject } from './streams.js';

/** One message as a handler sees it. */
export interface ReadMessage {
  /** The subject it was published on (a partitioned stream's stored subject is mapped back). */
  readonly subject: string;
  /** The stream sequence. */
  readonly seq: number;
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  /** Messages of the filter still after this one when it was delivered (the reader's lag). */
  readonly pending: number;
}

export interface CheckpointedReaderOptions {
  readonly js: JetStreamClient;
  readonly stream: string;
  /** Subject filter; the whole stream when absent. */
  readonly filter?: string;
  readonly checkpoints: CheckpointStore;
  readonly checkpointKey: string;
  /** Handles one message; messages come strictly in stream order. Throwing retries this message. */
  readonly handle: (message: ReadMessage) => Promise<void> | void;
  /** Makes durable whatever `handle` buffered; awaited before every checkpoint write. */
  readonly flush?: () => Promise<void>;
  /** Checkpoint (and flush) after this many messages. Default 100. */
  readonly checkpointEvery?: number;
  /** Checkpoint (and flush) this often while there is progress. Default 250 ms. */
  readonly checkpointIntervalMs?: number;
  /**
   * Also flush (not checkpoint) the moment the reader has caught up — the message just handled was the
   * last one pending — so that a quiet reader's output is visible at once instead of at the next
   * interval; a busy one still batches. Flushes never overlap. Default false.
   */
  readonly flushWhenCaughtUp?: boolean;
  /** Where to start when no checkpoint exists: after this sequence. Default 0. */
  readonly startAfter?: number;
  readonly onError?: (error: unknown, where: string) => void;
  /** Called on every retry (a handler failure or a consumer replaced), for metrics. */
  readonly onRetry?: () => void;
}

export interface CheckpointedReader {
  /** The last sequence handled (not necessarily flushed or checkpointed). */
  readonly handled: number;
  /** The last sequence checkpointed. */
  readonly checkpointed: number;
  /** Messages of the filter after the last one handled, as the server last said. */
  readonly pending: number;
  /** Flushes and checkpoints what was handled so far. */
  checkpoint(): Promise<void>;
  /** Stops reading, waits for the message in hand, flushes and checkpoints. */
  stop(): Promise<void>;
}

const RETRY_BACKOFF_MS = [50, 200, 1_000, 2_000, 5_000];
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startCheckpointedReader(
  options: CheckpointedReaderOptions,
): Promise<CheckpointedReader> {
  const { js, checkpoints, checkpointKey } = options;
  const stored = await checkpoints.get(checkpointKey);
  const from = stored > 0 ? stored : (options.startAfter ?? 0);
  let done = from;
  let saved = stored;
  let pending = 0;
  let sinceSave = 0;
  let stopped = false;
  let saving: Promise<void> | undefined;
  const every = options.checkpointEvery ?? 100;
  const onError = (error: unknown, where: string) => options.onError?.(error, where);

  // Flushes run one after another, never two at once: a handler's buffered writes of one key must land
  // in the order they were made.
  let flushing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    const next = flushing.then(() => options.flush?.());
    flushing = next.catch(() => {});
    return next;
  };
  const save = (): Promise<void> => {
    if (saving) return saving;
    const run = (async () => {
      // Always asynchronous, so `saving` is set before the `finally` below clears it (an idle save that
      // finished synchronously would otherwise stay "in progress" forever and no checkpoint be written again).
      await Promise.resolve();
      try {
        while (done > saved) {
          const at = done;
          sinceSave = 0;
          await flush();
          await checkpoints.set(checkpointKey, at);
          saved = Math.max(saved, at);
        }
      } finally {
        saving = undefined;
      }
    })();
    saving = run;
    return run;
  };
  const saveQuietly = () => save().catch((error) => onError(error, `checkpoint ${checkpointKey}`));
  // Progress is also recorded while the reader is quiet, so a restart after an idle spell re-reads nothing.
  const flusher = setInterval(() => void saveQuietly(), options.checkpointIntervalMs ?? 250);
  flusher.unref();

  let consumerDelete: (() => Promise<unknown>) | undefined;
  const open = async () => {
    const consumer = await js.consumers.get(options.stream, {
      ...(options.filter === undefined ? {} : { filter_subjects: [options.filter] }),
      opt_start_seq: done + 1,
      inactive_threshold: 60_000,
    });
    consumerDelete = () => consumer.delete();
    return consumer.consume({ max_messages: 256, idle_heartbeat: 1_000, expires: 5_000 });
  };
  let current = await open();
  const loop = (async () => {
    for (let failures = 0; !stopped; ) {
      try {
        for await (const m of current) {
          if (stopped) return;
          failures = 0;
          const message: ReadMessage = {
            subject: parseStoredSubject(m.subject)?.published ?? m.subject,
            seq: m.seq,
            data: m.data,
            headers: m.headers,
            pending: m.info.pending,
          };
          for (let attempt = 0; ; attempt++) {
            try {
              await options.handle(message);
              break;
            } catch (error) {
              onError(error, `${checkpointKey} seq ${m.seq}`);
              if (stopped) return;
              options.onRetry?.();
              await sleep(RETRY_BACKOFF_MS[Math.min(attempt, RETRY_BACKOFF_MS.length - 1)] as number);
              if (stopped) return;
            }
          }
          done = m.seq;
          pending = m.info.pending;
          sinceSave += 1;
          if (sinceSave >= every) await saveQuietly();
          else if (options.flushWhenCaughtUp && pending === 0 && options.flush)
            await flush().catch((error) => onError(error, `flush ${checkpointKey}`));
        }
        if (stopped) return;
        throw new Error('the consumer ended');
      } catch (error) {
        if (stopped) return;
        onError(error, `${checkpointKey} reader`);
        options.onRetry?.();
        await sleep(RETRY_BACKOFF_MS[Math.min(failures++, RETRY_BACKOFF_MS.length - 1)] as number);
        if (stopped) return;
        await consumerDelete?.().catch(() => {});
        try {
          current = await open();
        } catch (reopen) {
          onError(reopen, `${checkpointKey} reopen`);
        }
      }
    }
  })();

  return {
    get handled() {
      return done;
    },
    get checkpointed() {
      return saved;
    },
    get pending() {
      return pending;
    },
    checkpoint: save,
    async stop() {
      stopped = true;
      clearInterval(flusher);
      await current.close();
      await loop;
      await save();
      await consumerDelete?.().catch(() => {});
    },
  };
}
