/**
 * The ops service's Prometheus metrics, read from the service's own counts (the ones `$SRV.STATS`
 * answers) at every scrape: requests, errors and handling time per endpoint, over this process's life.
 * Requests per second is `rate(threadline_ops_requests_total[1m])`; the mean time of an answer,
 * `rate(threadline_ops_processing_seconds_total[5m]) / rate(threadline_ops_requests_total[5m])`.
 */
import type { StatsResponse } from '@threadline/ops';
import { counter, type MetricSample } from '@threadline/service-runtime';

/** The ops service's metric names, for tests and dashboards. */
export const OPS_METRICS = {
  requests: 'threadline_ops_requests_total',
  errors: 'threadline_ops_errors_total',
  processing: 'threadline_ops_processing_seconds_total',
} as const;

export function opsMetrics(stats: StatsResponse | undefined): MetricSample[] {
  return (stats?.endpoints ?? []).flatMap((e) => {
    const labels = { endpoint: e.name };
    return [
      counter(
        OPS_METRICS.requests,
        'Requests answered by each ops endpoint (errors included).',
        e.num_requests,
        labels,
      ),
      counter(
        OPS_METRICS.errors,
        'Requests an ops endpoint answered with a service error (bad request, not found, too large, failed).',
        e.num_errors,
        labels,
      ),
      counter(
        OPS_METRICS.processing,
        'Seconds spent answering the requests of each ops endpoint.',
        e.processing_time / 1e9,
        labels,
      ),
    ];
  });
}
