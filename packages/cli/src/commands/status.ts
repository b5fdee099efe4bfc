/**
 * `threadline status`: one look at a running system from NATS alone — the server, every stream and
 * bucket, each reader's checkpoint against its stream's head, the workers and the partitions they hold,
 * the scheduler and the projector (replicas, leader, progress), dead letters, privacy warnings and the
 * most recently updated sessions. Nothing is created: a stream or bucket nobody has made yet is reported
 * as absent.
 */
import type { StreamInfo } from '@nats-io/jetstream';
import type { LeaseRecord, WorkerRecord } from '@threadline/partitions';
import { PROJECTOR_CHECKPOINT, type ProjectedKey } from '@threadline/projector';
import { BucketNames, StreamNames } from '@threadline/protocol';
import { SchedulerCheckpoints } from '@threadline/scheduler';
import type { CliContext } from '../context.js';
import { ExitCodes } from '../errors.js';
import type { Command } from './command.js';
import { formatAge, formatBytes, formatTime, manager, readBucketIfPresent, table } from './shared.js';

const RECENT_SESSIONS = 5;
const MINUTE_MS = 60_000;

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

export async function collectStatus(ctx: CliContext): Promise<StatusV1> {
  const nc = await ctx.connect();
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
    at: ctx.now(),
    server: {
      url: ctx.server,
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

function statusLines(s: StatusV1): string[] {
  const absent = 'absent';
  const lines: string[] = [];
  const server = s.server;
  lines.push(
    `server      ${server.url}  nats-server ${server.version ?? '?'}${server.serverName ? ` (${server.serverName})` : ''}, cluster ${server.cluster ?? '-'}${server.jetstream ? '' : ', JetStream OFF'}`,
  );
  lines.push('', 'streams');
  lines.push(
    ...indent(
      table(
        ['NAME', 'MESSAGES', 'BYTES', 'LAST SEQ'],
        s.streams.map((st) =>
          st.present
            ? [st.name, String(st.messages), formatBytes(st.bytes), String(st.lastSeq)]
            : [st.name, absent, '', ''],
        ),
      ),
    ),
  );
  lines.push('', 'buckets');
  lines.push(
    ...indent(
      table(
        ['BUCKET', 'ENTRIES', 'BYTES'],
        s.buckets.map((b) =>
          b.present ? [b.bucket, String(b.entries), formatBytes(b.bytes)] : [b.bucket, absent, ''],
        ),
      ),
    ),
  );
  lines.push('', 'readers (checkpoint vs stream head; a partition reader sees only its share of the stream)');
  if (s.readers.length === 0) lines.push('  no checkpoints yet');
  else
    lines.push(
      ...indent(
        table(
          ['CHECKPOINT', 'VALUE', 'STREAM', 'HEAD', 'LAG'],
          s.readers.map((r) => {
            if (r.stream === null) {
              const time =
                r.checkpoint === SchedulerCheckpoints.firedThrough
                  ? `fired before ${formatTime((r.value + 1) * MINUTE_MS)}`
                  : r.checkpoint.startsWith('scheduler.tick.')
                    ? `last tick ${formatTime(r.value)}`
                    : '';
              return [r.checkpoint, String(r.value), '-', '-', time];
            }
            const lag =
              r.behind === null
                ? 'stream absent'
                : r.partitioned
                  ? `behind head by at most ${r.behind}`
                  : `behind head by ${r.behind}`;
            return [r.checkpoint, String(r.value), r.stream, String(r.streamLastSeq ?? '-'), lag];
          }),
        ),
      ),
    );
  const w = s.workers;
  lines.push(
    '',
    `workers     ${w.live.length} live${w.partitions === null ? '' : `, ${w.partitions} partitions`}`,
  );
  for (const worker of w.live)
    lines.push(
      `  ${worker.id}  ${worker.host}:${worker.pid}  up ${formatAge(worker.startedAt || null, s.at)}  partitions ${worker.leases.length > 0 ? worker.leases.join(',') : 'none'}`,
    );
  if (w.partitions !== null)
    lines.push(`  unleased partitions: ${w.unleased.length > 0 ? w.unleased.join(',') : 'none'}`);
  const sc = s.scheduler;
  lines.push(
    '',
    `scheduler   ${sc.replicas.length} replica(s), leader ${sc.leader ?? 'none'}`,
    `  timers due before ${formatTime(sc.firedBefore)} have fired; pending timers ${sc.pendingTimers ?? absent}; index ${sc.indexCheckpoint === null ? 'not started' : `at ${sc.indexCheckpoint}, behind head by ${sc.indexBehind ?? '-'}`}`,
  );
  const p = s.projector;
  lines.push(
    `projector   ${p.replicas.length} replica(s), leader ${p.leader ?? 'none'}; checkpoint ${p.checkpoint ?? 'none'} of ${p.sessionsLastSeq ?? absent} (lag ${p.lag ?? '-'})`,
  );
  lines.push(
    `dead letters ${s.deadLetters ?? absent}${s.deadLetters ? ' (threadline dead-letters list)' : ''}`,
  );
  lines.push(
    `sessions    ${s.sessions ?? 'store absent'}; privacy warnings ${s.privacyWarnings.count}${s.privacyWarnings.count > 0 ? `: ${s.privacyWarnings.keys.join(', ')}` : ''}`,
  );
  if (s.recentSessions.length > 0) {
    lines.push('', 'recently updated sessions');
    lines.push(
      ...indent(
        table(
          ['KEY', 'STATE', 'KIND', 'MESSAGES', 'AGE'],
          s.recentSessions.map((r) => [
            r.key,
            r.state,
            r.chatType,
            String(r.messageCount),
            formatAge(r.updatedAt, s.at),
          ]),
        ),
      ),
    );
  }
  return lines;
}

const indent = (lines: string[]) => lines.map((l) => `  ${l}`);

export const statusCommand: Command = {
  path: ['status'],
  summary: 'the server, streams, buckets, reader lag, workers, scheduler, projector and recent sessions',
  usage: '',
  async run(ctx) {
    const status = await collectStatus(ctx);
    ctx.result(status, () => statusLines(status));
    return ExitCodes.Ok;
  },
};
