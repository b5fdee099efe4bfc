import { renderMetrics } from '@threadline/service-runtime';
import { emptyPartitionMetrics, type SessionWorker } from '@threadline/session-worker';
import { describe, expect, it } from 'vitest';
import { WORKER_METRICS, workerMetrics } from './metrics.js';

const sessionActorsMetrics = {
  recorded: 5,
  replayed: 1,
  duplicates: 2,
  noOps: 3,
  conflicts: 4,
  loads: 6,
  recordsFolded: 7,
  passivations: 8,
  divergences: 0,
  snapshotFailures: 1,
  maxResidentSeen: 9,
  deliveriesBlocked: 11,
  privacyWarnings: 12,
};

describe('workerMetrics', () => {
  it('given no worker yet, then every metric is there and 0 (the limit is the setting), but no lag and no sample yet', () => {
    const page = renderMetrics(workerMetrics(undefined, 500));
    const { consumerLag, deadLettersStored, ...always } = WORKER_METRICS;
    for (const name of Object.values(always)) expect(page).toContain(`# TYPE ${name} `);
    expect(page).not.toContain(consumerLag);
    expect(page).not.toContain(deadLettersStored);
    expect(page).toContain('threadline_worker_events_applied_total 0\n');
    expect(page).toContain('threadline_worker_dead_letters_total{code="unrecordable"} 0\n');
    expect(page).toContain('threadline_worker_resident_sessions_limit 500\n');
  });

  it("given partitions' counts, then they are summed, dead letters by code", () => {
    const a = { ...emptyPartitionMetrics(), routed: 3, applied: 4, deadLettered: 2, retries: 1 };
    a.deadLettersByCode = { too_large: 2 };
    const b = { ...emptyPartitionMetrics(), routed: 10, applied: 20, deadLettered: 1, subjectMismatches: 1 };
    b.deadLettersByCode = { too_large: 1 };
    const worker: Pick<SessionWorker, 'metrics' | 'owned'> = {
      metrics: () => ({
        actors: sessionActorsMetrics,
        resident: 4,
        partitions: { 0: a, 3: b },
        lag: { 0: { route: 0, apply: 2 }, 3: { route: 7, apply: 0 } },
      }),
      owned: () => [0, 3],
    };
    const page = renderMetrics(workerMetrics(worker, 10_000, 6));
    expect(page).toContain('threadline_worker_events_routed_total 13\n');
    expect(page).toContain('threadline_worker_events_applied_total 24\n');
    expect(page).toContain('threadline_worker_dead_letters_total{code="too_large"} 3\n');
    expect(page).toContain('threadline_worker_dead_letters_total{code="invalid_json"} 0\n');
    expect(page).toContain('threadline_worker_retries_total 1\n');
    expect(page).toContain('threadline_worker_subject_mismatches_total 1\n');
    expect(page).toContain('threadline_worker_inputs_total{outcome="recorded"} 5\n');
    expect(page).toContain('threadline_worker_inputs_total{outcome="no-op"} 3\n');
    expect(page).toContain('threadline_worker_append_conflicts_total 4\n');
    expect(page).toContain('threadline_worker_passivations_total 8\n');
    expect(page).toContain('threadline_worker_resident_sessions 4\n');
    expect(page).toContain('threadline_worker_resident_sessions_peak 9\n');
    expect(page).toContain('threadline_worker_partitions_owned 2\n');
    expect(page).toContain('threadline_worker_deliveries_blocked_total 11\n');
    expect(page).toContain('threadline_worker_privacy_warnings_total 12\n');
    expect(page).toContain('# TYPE threadline_worker_consumer_lag_messages gauge\n');
    expect(page).toContain('threadline_worker_consumer_lag_messages{reader="apply",partition="0"} 2\n');
    expect(page).toContain('threadline_worker_consumer_lag_messages{reader="route",partition="3"} 7\n');
    expect(page).toContain('threadline_worker_consumer_lag_messages{reader="apply",partition="3"} 0\n');
    expect(page).toContain('# TYPE threadline_dead_letters_stored gauge\nthreadline_dead_letters_stored 6\n');
  });
});
