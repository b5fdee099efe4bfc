/**
 * Replays of the session log as operators and other services read them: one key's records (read from
 * its own subject only), or every key's in stream order, bounded by record time — `threadline replay
 * --json` streams them as JSON lines; `tl.ops.v1.replay` answers them a page at a time, because a reply
 * has the server's max payload (1 MiB by default) and a log has no such bound.
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  CorruptRecordError,
  InvalidRecordError,
  NatsSessionLog,
  replayAll,
  replaySession,
  type SessionRecord,
} from '@threadline/event-log';
import { StreamNames } from '@threadline/protocol';
import { BadRequestError, NotFoundError, OpsError, OpsErrorCodes } from './errors.js';
import type { ReplayPageRequest, TimeRange } from './requests.js';

/** One record as `threadline replay --json` prints it (one JSON line) and a replay page carries it. */
export interface ReplayRecordV1 {
  seq: number;
  sessionKey: string;
  at: number;
  id: string;
  hash: string;
  prevHash: string;
  body: unknown;
}

export function replayRecordOf(r: SessionRecord): ReplayRecordV1 {
  const { seq, sessionKey, at, id, hash, prevHash, body } = r;
  return { seq, sessionKey, at, id, hash, prevHash, body };
}

export interface ReplayOptions extends TimeRange {
  /** One key's records; every key's without it. */
  sessionKey?: string;
  /** Only records after this stream sequence (a page's cursor). */
  afterSeq?: number;
  /** Every key's replay: messages read so far of those to read. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Every key's replay: called with each stored message that is not a session record, which is then
   * skipped. Without it, such a message fails the replay (as it always does for one key's replay).
   */
  onUnreadable?: (error: CorruptRecordError) => void;
}

/**
 * The records in range, in stream order, as they are when the replay starts. Throws (from the iteration)
 * {@link NotFoundError} for a key without records and when the session stream does not exist,
 * {@link BadRequestError} for a key that cannot be a session key, and an {@link OpsError} (`FAILED`) for
 * a stored message that is not a record (see `onUnreadable`).
 */
export async function* replayRecords(
  nc: NatsConnection,
  options: ReplayOptions = {},
): AsyncIterable<ReplayRecordV1> {
  const { sessionKey: key, since, until, afterSeq } = options;
  const bounds = {
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(afterSeq === undefined ? {} : { afterSeq }),
  };
  try {
    if (key !== undefined) {
      if (!(await exists(new NatsSessionLog(nc), key)))
        throw new NotFoundError(`no records for session key ${JSON.stringify(key)}`, {
          hint: 'threadline replay without a key lists every session',
        });
      for await (const record of replaySession(nc, key, bounds)) yield replayRecordOf(record);
      return;
    }
    for await (const record of replayAll(nc, {
      ...bounds,
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      ...(options.onUnreadable === undefined ? {} : { onUnreadable: options.onUnreadable }),
    }))
      yield replayRecordOf(record);
  } catch (error) {
    throw storeError(error, key);
  }
}

/** A key with at least one stored message (readable or not). */
async function exists(log: NatsSessionLog, key: string): Promise<boolean> {
  try {
    return (await log.head(key)).seq > 0;
  } catch (error) {
    // The key's last message is there but is not a record: the key exists; the replay reports it.
    if (error instanceof CorruptRecordError) return true;
    throw error;
  }
}

/**
 * The session store's errors as {@link OpsError}s a caller can act on; anything else is returned as it
 * is (a failure nobody planned for).
 */
export function storeError(error: unknown, sessionKey?: string): unknown {
  if (error instanceof OpsError) return error;
  if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)
    return new NotFoundError(`the session stream ${StreamNames.sessions} does not exist`, {
      hint: 'has Threadline run on this server (npm start provisions its streams)? Check --server.',
      cause: error,
    });
  if (error instanceof InvalidRecordError && error.field === 'sessionKey')
    return new BadRequestError(`${JSON.stringify(sessionKey)} cannot be a session key: ${error.message}`, {
      field: 'sessionKey',
      cause: error,
    });
  if (error instanceof CorruptRecordError)
    return new OpsError(OpsErrorCodes.Failed, error.message, {
      hint: `threadline audit verify${sessionKey === undefined ? '' : ` ${JSON.stringify(sessionKey)}`} lists what cannot be read`,
      cause: error,
    });
  return error;
}

export interface ReplayPageV1 {
  /** Records in range after the cursor, in stream order. */
  records: ReplayRecordV1[];
  count: number;
  /** True when records in range follow this page: ask again with `afterSeq: nextSeq`. */
  hasMore: boolean;
  /**
   * The cursor to continue from (`afterSeq` of the next request): the last sequence this page covered,
   * or the request's `afterSeq` when it covered none. Given even without more, to pick up records
   * appended later.
   */
  nextSeq: number;
  /** Every key's replay: stored messages in this page's span that are not records, skipped. */
  unreadable: number;
}

/** The room a page's envelope (`count`, `hasMore`, …) and the reply's headers need beyond its records. */
const ENVELOPE_BYTES = 1024;

/**
 * One page of a replay: at most `limit` records after `afterSeq`, and no more than fit in `maxBytes` of
 * JSON (the server's max payload, less room for headers). Reads one record past the page to say whether
 * there is more. Throws as {@link replayRecords}, and an {@link OpsError} (`TOO_LARGE`) when the first
 * record alone does not fit.
 */
export async function replayPage(
  nc: NatsConnection,
  request: ReplayPageRequest,
  options: { maxBytes: number },
): Promise<ReplayPageV1> {
  const records: ReplayRecordV1[] = [];
  const unreadable: number[] = [];
  const budget = options.maxBytes - ENVELOPE_BYTES;
  let bytes = 0;
  let hasMore = false;
  let lastSeen = request.afterSeq;
  const { limit, afterSeq, ...range } = request;
  for await (const record of replayRecords(nc, {
    ...range,
    afterSeq,
    onUnreadable: (error) => {
      unreadable.push(error.seq);
      lastSeen = Math.max(lastSeen, error.seq);
    },
  })) {
    const size = Buffer.byteLength(JSON.stringify(record)) + 1;
    if (records.length === limit || (records.length > 0 && bytes + size > budget)) {
      hasMore = true;
      break;
    }
    if (size > budget)
      throw new OpsError(
        OpsErrorCodes.TooLarge,
        `the record at sequence ${record.seq} alone is ${size} bytes, more than one reply carries (${budget})`,
        {
          hint: `threadline replay reads it; continue after it with afterSeq ${record.seq}`,
        },
      );
    records.push(record);
    bytes += size;
    lastSeen = Math.max(lastSeen, record.seq);
  }
  const last = records.at(-1)?.seq;
  const nextSeq = hasMore && last !== undefined ? last : lastSeen;
  return {
    records,
    count: records.length,
    hasMore,
    nextSeq,
    unreadable: unreadable.filter((seq) => seq <= nextSeq).length,
  };
}
