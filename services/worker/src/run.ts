/**
 * Composition root of the worker process: settings → config → NATS connection → clock → session worker.
 * Logs are JSON lines on stdout (one object per event).
 */
import { connectService, jsonLog, type Log, loadConfig, serviceClock } from '@threadline/service-runtime';
import { type SessionWorker, startSessionWorker } from '@threadline/session-worker';
import type { WorkerSettings } from './settings.js';

export type { LogLine } from '@threadline/service-runtime';

export interface RunningWorker {
  readonly worker: SessionWorker;
  stop(): Promise<void>;
}

export async function runWorker(settings: WorkerSettings, log: Log = jsonLog): Promise<RunningWorker> {
  const config = await loadConfig(settings.configPath);
  if (settings.killAfterAppend !== undefined && config.production)
    throw new Error('THREADLINE_FAULT is a test hook and is refused by a production config');
  const nc = await connectService({
    natsUrl: settings.natsUrl,
    service: 'worker',
    instanceId: settings.workerId,
  });
  const time = await serviceClock(nc, config).catch(async (error: unknown) => {
    await nc.close();
    throw error;
  });
  let appends = 0;
  const worker = await startSessionWorker({
    nc,
    config,
    clock: time.clock,
    workerId: settings.workerId,
    partitions: settings.partitions,
    replicas: settings.replicas,
    maxResident: settings.maxResident,
    maxInboundBytes: settings.maxInboundBytes,
    leaseTtlMs: settings.leaseTtlMs,
    ...(settings.killAfterAppend === undefined
      ? {}
      : {
          afterAppend: (sessionKey: string, seq: number) => {
            appends += 1;
            if (appends >= (settings.killAfterAppend as number)) {
              log({ msg: 'fault: SIGKILL after append', sessionKey, seq });
              process.kill(process.pid, 'SIGKILL');
            }
          },
        }),
    onEvent: (event) => log({ msg: event.type, ...event }),
  }).catch(async (error: unknown) => {
    await time.stop();
    await nc.close();
    throw error;
  });
  log({ msg: 'worker started', workerId: settings.workerId, partitions: settings.partitions });
  return {
    worker,
    async stop() {
      await worker.stop();
      await time.stop();
      await nc.drain();
      log({ msg: 'worker stopped', workerId: settings.workerId });
    },
  };
}
