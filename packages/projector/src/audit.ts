/**
 * The projection audit behind `threadline rebuild` and `threadline-projector rebuild`: rebuild the session
 * store from the log into fresh buckets, wait until the live projection has passed the same point, and
 * compare them key by key — one function, so both commands give the same verdict and the same report.
 *
 * The rebuild goes up to the session stream's head when it starts. A key the live projection has moved
 * past that head since (newer records, or a first record after it) is reported as moved on, not as a
 * difference. The audit writes nothing but its own buckets (deleted afterwards unless kept); it reads the
 * live checkpoint without creating the checkpoint bucket.
 */
import { randomBytes } from 'node:crypto';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { CHECKPOINT_BUCKET, parseCheckpoint, readKvEntry } from '@threadline/event-log';
import type { FoldProblem, ProjectedKey } from './projection.js';
import {
  LIVE_PROJECTION,
  PROJECTOR_CHECKPOINT,
  type ProjectionBuckets,
  type ProjectorStatus,
} from './projector.js';
import {
  compareProjections,
  type KeyDifference,
  readBucket,
  rebuildProjection,
  sessionStreamHead,
} from './rebuild.js';

export interface ProjectionAuditReportV1 {
  v: 1;
  equal: boolean;
  /** The session-stream sequence both projections were compared at. */
  untilSeq: number;
  keys: number;
  recordsFolded: number;
  onlyLive: string[];
  onlyRebuilt: string[];
  different: KeyDifference[];
  /** Keys whose live entry reflects records after `untilSeq` (not comparable, not a difference). */
  movedOn: string[];
  /** Records the rebuild found divergent, unchained or unreadable. */
  problems: FoldProblem[];
  /** The rebuilt buckets, when kept for inspection. */
  rebuiltInto: ProjectionBuckets | null;
}

export type ProjectionAuditResult =
  | { outcome: 'compared'; report: ProjectionAuditReportV1 }
  /** The live projection did not reach `untilSeq` in time: nothing was compared. */
  | { outcome: 'live-behind'; liveSeq: number; untilSeq: number };

export interface ProjectionAuditOptions {
  /** Keep the rebuilt buckets (default: deleted once compared). */
  keep?: boolean;
  /** How long to wait for the live projection to reach the rebuilt head. Default 30 s. */
  waitMs?: number;
  /** Called once the head is known, before folding starts. */
  onStart?: (info: { untilSeq: number; into: ProjectionBuckets }) => void;
  onProgress?: (status: ProjectorStatus & { untilSeq: number }) => void;
}

export async function auditProjection(
  nc: NatsConnection,
  options: ProjectionAuditOptions = {},
): Promise<ProjectionAuditResult> {
  const jsm = await jetstreamManager(nc);
  const untilSeq = await sessionStreamHead(nc);
  // Random, so two audits started at once never share (and spoil) each other's buckets.
  const suffix = `rebuild-${Date.now()}-${randomBytes(4).toString('hex')}`;
  const into: ProjectionBuckets = {
    sessions: `${LIVE_PROJECTION.sessions}-${suffix}`,
    transcripts: `${LIVE_PROJECTION.transcripts}-${suffix}`,
  };
  options.onStart?.({ untilSeq, into });
  try {
    const rebuilt = await rebuildProjection({
      nc,
      into,
      untilSeq,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const deadline = Date.now() + (options.waitMs ?? 30_000);
    for (;;) {
      const liveSeq = await liveCheckpoint(jsm);
      if (liveSeq >= untilSeq) break;
      if (Date.now() >= deadline) return { outcome: 'live-behind', liveSeq, untilSeq };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const liveExists = await jsm.streams.info(`KV_${LIVE_PROJECTION.sessions}`).then(
      () => true,
      () => false,
    );
    // An empty log has no live projection yet (nobody had anything to project): that is equal.
    const comparison = liveExists
      ? await compareProjections(nc, LIVE_PROJECTION, into)
      : { equal: true, keys: 0, onlyLive: [], onlyRebuilt: [], different: [] };
    const movedOn = new Set<string>();
    for (const d of comparison.different) if (d.liveSeq > untilSeq) movedOn.add(d.sessionKey);
    const different = comparison.different.filter((d) => !movedOn.has(d.sessionKey));
    const onlyLive: string[] = [];
    if (comparison.onlyLive.length > 0) {
      const entries = await readBucket<ProjectedKey>(nc, LIVE_PROJECTION.sessions);
      const seqOf = new Map([...entries.values()].map((e) => [e.sessionKey, e.seq]));
      // A key whose first record came after the rebuilt head exists only live, legitimately.
      for (const key of comparison.onlyLive) {
        if ((seqOf.get(key) ?? 0) > untilSeq) movedOn.add(key);
        else onlyLive.push(key);
      }
    }
    return {
      outcome: 'compared',
      report: {
        v: 1,
        equal: onlyLive.length === 0 && comparison.onlyRebuilt.length === 0 && different.length === 0,
        untilSeq,
        keys: comparison.keys,
        recordsFolded: rebuilt.applied,
        onlyLive,
        onlyRebuilt: comparison.onlyRebuilt,
        different,
        movedOn: [...movedOn],
        problems: rebuilt.problems,
        rebuiltInto: options.keep ? into : null,
      },
    };
  } finally {
    if (!options.keep)
      for (const bucket of [into.sessions, into.transcripts])
        await jsm.streams.delete(`KV_${bucket}`).catch(() => {});
  }
}

/** The live projector's checkpoint, read without creating the checkpoint bucket (0 when absent). */
async function liveCheckpoint(jsm: JetStreamManager): Promise<number> {
  const entry = await readKvEntry(jsm, CHECKPOINT_BUCKET, PROJECTOR_CHECKPOINT);
  return entry ? parseCheckpoint(entry.text) : 0;
}

/** The report as lines for a terminal. */
export function projectionAuditLines(report: ProjectionAuditReportV1): string[] {
  const lines = [
    report.equal
      ? `equal: ${report.keys} keys, ${report.recordsFolded} records folded; the live projection is what the log says`
      : `DIFFERENT: ${report.onlyLive.length} only live, ${report.onlyRebuilt.length} only rebuilt, ${report.different.length} differing`,
  ];
  for (const key of report.onlyLive) lines.push(`  only in the live projection: ${key}`);
  for (const key of report.onlyRebuilt) lines.push(`  missing from the live projection: ${key}`);
  for (const d of report.different)
    lines.push(`  ${d.sessionKey}: ${d.part} differs (live at ${d.liveSeq}, rebuilt at ${d.rebuiltSeq})`);
  if (report.movedOn.length > 0)
    lines.push(
      `  ${report.movedOn.length} keys moved on past ${report.untilSeq} while comparing (not compared)`,
    );
  for (const p of report.problems)
    lines.push(`  log problem: ${p.kind} at ${p.sessionKey} seq ${p.seq}: ${p.detail}`);
  if (report.rebuiltInto)
    lines.push(`  rebuilt buckets kept: ${report.rebuiltInto.sessions}, ${report.rebuiltInto.transcripts}`);
  return lines;
}
