/**
 * The status of a running system from NATS alone — the server, every stream and bucket, each reader's
 * checkpoint against its stream's head, the workers and the partitions they hold, the scheduler and the
 * projector (replicas, leader, progress), dead letters, privacy warnings and the most recently updated
 * sessions: `threadline status --json` and `tl.ops.v1.status`. Nothing is created: a stream or bucket
 * nobody has made yet is reported as absent.
 */
import type { StreamInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { LeaseRecord, WorkerRecord } from '@threadline/partitions';
import { PROJECTOR_CHECKPOINT, type ProjectedKey } from '@threadline/projector';
import { BucketNames, StreamNames } from '@threadline/protocol';
import { SchedulerCheckpoints } from '@threadline/scheduler';
import { manager, readBucketIfPresent } from './stores.js';

const RECENT_SESSIONS = 5;
/** A minute in ms (the scheduler's fired-through checkpoint counts minutes). */
export const MINUTE_MS = 60_000;

export interface StreamStatus {
  name: string;
  present: boolean;
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
}

export interface BucketStatus {
  bucket: string;
  present: boolean;
  /** Messages in the bucket's stream: one per live entry (and per delete marker, with history 1). */
  entries: number;
  bytes: number;
}

export interface ReaderStatus {
  checkpoint: string;
  /** The checkpoint's value: a stream sequence (or, for time-valued checkpoints, epoch ms / a minute). */
  value: number;
  /** The stream it reads, when it is a sequence. */
  stream: string | null;
  streamLastSeq: number | null;
  /** The stream's head minus the checkpoint; exact for a whole-stream reader, an upper bound for a partition. */
  behind: number | null;
  /** True for a partition's reader: it sees only its share of the stream, so `behind` is "at most". */
  partitioned: boolean;
}

export interface ReplicaStatus {
  id: string;
  host: string;
  pid: number;
  startedAt: number;
}

export interface StatusV1 {
  v: 1;
  at: number;
  server: {
    url: string;
    version: string | null;
    cluster: string | null;
    serverName: string | null;
    jetstream: boolean;
  };
  streams: StreamStatus[];
  buckets: BucketStatus[];
  readers: ReaderStatus[];
  workers: {
    /** The partition count the streams were created with; null when the inbound stream is absent. */
    partitions: number | null;
    live: (ReplicaStatus & { leases: number[] })[];
    /** Partitions no live lease covers (nobody is reading them). */
    unleased: number[];
  };
  scheduler: {
    replicas: ReplicaStatus[];
    leader: string | null;
    /** Every timer due before `firedBefore` has fired (the `scheduler.fired-through` minute, ended). */
    firedThroughMinute: number | null;
    firedBefore: number | null;
    pendingTimers: number | null;
    indexCheckpoint: number | null;
    indexBehind: number | null;
  };
  projector: {
    replicas: ReplicaStatus[];
    leader: string | null;
    checkpoint: number | null;
    sessionsLastSeq: number | null;
    lag: number | null;
  };
  deadLetters: number | null;
  /** Null when the session store does not exist yet. */
  sessions: number | null;
  privacyWarnings: { count: number; keys: string[] };
  recentSessions: {
    key: string;
    agentId: string | null;
    state: string;
    chatType: string;
    updatedAt: number | null;
    messageCount: number;
  }[];
}

/** The Threadline buckets an operator cares about (the test clock only exists in test mode). */
const EXPECTED_BUCKETS = Object.values(BucketNames).filter((b) => b !== BucketNames.testClock);

/** The stream a checkpoint's reader reads, and whether it reads one partition of it. */
function readerOf(name: string): { stream: string; partitioned: boolean } | 'time' | undefined {
  if (/^route\.\d+$/.test(name)) return { stream: StreamNames.inbound, partitioned: true };
  if (/^apply\.\d+$/.test(name)) return { stream: StreamNames.keyed, partitioned: true };
  if (name === PROJECTOR_CHECKPOINT || name === SchedulerCheckpoints.index)
    return { stream: StreamNames.sessions, partitioned: false };
  if (name === SchedulerCheckpoints.firedThrough || name.startsWith('scheduler.tick.')) return 'time';
  return undefined;
}

/** Orders `apply.2` before `apply.10`. */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The partition count of the streams, read off the inbound stream's subject transform. */
function partitionCountOf(inbound: StreamInfo | undefined): number | null {
  const match = /partition\((\d+)/.exec(inbound?.config.subject_transform?.dest ?? '');
  return match ? Number(match[1]) : null;
}

const replicasOf = (registry: Map<string, WorkerRecord> | undefined): ReplicaStatus[] =>
  [...(registry?.values() ?? [])]
    .map((r) => ({ id: r.workerId, host: r.host, pid: r.pid, startedAt: r.startedAt }))
    .sort((a, b) => naturalCompare(a.id, b.id));

export interface StatusOptions {
  /** The server's URL as the caller knows it (the CLI's `--server`); default `nc.getServer()`. */
  server?: string;
  /** The current time in epoch ms (the answer's `at`). */
  now: number;
}

/**
 * The status of the whole system as one document, read from NATS alone; creates nothing. Throws an
 * {@link OpsError} (`FAILED`) when the server has no JetStream, and store errors.
 */
export async function collectStatus(nc: NatsConnection, options: StatusOptions): Promise<StatusV1> {
  const info = nc.info;
  const jsm = await manager(nc);
  const infos = new Map<string, StreamInfo>();
  for await (const stream of jsm.streams.list()) infos.set(stream.config.name, stream);

  const streamStatus = (name: string): StreamStatus => {
    const s = infos.get(name);
    return {
      name,
      present: s !== undefined,
      messages: s?.state.messages ?? 0,
      bytes: s?.state.bytes ?? 0,
      firstSeq: s?.state.first_seq ?? 0,
      lastSeq: s?.state.last_seq ?? 0,
    };
  };
  const threadlineStreams = Object.values(StreamNames) as string[];
  const otherStreams = [...infos.keys()].filter(
    (n) => !n.startsWith('KV_') && !n.startsWith('OBJ_') && !threadlineStreams.includes(n),
  );
  const streams = [...threadlineStreams, ...otherStreams.sort()].map(streamStatus);
  const bucketNames = [
    ...EXPECTED_BUCKETS,
    ...[...infos.keys()]
      .filter((n) => n.startsWith('KV_'))
      .map((n) => n.slice(3))
      .filter((b) => !(EXPECTED_BUCKETS as string[]).includes(b))
      .sort(),
  ];
  const buckets: BucketStatus[] = bucketNames.map((bucket) => {
    const s = infos.get(`KV_${bucket}`);
    return { bucket, present: s !== undefined, entries: s?.state.messages ?? 0, bytes: s?.state.bytes ?? 0 };
  });
  const lastSeqOf = (stream: string) => infos.get(stream)?.state.last_seq ?? null;

  const read = <T>(bucket: string) =>
    infos.has(`KV_${bucket}`) ? readBucketIfPresent<T>(nc, bucket) : Promise.resolve(undefined);
  const [checkpoints, workers, leases, schedulers, schedulerLease, projectors, projectorLease, store] =
    await Promise.all([
      read<number>(BucketNames.checkpoints),
      read<WorkerRecord>(BucketNames.workers),
      read<LeaseRecord>(BucketNames.leases),
      read<WorkerRecord>(BucketNames.schedulers),
      read<LeaseRecord>(BucketNames.schedulerLease),
      read<WorkerRecord>(BucketNames.projectors),
      read<LeaseRecord>(BucketNames.projectorLease),
      read<ProjectedKey>(BucketNames.sessionStore),
    ]);

  const readers: ReaderStatus[] = [...(checkpoints ?? new Map<string, number>())]
    .sort(([a], [b]) => naturalCompare(a, b))
    .map(([checkpoint, raw]) => {
      const value = Number(raw);
      const of = readerOf(checkpoint);
      if (of === undefined || of === 'time')
        return { checkpoint, value, stream: null, streamLastSeq: null, behind: null, partitioned: false };
      const head = lastSeqOf(of.stream);
      return {
        checkpoint,
        value,
        stream: of.stream,
        streamLastSeq: head,
        behind: head === null ? null : Math.max(0, head - value),
        partitioned: of.partitioned,
      };
    });
  const checkpoint = (name: string) => {
    const value = checkpoints?.get(name);
    return value === undefined ? null : Number(value);
  };

  const partitions = partitionCountOf(infos.get(StreamNames.inbound));
  const leasesBy = new Map<string, number[]>();
  for (const lease of leases?.values() ?? []) {
    const held = leasesBy.get(lease.workerId) ?? [];
    held.push(lease.partition);
    leasesBy.set(lease.workerId, held);
  }
  const leased = new Set([...(leases?.values() ?? [])].map((l) => l.partition));
  const live = replicasOf(workers).map((w) => ({
    ...w,
    leases: (leasesBy.get(w.id) ?? []).sort((a, b) => a - b),
  }));
  // A lease held by a worker missing from the registry (its heartbeat lapsed first) still shows.
  for (const [workerId, held] of leasesBy)
    if (!live.some((w) => w.id === workerId))
      live.push({ id: workerId, host: '?', pid: 0, startedAt: 0, leases: held.sort((a, b) => a - b) });
  const unleased =
    partitions === null ? [] : Array.from({ length: partitions }, (_, p) => p).filter((p) => !leased.has(p));

  const sessionsHead = lastSeqOf(StreamNames.sessions);
  const firedThrough = checkpoint(SchedulerCheckpoints.firedThrough);
  const indexCheckpoint = checkpoint(SchedulerCheckpoints.index);
  const projectorCheckpoint = checkpoint(PROJECTOR_CHECKPOINT);
  const behind = (value: number | null) =>
    sessionsHead === null ? null : Math.max(0, sessionsHead - (value ?? 0));

  const entries = [...(store?.values() ?? [])];
  const warned = entries.filter((k) => k.entry.privacyWarning).map((k) => k.sessionKey);
  const recent = entries
    .filter((k) => k.entry.updatedAt !== null)
    .sort((a, b) => (b.entry.updatedAt ?? 0) - (a.entry.updatedAt ?? 0))
    .slice(0, RECENT_SESSIONS)
    .map((k) => ({
      key: k.sessionKey,
      agentId: k.entry.agentId,
      state: k.entry.state,
      chatType: k.entry.chatType,
      updatedAt: k.entry.updatedAt,
      messageCount: k.entry.messageCount,
    }));

  return {
    v: 1,
    at: options.now,
    server: {
      url: options.server ?? nc.getServer(),
      version: info?.version ?? null,
      cluster: info?.cluster ?? null,
      serverName: info?.server_name ?? null,
      jetstream: info?.jetstream === true,
    },
    streams,
    buckets,
    readers,
    workers: { partitions, live, unleased },
    scheduler: {
      replicas: replicasOf(schedulers),
      leader: schedulerLease?.get('p0')?.workerId ?? null,
      firedThroughMinute: firedThrough,
      firedBefore: firedThrough === null ? null : (firedThrough + 1) * MINUTE_MS,
      pendingTimers: infos.get(`KV_${BucketNames.timers}`)?.state.messages ?? null,
      indexCheckpoint,
      indexBehind: indexCheckpoint === null ? null : behind(indexCheckpoint),
    },
    projector: {
      replicas: replicasOf(projectors),
      leader: projectorLease?.get('p0')?.workerId ?? null,
      checkpoint: projectorCheckpoint,
      sessionsLastSeq: sessionsHead,
      lag: behind(projectorCheckpoint),
    },
    deadLetters: infos.get(StreamNames.deadLetters)?.state.messages ?? null,
    sessions: store === undefined ? null : entries.length,
    privacyWarnings: { count: warned.length, keys: warned.sort() },
    recentSessions: recent,
  };
}
