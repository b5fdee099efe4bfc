/**
 * `threadline-projector rebuild [--json] [--keep] [--wait-ms <n>]`: folds the whole session stream from
 * zero into fresh buckets and compares the result with the live projection, key by key — the check an
 * audit rests on. The same audit as `threadline rebuild` (both call the projector's `auditProjection`).
 *
 * Exit codes: 0 equal, 1 different, 2 bad usage, 3 the live projection did not catch up, 4 failed.
 */
import { auditProjection, type ProjectionAuditReportV1, projectionAuditLines } from '@threadline/projector';
import { connectService, type NatsCredentials } from '@threadline/service-runtime';

export const RebuildExit = { Equal: 0, Different: 1, Usage: 2, LiveBehind: 3, Failed: 4 } as const;

export interface RebuildCommandOptions {
  natsUrl: string;
  /** Who to connect as (it builds into buckets of random names: the `admin` identity, ADR 0022). */
  credentials?: NatsCredentials;
  json: boolean;
  /** Keep the rebuilt buckets for inspection (default: deleted after the comparison). */
  keep: boolean;
  /** How long to wait for the live projection to reach the rebuilt head. */
  waitMs: number;
}

/** The report `--json` prints: the projector's audit report. */
export type RebuildReportV1 = ProjectionAuditReportV1;

/** Parses the arguments after `rebuild`; a string is a usage error. */
export function parseRebuildArgs(
  args: readonly string[],
): Omit<RebuildCommandOptions, 'natsUrl' | 'credentials'> | string {
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
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  const say = (line: string) => {
    if (!options.json) out(line);
  };
  try {
    const result = await auditProjection(nc, {
      keep: options.keep,
      waitMs: options.waitMs,
      onStart: ({ untilSeq, into }) =>
        say(
          `rebuilding the projection from the session stream, records 1…${untilSeq}, into ${into.sessions}`,
        ),
      onProgress: (p) => say(`  folded up to ${p.handled} of ${p.untilSeq}`),
    });
    if (result.outcome === 'live-behind') {
      const message = `the live projection is at ${result.liveSeq}, behind the rebuilt ${result.untilSeq}: is a projector running?`;
      out(
        options.json
          ? JSON.stringify({ v: 1, error: message, liveSeq: result.liveSeq, untilSeq: result.untilSeq })
          : message,
      );
      return RebuildExit.LiveBehind;
    }
    const { report } = result;
    if (options.json) out(JSON.stringify(report));
    else for (const line of projectionAuditLines(report)) out(line);
    return report.equal ? RebuildExit.Equal : RebuildExit.Different;
  } finally {
    await nc.drain();
  }
}
