/**
 * The projector: reads the whole session stream in order, from its checkpoint, and keeps the session
 * store (one {@link ProjectedKey} per key, bucket `threadline-sessions`) and the transcript views (bucket
 * `threadline-transcripts`) — both named by the SHA-256 of the key — in NATS KV.
 *
 * Records are folded in memory ({@link foldIntoProjection}); the keys they changed are written together
 * before each checkpoint (the reader's `flush`), so a checkpoint never covers an unwritten entry. After a
 * crash the records after the checkpoint are read again and skipped key by key by their sequence: no
 * gaps, no double counts. A bounded cache keeps recently used keys; a key not in it is read from the
 * bucket. The lag is the number of records after the last one handled (`status().pending`).
 */
import { jetstream } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type CheckpointStore,
  CorruptRecordError,
  decodeStoredRecord,
  ensureThreadlineStreams,
  inWindows,
  KvCheckpointStore,
  listenForgotten,
  NatsSessionLog,
  type SessionRecord,
  type StreamRetention,
  startCheckpointedReader,
} from '@threadline/event-log';
import { startLeadership } from '@threadline/partitions';
import { BucketNames, StreamNames } from '@threadline/protocol';
import { SnapshotVersionError } from '@threadline/session-core';
import { snapshotEntryName, type TransitionRecordV1 } from '@threadline/session-worker';
import {
  emptyProjectedKey,
  emptyTranscriptView,
  type FoldProblem,
  foldIntoProjection,
  type ProjectedKey,
  type TranscriptView,
} from './projection.js';

/** Where a projection is kept. The live one uses the defaults; a rebuild uses fresh buckets. */
export interface ProjectionBuckets {
  sessions: string;
  transcripts: string;
}

export const LIVE_PROJECTION: ProjectionBuckets = {
  sessions: BucketNames.sessionStore,
  transcripts: BucketNames.transcripts,
};

/** The checkpoint of the live projector in the checkpoint bucket. */
export const PROJECTOR_CHECKPOINT = 'projector';

export interface ProjectorOptions {
  nc: NatsConnection;
  /** Default {@link LIVE_PROJECTION}. */
  buckets?: ProjectionBuckets;
  /** Default: the checkpoint bucket in KV. */
  checkpoints?: CheckpointStore;
  /** Default {@link PROJECTOR_CHECKPOINT}. */
  checkpointKey?: string;
  /** The keyed stream's partition count, as the workers have it (streams are created or verified). Default 16. */
  partitions?: number;
  /** False: the streams must exist already and are not checked (a rebuild next to a running system). */
  provision?: boolean;
  /**
   * The streams' limits when it provisions them: the config's `retention` section, as every service of
   * the deployment has it (ADR 0023). Default: the streams' defaults.
   */
  retention?: StreamRetention;
  /** Replicas of the buckets when the projector creates them. Default 1. */
  replicas?: number;
  /** Fold records up to this session-stream sequence only; later ones are read and left alone (a rebuild). */
  untilSeq?: number;
  /** Keys kept in memory between records. Default 10 000. */
  cacheSize?: number;
  transcriptBudgetBytes?: number;
  /** Checkpoint after this many records. Default 500. */
  checkpointEvery?: number;
  onProblem?: (problem: FoldProblem) => void;
  onError?: (error: unknown, where: string) => void;
}

export interface ProjectorStatus {
  /** Session-stream sequence of the last record handled, and of the last one checkpointed (written). */
  handled: number;
  checkpointed: number;
  /** Records after the last one handled: the projector's lag. */
  pending: number;
  /** Records folded, and records skipped as already projected. */
  applied: number;
  skipped: number;
  divergences: number;
  chainBreaks: number;
  /** Messages on session subjects that were not foldable records (skipped). */
  unreadable: number;
  cachedKeys: number;
}

export interface Projector {
  status(): ProjectorStatus;
  /** Resolves once every record up to `seq` is written and checkpointed. */
  waitFor(seq: number, options?: { timeoutMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

interface Held {
  key: ProjectedKey;
  transcript: TranscriptView;
}

/** Opens (creating if needed) the two buckets of a projection. */
export async function openProjectionBuckets(
  nc: NatsConnection,
  buckets: ProjectionBuckets,
  replicas = 1,
): Promise<{ sessions: KV; transcripts: KV }> {
  const kvm = new Kvm(nc);
  const options = { history: 1, storage: 'file' as const, replicas };
  return {
    sessions: await kvm.create(buckets.sessions, options),
    transcripts: await kvm.create(buckets.transcripts, options),
  };
}

const WRITE_WINDOW = 64;

export async function startProjector(options: ProjectorOptions): Promise<Projector> {
  const { nc } = options;
  // The streams it reads and writes, created or verified exactly as the worker does.
  if (options.provision !== false)
    await ensureThreadlineStreams(nc, {
      ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
      ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
      ...(options.retention === undefined ? {} : { retention: options.retention }),
    });
  const kv = await openProjectionBuckets(nc, options.buckets ?? LIVE_PROJECTION, options.replicas);
  const checkpoints =
    options.checkpoints ?? (await KvCheckpointStore.open(nc, { replicas: options.replicas }));
  const log = new NatsSessionLog(nc);
  const cacheSize = options.cacheSize ?? 10_000;
  const cache = new Map<string, Held>();
  /** Folds not written yet, by session key. */
  let dirty = new Map<string, { key?: ProjectedKey; transcript?: TranscriptView }>();
  const counts = { applied: 0, skipped: 0, divergences: 0, chainBreaks: 0, unreadable: 0 };
  const budget =
    options.transcriptBudgetBytes === undefined
      ? {}
      : { transcriptBudgetBytes: options.transcriptBudgetBytes };

  const report = (problem: FoldProblem) => {
    if (problem.kind === 'divergence') counts.divergences += 1;
    else if (problem.kind === 'chain-break') counts.chainBreaks += 1;
    else counts.unreadable += 1;
    options.onProblem?.(problem);
  };

  const load = async (sessionKey: string): Promise<Held> => {
    const cached = cache.get(sessionKey);
    if (cached) {
      cache.delete(sessionKey); // re-insert: most recently used last
      cache.set(sessionKey, cached);
      return cached;
    }
    const name = snapshotEntryName(sessionKey);
    const [k, t] = await Promise.all([kv.sessions.get(name), kv.transcripts.get(name)]);
    const held: Held = {
      key: k?.operation === 'PUT' ? k.json<ProjectedKey>() : emptyProjectedKey(sessionKey),
      transcript: t?.operation === 'PUT' ? t.json<TranscriptView>() : emptyTranscriptView(sessionKey),
    };
    remember(sessionKey, held);
    return held;
  };

  const remember = (sessionKey: string, held: Held) => {
    cache.set(sessionKey, held);
    // Evict the least recently used keys that are written; a dirty key stays until its flush (the
    // bucket does not have its latest fold yet, so reloading it from there would lose folds).
    if (cache.size <= cacheSize) return;
    for (const oldest of cache.keys()) {
      if (cache.size <= cacheSize) break;
      if (!dirty.has(oldest)) cache.delete(oldest);
    }
  };

  /** A stored projection made by another machine version: fold the key again from its first record. */
  const refold = async (sessionKey: string, beforeSeq: number): Promise<Held> => {
    let held: Held = { key: emptyProjectedKey(sessionKey), transcript: emptyTranscriptView(sessionKey) };
    for await (const record of log.read<TransitionRecordV1>(sessionKey)) {
      if (record.seq >= beforeSeq) break;
      try {
        const folded = foldIntoProjection(held.key, held.transcript, record, budget);
        held = { key: folded.key, transcript: folded.transcript };
      } catch (error) {
        if (error instanceof SnapshotVersionError) throw error;
        // Unfoldable: reported when it was first read; skipped here as it was then.
      }
    }
    return held;
  };

  const fold = async (record: SessionRecord<TransitionRecordV1>): Promise<void> => {
    if (options.untilSeq !== undefined && record.seq > options.untilSeq) return;
    let held = await load(record.sessionKey);
    // Folding is pure: what it throws is about the record (or the stored fold's machine version), never
    // the connection — the reads around it (load, refold) throw theirs and are retried in place.
    const attempt = (from: Held): ReturnType<typeof foldIntoProjection> | 'other-version' | Error => {
      try {
        return foldIntoProjection(from.key, from.transcript, record, budget);
      } catch (error) {
        if (error instanceof SnapshotVersionError) return 'other-version';
        return error instanceof Error ? error : new Error(String(error));
      }
    };
    let folded = attempt(held);
    if (folded === 'other-version') {
      held = await refold(record.sessionKey, record.seq);
      folded = attempt(held);
    }
    if (folded === 'other-version' || folded instanceof Error) {
      // A body the machine cannot take (not a transition record): the key keeps its projection.
      report({ kind: 'unreadable', sessionKey: record.sessionKey, seq: record.seq, detail: String(folded) });
      return;
    }
    if (!folded.applied) {
      counts.skipped += 1;
      return;
    }
    counts.applied += 1;
    for (const problem of folded.problems) report(problem);
    const pendingWrite = dirty.get(record.sessionKey) ?? {};
    pendingWrite.key = folded.key;
    // The transcript view is written only when its turns changed.
    if (folded.transcript !== held.transcript) pendingWrite.transcript = folded.transcript;
    dirty.set(record.sessionKey, pendingWrite);
    remember(record.sessionKey, { key: folded.key, transcript: folded.transcript });
  };

  const flush = async (): Promise<void> => {
    if (dirty.size === 0) return;
    const writing = dirty;
    dirty = new Map();
    const writes: (() => Promise<unknown>)[] = [];
    for (const [sessionKey, change] of writing) {
      const name = snapshotEntryName(sessionKey);
      if (change.key) writes.push(() => kv.sessions.put(name, JSON.stringify(change.key)));
      if (change.transcript) writes.push(() => kv.transcripts.put(name, JSON.stringify(change.transcript)));
    }
    try {
      await inWindows(writes, WRITE_WINDOW);
    } catch (error) {
      // Not written: keep the changes (newer ones made meanwhile win) so the next flush retries them.
      for (const [sessionKey, change] of writing)
        dirty.set(sessionKey, { ...change, ...dirty.get(sessionKey) });
      throw error;
    }
  };

  // `threadline forget` (ADR 0016): erased keys leave the cache and the pending writes, after a flush in
  // flight has settled (it may hold them), so the erasure that follows the answer is the last word.
  let flushing: Promise<void> = Promise.resolve();
  const forgotten = listenForgotten(nc, 'projector', async (keys) => {
    await flushing.catch(() => {});
    let held = 0;
    for (const key of keys) {
      if (cache.delete(key) || dirty.delete(key)) held += 1;
      dirty.delete(key);
    }
    return held;
  });

  const reader = await startCheckpointedReader({
    js: jetstream(nc),
    stream: StreamNames.sessions,
    checkpoints,
    checkpointKey: options.checkpointKey ?? PROJECTOR_CHECKPOINT,
    checkpointEvery: options.checkpointEvery ?? 500,
    // The session store is what readers wait for: caught up, write it now (docs/performance.md).
    flushWhenCaughtUp: true,
    handle: (message) => {
      let record: SessionRecord<TransitionRecordV1>;
      try {
        record = decodeStoredRecord<TransitionRecordV1>(message);
      } catch (error) {
        // Not a record (tampering, a foreign publish): reported and skipped, so the store keeps up.
        if (!(error instanceof CorruptRecordError)) throw error;
        report({ kind: 'unreadable', sessionKey: error.sessionKey, seq: message.seq, detail: error.message });
        return;
      }
      return fold(record);
    },
    flush: () => {
      flushing = flush();
      return flushing;
    },
    ...(options.onError ? { onError: options.onError } : {}),
  });

  return {
    status: () => ({
      handled: reader.handled,
      checkpointed: reader.checkpointed,
      pending: reader.pending,
      ...counts,
      cachedKeys: cache.size,
    }),
    async waitFor(seq, waitOptions = {}) {
      const deadline = Date.now() + (waitOptions.timeoutMs ?? 30_000);
      while (reader.checkpointed < seq) {
        if (Date.now() > deadline)
          throw new Error(
            `projector did not reach seq ${seq} (handled ${reader.handled}, written ${reader.checkpointed})`,
          );
        if (reader.handled >= seq) await reader.checkpoint();
        else await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop: async () => {
      await reader.stop();
      await forgotten.stop();
    },
  };
}

export interface ProjectorReplicaOptions extends ProjectorOptions {
  /** Unique among running projector replicas (a KV key: letters, digits, `-`, `_`, `=`, inner `.`). */
  replicaId: string;
  /** Lease timing; defaults as partition leases (10 s TTL). */
  leaseTtlMs?: number;
  heartbeatMs?: number;
  onEvent?: (event: { type: 'projecting' } | { type: 'standing-by'; why: string }) => void;
}

export interface ProjectorReplica {
  /** The running projector's status while this replica holds the lease; undefined while it stands by. */
  status(): ProjectorStatus | undefined;
  stop(): Promise<void>;
}

/**
 * One projector replica among several: the one holding the projector lease projects, the others stand
 * by and take over when its lease lapses (the projection is idempotent by sequence, so the overlap of a
 * hand-over is harmless; the lease keeps two projectors from racing each other's writes).
 */
export async function startProjectorReplica(options: ProjectorReplicaOptions): Promise<ProjectorReplica> {
  const leadership = await startLeadership({
    nc: options.nc,
    replicaId: options.replicaId,
    registryBucket: BucketNames.projectors,
    leaseBucket: BucketNames.projectorLease,
    ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
    ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    lead: () => startProjector(options),
    onChange: (change) =>
      options.onEvent?.(change.leading ? { type: 'projecting' } : { type: 'standing-by', why: change.why }),
    onError: (error) => options.onError?.(error, 'projector lease'),
  });
  return { status: () => leadership.current()?.status(), stop: () => leadership.stop() };
}
