/**
 * Who may do what on NATS: one NATS user per role, each allowed only the subjects its work needs — the
 * single source of truth for the server's `authorization` block (rendered by `renderAuthorization`), for
 * the local stack's users and for the permission tests (test/security). Built from the protocol's own
 * subject, stream and bucket names, so a renamed subject cannot leave a stale grant behind.
 *
 * How the grants are found: each service's code (its `run.ts` and the packages it uses), then
 * every service run with a tracing server (every PUB and SUB each connection sent) and, finally, with
 * these permissions in force and no `Violation` in the server's log (test/security/permissions.test.ts,
 * the e2e and chaos runs). ADR 0022 has the why.
 *
 * Rules of thumb, held everywhere below:
 * - **Writes are narrow**: a role publishes only the subject families it produces, and KV writes only to
 *   its own buckets (a shared bucket, the checkpoints, only to its own keys).
 * - **Reads are per stream**: a role may read only the streams and buckets it needs; the ones holding
 *   conversations (sessions, transcripts, snapshots, inbound, keyed, deliveries, dead letters) only to
 *   roles whose work is about them.
 * - **Private inboxes**: every user's replies come to `_INBOX.<user>.>` (the client's inbox prefix, set
 *   by `connectToNats` from the user name) and it may subscribe to nothing else there. A subscription to
 *   `_INBOX.>` would let any user read every reply in the account: JetStream API answers (records fetched
 *   by sequence), KV values, the ops service's transcripts.
 * - **Responders publish to `_INBOX.>`, never `allow_responses`**: nats-server's `allow_responses` lets a
 *   user publish to any reply subject of any message it received, even a subject its deny list names — so
 *   a requester could make the ops service "answer" onto `$JS.API.STREAM.PURGE.…` or `$KV.…`. A plain
 *   grant on the inbox namespace cannot be steered off it.
 * - **JetStream API per stream** (`$JS.API.STREAM.INFO.<stream>`, `$JS.API.CONSUMER.CREATE.<stream>.>` …),
 *   never `$JS.API.>`, except for admin; stream DELETE and message DELETE for nobody else, PURGE only for
 *   the scheduler's own timer bucket, UPDATE only for provisioning Threadline's six streams.
 */
import { BucketNames, OpsService, StreamNames, Subjects } from '@threadline/protocol';

/**
 * The roles, least powerful first:
 * - `publisher`: channel adapters and agents — publish chat events and replies, read deliveries;
 * - `worker`, `projector`, `scheduler`: the services of those names;
 * - `ops`: the ops service (`threadline-ops`): read-only answers on `tl.ops.v1.*`;
 * - `operator-readonly`: the CLI's reading commands (status, sessions, replay, audit verify, dead-letters
 *   list, export, security audit) and requests to the ops service;
 * - `admin`: everything (provisioning, reset, compact, forget, import, rebuild, dead-letter replays, tests).
 */
export const ROLES = [
  'publisher',
  'worker',
  'projector',
  'scheduler',
  'ops',
  'operator-readonly',
  'admin',
] as const;
export type Role = (typeof ROLES)[number];

/** What each role is for, one line (the rendered config's comments, the local stack's banner). */
export const ROLE_SUMMARIES: Readonly<Record<Role, string>> = {
  publisher: 'channel adapters and agents: publish chat events and replies, read deliveries',
  worker: 'the session worker: route, apply and record; deliveries and dead letters',
  projector: 'the projector: the session store and transcripts, from the session logs',
  scheduler: 'the scheduler: the timer index; fires timers and daily ticks',
  ops: 'the ops service: answers status, sessions and replays on tl.ops.v1.*, read-only',
  'operator-readonly':
    'the CLI read commands (status, sessions, replay, audit verify, dead-letters list, export) and ops requests',
  admin: 'everything: provisioning, reset, compact, forget, import, rebuild, dead-letter replays',
};

export interface SubjectRules {
  readonly allow: readonly string[];
  /** Refused even where an allow matches (nats-server gives deny precedence). */
  readonly deny: readonly string[];
}

export interface RolePermissions {
  readonly publish: SubjectRules;
  readonly subscribe: SubjectRules;
}

/** User names Threadline renders and connects with: one subject token (they name the user's inbox). */
export const USER_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A user's private inbox prefix, `_INBOX.<user>`: where its replies come, the only inboxes it may read. */
export function inboxPrefixOf(user: string): string {
  if (!USER_NAME_PATTERN.test(user))
    throw new RangeError(
      `a NATS user name must be 1-64 letters, digits, '-' or '_', got ${JSON.stringify(user)}`,
    );
  return `_INBOX.${user}`;
}

const JS = '$JS.API';
const kvStream = (bucket: string) => `KV_${bucket}`;

/** `jetstreamManager()` asks for the account's JetStream info first: limits and counts, no data. */
const accountInfo = [`${JS}.INFO`];

/** A stream's configuration and state (counts, sequences), no message. */
const streamInfo = (stream: string) => [`${JS}.STREAM.INFO.${stream}`];

/**
 * Creating a stream that does not exist yet (every service provisions what is missing at start). A create
 * for an existing stream with another configuration is refused by the server ("stream name already in
 * use"), so this cannot change a stream (changing one is an UPDATE, {@link streamUpdate}).
 */
const streamCreate = (stream: string) => [`${JS}.STREAM.CREATE.${stream}`];

/**
 * Reading a stream through consumers of one's own: ordered consumers (replays, the services' readers, KV
 * watches and scans), created with their name (and a single filter) in the subject or, with several
 * filters, in the body only. Consumer names are random, so creating, pulling from, asking about and
 * deleting consumers is granted for the whole stream (`.>`, `.*`): a reader of a stream can also delete
 * another reader's consumer of it — that reader recreates it (every reader in Threadline does).
 */
const consumeStream = (stream: string) => [
  `${JS}.CONSUMER.CREATE.${stream}`,
  `${JS}.CONSUMER.CREATE.${stream}.>`,
  `${JS}.CONSUMER.MSG.NEXT.${stream}.*`,
  `${JS}.CONSUMER.INFO.${stream}.*`,
  `${JS}.CONSUMER.DELETE.${stream}.*`,
];

/** Single messages by sequence or last-by-subject: from the leader (MSG.GET) or any replica (DIRECT.GET). */
const getMessages = (stream: string) => [
  `${JS}.STREAM.MSG.GET.${stream}`,
  `${JS}.DIRECT.GET.${stream}`,
  `${JS}.DIRECT.GET.${stream}.>`,
];

const readStream = (stream: string) => [
  ...streamInfo(stream),
  ...consumeStream(stream),
  ...getMessages(stream),
];

/** Opening a KV bucket (`Kvm.create`): its stream's info, and creating it when it is missing. */
const kvOpen = (bucket: string) => [...streamInfo(kvStream(bucket)), ...streamCreate(kvStream(bucket))];

/**
 * Reading a KV bucket: `get` (direct or from the leader), and keys, watches and scans — ordered consumers;
 * watches are push consumers with flow control, whose replies go to `$JS.FC.<stream>.>`.
 */
const kvRead = (bucket: string) => [...readStream(kvStream(bucket)), `$JS.FC.${kvStream(bucket)}.>`];

/**
 * Writing KV entries (put, create, update, delete and purge of a key are all publishes to the key's
 * subject): every key of the bucket, or only the keys `keys` matches.
 */
const kvWrite = (bucket: string, keys = '>') => [`$KV.${bucket}.${keys}`];

/** A bucket a role owns: open (create), read, write. */
const kvOwn = (bucket: string, keys = '>') => [
  ...kvOpen(bucket),
  ...kvRead(bucket),
  ...kvWrite(bucket, keys),
];

/** Every Threadline stream, in provisioning order. */
const STREAMS = [
  StreamNames.inbound,
  StreamNames.keyed,
  StreamNames.sessions,
  StreamNames.deadLetters,
  StreamNames.deliveries,
  StreamNames.ticks,
];

/**
 * Updating a Threadline stream's configuration. Provisioning brings an existing stream's retention limits
 * (`max_age`, `max_bytes`) to the configured ones in place (ADR 0023), with a stream UPDATE — which
 * JetStream cannot narrow to those fields: the grant is the whole update of these six streams (never a KV
 * bucket's, never another stream's). The widest grant the services hold; running provisioning as admin
 * instead would remove it (ADR 0022).
 */
const streamUpdate = (stream: string) => [`${JS}.STREAM.UPDATE.${stream}`];

/**
 * What worker, projector and scheduler each run at start (`ensureThreadlineStreams`): every stream's info,
 * a create of the missing ones, and an update of the limits that differ from the configured ones.
 */
const provisionStreams = [
  ...accountInfo,
  ...STREAMS.flatMap((s) => [...streamInfo(s), ...streamCreate(s), ...streamUpdate(s)]),
];

/** Answering core NATS requests (the forgotten broadcast, ops requests): replies go to the asker's inbox. */
const answerRequests = ['_INBOX.>'];

/** The buckets `threadline status` (CLI and ops service) reads: registries, leases, checkpoints, the store. */
const STATUS_BUCKETS = [
  BucketNames.checkpoints,
  BucketNames.leases,
  BucketNames.workers,
  BucketNames.projectors,
  BucketNames.projectorLease,
  BucketNames.schedulers,
  BucketNames.schedulerLease,
  BucketNames.sessionStore,
  BucketNames.transcripts,
];

/** The NATS services protocol's discovery subjects of the `threadline` service (`nats micro ls`). */
const serviceDiscovery = ['$SRV.*', `$SRV.*.${OpsService.name}`, `$SRV.*.${OpsService.name}.*`];

/** The ops service's request subjects (`tl.ops.v1.*`), without the forgotten broadcast beside them. */
const OPS_REQUESTS = [OpsService.status, OpsService.sessionsList, OpsService.sessionsShow, OpsService.replay];

/** What no role but admin ever does: remove streams or messages, the server's own API. */
const NEVER = [
  `${JS}.STREAM.DELETE.>`,
  `${JS}.STREAM.MSG.DELETE.>`,
  `${JS}.ACCOUNT.>`,
  `${JS}.META.>`,
  `${JS}.SERVER.>`,
  '$SYS.>',
];
const PURGE = `${JS}.STREAM.PURGE.>`;
/** Changing any stream's configuration: only provisioning (the services, the limits of their streams). */
const UPDATE = `${JS}.STREAM.UPDATE.>`;

/** Subject families (publish side) by their root, for deny lists. */
const family = {
  inbound: 'tl.in.>',
  reply: 'tl.reply.>',
  control: 'tl.ctl.>',
  routed: 'tl.routed.>',
  session: 'tl.session.>',
  deadLetter: 'tl.dlq.>',
  delivery: 'tl.out.>',
  tick: 'tl.tick.>',
  ops: 'tl.ops.>',
};

function rules(allow: readonly string[], deny: readonly string[] = []): SubjectRules {
  return { allow: [...new Set(allow)], deny: [...new Set(deny)] };
}

/**
 * The permissions of `role` for the user named `user` (its private inbox is `_INBOX.<user>`). Throws
 * `RangeError` for a user name that is not one subject token of letters, digits, `-` and `_`.
 */
export function rolePermissions(role: Role, user: string): RolePermissions {
  const inbox = `${inboxPrefixOf(user)}.>`;
  switch (role) {
    case 'publisher':
      return {
        publish: rules(
          [
            ...accountInfo,
            Subjects.inboundAll,
            Subjects.replyAll,
            // Deliveries, for adapters: ordered readers, durable consumers (created by name; older clients
            // of other languages use DURABLE.CREATE), acknowledgements, push consumers' flow control.
            ...readStream(StreamNames.deliveries),
            `${JS}.CONSUMER.DURABLE.CREATE.${StreamNames.deliveries}.*`,
            `$JS.ACK.${StreamNames.deliveries}.>`,
            `$JS.FC.${StreamNames.deliveries}.>`,
          ],
          [
            family.session,
            family.control,
            family.routed,
            family.delivery,
            family.deadLetter,
            family.tick,
            family.ops,
            '$KV.>',
            PURGE,
            UPDATE,
            ...NEVER,
          ],
        ),
        // Live deliveries also as a plain subscription (docs/protocol.md); nothing else of Threadline's.
        subscribe: rules([inbox, Subjects.deliveryAll], [family.session, '$KV.>']),
      };
    case 'worker':
      return {
        publish: rules(
          [
            ...provisionStreams,
            // The router reads the inbound stream, the applier the keyed one; rehydration replays a key's
            // log and appends on the head it reads from the leader.
            ...readStream(StreamNames.inbound),
            ...readStream(StreamNames.keyed),
            ...readStream(StreamNames.sessions),
            Subjects.sessionAll,
            Subjects.routedAll,
            Subjects.deadLetterAll,
            Subjects.deliveryAll,
            // A compaction's result comes back to its session as a control event.
            Subjects.controlAll,
            ...kvOwn(BucketNames.snapshots),
            ...kvOwn(BucketNames.checkpoints, 'route.*'),
            ...kvWrite(BucketNames.checkpoints, 'apply.*'),
            ...kvOwn(BucketNames.leases),
            ...kvOwn(BucketNames.workers),
            // Test mode only (`clock.mode: 'test'`): follows the shared clock; never moves it.
            ...kvOpen(BucketNames.testClock),
            ...kvRead(BucketNames.testClock),
            ...answerRequests,
          ],
          [family.inbound, family.reply, family.tick, family.ops, PURGE, ...NEVER],
        ),
        subscribe: rules([inbox, Subjects.forgotten]),
      };
    case 'projector':
      return {
        publish: rules(
          [
            ...provisionStreams,
            ...readStream(StreamNames.sessions),
            ...kvOwn(BucketNames.sessionStore),
            ...kvOwn(BucketNames.transcripts),
            ...kvOwn(BucketNames.projectors),
            ...kvOwn(BucketNames.projectorLease),
            ...kvOwn(BucketNames.checkpoints, 'projector'),
            ...answerRequests,
          ],
          // It publishes no Threadline subject at all: its output is the KV store.
          ['tl.>', PURGE, ...NEVER],
        ),
        subscribe: rules([inbox, Subjects.forgotten]),
      };
    case 'scheduler':
      return {
        publish: rules(
          [
            ...provisionStreams,
            // The timer index is folded from the session records' timer changes.
            ...readStream(StreamNames.sessions),
            // Timer firings, and the daily-boundary ticks.
            Subjects.controlAll,
            Subjects.tickAll,
            // A fired minute of the index is purged (a purge of one subject leaves no delete marker).
            ...kvOwn(BucketNames.timers),
            `${JS}.STREAM.PURGE.${kvStream(BucketNames.timers)}`,
            ...kvOwn(BucketNames.schedulers),
            ...kvOwn(BucketNames.schedulerLease),
            ...kvOwn(BucketNames.checkpoints, 'scheduler.>'),
            ...kvOpen(BucketNames.testClock),
            ...kvRead(BucketNames.testClock),
            ...answerRequests,
          ],
          [
            family.inbound,
            family.reply,
            family.routed,
            family.session,
            family.deadLetter,
            family.delivery,
            family.ops,
            ...NEVER,
          ],
        ),
        subscribe: rules([inbox, Subjects.forgotten]),
      };
    case 'ops':
      return {
        publish: rules(
          [
            ...accountInfo,
            // `status` lists every stream (configs and counts, no messages).
            `${JS}.STREAM.LIST`,
            ...STREAMS.flatMap(streamInfo),
            ...readStream(StreamNames.sessions),
            ...STATUS_BUCKETS.flatMap(kvRead),
            // Test mode only: ages on the shared clock (the bucket is created empty if it is missing).
            ...kvOpen(BucketNames.testClock),
            ...kvRead(BucketNames.testClock),
            ...answerRequests,
          ],
          // Read-only: no Threadline subject (no control events, no forgotten broadcast), no KV write, no
          // purge or delete — even if an asker names such a subject as its reply-to.
          ['tl.>', '$KV.>', PURGE, UPDATE, ...NEVER],
        ),
        subscribe: rules([inbox, ...serviceDiscovery, ...OPS_REQUESTS]),
      };
    case 'operator-readonly':
      return {
        publish: rules(
          [
            ...accountInfo,
            `${JS}.STREAM.LIST`,
            ...STREAMS.flatMap(streamInfo),
            ...readStream(StreamNames.sessions),
            ...readStream(StreamNames.deadLetters),
            ...STATUS_BUCKETS.flatMap(kvRead),
            ...OPS_REQUESTS,
            ...serviceDiscovery,
          ],
          [
            family.inbound,
            family.reply,
            family.control,
            family.routed,
            family.session,
            family.deadLetter,
            family.delivery,
            family.tick,
            Subjects.forgotten,
            '$KV.>',
            PURGE,
            UPDATE,
            ...NEVER,
          ],
        ),
        subscribe: rules([inbox]),
      };
    case 'admin':
      return { publish: rules(['>']), subscribe: rules(['>']) };
  }
}
