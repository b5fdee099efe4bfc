/**
 * Composition root of the scheduler process: settings → config → ops server → NATS connection → clock →
 * scheduler. Logs are JSON lines on stdout (pino): each scheduler event and error, and the status every
 * 30 s. With `THREADLINE_METRICS_PORT` set, an HTTP server answers `/metrics` (see metrics.ts), `/healthz`
 * and `/readyz` (ready once started, while the NATS connection is open; a standby replica is ready too).
 */
import { type Scheduler, startScheduler } from '@threadline/scheduler';
import {
  connectService,
  type Log,
  loadConfig,
  logEvery,
  type OpsServer,
  type ServicePhase,
  serviceClock,
  serviceLog,
  serviceReadiness,
  startServiceOps,
} from '@threadline/service-runtime';
import { schedulerMetrics } from './metrics.js';
import type { SchedulerSettings } from './settings.js';

export const STATUS_INTERVAL_MS = 30_000;

export interface RunningScheduler {
  readonly scheduler: Scheduler;
  /** The ops HTTP server (`/metrics`, `/healthz`, `/readyz`); absent when `THREADLINE_METRICS_PORT` is 0. */
  readonly ops: OpsServer | undefined;
  stop(): Promise<void>;
}

export async function runScheduler(
  settings: SchedulerSettings,
  log: Log = serviceLog({ service: 'scheduler', instanceId: settings.schedulerId, level: settings.logLevel }),
  options: { statusIntervalMs?: number; hostTimeZone?: string } = {},
): Promise<RunningScheduler> {
  const config = await loadConfig(settings.configPath);
  let phase: ServicePhase = 'starting';
  let nc: Awaited<ReturnType<typeof connectService>> | undefined;
  let scheduler: Scheduler | undefined;
  let ops: OpsServer | undefined;
  let time: Awaited<ReturnType<typeof serviceClock>>;
  const undo: (() => Promise<unknown>)[] = [];
  try {
    const server = await startServiceOps(
      settings,
      { service: 'scheduler', instanceId: settings.schedulerId },
      {
        metrics: () => schedulerMetrics(scheduler?.status()),
        ready: () => serviceReadiness(phase, nc),
      },
    );
    ops = server;
    if (server) undo.push(() => server.stop());
    const connection = await connectService({
      natsUrl: settings.natsUrl,
      service: 'scheduler',
      instanceId: settings.schedulerId,
    });
    nc = connection;
    undo.push(() => connection.close());
    const clock = await serviceClock(connection, config);
    time = clock;
    undo.push(() => clock.stop());
    scheduler = await startScheduler({
      nc: connection,
      clock: clock.clock,
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
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => {});
    throw error;
  }
  const started = scheduler;
  const connection = nc;
  phase = 'running';
  log({
    msg: 'scheduler started',
    schedulerId: settings.schedulerId,
    partitions: settings.partitions,
    ...(ops ? { metrics: `${ops.url}/metrics` } : {}),
  });
  const stopStatus = logEvery(log, options.statusIntervalMs ?? STATUS_INTERVAL_MS, () => ({
    msg: 'scheduler status',
    ...started.status(),
  }));
  return {
    scheduler: started,
    ops,
    async stop() {
      phase = 'stopping';
      stopStatus();
      await started.stop();
      await time.stop();
      await connection.drain();
      await ops?.stop();
      log({ msg: 'scheduler stopped', schedulerId: settings.schedulerId });
    },
  };
}
