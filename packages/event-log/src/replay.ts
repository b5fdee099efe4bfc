/**
 * Replays of the session log, for operators and tools: one key's records, or every key's in stream order,
 * bounded by record time (`at`, the time the transition happened).
 *
 * A record's `at` is the deciding worker's time; the server stamps each message with the time it stored
 * it. The two are close — a record is stored just after it is decided — but not equal, and a record can be
 * stored much later than its `at` (a timer that fired while no worker ran is recorded with its due time;
 * an imported history). Bounds always apply to `at`. A replay of every key uses the server's times only to
 * skip ahead: it starts at the first message stored at `since - clockSlackMs`, trusting that no worker's
 * clock runs more than that ahead of the server's. It reads up to the stream head seen when it starts —
 * unless `maxStoreDelayMs` says how late a record can be stored, when it stops at the first message stored
 * that long after `until`. That is off by default: a replay that stops early on a guess would silently
 * leave out a record written late, which is exactly the one an operator is looking for.
 */
import type { JetStreamOptions } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { StreamNames } from '@threadline/protocol';
import { CorruptRecordError } from './errors.js';
import { decodeStoredRecord, NatsSessionLog } from './natsSessionLog.js';
import { scanStream } from './scanStream.js';
import type { SessionRecord } from './sessionLog.js';

export interface ReplayBounds {
  /** Only records with `at` at or after this time (epoch ms). */
  readonly since?: number;
  /** Only records with `at` before this time (epoch ms). */
  readonly until?: number;
  /**
   * Only records with a stream sequence greater than this: a cursor, the last sequence a previous page of
   * the same replay returned. Default 0 (from the beginning).
   */
  readonly afterSeq?: number;
}

export interface ReplayStoreOptions {
  /** The session stream. Default `THREADLINE_SESSIONS`. */
  readonly stream?: string;
  readonly jetStream?: JetStreamOptions;
}

export interface ReplaySessionOptions extends ReplayBounds, ReplayStoreOptions {}

export interface ReplayAllOptions extends ReplayBounds, ReplayStoreOptions {
  /** Messages read so far of `total` (those the replay's consumer had to deliver when it started). */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * How far ahead of the server's clock a record's `at` may be: the replay starts at the first message
   * stored at `since - clockSlackMs`. Default {@link DEFAULT_CLOCK_SLACK_MS}; `Infinity` starts at the
   * beginning of the stream.
   */
  readonly clockSlackMs?: number;
  /**
   * How long after its `at` a record may have been stored: given, the replay stops at the first message
   * stored more than this after `until`. Default: not given — the replay reads to the stream head seen
   * when it starts, so no late record is left out.
   */
  readonly maxStoreDelayMs?: number;
  /**
   * Called with each stored message that is not a session record, which is then skipped. Without it the
   * replay throws that {@link CorruptRecordError}.
   */
  readonly onUnreadable?: (error: CorruptRecordError) => void;
}

/** Five minutes: far more than a decision takes to be stored, or than healthy clocks drift apart. */
export const DEFAULT_CLOCK_SLACK_MS = 5 * 60_000;

/**
 * One key's records in order, those with `since <= at < until`, as they are when the replay starts. Reads
 * only the key's subject (an ordered consumer filtered to it, {@link NatsSessionLog.read}), never the
 * whole stream. Throws `RangeError` on bad bounds, {@link CorruptRecordError} on a stored message that is
 * not a session record, `InvalidRecordError` on a key that cannot be a subject, and store errors.
 */
export async function* replaySession<T = unknown>(
  nc: NatsConnection,
  sessionKey: string,
  options: ReplaySessionOptions = {},
): AsyncIterable<SessionRecord<T>> {
  checkBounds(options);
  const log = new NatsSessionLog(nc, {
    ...(options.stream === undefined ? {} : { stream: options.stream }),
    ...(options.jetStream === undefined ? {} : { jetStream: options.jetStream }),
  });
  const afterSeq = options.afterSeq ?? 0;
  for await (const record of log.read<T>(sessionKey, { afterSeq }))
    if (inBounds(record.at, options)) yield record;
}

/**
 * Every record of every key in stream order, those with `since <= at < until`: one ordered consumer over
 * the session stream, started at `since` (less the clock slack) rather than at the beginning, ending at
 * the stream head seen when it starts (or, with `maxStoreDelayMs`, at the first message stored that long
 * after `until`).
 * Throws `RangeError` on bad bounds, {@link CorruptRecordError} on a stored message that is not a session
 * record (unless `onUnreadable` takes it), and store errors.
 */
export async function* replayAll<T = unknown>(
  nc: NatsConnection,
  options: ReplayAllOptions = {},
): AsyncIterable<SessionRecord<T>> {
  checkBounds(options);
  const slack = options.clockSlackMs ?? DEFAULT_CLOCK_SLACK_MS;
  if (!(slack >= 0)) throw new RangeError(`clockSlackMs must be a non-negative number, got ${slack}`);
  const delay = options.maxStoreDelayMs;
  if (delay !== undefined && !(delay >= 0))
    throw new RangeError(`maxStoreDelayMs must be a non-negative number, got ${delay}`);
  const { since, until } = options;
  // A cursor (`afterSeq`) comes from an earlier page of the same replay, so it is never before the first
  // record in range: it replaces the start time.
  const afterSeq = options.afterSeq ?? 0;
  const startTime = afterSeq === 0 && since !== undefined && since - slack > 0 ? since - slack : undefined;
  const stopAt = until !== undefined && delay !== undefined ? until + delay : undefined;
  let total = 0;
  let done = 0;
  const messages = scanStream(nc, {
    stream: options.stream ?? StreamNames.sessions,
    ...(options.jetStream === undefined ? {} : { jetStream: options.jetStream }),
    ...(startTime === undefined ? { afterSeq } : { startTime }),
    onStart: (start) => {
      total = start.pending;
      options.onProgress?.(0, total);
    },
  });
  for await (const message of messages) {
    if (stopAt !== undefined && message.storedAt >= stopAt) break;
    done += 1;
    options.onProgress?.(done, Math.max(done, total));
    let record: SessionRecord<T>;
    try {
      record = decodeStoredRecord<T>(message);
    } catch (error) {
      if (error instanceof CorruptRecordError && options.onUnreadable) {
        options.onUnreadable(error);
        continue;
      }
      throw error;
    }
    if (inBounds(record.at, options)) yield record;
  }
}

function checkBounds({ since, until, afterSeq }: ReplayBounds): void {
  if (afterSeq !== undefined && !(Number.isSafeInteger(afterSeq) && afterSeq >= 0))
    throw new RangeError(`afterSeq must be a whole number >= 0, got ${afterSeq}`);
  if (since !== undefined && !Number.isFinite(since))
    throw new RangeError(`since must be a finite time in epoch ms, got ${since}`);
  if (until !== undefined && !Number.isFinite(until))
    throw new RangeError(`until must be a finite time in epoch ms, got ${until}`);
  if (since !== undefined && until !== undefined && since > until)
    throw new RangeError(`since (${showTime(since)}) is after until (${showTime(until)})`);
}

function showTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

function inBounds(at: number, { since, until }: ReplayBounds): boolean {
  return (since === undefined || at >= since) && (until === undefined || at < until);
}
