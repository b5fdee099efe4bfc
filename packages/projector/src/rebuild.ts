/**
 * Rebuild and compare: fold the whole session stream from zero into fresh buckets, then compare that
 * projection with the live one, key by key. Audits rest on this: the live store is only trustworthy if a
 * projection made from nothing but the log equals it.
 */
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { canonicalJson, MemoryCheckpointStore } from '@threadline/event-log';
import { StreamNames, Subjects } from '@threadline/protocol';
import type { FoldProblem, ProjectedKey, TranscriptView } from './projection.js';
import {
  LIVE_PROJECTION,
  type ProjectionBuckets,
  type ProjectorStatus,
  startProjector,
} from './projector.js';

export class RebuildError extends Error {
  override readonly name = 'RebuildError';
}

export interface RebuildOptions {
  nc: NatsConnection;
  /** Fresh buckets to build into; refused if they are the live ones. */
  into: ProjectionBuckets;
  /** Fold up to this session-stream sequence. Default: the stream's last sequence when the rebuild starts. */
  untilSeq?: number;
  replicas?: number;
  timeoutMs?: number;
  /** Called about every 250 ms with the rebuild's progress. */
  onProgress?: (status: ProjectorStatus & { untilSeq: number }) => void;
}

export interface RebuildReport {
  untilSeq: number;
  applied: number;
  problems: FoldProblem[];
}

/**
 * The sequence of the session stream's last stored record (0 when it is empty). Not the stream's
 * `last_seq`: when the last records were erased (`threadline forget`, ADR 0016) that names a message no
 * reader will ever see, and a rebuild waiting for it would never finish.
 */
export async function sessionStreamHead(nc: NatsConnection): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(StreamNames.sessions);
  if (info.state.messages === 0) return 0;
  const last = await jsm.streams.getMessage(StreamNames.sessions, { last_by_subj: Subjects.sessionAll });
  return last?.seq ?? info.state.last_seq;
}

export async function rebuildProjection(options: RebuildOptions): Promise<RebuildReport> {
  const { into } = options;
  if (into.sessions === LIVE_PROJECTION.sessions || into.transcripts === LIVE_PROJECTION.transcripts)
    throw new RebuildError('a rebuild must go into fresh buckets, not the live projection');
  const jsm = await jetstreamManager(options.nc);
  for (const bucket of [into.sessions, into.transcripts]) {
    const info = await jsm.streams.info(`KV_${bucket}`).catch(() => undefined);
    // A leftover bucket would keep its entries (and skip records by their sequence): only a fresh one proves anything.
    if (info && info.state.messages > 0)
      throw new RebuildError(
        `a rebuild must go into fresh buckets; ${bucket} already holds ${info.state.messages} entries`,
      );
  }
  const untilSeq = options.untilSeq ?? (await sessionStreamHead(options.nc));
  const problems: FoldProblem[] = [];
  const projector = await startProjector({
    nc: options.nc,
    buckets: into,
    checkpoints: new MemoryCheckpointStore(),
    checkpointKey: 'rebuild',
    provision: false,
    untilSeq,
    ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
    onProblem: (problem) => problems.push(problem),
  });
  const progress = options.onProgress
    ? setInterval(() => options.onProgress?.({ ...projector.status(), untilSeq }), 250)
    : undefined;
  try {
    if (untilSeq > 0) await projector.waitFor(untilSeq, { timeoutMs: options.timeoutMs ?? 600_000 });
  } finally {
    if (progress) clearInterval(progress);
    await projector.stop();
  }
  return { untilSeq, applied: projector.status().applied, problems };
}

/** One key whose two projections differ. */
export interface KeyDifference {
  sessionKey: string;
  /** What differs: the session entry (with its fold state) or the transcript view. */
  part: 'entry' | 'transcript';
  /** The record each side reflects; unequal means one side is behind the other, not necessarily wrong. */
  liveSeq: number;
  rebuiltSeq: number;
}

export interface ProjectionComparison {
  equal: boolean;
  /** Keys compared (present on either side). */
  keys: number;
  /** Keys only the live projection has, and keys only the rebuilt one has. */
  onlyLive: string[];
  onlyRebuilt: string[];
  different: KeyDifference[];
}

/** Compares two projections key by key: entries, fold states and transcript views. */
export async function compareProjections(
  nc: NatsConnection,
  live: ProjectionBuckets,
  rebuilt: ProjectionBuckets,
): Promise<ProjectionComparison> {
  const [liveKeys, rebuiltKeys, liveViews, rebuiltViews] = await Promise.all([
    readBucket<ProjectedKey>(nc, live.sessions),
    readBucket<ProjectedKey>(nc, rebuilt.sessions),
    readBucket<TranscriptView>(nc, live.transcripts),
    readBucket<TranscriptView>(nc, rebuilt.transcripts),
  ]);
  const names = new Set([...liveKeys.keys(), ...rebuiltKeys.keys()]);
  const result: ProjectionComparison = {
    equal: true,
    keys: names.size,
    onlyLive: [],
    onlyRebuilt: [],
    different: [],
  };
  for (const name of names) {
    const a = liveKeys.get(name);
    const b = rebuiltKeys.get(name);
    if (!b) {
      result.onlyLive.push((a as ProjectedKey).sessionKey);
      continue;
    }
    if (!a) {
      result.onlyRebuilt.push(b.sessionKey);
      continue;
    }
    if (canonicalJson(a) !== canonicalJson(b))
      result.different.push({ sessionKey: a.sessionKey, part: 'entry', liveSeq: a.seq, rebuiltSeq: b.seq });
    const ta = liveViews.get(name);
    const tb = rebuiltViews.get(name);
    if (canonicalJson(ta ?? null) !== canonicalJson(tb ?? null))
      result.different.push({
        sessionKey: a.sessionKey,
        part: 'transcript',
        liveSeq: ta?.seq ?? 0,
        rebuiltSeq: tb?.seq ?? 0,
      });
  }
  result.equal =
    result.onlyLive.length === 0 && result.onlyRebuilt.length === 0 && result.different.length === 0;
  return result;
}

/**
 * Every current value of a KV bucket, by entry name: one ordered pass over the bucket's stream with
 * last-per-subject delivery (deleted and purged entries left out), instead of a get per key.
 */
export async function readBucket<T>(nc: NatsConnection, bucket: string): Promise<Map<string, T>> {
  const stream = `KV_${bucket}`;
  const prefix = `$KV.${bucket}.`;
  const values = new Map<string, T>();
  const info = await (await jetstreamManager(nc)).streams.info(stream);
  if (info.state.messages === 0) return values;
  const consumer = await jetstream(nc).consumers.get(stream, {
    deliver_policy: DeliverPolicy.LastPerSubject,
  });
  // Pages with a deadline each, never an open-ended wait: entries can expire (TTL buckets) or be purged
  // between the count above and the read, and then no message would ever arrive.
  for (;;) {
    let last = -1;
    for await (const m of await consumer.fetch({ max_messages: 1024, expires: 2_000 })) {
      last = m.info.pending;
      const operation = m.headers?.get('KV-Operation');
      if (operation !== 'DEL' && operation !== 'PURGE' && m.subject.startsWith(prefix))
        values.set(m.subject.slice(prefix.length), m.json<T>());
      if (last === 0) break;
    }
    if (last <= 0) break;
  }
  return values;
}
