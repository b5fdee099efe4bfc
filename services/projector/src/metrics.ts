/**
 * The projector's Prometheus metrics, read from `ProjectorReplica.status()` at every scrape. Every replica
 * reports whether it leads; the leader also reports its lag and counts. Those counts are the current
 * tenure's: they start from 0 each time this replica takes the lead (a counter reset, which Prometheus's
 * `rate()` allows for), and are absent while it stands by. Records applied per second is
 * `rate(threadline_projector_records_applied_total[1m])`.
 */
import type { ProjectorStatus } from '@threadline/projector';
import { counter, flag, gauge, type MetricSample } from '@threadline/service-runtime';

/** The projector's metric names, for tests and dashboards. */
export const PROJECTOR_METRICS = {
  leader: 'threadline_projector_leader',
  lag: 'threadline_projector_lag_records',
  handled: 'threadline_projector_handled_sequence',
  checkpointed: 'threadline_projector_checkpointed_sequence',
  applied: 'threadline_projector_records_applied_total',
  skipped: 'threadline_projector_records_skipped_total',
  problems: 'threadline_projector_problems_total',
  cachedKeys: 'threadline_projector_cached_keys',
} as const;

const M = PROJECTOR_METRICS;

/** The projector's samples: `status` is the replica's (undefined while it stands by). */
export function projectorMetrics(status: ProjectorStatus | undefined): MetricSample[] {
  const leader = flag(
    M.leader,
    'Whether this replica holds the projector lease and projects (1) or stands by (0).',
    !!status,
  );
  if (status === undefined) return [leader];
  return [
    leader,
    gauge(
      M.lag,
      "Records on the session stream after the last one the projector handled: the projector's lag.",
      status.pending,
    ),
    gauge(M.handled, 'Session-stream sequence of the last record handled.', status.handled),
    gauge(
      M.checkpointed,
      'Session-stream sequence of the last record written and checkpointed.',
      status.checkpointed,
    ),
    counter(
      M.applied,
      'Records folded into the session store since this replica took the lead (rate() of it: records applied per second).',
      status.applied,
    ),
    counter(
      M.skipped,
      'Records skipped as already projected since this replica took the lead.',
      status.skipped,
    ),
    ...(
      [
        ['divergence', status.divergences],
        ['chain-break', status.chainBreaks],
        ['unreadable', status.unreadable],
      ] as const
    ).map(([kind, n]) =>
      counter(
        M.problems,
        'Projection problems since this replica took the lead, by kind: divergence (a record decides other facts on this build), chain-break (a gap or an edit in the hash chain), unreadable (not a foldable record).',
        n,
        { kind },
      ),
    ),
    gauge(M.cachedKeys, "Session keys in the projector's cache.", status.cachedKeys),
  ];
}
