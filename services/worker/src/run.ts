/**
 * Composition root of the worker process: settings → config → (the service runtime: ops server, NATS
 * connection, clock) → session worker. Logs are JSON lines on stdout (pino; one object per event). With
 * `THREADLINE_METRICS_PORT` set, an HTTP server answers `/metrics` (see metrics.ts), `/healthz` and
 * `/readyz` (ready once started, while the NATS connection is open).
 */
import { StreamNames } from '@threadline/protocol';
import {
  type Log,
  loadConfig,
  type OpsServer,
  runService,
  type Sampled,
  sampleEvery,
  serviceLog,
  streamMessageCount,
} from '@threadline/service-runtime';
import { type SessionWorker, startSessionWorker, type WorkerEvent } from '@threadline/session-worker';
import { workerMetrics } from './metrics.js';
import type { WorkerSettings } from './settings.js';

export type { LogLine } from '@threadline/service-runtime';

export interface RunningWorker {
  readonly worker: SessionWorker;
  /** The ops HTTP server (`/metrics`, `/healthz`, `/readyz`); absent when `THREADLINE_METRICS_PORT` is 0. */
  readonly ops: OpsServer | undefined;
  stop(): Promise<void>;
}

const levelOf = (event: WorkerEvent) =>
  event.type === 'error' ? 'error' : event.type === 'dead-letter' ? 'warn' : 'info';

export async function runWorker(
  settings: WorkerSettings,
  log: Log = serviceLog({ service: 'worker', instanceId: settings.workerId, level: settings.logLevel }),
  options: { sampleIntervalMs?: number } = {},
): Promise<RunningWorker> {
  const config = await loadConfig(settings.configPath);
  if (settings.killAfterAppend !== undefined && config.production)
    throw new Error('THREADLINE_FAULT is a test hook and is refused by a production config');
  let appends = 0;
  // The dead-letter stream's size, read on a timer so a scrape never waits on the server.
  let deadLetters: Sampled | undefined;
  const running = await runService({
    service: 'worker',
    instanceId: settings.workerId,
    idField: 'workerId',
    settings,
    log,
    clockFrom: config,
    start: async ({ nc, clock }) => {
      const worker = await startSessionWorker({
        nc,
        config,
        clock,
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
                  log({ msg: 'fault: SIGKILL after append', level: 'warn', sessionKey, seq });
                  process.kill(process.pid, 'SIGKILL');
                }
              },
            }),
        onEvent: (event) => log({ msg: event.type, level: levelOf(event), ...event }),
      });
      if (settings.metricsPort !== 0)
        deadLetters = sampleEvery(() => streamMessageCount(nc, StreamNames.deadLetters), {
          ...(options.sampleIntervalMs === undefined ? {} : { intervalMs: options.sampleIntervalMs }),
          onError: (err) => log({ msg: 'metrics sample failed', level: 'warn', err }),
        });
      return worker;
    },
    metrics: (worker) => workerMetrics(worker, settings.maxResident, deadLetters?.value()),
  });
  return {
    worker: running.work,
    ops: running.ops,
    async stop() {
      deadLetters?.stop();
      await running.stop();
    },
  };
}
