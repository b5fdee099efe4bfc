/**
 * Composition root of the worker process: settings → config → ops server → NATS connection → clock →
 * session worker. Logs are JSON lines on stdout (pino; one object per event). With
 * `THREADLINE_METRICS_PORT` set, an HTTP server answers `/metrics` (see metrics.ts), `/healthz` and
 * `/readyz` (ready once started, while the NATS connection is open).
 */
import {
  connectService,
  type Log,
  loadConfig,
  type OpsServer,
  type ServicePhase,
  serviceClock,
  serviceLog,
  serviceReadiness,
  startServiceOps,
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
): Promise<RunningWorker> {
  const config = await loadConfig(settings.configPath);
  if (settings.killAfterAppend !== undefined && config.production)
    throw new Error('THREADLINE_FAULT is a test hook and is refused by a production config');
  let phase: ServicePhase = 'starting';
  let nc: Awaited<ReturnType<typeof connectService>> | undefined;
  let worker: SessionWorker | undefined;
  let ops: OpsServer | undefined;
  let time: Awaited<ReturnType<typeof serviceClock>>;
  const undo: (() => Promise<unknown>)[] = [];
  try {
    const server = await startServiceOps(
      settings,
      { service: 'worker', instanceId: settings.workerId },
      {
        metrics: () => workerMetrics(worker, settings.maxResident),
        ready: () => serviceReadiness(phase, nc),
      },
    );
    ops = server;
    if (server) undo.push(() => server.stop());
    const connection = await connectService({
      natsUrl: settings.natsUrl,
      service: 'worker',
      instanceId: settings.workerId,
    });
    nc = connection;
    undo.push(() => connection.close());
    const clock = await serviceClock(connection, config);
    time = clock;
    undo.push(() => clock.stop());
    let appends = 0;
    worker = await startSessionWorker({
      nc: connection,
      config,
      clock: clock.clock,
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
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => {});
    throw error;
  }
  const started = worker;
  const connection = nc;
  phase = 'running';
  log({
    msg: 'worker started',
    workerId: settings.workerId,
    partitions: settings.partitions,
    ...(ops ? { metrics: `${ops.url}/metrics` } : {}),
  });
  return {
    worker: started,
    ops,
    async stop() {
      phase = 'stopping';
      await started.stop();
      await time.stop();
      await connection.drain();
      await ops?.stop();
      log({ msg: 'worker stopped', workerId: settings.workerId });
    },
  };
}
