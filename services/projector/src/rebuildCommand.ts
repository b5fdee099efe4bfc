/**
 * `threadline-projector rebuild [--json] [--keep] [--wait-ms <n>]`: folds the whole session stream from
 * zero into fresh buckets and compares the result with the live projection, key by key — the check an
 * audit rests on. The `threadline` CLI (operations issue) will expose the same as `threadline rebuild`.
 *
 * The rebuild goes up to the stream's head when it starts; the live projection is awaited until its
 * checkpoint has passed that head (`--wait-ms`, default 30 s). A key the live projection has moved past
 * the head since (newer records) is reported as moved on, not as a difference.
 *
 * Exit codes: 0 equal, 1 different, 2 bad usage, 3 the live projection did not catch up, 4 failed.
 */

import { jetstreamManager } from '@nats-io/jetstream';
import { KvCheckpointStore } from '@threadline/event-log';
import {
  compareProjections,
  LIVE_PROJECTION,
  PROJECTOR_CHECKPOINT,
  type ProjectionBuckets,
  readBucket,
  rebuildProjection,
  sessionStreamHead,
} from '@threadline/projector';
import { connectService } from '@threadline/service-runtime';

export const RebuildExit = { Equal: 0, Different: 1, Usage: 2, LiveBehind: 3, Failed: 4 } as const;

export interface RebuildCommandOptions {
  natsUrl: string;
  json: boolean;
  /** Keep the rebuilt buckets for inspection (default: deleted after the comparison). */
  keep: boolean;
  /** How long to wait for the live projection to reach the rebuilt head. */
  waitMs: number;
}

export interface RebuildReportV1 {
  v: 1;
  equal: boolean;
  /** The session-stream sequence both projections were compared at. */
  untilSeq: number;
  keys: number;
  recordsFolded: number;
  onlyLive: string[];
  onlyRebuilt: string[];
  different: { sessionKey: string; part: string; liveSeq: number; rebuiltSeq: number }[];
  /** Keys whose live entry reflects records after `untilSeq` (not comparable, not a difference). */
  movedOn: string[];
  /** Records the rebuild found divergent or unchained (see the projector's FoldProblem). */
  problems: { kind: string; sessionKey: string; seq: number; detail: string }[];
  rebuiltInto: ProjectionBuckets | null;
}

/** Parses the arguments after `rebuild`; a string is a usage error. */
export function parseRebuildArgs(args: readonly string[]): Omit<RebuildCommandOptions, 'natsUrl'> | string {
  const options = { json: false, keep: false, waitMs: 30_000 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--json') options.json = true;
    else if (arg === '--keep') options.keep = true;
    else if (arg === '--wait-ms') {
      const value = Number(args[++i]);
      if (!Number.isInteger(value) || value < 0)
        return `--wait-ms needs a whole number of milliseconds, got ${JSON.stringify(args[i])}`;
      options.waitMs = value;
    } else
      return `unknown argument ${JSON.stringify(arg)} (usage: rebuild [--json] [--keep] [--wait-ms <n>])`;
  }
  return options;
}

export async function runRebuildCommand(
  options: RebuildCommandOptions,
  out: (line: string) => void = (line) => console.log(line),
): Promise<number> {
  const nc = await connectService({
    natsUrl: options.natsUrl,
    service: 'projector-rebuild',
    instanceId: `rebuild-${process.pid}`,
  });
  const say = (line: string) => {
    if (!options.json) out(line);
  };
  const stamp = Date.now();
  const into: ProjectionBuckets = {
    sessions: `${LIVE_PROJECTION.sessions}-rebuild-${stamp}`,
    transcripts: `${LIVE_PROJECTION.transcripts}-rebuild-${stamp}`,
  };
  try {
    const untilSeq = await sessionStreamHead(nc);
    say(`rebuilding the projection from the session stream, records 1…${untilSeq}, into ${into.sessions}`);
    const rebuilt = await rebuildProjection({
      nc,
      into,
      untilSeq,
      onProgress: (p) => say(`  folded up to ${p.handled} of ${p.untilSeq}`),
    });
    const checkpoints = await KvCheckpointStore.open(nc);
    const deadline = Date.now() + options.waitMs;
    while ((await checkpoints.get(PROJECTOR_CHECKPOINT)) < untilSeq) {
      if (Date.now() >= deadline) {
        const live = await checkpoints.get(PROJECTOR_CHECKPOINT);
        const message = `the live projection is at ${live}, behind the rebuilt ${untilSeq}: is a projector running?`;
        if (options.json) out(JSON.stringify({ v: 1, error: message, liveSeq: live, untilSeq }));
        else out(message);
        return RebuildExit.LiveBehind;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const comparison = await compareProjections(nc, LIVE_PROJECTION, into);
    const movedOn = new Set<string>();
    for (const d of comparison.different) if (d.liveSeq > untilSeq) movedOn.add(d.sessionKey);
    const different = comparison.different.filter((d) => !movedOn.has(d.sessionKey));
    // A key whose first record came after the rebuilt head exists only live, legitimately: its entry's
    // sequence says so. Keys only live for another reason are real differences.
    const onlyLive: string[] = [];
    const liveOnly = comparison.onlyLive;
    if (liveOnly.length > 0) {
      const entries = await readBucket<{ sessionKey: string; seq: number }>(nc, LIVE_PROJECTION.sessions);
      const seqOf = new Map([...entries.values()].map((e) => [e.sessionKey, e.seq]));
      for (const key of liveOnly) {
        if ((seqOf.get(key) ?? 0) > untilSeq) movedOn.add(key);
        else onlyLive.push(key);
      }
    }
    const report: RebuildReportV1 = {
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
    };
    if (options.json) out(JSON.stringify(report));
    else {
      out(
        report.equal
          ? `equal: ${report.keys} keys, ${report.recordsFolded} records folded; the live projection is what the log says`
          : `DIFFERENT: ${onlyLive.length} only live, ${report.onlyRebuilt.length} only rebuilt, ${different.length} differing`,
      );
      for (const key of onlyLive) out(`  only in the live projection: ${key}`);
      for (const key of report.onlyRebuilt) out(`  missing from the live projection: ${key}`);
      for (const d of different)
        out(`  ${d.sessionKey}: ${d.part} differs (live at ${d.liveSeq}, rebuilt at ${d.rebuiltSeq})`);
      if (movedOn.size > 0)
        out(`  ${movedOn.size} keys moved on past ${untilSeq} while comparing (not compared)`);
      for (const p of report.problems)
        out(`  log problem: ${p.kind} at ${p.sessionKey} seq ${p.seq}: ${p.detail}`);
      if (options.keep) out(`  rebuilt buckets kept: ${into.sessions}, ${into.transcripts}`);
    }
    return report.equal ? RebuildExit.Equal : RebuildExit.Different;
  } finally {
    if (!options.keep) {
      const jsm = await jetstreamManager(nc);
      for (const bucket of [into.sessions, into.transcripts])
        await jsm.streams.delete(`KV_${bucket}`).catch(() => {});
    }
    await nc.drain();
  }
}
