/**
 * Composition root of the projector process: settings → config → ops server → NATS connection → projector
 * replica. The projector reads no clock. Logs are JSON lines on stdout (pino): each replica event,
 * problems and errors, and the status every 30 s. With `THREADLINE_METRICS_PORT` set, an HTTP server
 * answers `/metrics` (see metrics.ts), `/healthz` and `/readyz` (ready once started, while the NATS
 * connection is open; a standby replica is ready too).
 */
import { type ProjectorReplica, startProjectorReplica } from '@threadline/projector';
import {
  connectService,
  type Log,
  loadConfig,
  logEvery,
  type OpsServer,
  type ServicePhase,
  serviceLog,
  serviceReadiness,
  startServiceOps,
} from '@threadline/service-runtime';
import { projectorMetrics } from './metrics.js';
import type { ProjectorSettings } from './settings.js';

export const STATUS_INTERVAL_MS = 30_000;

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
  // Not used by the projector itself, but an invalid config file is refused by every service alike.
  await loadConfig(settings.configPath);
  let phase: ServicePhase = 'starting';
  let nc: Awaited<ReturnType<typeof connectService>> | undefined;
  let replica: ProjectorReplica | undefined;
  let ops: OpsServer | undefined;
  const undo: (() => Promise<unknown>)[] = [];
  try {
    const server = await startServiceOps(
      settings,
      { service: 'projector', instanceId: settings.projectorId },
      {
        metrics: () => projectorMetrics(replica?.status()),
        ready: () => serviceReadiness(phase, nc),
      },
    );
    ops = server;
    if (server) undo.push(() => server.stop());
    const connection = await connectService({
      natsUrl: settings.natsUrl,
      service: 'projector',
      instanceId: settings.projectorId,
    });
    nc = connection;
    undo.push(() => connection.close());
    replica = await startProjectorReplica({
      nc: connection,
      replicaId: settings.projectorId,
      partitions: settings.partitions,
      replicas: settings.replicas,
      leaseTtlMs: settings.leaseTtlMs,
      onEvent: (event) => log({ msg: event.type, ...event }),
      onProblem: (problem) => log({ msg: 'projection problem', level: 'warn', ...problem }),
      onError: (error, where) => log({ msg: 'projector error', level: 'error', where, err: error }),
    });
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => {});
    throw error;
  }
  const started = replica;
  const connection = nc;
  phase = 'running';
  log({
    msg: 'projector started',
    projectorId: settings.projectorId,
    partitions: settings.partitions,
    ...(ops ? { metrics: `${ops.url}/metrics` } : {}),
  });
  const stopStatus = logEvery(log, options.statusIntervalMs ?? STATUS_INTERVAL_MS, () => {
    const status = started.status();
    return { msg: 'projector status', projectorId: settings.projectorId, projecting: !!status, ...status };
  });
  return {
    replica: started,
    ops,
    async stop() {
      phase = 'stopping';
      stopStatus();
      await started.stop();
      await connection.drain();
      await ops?.stop();
      log({ msg: 'projector stopped', projectorId: settings.projectorId });
    },
  };
}
