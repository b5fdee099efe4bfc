/**
 * Composition root of the scheduler process: settings → config → (the service runtime: ops server, NATS
 * connection, clock) → scheduler. Logs are JSON lines on stdout (pino): each scheduler event and error, and the status every
 * 30 s. With `THREADLINE_METRICS_PORT` set, an HTTP server answers `/metrics` (see metrics.ts), `/healthz`
 * and `/readyz` (ready once started, while the NATS connection is open; a standby replica is ready too).
 */
import { type Scheduler, startScheduler, TIMER_BUCKET } from '@threadline/scheduler';
import {
  type Log,
  loadConfig,
  type OpsServer,
  runService,
  type Sampled,
  STATUS_INTERVAL_MS,
  sampleEvery,
  serviceLog,
  streamMessageCount,
} from '@threadline/service-runtime';
import { schedulerMetrics } from './metrics.js';
import type { SchedulerSettings } from './settings.js';

export { STATUS_INTERVAL_MS };

export interface RunningScheduler {
  readonly scheduler: Scheduler;
  /** The ops HTTP server (`/metrics`, `/healthz`, `/readyz`); absent when `THREADLINE_METRICS_PORT` is 0. */
  readonly ops: OpsServer | undefined;
  stop(): Promise<void>;
}

export async function runScheduler(
  settings: SchedulerSettings,
  log: Log = serviceLog({ service: 'scheduler', instanceId: settings.schedulerId, level: settings.logLevel }),
  options: { statusIntervalMs?: number; hostTimeZone?: string; sampleIntervalMs?: number } = {},
): Promise<RunningScheduler> {
  const config = await loadConfig(settings.configPath);
  // The timer index's size (its KV stream's message count: a fired or dropped timer is purged, leaving
  // no marker), read on a timer so a scrape never waits on the server.
  let pendingTimers: Sampled | undefined;
  const running = await runService({
    service: 'scheduler',
    instanceId: settings.schedulerId,
    idField: 'schedulerId',
    settings,
    log,
    clockFrom: config,
    start: async ({ nc, clock }) => {
      const scheduler = await startScheduler({
        nc,
        clock,
        config,
        // Ticks for a configuration without a zone are in the host's zone (the worker records the same).
        hostTimeZone: options.hostTimeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
        schedulerId: settings.schedulerId,
        partitions: settings.partitions,
        replicas: settings.replicas,
        leaseTtlMs: settings.leaseTtlMs,
        onEvent: (event) => log({ msg: event.type, ...event }),
        onError: (error, where) => log({ msg: 'scheduler error', level: 'error', where, err: error }),
      });
      if (settings.metricsPort !== 0)
        pendingTimers = sampleEvery(() => streamMessageCount(nc, `KV_${TIMER_BUCKET}`), {
          ...(options.sampleIntervalMs === undefined ? {} : { intervalMs: options.sampleIntervalMs }),
          onError: (err) => log({ msg: 'metrics sample failed', level: 'warn', err }),
        });
      return scheduler;
    },
    metrics: (scheduler) => schedulerMetrics(scheduler?.status(), pendingTimers?.value()),
    status: (scheduler) => ({ ...scheduler.status() }),
    ...(options.statusIntervalMs === undefined ? {} : { statusIntervalMs: options.statusIntervalMs }),
  });
  return {
    scheduler: running.work,
    ops: running.ops,
    async stop() {
      pendingTimers?.stop();
      await running.stop();
    },
  };
}
