/**
 * A session worker: provisions the streams, joins the partition ownership (leases in NATS KV), and
 * serves each partition it holds with a {@link PartitionRunner}. All partitions share one bounded cache of
 * session actors. Losing or handing over a partition stops its readers first and then passivates its
 * keys, so the next owner starts from the log and the snapshots, never from this worker's memory.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Clock } from '@threadline/clock';
import { extractiveSummariser, openAiCompatibleSummariser, type Summariser } from '@threadline/compaction';
import {
  type CheckpointStore,
  ensureThreadlineStreams,
  KvCheckpointStore,
  listenForgotten,
  NatsSessionLog,
  type SessionLog,
} from '@threadline/event-log';
import { leaseTimings, type PartitionOwnership, startPartitionOwnership } from '@threadline/partitions';
import { deliverySubjectFor, type RejectionCode, type TraceContext } from '@threadline/protocol';
import { agentOfKey, renderAnswer, type ThreadlineConfig } from '@threadline/session-core';
import { type TokenizerName, tokenCounter } from '@threadline/tokens';
import { type CompactionRunner, startCompactionRunner } from './compactionRunner.js';
import { deliveriesOf, publishable } from './deliveries.js';
import {
  emptyPartitionMetrics,
  type PartitionLag,
  type PartitionMetrics,
  type PartitionRunner,
  startPartitionRunner,
} from './partitionRunner.js';
import type { RecordSource } from './records.js';
import { type ApplyResult, SessionActors, type SessionActorsMetrics } from './sessionActors.js';
import { KvSnapshotStore, type SnapshotStore } from './snapshotStore.js';
import { nextHop, randomTraceIds, type TraceIds, traceMsgHeaders } from './tracing.js';
import { readWorkspaceReport } from './workspace.js';

export interface SessionWorkerOptions {
  nc: NatsConnection;
  config: ThreadlineConfig;
  clock: Clock;
  workerId: string;
  /** Must equal the streams' partition count (provisioning refuses a mismatch). */
  partitions: number;
  /** Stream and KV replicas: 1 on one server, 3 in a cluster. */
  replicas: number;
  /** The most session actors held in memory. */
  maxResident: number;
  /** Byte cap of one inbound message; larger ones are dead-lettered. */
  maxInboundBytes: number;
  /**
   * The IANA zone daily boundaries use when the config names none. Default: this host's zone, resolved
   * once at start and written into every recorded rule — so a replay on a host in another zone decides
   * the same, and the clock arithmetic never asks the runtime for its zone again.
   */
  hostTimeZone?: string;
  /** Counts the tokens of messages sent without a count. Default `o200k_base`. */
  tokenizer?: TokenizerName;
  leaseTtlMs?: number;
  heartbeatMs?: number;
  /**
   * Serve exactly these partitions, without leases (tests and operations: forcing two workers onto one
   * partition shows the append fence alone keeps a history unforked).
   */
  forcePartitions?: readonly number[];
  /** Injected stores (tests); default: the JetStream session log and KV buckets. */
  log?: SessionLog;
  snapshots?: SnapshotStore;
  checkpoints?: CheckpointStore;
  afterAppend?: (sessionKey: string, seq: number) => void;
  /** Writes compaction summaries. Default: from `config.compaction` (the built-in extractive one). */
  summariser?: Summariser;
  /** The environment the summariser's API key is read from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * New span and trace ids for the W3C trace context the worker carries (tracing.ts). Default: random,
   * from `node:crypto`; tests inject a deterministic source.
   */
  traceIds?: TraceIds;
  onEvent?: (event: WorkerEvent) => void;
}

export type WorkerEvent =
  | { type: 'partition.acquired'; partition: number }
  | { type: 'partition.released'; partition: number; why: string }
  | { type: 'dead-letter'; code: RejectionCode; reason: string; subject: string }
  | { type: 'error'; where: string; message: string };

export interface SessionWorker {
  readonly workerId: string;
  readonly actors: SessionActors;
  owned(): number[];
  metrics(): {
    actors: SessionActorsMetrics;
    resident: number;
    partitions: Record<number, PartitionMetrics>;
    /** The readers' lag of each partition served now. */
    lag: Record<number, PartitionLag>;
  };
  stop(): Promise<void>;
}

export async function startSessionWorker(options: SessionWorkerOptions): Promise<SessionWorker> {
  const { nc, config, clock } = options;
  const hostTimeZone = options.hostTimeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const counter = tokenCounter(options.tokenizer);
  const countTokens = (text: string) => counter.count(text);
  const emit = options.onEvent ?? (() => {});
  const traceIds = options.traceIds ?? randomTraceIds;
  // The streams, created or verified, their limits the config's `retention` (ADR 0023).
  await ensureThreadlineStreams(nc, {
    replicas: options.replicas,
    partitions: options.partitions,
    retention: config.retention,
  });
  const log = options.log ?? new NatsSessionLog(nc);
  const snapshots = options.snapshots ?? (await KvSnapshotStore.open(nc, { replicas: options.replicas }));
  const checkpoints =
    options.checkpoints ?? (await KvCheckpointStore.open(nc, { replicas: options.replicas }));
  const js = jetstream(nc);
  const actors = new SessionActors({
    log,
    snapshots,
    maxResident: options.maxResident,
    deliveries: async (sessionKey, body, after) => {
      const workspace = body.answers.some((a) => a.answer.kind === 'context')
        ? await readWorkspaceReport(agentOfKey(sessionKey, config), countTokens)
        : undefined;
      const now = body.input.at;
      return deliveriesOf(sessionKey, body, after, config, (answer) =>
        renderAnswer(answer, {
          sessionKey,
          snapshot: after,
          now,
          config,
          ...(workspace ? { workspace } : {}),
        }),
      );
    },
    ...(options.afterAppend ? { afterAppend: options.afterAppend } : {}),
    onDivergence: (key, d) =>
      emit({
        type: 'error',
        where: `rehydrate ${key}`,
        message: `record ${d.seq} (${d.inputId}) decides other facts on this build`,
      }),
  });
  // `threadline forget` (ADR 0016): erased keys leave memory without a snapshot write.
  const forgotten = listenForgotten(nc, `worker:${options.workerId}`, (keys) => actors.drop(keys));
  const compactions: CompactionRunner = startCompactionRunner({
    nc,
    log,
    clock,
    summariser: options.summariser ?? summariserFrom(config, options.env ?? process.env),
    keepRecentTurns: config.compaction.keepRecentTurns,
    countTokens,
    traceIds,
    onError: (error, where) =>
      emit({ type: 'error', where, message: error instanceof Error ? error.message : String(error) }),
  });

  /**
   * An applied input's effects, from its record: the allowed deliveries (each under its own message id,
   * so a re-publication after a crash is dropped by the stream within its window; adapters dedupe by the
   * delivery id beyond it), and the compaction it started, if the session is still running it. Each
   * delivery is a hop of its own in the input's trace (`trace`, the applier's span).
   */
  const effects = async (
    sessionKey: string,
    source: RecordSource,
    result: ApplyResult,
    trace: TraceContext,
  ) => {
    let body = result.record?.body;
    if (result.outcome === 'replayed' || result.outcome === 'duplicate')
      body = (await actors.findRecord(sessionKey, source))?.body;
    if (!body) return;
    for (const delivery of publishable(body.deliveries)) {
      await js.publish(deliverySubjectFor(delivery), JSON.stringify(delivery), {
        msgID: `out:${delivery.id}`,
        headers: traceMsgHeaders(nextHop(trace, traceIds)),
      });
    }
    const running = result.state.snapshot.context.compaction?.id;
    for (const request of body.compactions) {
      if (request.compactionId === running) compactions.start(sessionKey, request, trace);
    }
  };

  const runners = new Map<number, PartitionRunner>();
  const finished = new Map<number, PartitionMetrics>();
  /** Which partition each resident key's inputs come from, so a released partition's keys can be passivated. */
  const keyPartition = new Map<string, number>();
  // Partition changes are serialised: a release must finish before a re-acquire of the same partition.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => {});
    return next;
  };

  const acquire = (partition: number) =>
    serial(async () => {
      if (runners.has(partition)) return;
      const runner = await startPartitionRunner({
        nc,
        partition,
        actors,
        checkpoints,
        clock,
        inputs: { config, hostTimeZone, countTokens },
        maxInboundBytes: options.maxInboundBytes,
        traceIds,
        effects,
        onApplied: (key) => {
          keyPartition.set(key, partition);
          if (keyPartition.size > 4 * options.maxResident) {
            for (const k of keyPartition.keys()) if (!actors.isResident(k)) keyPartition.delete(k);
          }
        },
        onDeadLetter: (code, reason, subject) => emit({ type: 'dead-letter', code, reason, subject }),
        onError: (error, where) =>
          emit({ type: 'error', where, message: error instanceof Error ? error.message : String(error) }),
      });
      runners.set(partition, runner);
      emit({ type: 'partition.acquired', partition });
    });

  const release = (partition: number, why: string) =>
    serial(async () => {
      const runner = runners.get(partition);
      if (!runner) return;
      runners.delete(partition);
      await runner.stop();
      finished.set(partition, addMetrics(finished.get(partition), runner.metrics));
      await actors.passivateWhere((key) => keyPartition.get(key) === partition);
      emit({ type: 'partition.released', partition, why });
    });

  let ownership: PartitionOwnership | undefined;
  if (options.forcePartitions) {
    for (const p of options.forcePartitions) await acquire(p);
  } else {
    ownership = await startPartitionOwnership({
      nc,
      workerId: options.workerId,
      partitions: options.partitions,
      replicas: options.replicas,
      // A killed worker's partitions move within the lease time (the registry lives as long as a lease).
      ...leaseTimings(options.leaseTtlMs, options.heartbeatMs),
      onAcquire: (p) => acquire(p),
      onRelease: (p, why) => release(p, why),
      onError: (error) =>
        emit({
          type: 'error',
          where: 'partition ownership',
          message: error instanceof Error ? error.message : String(error),
        }),
    });
  }

  let stopping: Promise<void> | undefined;
  return {
    workerId: options.workerId,
    actors,
    owned: () => [...runners.keys()].sort((a, b) => a - b),
    metrics: () => ({
      actors: { ...actors.metrics },
      resident: actors.residentCount,
      // Each partition's counts over this worker's lifetime: earlier tenures plus the current one.
      partitions: Object.fromEntries(
        [...new Set([...finished.keys(), ...runners.keys()])].map((p) => [
          p,
          addMetrics(finished.get(p), runners.get(p)?.metrics),
        ]),
      ),
      lag: Object.fromEntries([...runners].map(([p, runner]) => [p, runner.lag()])),
    }),
    stop() {
      stopping ??= (async () => {
        if (ownership) await ownership.stop();
        for (const p of [...runners.keys()]) await release(p, 'stopping');
        await compactions.stop();
        await actors.passivateAll();
        await forgotten.stop();
      })();
      return stopping;
    },
  };
}

/** The summariser `config.compaction` names; the API key comes from the environment, never the config file. */
export function summariserFrom(
  config: ThreadlineConfig,
  env: Readonly<Record<string, string | undefined>>,
): Summariser {
  const { summariser, openai } = config.compaction;
  if (summariser === 'openai-compatible' && openai) {
    const apiKey = env[openai.apiKeyEnv];
    return openAiCompatibleSummariser({
      url: openai.url,
      model: openai.model,
      ...(apiKey ? { apiKey } : {}),
    });
  }
  return extractiveSummariser();
}

function addMetrics(a: PartitionMetrics | undefined, b: PartitionMetrics | undefined): PartitionMetrics {
  const sum = emptyPartitionMetrics();
  for (const m of [a, b]) {
    if (!m) continue;
    sum.routed += m.routed;
    sum.applied += m.applied;
    sum.deadLettered += m.deadLettered;
    sum.retries += m.retries;
    sum.subjectMismatches += m.subjectMismatches;
    for (const [code, n] of Object.entries(m.deadLettersByCode) as [RejectionCode, number][])
      sum.deadLettersByCode[code] = (sum.deadLettersByCode[code] ?? 0) + n;
  }
  return sum;
}
