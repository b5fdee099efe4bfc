/**
 * Composition root of the scheduler process: settings → config → NATS connection → clock → scheduler.
 * Logs are JSON lines on stdout: each scheduler event and error, and the status every 30 s.
 */
import { type Scheduler, startScheduler } from '@threadline/scheduler';
import {
  connectService,
  errorFields,
  jsonLog,
  type Log,
  loadConfig,
  logEvery,
  serviceClock,
} from '@threadline/service-runtime';
import type { SchedulerSettings } from './settings.js';

export const STATUS_INTERVAL_MS = 30_000;

export interface RunningScheduler {
  readonly scheduler: Scheduler;
  stop(): Promise<void>;
}

export async function runScheduler(
  settings: SchedulerSettings,
  log: Log = jsonLog,
  options: { statusIntervalMs?: number; hostTimeZone?: string } = {},
): Promise<RunningScheduler> {
  const config = await loadConfig(settings.configPath);
  const nc = await connectService({
    natsUrl: settings.natsUrl,
    service: 'scheduler',
    instanceId: settings.schedulerId,
  });
  const time = await serviceClock(nc, config).catch(async (error: unknown) => {
    await nc.close();
    throw error;
  });
  const scheduler = await startScheduler({
    nc,
    clock: time.clock,
    config,
    // Ticks for a configuration without a zone are in the host's zone (the worker records the same).
    hostTimeZone: options.hostTimeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    schedulerId: settings.schedulerId,
    partitions: settings.partitions,
    replicas: settings.replicas,
    leaseTtlMs: settings.leaseTtlMs,
    onEvent: (event) => log({ msg: event.type, ...event }),
    onError: (error, where) => log({ msg: 'scheduler error', where, ...errorFields(error) }),
  }).catch(async (error: unknown) => {
    await time.stop();
    await nc.close();
    throw error;
  });
  log({ msg: 'scheduler started', schedulerId: settings.schedulerId, partitions: settings.partitions });
  const stopStatus = logEvery(log, options.statusIntervalMs ?? STATUS_INTERVAL_MS, () => ({
    msg: 'scheduler status',
    ...scheduler.status(),
  }));
  return {
    scheduler,
    async stop() {
      stopStatus();
      await scheduler.stop();
      await time.stop();
      await nc.drain();
      log({ msg: 'scheduler stopped', schedulerId: settings.schedulerId });
    },
  };
}
