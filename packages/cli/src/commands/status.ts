/**
 * `threadline status`: one look at a running system from NATS alone — the server, every stream and
 * bucket, each reader's checkpoint against its stream's head, the workers and the partitions they hold,
 * the scheduler and the projector (replicas, leader, progress), dead letters, privacy warnings and the
 * most recently updated sessions. Nothing is created: a stream or bucket nobody has made yet is reported
 * as absent. The document is @threadline/ops's `collectStatus` (the ops service answers the same).
 */
import { collectStatus, MINUTE_MS, type StatusV1 } from '@threadline/ops';
import { SchedulerCheckpoints } from '@threadline/scheduler';
import { ExitCodes } from '../errors.js';
import type { Command } from './command.js';
import { formatAge, formatBytes, formatTime, table } from './shared.js';

export type { BucketStatus, ReaderStatus, ReplicaStatus, StatusV1, StreamStatus } from '@threadline/ops';

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
    const status = await collectStatus(await ctx.connect(), { server: ctx.server, now: ctx.now() });
    ctx.result(status, () => statusLines(status));
    return ExitCodes.Ok;
  },
};
