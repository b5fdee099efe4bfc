/**
 * The worker's Prometheus metrics, read from `SessionWorker.metrics()` at every scrape (in-memory counts,
 * no request to NATS). Every `_total` is a running count over this process's life (partitions served
 * earlier included); rates come from Prometheus — events applied per second is
 * `rate(threadline_worker_events_applied_total[1m])`. The list, where each one is:
 *
 * - events applied per second: `…_events_applied_total` (and `…_events_routed_total` for the router);
 * - consumer lag: `…_consumer_lag_messages{reader, partition}`, per reader of each partition served now;
 * - resident sessions: `…_resident_sessions` (with its peak and limit);
 * - dead letters: `…_dead_letters_total{code}` (written by this worker) and
 *   `threadline_dead_letters_stored` (what the dead-letter stream holds, read on a timer, the same on
 *   every worker: aggregate it with `max`, not `sum`);
 * - delivery blocks and privacy warnings: `…_deliveries_blocked_total`, `…_privacy_warnings_total`;
 * - pending timers: the scheduler's `threadline_scheduler_timers_pending`.
 */
import { RejectionCode } from '@threadline/protocol';
import { counter, gauge, type MetricSample } from '@threadline/service-runtime';
import { emptyPartitionMetrics, type PartitionMetrics, type SessionWorker } from '@threadline/session-worker';

/** The worker's metric names, for tests and dashboards. */
export const WORKER_METRICS = {
  routed: 'threadline_worker_events_routed_total',
  applied: 'threadline_worker_events_applied_total',
  deadLetters: 'threadline_worker_dead_letters_total',
  retries: 'threadline_worker_retries_total',
  subjectMismatches: 'threadline_worker_subject_mismatches_total',
  inputs: 'threadline_worker_inputs_total',
  conflicts: 'threadline_worker_append_conflicts_total',
  loads: 'threadline_worker_session_loads_total',
  recordsFolded: 'threadline_worker_records_folded_total',
  passivations: 'threadline_worker_passivations_total',
  divergences: 'threadline_worker_divergences_total',
  snapshotFailures: 'threadline_worker_snapshot_failures_total',
  deliveriesBlocked: 'threadline_worker_deliveries_blocked_total',
  privacyWarnings: 'threadline_worker_privacy_warnings_total',
  resident: 'threadline_worker_resident_sessions',
  residentPeak: 'threadline_worker_resident_sessions_peak',
  residentLimit: 'threadline_worker_resident_sessions_limit',
  partitionsOwned: 'threadline_worker_partitions_owned',
  consumerLag: 'threadline_worker_consumer_lag_messages',
  deadLettersStored: 'threadline_dead_letters_stored',
} as const;

const M = WORKER_METRICS;

function sumPartitions(partitions: Record<number, PartitionMetrics>): PartitionMetrics {
  const sum = emptyPartitionMetrics();
  for (const m of Object.values(partitions)) {
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

/**
 * The worker's samples; before the worker has started (`undefined`) every count is 0. Dead letters are
 * listed for every rejection code, 0 included, so a rate over them is defined from the first scrape.
 * `deadLettersStored` is the dead-letter stream's size as last sampled (absent until the first sample).
 */
export function workerMetrics(
  worker: Pick<SessionWorker, 'metrics' | 'owned'> | undefined,
  maxResident: number,
  deadLettersStored?: number,
): MetricSample[] {
  const status = worker?.metrics();
  const partitions = sumPartitions(status?.partitions ?? {});
  const actors = status?.actors;
  const codes = new Set<string>([
    ...Object.values(RejectionCode),
    ...Object.keys(partitions.deadLettersByCode),
  ]);
  return [
    counter(
      M.routed,
      'Chat events read from the inbound stream and routed to their session key (rate() of it: events routed per second).',
      partitions.routed,
    ),
    counter(
      M.applied,
      'Keyed inputs (routed chat events, agent replies, control events) applied to their session (rate() of it: events applied per second).',
      partitions.applied,
    ),
    ...[...codes].map((code) =>
      counter(
        M.deadLetters,
        'Messages refused and written to the dead-letter stream, by rejection code.',
        partitions.deadLettersByCode[code as RejectionCode] ?? 0,
        { code },
      ),
    ),
    counter(M.retries, 'Messages whose handling failed and was retried in place.', partitions.retries),
    counter(
      M.subjectMismatches,
      'Chat events whose subject was not the one their body implies (applied; ordering may suffer).',
      partitions.subjectMismatches,
    ),
    ...(
      [
        ['recorded', actors?.recorded],
        ['replayed', actors?.replayed],
        ['duplicate', actors?.duplicates],
        ['no-op', actors?.noOps],
      ] as const
    ).map(([outcome, n]) =>
      counter(
        M.inputs,
        'Inputs decided by the session actors, by outcome: recorded (a record appended), replayed (read again after a restart), duplicate (an input id seen before), no-op (nothing to record).',
        n ?? 0,
        { outcome },
      ),
    ),
    counter(
      M.conflicts,
      "Appends that lost the race for a session's head to another writer and were decided again.",
      actors?.conflicts ?? 0,
    ),
    counter(
      M.loads,
      'Sessions loaded into memory (rehydrated from a snapshot and the records after it).',
      actors?.loads ?? 0,
    ),
    counter(M.recordsFolded, 'Records folded while loading sessions.', actors?.recordsFolded ?? 0),
    counter(
      M.passivations,
      'Resident sessions passivated (evicted from memory to the snapshot store).',
      actors?.passivations ?? 0,
    ),
    counter(
      M.divergences,
      'Records that decide other facts on this build when a session is rehydrated.',
      actors?.divergences ?? 0,
    ),
    counter(
      M.snapshotFailures,
      'Snapshot writes that failed (the session is then rehydrated from an older snapshot and the log).',
      actors?.snapshotFailures ?? 0,
    ),
    counter(
      M.deliveriesBlocked,
      'Agent replies the send policy held back (recorded, not delivered).',
      actors?.deliveriesBlocked ?? 0,
    ),
    counter(
      M.privacyWarnings,
      'Sessions in which a second person appeared in a shared DM scope (spec section 6).',
      actors?.privacyWarnings ?? 0,
    ),
    gauge(M.resident, 'Sessions resident in memory now.', status?.resident ?? 0),
    gauge(
      M.residentPeak,
      'The most sessions resident in memory at once since the start.',
      actors?.maxResidentSeen ?? 0,
    ),
    gauge(
      M.residentLimit,
      'The most sessions this worker holds in memory (THREADLINE_MAX_RESIDENT).',
      maxResident,
    ),
    gauge(M.partitionsOwned, 'Partitions this worker serves now.', worker?.owned().length ?? 0),
    ...Object.entries(status?.lag ?? {}).flatMap(([partition, lag]) =>
      (['route', 'apply'] as const).map((reader) =>
        gauge(
          M.consumerLag,
          'Messages of a partition after the last one its reader handled (route: the inbound stream, apply: the keyed stream), as the server last said; the message in hand counts until it is handled. Only the partitions this worker serves now.',
          lag[reader],
          { reader, partition },
        ),
      ),
    ),
    ...(deadLettersStored === undefined
      ? []
      : [
          gauge(
            M.deadLettersStored,
            'Dead letters the dead-letter stream holds (sampled every 15 s; the same on every worker).',
            deadLettersStored,
          ),
        ]),
  ];
}
