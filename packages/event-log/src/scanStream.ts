/**
 * One bounded pass over a stream (or the subjects of a filter) with an ordered consumer: what replays and
 * audits read with. It starts at a sequence or at a time, reads up to the stream head seen when it
 * starts — never waiting for messages that have not been written yet — and deletes its consumer however
 * the pass ends.
 */
import { type JetStreamOptions, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { fetchPending } from './fetchPending.js';

/** One stored message as a scan delivers it. */
export interface StoredMessage {
  readonly subject: string;
  /** The stream sequence. */
  readonly seq: number;
  readonly headers: MsgHdrs | undefined;
  readonly data: Uint8Array;
  /** When the server stored it (epoch ms, the server's clock). */
  readonly storedAt: number;
}

/** What a scan found when it started. */
export interface ScanStart {
  /** Messages the scan's consumer had to deliver when it was created (0: the scan reads nothing). */
  readonly pending: number;
  /** The last sequence the scan reads (the stream head when it started, or `toSeq`). */
  readonly headSeq: number;
}

export interface ScanStreamOptions {
  readonly stream: string;
  readonly jetStream?: JetStreamOptions;
  /** Subjects to read; the whole stream when absent or empty. */
  readonly filter?: readonly string[];
  /** Start at the first message stored at or after this time (epoch ms), instead of at `afterSeq + 1`. */
  readonly startTime?: number;
  /** Only messages with a sequence greater than this (default 0). Ignored with `startTime`. */
  readonly afterSeq?: number;
  /** Read no message after this sequence; default: the stream's last sequence when the scan starts. */
  readonly toSeq?: number;
  /** Called once, before the first message. */
  readonly onStart?: (start: ScanStart) => void;
}

/**
 * The messages of `stream` (matching `filter`) in stream order, from `afterSeq + 1` or `startTime` up to
 * the head seen at the start (or `toSeq`). Breaking out of the loop releases the consumer. Store errors
 * propagate (a missing stream: `StreamNotFoundError`).
 */
export async function* scanStream(
  nc: NatsConnection,
  options: ScanStreamOptions,
): AsyncIterable<StoredMessage> {
  const jsm = await jetstreamManager(nc, { ...options.jetStream, checkAPI: false });
  const { state } = await jsm.streams.info(options.stream);
  const headSeq = Math.min(options.toSeq ?? state.last_seq, state.last_seq);
  const afterSeq = options.afterSeq ?? 0;
  // Nothing stored, or nothing in range: return before creating a consumer that would only wait.
  if (
    state.messages === 0 ||
    headSeq < state.first_seq ||
    (options.startTime === undefined && headSeq <= afterSeq)
  ) {
    options.onStart?.({ pending: 0, headSeq });
    return;
  }
  const filter = options.filter ?? [];
  const consumer = await jetstream(nc, options.jetStream).consumers.get(options.stream, {
    ...(filter.length > 0 ? { filter_subjects: [...filter] } : {}),
    ...(options.startTime === undefined
      ? { opt_start_seq: afterSeq + 1 }
      : { opt_start_time: new Date(options.startTime).toISOString() }),
    // Cleans up after a scan that died mid-read; a normal scan deletes its consumer itself.
    inactive_threshold: 60_000,
  });
  try {
    const { num_pending: pending } = await consumer.info(true);
    options.onStart?.({ pending, headSeq });
    if (pending === 0) return;
    for await (const m of fetchPending(consumer, pending)) {
      if (m.seq > headSeq) break;
      yield {
        subject: m.subject,
        seq: m.seq,
        headers: m.headers,
        data: m.data,
        storedAt: Math.floor(m.info.timestampNanos / 1_000_000),
      };
      // The last message of the filter (the head itself may be another subject's, or gone).
      if (m.seq >= headSeq) break;
    }
  } finally {
    await consumer.delete().catch(() => {
      // Already gone (inactive threshold, stream deleted): nothing left to release.
    });
  }
}
