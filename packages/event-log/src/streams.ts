/**
 * Threadline's JetStream streams as code, in one place. Subjects and names come from
 * `@threadline/protocol`; what is decided here is how each stream keeps its messages. Every field
 * Threadline relies on is set explicitly (never left to a server default), so provisioning can verify
 * an existing stream field by field.
 *
 * Nothing here needs a server newer than 2.10 (ADR 0001): no per-message TTL, no schedules, no
 * `persist_mode`, no atomic batches.
 */
import type { StreamConfig } from '@nats-io/jetstream';
import { StreamNames, Subjects } from '@threadline/protocol';

/** The configuration of one stream, as given to `jsm.streams.add`. */
export type ThreadlineStreamConfig = Partial<StreamConfig> &
  Pick<StreamConfig, 'name' | 'subjects' | 'retention' | 'storage' | 'num_replicas'>;

export interface ThreadlineStreamsOptions {
  /** Copies of every message: 1 on a single server, 3 in a cluster. An integer from 1 to 5. */
  readonly replicas: number;
  /**
   * How long each stream keeps its messages and how large it may grow (the config's `retention` section,
   * ADR 0023). A stream or a limit left out keeps its default ({@link DEFAULT_RETENTION}).
   */
  readonly retention?: StreamRetention;
  /**
   * How many partitions the inbound and keyed streams are stored in (the server computes each message's
   * partition with a subject transform). Part of the streams' configuration, so a worker started with
   * another count is refused by provisioning instead of silently reading the wrong subjects. Default
   * {@link DEFAULT_PARTITIONS}; an integer from 1 to {@link MAX_PARTITIONS}.
   */
  readonly partitions?: number;
}

/** The streams whose limits an operator sets, by their name in the config's `retention` section. */
export const RETENTION_STREAMS = [
  'inbound',
  'keyed',
  'sessions',
  'deadLetters',
  'deliveries',
  'ticks',
] as const;
export type RetentionStream = (typeof RETENTION_STREAMS)[number];

/**
 * One stream's limits. `maxAgeMs`: messages older than this are deleted; `maxBytes`: the most the stream
 * stores (what happens at the limit depends on the stream: the oldest messages are deleted, except in the
 * session stream, which refuses new records instead). Absent: the stream's default; `null`: no limit.
 */
export interface StreamLimits {
  readonly maxAgeMs?: number | null;
  readonly maxBytes?: number | null;
}

/** Limits by stream; a stream left out keeps its defaults. */
export type StreamRetention = Readonly<Partial<Record<RetentionStream, StreamLimits>>>;

export const DEFAULT_PARTITIONS = 16;
export const MAX_PARTITIONS = 1024;

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** JetStream durations are nanoseconds. */
export const nanosFromMs = (ms: number): number => ms * 1_000_000;

/**
 * Duplicate window of the streams that take producer message ids (`Nats-Msg-Id`): JetStream's default,
 * stated explicitly. Retries of an append within it are answered as duplicates; after it the
 * expected-last-subject-sequence fence refuses a stale retry.
 */
export const DUPLICATE_WINDOW_MS = 2 * MINUTE_MS;

/**
 * Largest message the session stream takes (headers included), 1 MiB — the server's default
 * `max_payload`, so a record that fits the stream also fits the connection. A record holds one
 * transition (its input, facts, timers, answers); attachments and large tool output belong in object
 * storage and are referenced, not inlined.
 */
export const SESSION_RECORD_MAX_BYTES = 1024 * 1024;

/** Largest chat event or reply an adapter may publish, 256 KiB (headers included). */
export const INBOUND_MESSAGE_MAX_BYTES = 256 * 1024;

/**
 * Largest message of the keyed stream: a routed chat event is an inbound event (at most
 * {@link INBOUND_MESSAGE_MAX_BYTES}) plus its resolved session key and routing facts.
 */
export const KEYED_MESSAGE_MAX_BYTES = INBOUND_MESSAGE_MAX_BYTES + 16 * 1024;

/**
 * Largest dead letter, 1 MiB: a rejected input (at most {@link INBOUND_MESSAGE_MAX_BYTES}) plus its
 * reason fits with room to spare.
 */
export const DEAD_LETTER_MAX_BYTES = 1024 * 1024;

/**
 * Largest delivery, 256 KiB: a reply (at most {@link INBOUND_MESSAGE_MAX_BYTES}'s text) or a command
 * answer with its route and ids.
 */
export const DELIVERY_MAX_BYTES = 256 * 1024;

/** A tick is a few hundred bytes. */
export const TICK_MAX_BYTES = 4 * 1024;

export const DEFAULT_DEAD_LETTER_MAX_AGE_MS = 30 * DAY_MS;
export const DEFAULT_INBOUND_MAX_AGE_MS = 7 * DAY_MS;

/**
 * Today's limits, kept unless configured otherwise: the input buffers (inbound, keyed) and the deliveries
 * age out after 7 days, dead letters after 30; the session log and the ticks are kept for ever; no stream
 * has a size limit.
 */
export const DEFAULT_RETENTION: Readonly<
  Record<RetentionStream, { readonly maxAgeMs: number | null; readonly maxBytes: number | null }>
> = {
  inbound: { maxAgeMs: DEFAULT_INBOUND_MAX_AGE_MS, maxBytes: null },
  keyed: { maxAgeMs: DEFAULT_INBOUND_MAX_AGE_MS, maxBytes: null },
  sessions: { maxAgeMs: null, maxBytes: null },
  deadLetters: { maxAgeMs: DEFAULT_DEAD_LETTER_MAX_AGE_MS, maxBytes: null },
  deliveries: { maxAgeMs: DEFAULT_INBOUND_MAX_AGE_MS, maxBytes: null },
  ticks: { maxAgeMs: null, maxBytes: null },
};

/**
 * The shortest maximum age of the session stream, one day: a shorter one would cut the records of
 * sessions still running (a daily session lasts up to a day), which a worker rehydrating them needs.
 * Every other stream's shortest is the duplicate window, as JetStream requires.
 */
export const MIN_SESSIONS_MAX_AGE_MS = DAY_MS;

/** The longest maximum age accepted, 100 years (JetStream holds it in int64 nanoseconds). */
export const MAX_MAX_AGE_MS = 36_500 * DAY_MS;

/**
 * The six streams Threadline needs, configured for `replicas` copies:
 * - `THREADLINE_INBOUND`: chat events as adapters publish them, stored by conversation partition;
 * - `THREADLINE_KEYED`: everything addressed to one session key — routed chat events, agent replies,
 *   control events — stored by key partition, so one reader per partition sees a key's inputs in order;
 * - `THREADLINE_SESSIONS`: each key's history;
 * - `THREADLINE_DEAD_LETTERS`: rejected input;
 * - `THREADLINE_DELIVERIES`: replies and command answers for the channel adapters;
 * - `THREADLINE_TICKS`: the scheduler's daily-boundary ticks.
 *
 * Throws `RangeError` when `replicas` is not an integer from 1 to 5 (JetStream's limits), `partitions` is
 * out of range, `retention` names a stream that is not one of {@link RETENTION_STREAMS}, a max age is not
 * a whole number of milliseconds from the duplicate window ({@link MIN_SESSIONS_MAX_AGE_MS} for the
 * session stream) to {@link MAX_MAX_AGE_MS}, or a max size is not a whole number of bytes at least the
 * stream's largest message.
 */
export function threadlineStreams(options: ThreadlineStreamsOptions): ThreadlineStreamConfig[] {
  const { replicas } = options;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)
    throw new RangeError(`replicas must be an integer from 1 to 5, got ${replicas}`);
  const limits = retentionLimits(options.retention ?? {});
  const partitions = checkPartitions(options.partitions ?? DEFAULT_PARTITIONS);

  // Shared by all four. File storage: memory storage loses everything on a restart and, on older
  // servers, scans linearly for per-subject look-ups (platform facts). No rollup headers: a publisher
  // must never be able to replace a subject's history with one message.
  const common = {
    storage: 'file',
    num_replicas: replicas,
    allow_rollup_hdrs: false,
    duplicate_window: nanosFromMs(DUPLICATE_WINDOW_MS),
  } as const;

  // The two input streams (inbound, keyed) are buffers. Limits, not work-queue: the readers and
  // audit/replay tools may each read them. Once an input is applied it lives on inside the session
  // record, so the buffered copy ages out. A size limit deletes the oldest messages too — read or not,
  // so it must leave room for the longest backlog the readers may fall behind by.
  const inputBuffer = {
    retention: 'limits',
    discard: 'old',
    max_msgs: -1,
    max_msgs_per_subject: -1,
    allow_direct: false,
  } as const;

  const inbound: ThreadlineStreamConfig = {
    ...common,
    name: StreamNames.inbound,
    description: 'Threadline: chat events from channel adapters, stored by conversation partition',
    subjects: [Subjects.inboundAll],
    // `tl.in.v1.<channel>.<peer>` is stored as `tl.in.<p>.v1.<channel>.<peer>`, p a hash of channel and
    // peer: one conversation is one partition, in publish order, and a partition's reader filters on it.
    subject_transform: {
      src: Subjects.inboundAll,
      dest: `tl.in.{{partition(${partitions},1,2)}}.v1.{{wildcard(1)}}.{{wildcard(2)}}`,
    },
    ...inputBuffer,
    ...jetStreamLimits(limits.inbound, INBOUND_MESSAGE_MAX_BYTES, 'inbound'),
    // Adapters get a clear publish error for an oversized event instead of clogging the pipeline.
    max_msg_size: INBOUND_MESSAGE_MAX_BYTES,
  };

  const keyed: ThreadlineStreamConfig = {
    ...common,
    name: StreamNames.keyed,
    description:
      'Threadline: routed chat events, agent replies and control events, stored by session-key partition',
    subjects: [Subjects.routedAll, Subjects.replyAll, Subjects.controlAll],
    // `tl.<family>.v1.<key>` is stored as `tl.<family>.<p>.v1.<key>`, p a hash of the key token alone:
    // every input of one session — whichever family — lands in the same partition, in arrival order.
    subject_transform: {
      src: KEYED_TRANSFORM_SOURCE,
      dest: `tl.{{wildcard(1)}}.{{partition(${partitions},2)}}.v1.{{wildcard(2)}}`,
    },
    ...inputBuffer,
    ...jetStreamLimits(limits.keyed, KEYED_MESSAGE_MAX_BYTES, 'keyed'),
    max_msg_size: KEYED_MESSAGE_MAX_BYTES,
  };

  const sessions: ThreadlineStreamConfig = {
    ...common,
    name: StreamNames.sessions,
    description: "Threadline: each session key's event log, one subject per key",
    // One token per key (`tl.session.<encodedKey>`): `*`, not `>`, so a key can never span tokens.
    subjects: [Subjects.sessionAll],
    retention: 'limits',
    // By default no limit discards history. A configured maximum age deletes the oldest records (the
    // audit then starts each key's chain at its first retained record, ADR 0023); a maximum size never
    // does: `new` refuses new records at the limit rather than silently deleting the oldest ones.
    discard: 'new',
    ...jetStreamLimits(limits.sessions, SESSION_RECORD_MAX_BYTES, 'sessions'),
    max_msgs: -1,
    max_msgs_per_subject: -1,
    max_msg_size: SESSION_RECORD_MAX_BYTES,
    // Direct gets let read-only tools (status, audits) look up a key's last record on any replica. The
    // log itself asks the stream leader (STREAM.MSG.GET) for the head it appends on, because a replica
    // may lag and a stale head only buys a concurrency conflict.
    allow_direct: true,
    // Deletion and purge stay possible (a privacy request must be able to erase a key's subject); both
    // are irreversible to deny once set. The hash chain is what proves nothing was removed unnoticed.
    deny_delete: false,
    deny_purge: false,
  };

  const deadLetters: ThreadlineStreamConfig = {
    ...common,
    name: StreamNames.deadLetters,
    description: 'Threadline: rejected input with its reason and the original bytes',
    subjects: [Subjects.deadLetterAll],
    retention: 'limits',
    discard: 'old',
    // Long enough for an operator to notice, inspect and replay; bounded so bad traffic cannot grow it
    // forever.
    ...jetStreamLimits(limits.deadLetters, DEAD_LETTER_MAX_BYTES, 'deadLetters'),
    max_msgs: -1,
    max_msgs_per_subject: -1,
    max_msg_size: DEAD_LETTER_MAX_BYTES,
    allow_direct: false,
  };

  // What adapters send: a buffer they consume with their own durable consumers (or a plain subscription).
  // Deliveries are re-published from the session records, never the source of truth, so they age out
  // like the input buffers.
  const deliveries: ThreadlineStreamConfig = {
    ...common,
    name: StreamNames.deliveries,
    description: 'Threadline: replies and command answers the send policy allowed, for channel adapters',
    subjects: [Subjects.deliveryAll],
    ...inputBuffer,
    ...jetStreamLimits(limits.deliveries, DELIVERY_MAX_BYTES, 'deliveries'),
    max_msg_size: DELIVERY_MAX_BYTES,
  };

  // One small message per daily boundary and configured hour: kept for audits ("when did the day end,
  // and where"), like the session logs.
  const ticks: ThreadlineStreamConfig = {
    ...common,
    name: StreamNames.ticks,
    description: "Threadline: the scheduler's daily-boundary ticks",
    subjects: [Subjects.tickAll],
    retention: 'limits',
    discard: 'old',
    ...jetStreamLimits(limits.ticks, TICK_MAX_BYTES, 'ticks'),
    max_msgs: -1,
    max_msgs_per_subject: -1,
    max_msg_size: TICK_MAX_BYTES,
    allow_direct: true,
  };

  return [inbound, keyed, sessions, deadLetters, deliveries, ticks];
}

type Limits = { readonly maxAgeMs: number | null; readonly maxBytes: number | null };

/** The configured limits over the defaults, each checked; throws `RangeError` naming the stream and limit. */
function retentionLimits(retention: StreamRetention): Record<RetentionStream, Limits> {
  for (const name of Object.keys(retention))
    if (!(RETENTION_STREAMS as readonly string[]).includes(name))
      throw new RangeError(
        `retention: unknown stream ${JSON.stringify(name)} (one of ${RETENTION_STREAMS.join(', ')})`,
      );
  const limits = {} as Record<RetentionStream, Limits>;
  for (const name of RETENTION_STREAMS) {
    const given = retention[name] ?? {};
    const fallback = DEFAULT_RETENTION[name];
    limits[name] = {
      maxAgeMs: given.maxAgeMs === undefined ? fallback.maxAgeMs : given.maxAgeMs,
      maxBytes: given.maxBytes === undefined ? fallback.maxBytes : given.maxBytes,
    };
  }
  return limits;
}

/** One stream's limits as JetStream fields (0 and -1 are JetStream's "no limit"), checked. */
function jetStreamLimits(
  limits: Limits,
  largestMessage: number,
  name: RetentionStream,
): { max_age: number; max_bytes: number } {
  const { maxAgeMs, maxBytes } = limits;
  const shortest = name === 'sessions' ? MIN_SESSIONS_MAX_AGE_MS : DUPLICATE_WINDOW_MS;
  if (maxAgeMs !== null && (!Number.isInteger(maxAgeMs) || maxAgeMs < shortest || maxAgeMs > MAX_MAX_AGE_MS))
    throw new RangeError(
      `retention.${name}.maxAgeMs must be a whole number of milliseconds from ${shortest} to ${MAX_MAX_AGE_MS}, or null for no limit, got ${maxAgeMs}`,
    );
  if (maxBytes !== null && (!Number.isSafeInteger(maxBytes) || maxBytes < largestMessage))
    throw new RangeError(
      `retention.${name}.maxBytes must be a whole number of bytes of at least ${largestMessage} (the stream's largest message), or null for no limit, got ${maxBytes}`,
    );
  return { max_age: maxAgeMs === null ? 0 : nanosFromMs(maxAgeMs), max_bytes: maxBytes ?? -1 };
}

/** Matches every keyed family (`tl.routed.v1.*`, `tl.reply.v1.*`, `tl.ctl.v1.*`) and nothing else they store. */
const KEYED_TRANSFORM_SOURCE = 'tl.*.v1.*';

function checkPartitions(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_PARTITIONS)
    throw new RangeError(`partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${value}`);
  return value;
}

/** The stored subjects of one inbound (conversation) partition, for a consumer's filter. */
export function inboundPartitionFilter(partition: number): string {
  return `tl.in.${partition}.v1.*.*`;
}

/** The stored subjects of one keyed (session-key) partition, for a consumer's filter. */
export function keyedPartitionFilter(partition: number): string {
  return `tl.*.${partition}.v1.*`;
}

/** A stored subject split into the subject it was published on and the partition the server gave it. */
export interface StoredSubject {
  /** The subject as published (the partition token removed). */
  readonly published: string;
  readonly partition: number;
}

/**
 * Undoes the streams' subject transform: `tl.in.3.v1.telegram.42` → `tl.in.v1.telegram.42`, partition 3.
 * Returns undefined for a subject that is not a partitioned Threadline subject.
 */
export function parseStoredSubject(subject: string): StoredSubject | undefined {
  const tokens = subject.split('.');
  if (tokens.length < 5 || tokens[0] !== 'tl' || tokens[3] !== 'v1') return undefined;
  const token = tokens[2] as string;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
  tokens.splice(2, 1);
  return { published: tokens.join('.'), partition: Number(token) };
}
