/**
 * Threadline's NATS subject namespace, in one place. Every value that becomes a token is encoded with
 * {@link encodeSubjectToken}, so session keys with `.`, `*`, `>` or spaces are safe.
 *
 *   tl.in.v1.<channel>.<peer>     chat events from channel adapters           (stream THREADLINE_INBOUND)
 *   tl.reply.v1.<sessionKey>      agent replies for a session                 (stream THREADLINE_KEYED)
 *   tl.ctl.v1.<sessionKey>        control events: timer, clock tick, reset    (stream THREADLINE_KEYED)
 *   tl.routed.v1.<sessionKey>     internal: a chat event after routing        (stream THREADLINE_KEYED)
 *   tl.session.<sessionKey>       one session key's event log                 (stream THREADLINE_SESSIONS)
 *   tl.dlq.<code>                 rejected input with its reason              (stream THREADLINE_DEAD_LETTERS)
 *   tl.out.v1.<channel>.<peer>    deliveries to channel adapters: replies and
 *                                 command answers the send policy allowed     (stream THREADLINE_DELIVERIES)
 *   tl.tick.v1.<zone>.<hour>      the scheduler's daily-boundary ticks          (stream THREADLINE_TICKS)
 *   tl.ops.v1.*                   the ops service's request/reply endpoints, and the `forgotten`
 *                                 broadcast (core NATS: no stream stores them)
 *
 * Every wildcard is `*`, never `>`: each family has a fixed number of tokens, so a malformed subject
 * (an unencoded `.` in a key, an extra token) matches no stream and is never stored.
 *
 * THREADLINE_INBOUND holds only `tl.in.v1.*.*` and is stored partitioned by conversation: the server
 * rewrites the stored subject to `tl.in.<p>.v1.<channel>.<peer>`, p a hash of channel and peer, so the
 * messages of one conversation stay in one partition, in publish order. THREADLINE_KEYED holds
 * `tl.reply.v1.*`, `tl.ctl.v1.*` and `tl.routed.v1.*` and is stored partitioned by session key: the
 * server rewrites the stored subject to `tl.<family>.<p>.v1.<key>`, p a hash of the key alone, so every
 * message of one session, whichever family, is in one partition, in arrival order. Both rewrites are
 * stream subject transforms; publishers always publish the un-partitioned subjects below and never
 * include p. The subject only partitions; the body is the authority for everything else
 * (docs/protocol.md).
 */
import { encodeSubjectToken } from './subjectToken.js';

export const SUBJECT_ROOT = 'tl';

export const Subjects = {
  /** Where adapters publish chat events: `tl.in.v1.<channel>.<peer>`. */
  inbound: (channel: string, peer: string) =>
    `${SUBJECT_ROOT}.in.v1.${encodeSubjectToken(channel)}.${encodeSubjectToken(peer)}`,
  /** Every v1 chat event: exactly a channel and a peer token after the version. */
  inboundAll: `${SUBJECT_ROOT}.in.v1.*.*`,
  /** Where agents publish replies: `tl.reply.v1.<sessionKey>`. */
  reply: (sessionKey: string) => `${SUBJECT_ROOT}.reply.v1.${encodeSubjectToken(sessionKey)}`,
  /** Every v1 reply: exactly one key token after the version. */
  replyAll: `${SUBJECT_ROOT}.reply.v1.*`,
  /**
   * Where the scheduler and ops tools publish key-addressed control events (timer fired, clock tick,
   * operator reset): `tl.ctl.v1.<sessionKey>`.
   */
  control: (sessionKey: string) => `${SUBJECT_ROOT}.ctl.v1.${encodeSubjectToken(sessionKey)}`,
  /** Every v1 control event: exactly one key token after the version. */
  controlAll: `${SUBJECT_ROOT}.ctl.v1.*`,
  /**
   * Internal, not for publishers: a chat event after the worker's router resolved its session key,
   * `tl.routed.v1.<sessionKey>`. Written by the worker's router only; its body is defined by the worker.
   */
  routed: (sessionKey: string) => `${SUBJECT_ROOT}.routed.v1.${encodeSubjectToken(sessionKey)}`,
  /** Every routed chat event: exactly one key token after the version. */
  routedAll: `${SUBJECT_ROOT}.routed.v1.*`,
  /** One session key's log: `tl.session.<sessionKey>`. */
  session: (sessionKey: string) => `${SUBJECT_ROOT}.session.${encodeSubjectToken(sessionKey)}`,
  sessionAll: `${SUBJECT_ROOT}.session.*`,
  /** Rejected input: `tl.dlq.<code>`. */
  deadLetter: (reason: string) => `${SUBJECT_ROOT}.dlq.${encodeSubjectToken(reason)}`,
  /** Every dead letter: the code is one token. */
  deadLetterAll: `${SUBJECT_ROOT}.dlq.*`,
  /**
   * Where the worker publishes what a conversation may receive — agent replies and command answers the
   * send policy allowed: `tl.out.v1.<channel>.<peer>`, the same two tokens as the conversation's
   * inbound subject, so an adapter subscribes to `tl.out.v1.<its channel>.*`.
   */
  delivery: (channel: string, peer: string) =>
    `${SUBJECT_ROOT}.out.v1.${encodeSubjectToken(channel)}.${encodeSubjectToken(peer)}`,
  /** Every v1 delivery: exactly a channel and a peer token after the version. */
  deliveryAll: `${SUBJECT_ROOT}.out.v1.*.*`,
  /**
   * The scheduler's daily-boundary ticks: `tl.tick.v1.<timeZone>.<atHour>`, one message per boundary
   * passed, for audits and for anyone who acts on day boundaries. Sessions do not need them: each
   * session's expiry timer is due at the very boundary that makes it stale.
   */
  tick: (timeZone: string, atHour: number) =>
    `${SUBJECT_ROOT}.tick.v1.${encodeSubjectToken(timeZone)}.${encodeSubjectToken(String(atHour))}`,
  tickAll: `${SUBJECT_ROOT}.tick.v1.*.*`,
  /**
   * Core NATS only, never stored: `threadline forget` names the session keys it erased, and every running
   * worker, projector and scheduler drops them from memory and answers (ADR 0016).
   */
  forgotten: `${SUBJECT_ROOT}.ops.v1.forgotten`,
} as const;

/**
 * The request/reply endpoints of Threadline's ops service (the NATS services framework,
 * `@nats-io/services`; discoverable with `nats micro ls`). Each takes a JSON request and answers with
 * the same JSON document the matching `threadline … --json` command prints.
 */
export const OpsService = {
  /** The service name `$SRV.PING.<name>` and `nats micro info <name>` find. */
  name: 'threadline',
  /** The whole system: streams, buckets, readers, workers, scheduler, projector, dead letters. */
  status: `${SUBJECT_ROOT}.ops.v1.status`,
  /** The session store's entries, newest first (`{ activeMinutes?, agentId?, limit? }`). */
  sessionsList: `${SUBJECT_ROOT}.ops.v1.sessions.list`,
  /** One key's entry and transcript view (`{ sessionKey }`). */
  sessionsShow: `${SUBJECT_ROOT}.ops.v1.sessions.show`,
  /** One key's records, or all keys' in a time range (`{ sessionKey?, since?, until?, limit? }`). */
  replay: `${SUBJECT_ROOT}.ops.v1.replay`,
} as const;

export const StreamNames = {
  /** Chat events (`tl.in.v1.*.*`), stored partitioned by conversation. */
  inbound: 'THREADLINE_INBOUND',
  /** Replies, control events and routed chat events, stored partitioned by session key. */
  keyed: 'THREADLINE_KEYED',
  /** One subject per session key: the session logs. */
  sessions: 'THREADLINE_SESSIONS',
  /** Rejected input. */
  deadLetters: 'THREADLINE_DEAD_LETTERS',
  /** Replies and command answers on their way to the channel adapters. */
  deliveries: 'THREADLINE_DELIVERIES',
  /** The scheduler's daily-boundary ticks. */
  ticks: 'THREADLINE_TICKS',
} as const;

/**
 * Threadline's KV buckets (each is a JetStream stream `KV_<name>`), in one place beside the streams. Who
 * creates each: the worker (snapshots, checkpoints), partition ownership (leases, workers), the projector
 * (sessionStore, transcripts), the scheduler (timers, schedulers), tests and the local stack in test mode
 * (testClock).
 */
export const BucketNames = {
  /** Passivated session actors, one entry per key (named by the key's SHA-256). */
  snapshots: 'threadline-snapshots',
  /** Each partition reader's last fully processed stream sequence (`route.<p>`, `apply.<p>`). */
  checkpoints: 'threadline-checkpoints',
  /** Partition leases (`p<n>`), with a bucket TTL: an unrenewed lease lapses. */
  leases: 'threadline-leases',
  /** Live workers, with a bucket TTL: a worker that stops heartbeating drops out. */
  workers: 'threadline-workers',
  /** The session store: the projector's entry per session key (named by the key's SHA-256). */
  sessionStore: 'threadline-sessions',
  /** The projector's transcript view per session key (its current session since the last compaction). */
  transcripts: 'threadline-transcripts',
  /** The scheduler's pending timers, indexed by due minute (`d.<minute>.<key hash>.<kind>`). */
  timers: 'threadline-timers',
  /** Live scheduler replicas (registry, bucket TTL), and the one lease the leader holds. */
  schedulers: 'threadline-schedulers',
  schedulerLease: 'threadline-scheduler-lease',
  /** Live projector replicas (registry, bucket TTL), and the one lease the active projector holds. */
  projectors: 'threadline-projectors',
  projectorLease: 'threadline-projector-lease',
  /** The shared simulated clock of test mode. */
  testClock: 'threadline-test-clock',
} as const;
