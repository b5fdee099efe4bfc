/**
 * The scheduler's Prometheus metrics, read from `Scheduler.status()` at every scrape. The timer counts
 * (armed, dropped, fired) run over this process's life, whichever tenures as leader it had; timers fired
 * per second is `rate(threadline_scheduler_timers_fired_total[1m])`. The index, the held timers and the
 * fired minute are the leader's (0, and absent for the last two, while standing by). Pending timers —
 * the entries of the timer index, all minutes — are sampled from the index's stream on a timer (never
 * per scrape) and shown by the leader only, so a sum over replicas counts them once.
 */
import type { SchedulerStatus } from '@threadline/scheduler';
import { counter, flag, gauge, type MetricSample } from '@threadline/service-runtime';

/** The scheduler's metric names, for tests and dashboards. */
export const SCHEDULER_METRICS = {
  leader: 'threadline_scheduler_leader',
  armed: 'threadline_scheduler_timers_armed_total',
  dropped: 'threadline_scheduler_timers_dropped_total',
  fired: 'threadline_scheduler_timers_fired_total',
  dueBacklog: 'threadline_scheduler_due_backlog',
  held: 'threadline_scheduler_timers_held',
  indexLag: 'threadline_scheduler_index_lag_records',
  indexed: 'threadline_scheduler_indexed_sequence',
  firedThrough: 'threadline_scheduler_fired_through_timestamp_seconds',
  tickLast: 'threadline_scheduler_tick_last_timestamp_seconds',
  pending: 'threadline_scheduler_timers_pending',
} as const;

const M = SCHEDULER_METRICS;

/** `pendingTimers`: the timer index's size as last sampled (absent until the first sample). */
export function schedulerMetrics(
  status: SchedulerStatus | undefined,
  pendingTimers?: number,
): MetricSample[] {
  const leading = status?.leader === true;
  return [
    flag(
      M.leader,
      'Whether this replica holds the scheduler lease and fires timers (1) or stands by (0).',
      leading,
    ),
    counter(M.armed, 'Timers armed in the index since this process started.', status?.armed ?? 0),
    counter(
      M.dropped,
      'Timers dropped from the index (cancelled or superseded) since this process started.',
      status?.dropped ?? 0,
    ),
    counter(
      M.fired,
      'Timers fired since this process started (rate() of it: timers fired per second).',
      status?.fired ?? 0,
    ),
    gauge(
      M.dueBacklog,
      "Timers due (their time passed) and not fired yet: the backlog of a daily boundary's expiries.",
      status?.dueBacklog ?? 0,
    ),
    gauge(M.held, 'Timers held in memory for the minutes being fired.', status?.held ?? 0),
    gauge(
      M.indexLag,
      "Records on the session stream the timer index has not read yet: the index's lag.",
      status?.indexPending ?? 0,
    ),
    gauge(M.indexed, 'Session-stream sequence the timer index has read up to.', status?.indexedSeq ?? 0),
    ...(leading && status
      ? [
          gauge(
            M.firedThrough,
            'Every minute up to the one starting at this time (unix seconds) has fired.',
            status.firedThrough * 60,
          ),
          ...status.ticks.map((tick) =>
            gauge(
              M.tickLast,
              'When the last daily-boundary tick of this zone and hour was emitted (unix seconds; 0 = none yet).',
              tick.lastAt / 1000,
              { time_zone: tick.timeZone, at_hour: String(tick.atHour) },
            ),
          ),
          ...(pendingTimers === undefined
            ? []
            : [
                gauge(
                  M.pending,
                  'Timers in the index, armed and not fired or dropped yet, due at any time (sampled every 15 s).',
                  pendingTimers,
                ),
              ]),
        ]
      : []),
  ];
}
