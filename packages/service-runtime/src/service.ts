/**
 * The life of every Threadline service process, once: ops server (metrics, health, readiness) → NATS
 * connection → clock (for services that run on one) → the service's own work → `"<service> started"`,
 * a status line every 30 s, and on stop the reverse order with `"<service> stopped"`. A failure while
 * starting undoes what was started. Each service is then only its composition: what it starts, which
 * metrics it shows, what its status line says.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { type Clock, SystemClock } from '@threadline/clock';
import type { ThreadlineConfig } from '@threadline/session-core';
import { connectService, serviceClock } from './connection.js';
import { type Log, logEvery } from './log.js';
import type { MetricSample } from './metrics.js';
import { type OpsServer, type ServicePhase, serviceReadiness, startServiceOps } from './opsServer.js';
import { type NatsAuthSettings, natsCredentialsOf } from './settings.js';

export const STATUS_INTERVAL_MS = 30_000;

export interface ServiceOptions<T extends { stop(): Promise<void> }> {
  /** `worker`, `projector`, `scheduler`: the log lines' and metrics' name. */
  service: string;
  instanceId: string;
  /** The id's field in the started/stopped lines: `workerId`, `projectorId`, … */
  idField: string;
  /** The service's settings; the NATS credentials ones (`natsUser`, …) are absent without authorization. */
  settings: NatsAuthSettings & {
    natsUrl: string;
    partitions: number;
    replicas: number;
    metricsPort: number;
    metricsHost: string;
  };
  log: Log;
  /**
   * The validated config whose clock the service runs on (the shared test clock in test mode); without
   * one, the system clock.
   */
  clockFrom?: ThreadlineConfig;
  start: (env: { nc: NatsConnection; clock: Clock }) => Promise<T>;
  /** The service's metrics, from its work (undefined until started). */
  metrics: (work: T | undefined) => MetricSample[];
  /** The fields of the periodic `"<service> status"` line; none when absent. */
  status?: (work: T) => Record<string, unknown>;
  statusIntervalMs?: number;
}

export interface RunningService<T> {
  readonly work: T;
  /** The ops HTTP server (`/metrics`, `/healthz`, `/readyz`); absent when `THREADLINE_METRICS_PORT` is 0. */
  readonly ops: OpsServer | undefined;
  stop(): Promise<void>;
}

export async function runService<T extends { stop(): Promise<void> }>(
  options: ServiceOptions<T>,
): Promise<RunningService<T>> {
  const { service, instanceId, settings, log } = options;
  let phase: ServicePhase = 'starting';
  let nc: NatsConnection | undefined;
  let work: T | undefined;
  let ops: OpsServer | undefined;
  let stopClock: () => Promise<void> = async () => {};
  const undo: (() => Promise<unknown>)[] = [];
  try {
    ops = await startServiceOps(
      settings,
      { service, instanceId },
      {
        metrics: () => options.metrics(work),
        ready: () => serviceReadiness(phase, nc),
      },
    );
    const server = ops;
    if (server) undo.push(() => server.stop());
    const connection = await connectService({
      natsUrl: settings.natsUrl,
      service,
      instanceId,
      credentials: natsCredentialsOf(settings),
    });
    nc = connection;
    undo.push(() => connection.close());
    let clock: Clock = new SystemClock();
    if (options.clockFrom) {
      const time = await serviceClock(connection, options.clockFrom, settings.replicas);
      clock = time.clock;
      stopClock = time.stop;
      undo.push(() => time.stop());
    }
    work = await options.start({ nc: connection, clock });
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => {});
    throw error;
  }
  const started = work;
  const connection = nc;
  const server = ops;
  phase = 'running';
  const id = { [options.idField]: instanceId };
  log({
    msg: `${service} started`,
    ...id,
    partitions: settings.partitions,
    ...(server ? { metrics: `${server.url}/metrics` } : {}),
  });
  const status = options.status;
  const stopStatus = status
    ? logEvery(log, options.statusIntervalMs ?? STATUS_INTERVAL_MS, () => ({
        msg: `${service} status`,
        ...status(started),
      }))
    : () => {};
  return {
    work: started,
    ops: server,
    async stop() {
      phase = 'stopping';
      stopStatus();
      await started.stop();
      await stopClock();
      await connection.drain();
      await server?.stop();
      log({ msg: `${service} stopped`, ...id });
    },
  };
}
