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
  /** How long rejected input stays in the dead-letter stream. Default 30 days. */
  readonly deadLetterMaxAgeMs?: number;
  /** How long chat events, replies and control events stay in the inbound and keyed streams. Default 7 days. */
  readonly inboundMaxAgeMs?: number;
  /**
   * How many partitions the inbound and keyed streams are stored in (the server computes each message's
   * partition with a subject transform). Part of the streams' configuration, so a worker started with
   * another count is refused by provisioning instead of silently reading the wrong subjects. Default
   * {@link DEFAULT_PARTITIONS}; an integer from 1 to {@link MAX_PARTITIONS}.
   */
  readonly partitions?: number;
}

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
 * The five streams Threadline needs, configured for `replicas` copies:
 * - `THREADLINE_INBOUND`: chat events as adapters publish them, stored by conversation partition;
 * - `THREADLINE_KEYED`: everything addressed to one session key — routed chat events, agent replies,
 *   control events — stored by key partition, so one reader per partition sees a key's inputs in order;
 * - `THREADLINE_SESSIONS`: each key's history;
 * - `THREADLINE_DEAD_LETTERS`: rejected input;
 * - `THREADLINE_DELIVERIES`: replies and command answers for the channel adapters.
 *
 * Throws `RangeError` when `replicas` is not an integer from 1 to 5 (JetStream's limits), `partitions` is
 * out of range, or a max age is not a positive number of milliseconds at least as long as the duplicate
 * window.
 */
export function threadlineStreams(options: ThreadlineStreamsOptions): ThreadlineStreamConfig[] {
  const { replicas } = options;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5)
    throw new RangeError(`replicas must be an integer from 1 to 5, got ${replicas}`);
  const deadLetterMaxAgeMs = maxAge(
    'deadLetterMaxAgeMs',
    options.deadLetterMaxAgeMs,
    DEFAULT_DEAD_LETTER_MAX_AGE_MS,
  );
  const inboundMaxAgeMs = maxAge('inboundMaxAgeMs', options.inboundMaxAgeMs, DEFAULT_INBOUND_MAX_AGE_MS);
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
  // record, so the buffered copy ages out.
  const inputBuffer = {
    retention: 'limits',
    discard: 'old',
    max_age: nanosFromMs(inboundMaxAgeMs),
    max_msgs: -1,
    max_bytes: -1,
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
    max_msg_size: KEYED_MESSAGE_MAX_BYTES,
  };

  const sessions: ThreadlineStreamConfig = {
    ...common,
    name: StreamNames.sessions,
    description: "Threadline: each session key's event log, one subject per key",
    // One token per key (`tl.session.<encodedKey>`): `*`, not `>`, so a key can never span tokens.
    subjects: [Subjects.sessionAll],
    retention: 'limits',
    // No limit ever discards old history. Should an operator add one (max_bytes), `new` refuses new
    // records rather than silently deleting the oldest ones — a session must never lose its past.
    discard: 'new',
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
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
    max_age: nanosFromMs(deadLetterMaxAgeMs),
    max_msgs: -1,
    max_bytes: -1,
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
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
    max_msgs_per_subject: -1,
    max_msg_size: TICK_MAX_BYTES,
    allow_direct: true,
  };

  return [inbound, keyed, sessions, deadLetters, deliveries, ticks];
}

function maxAge(name: string, value: number | undefined, fallback: number): number {
  const ms = value ?? fallback;
  if (!Number.isFinite(ms) || ms < DUPLICATE_WINDOW_MS)
    throw new RangeError(
      `${name} must be at least the duplicate window (${DUPLICATE_WINDOW_MS} ms), got ${ms}`,
    );
  return ms;
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
