/**
 * Composition root of the projector process: settings → config → (the service runtime: ops server, NATS
 * connection) → projector replica. The projector reads no clock. Logs are JSON lines on stdout (pino):
 * each replica event, problems and errors, and the status every 30 s. With `THREADLINE_METRICS_PORT` set,
 * an HTTP server answers `/metrics` (see metrics.ts), `/healthz` and `/readyz` (ready once started, while
 * the NATS connection is open; a standby replica is ready too).
 */
import { type ProjectorReplica, startProjectorReplica } from '@threadline/projector';
import {
  type Log,
  loadConfig,
  type OpsServer,
  runService,
  STATUS_INTERVAL_MS,
  serviceLog,
} from '@threadline/service-runtime';
import { projectorMetrics } from './metrics.js';
import type { ProjectorSettings } from './settings.js';

export { STATUS_INTERVAL_MS };

export interface RunningProjector {
  readonly replica: ProjectorReplica;
  /** The ops HTTP server (`/metrics`, `/healthz`, `/readyz`); absent when `THREADLINE_METRICS_PORT` is 0. */
  readonly ops: OpsServer | undefined;
  stop(): Promise<void>;
}

export async function runProjector(
  settings: ProjectorSettings,
  log: Log = serviceLog({ service: 'projector', instanceId: settings.projectorId, level: settings.logLevel }),
  options: { statusIntervalMs?: number } = {},
): Promise<RunningProjector> {
  // Only its `retention` is used (the streams' limits, as every service provisions them); an invalid
  // config file is refused by every service alike.
  const config = await loadConfig(settings.configPath);
  const running = await runService({
    service: 'projector',
    instanceId: settings.projectorId,
    idField: 'projectorId',
    settings,
    log,
    start: ({ nc }) =>
      startProjectorReplica({
        nc,
        replicaId: settings.projectorId,
        partitions: settings.partitions,
        replicas: settings.replicas,
        retention: config.retention,
        leaseTtlMs: settings.leaseTtlMs,
        onEvent: (event) => log({ msg: event.type, ...event }),
        onProblem: (problem) => log({ msg: 'projection problem', level: 'warn', ...problem }),
        onError: (error, where) => log({ msg: 'projector error', level: 'error', where, err: error }),
      }),
    metrics: (replica) => projectorMetrics(replica?.status()),
    status: (replica) => {
      const status = replica.status();
      return { projectorId: settings.projectorId, projecting: !!status, ...status };
    },
    ...(options.statusIntervalMs === undefined ? {} : { statusIntervalMs: options.statusIntervalMs }),
  });
  return { replica: running.work, ops: running.ops, stop: running.stop };
}
