/**
 * `threadline rebuild [--keep] [--wait-ms <n>]`: folds the whole session stream from zero into fresh
 * buckets and compares the result with the live projection, key by key — the check an audit rests on.
 * The same check as the projector service's `threadline-projector rebuild`, on the same library
 * functions (`rebuildProjection`, `compareProjections`, `readBucket`).
 *
 * The rebuild goes up to the session stream's head when it starts; the live projection is awaited until
 * its checkpoint has passed that head (`--wait-ms`, default 30 s). A key the live projection has moved
 * past the head since (newer records) is reported as moved on, not as a difference.
 *
 * Exit codes: 0 equal, 1 different, 2 bad usage, 3 server unreachable, 4 no session stream, 5 the live
 * projection did not catch up (or the rebuild failed).
 */
import { auditProjection, type ProjectionAuditReportV1, projectionAuditLines } from '@threadline/projector';
import { StreamNames } from '@threadline/protocol';
import { CliError, ExitCodes, notFound, usageError } from '../errors.js';
import type { Command } from './command.js';
import { isStreamNotFound } from './shared.js';

const DEFAULT_WAIT_MS = 30_000;

/** The report `--json` prints: the projector's audit report. */
export type RebuildReportV1 = ProjectionAuditReportV1;

function parseWaitMs(value: unknown): number {
  if (value === undefined) return DEFAULT_WAIT_MS;
  const text = String(value);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw usageError(`--wait-ms needs a whole number of milliseconds, got ${JSON.stringify(value)}`);
  return Number(text);
}

export const rebuildCommand: Command = {
  path: ['rebuild'],
  summary: 'rebuild the session store from the log into fresh buckets and compare it with the live one',
  usage: '[--keep] [--wait-ms <n>]',
  options: { keep: { type: 'boolean' }, 'wait-ms': { type: 'string' } },
  async run(ctx, { positionals, values }) {
    if (positionals.length > 0) throw usageError(`unexpected argument: ${positionals.join(' ')}`);
    const keep = values.keep === true;
    const waitMs = parseWaitMs(values['wait-ms']);
    const nc = await ctx.connect();
    const bar = ctx.progress('rebuilding');
    let result: Awaited<ReturnType<typeof auditProjection>>;
    try {
      result = await auditProjection(nc, {
        keep,
        waitMs,
        onStart: ({ untilSeq, into }) => {
          if (!ctx.json)
            ctx.io.err(`rebuilding the projection from records 1…${untilSeq} into ${into.sessions}\n`);
          bar.update(0, untilSeq);
        },
        onProgress: (p) => bar.update(Math.min(p.handled, p.untilSeq), p.untilSeq),
      });
    } catch (error) {
      if (isStreamNotFound(error))
        throw notFound(
          `there is no session stream (${StreamNames.sessions}) on ${ctx.server}: nothing to rebuild`,
          'start the worker first (it creates the streams)',
        );
      throw error;
    } finally {
      bar.end();
    }
    if (result.outcome === 'live-behind')
      throw new CliError(
        ExitCodes.Failed,
        `the live projection is at ${result.liveSeq}, behind the rebuilt ${result.untilSeq}: it did not catch up within ${waitMs} ms`,
        'is a projector running (threadline status)? Wait longer with --wait-ms <n>.',
      );
    const { report } = result;
    ctx.result(report, () => projectionAuditLines(report));
    return report.equal ? ExitCodes.Ok : ExitCodes.Findings;
  },
};
