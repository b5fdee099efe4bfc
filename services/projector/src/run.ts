/**
 * Composition root of the projector process: settings → config → NATS connection → projector replica.
 * The projector reads no clock. Logs are JSON lines on stdout: each replica event, problems and errors,
 * and the status every 30 s.
 */
import { type ProjectorReplica, startProjectorReplica } from '@threadline/projector';
import {
  connectService,
  errorFields,
  jsonLog,
  type Log,
  loadConfig,
  logEvery,
} from '@threadline/service-runtime';
import type { ProjectorSettings } from './settings.js';

export const STATUS_INTERVAL_MS = 30_000;

export interface RunningProjector {
  readonly replica: ProjectorReplica;
  stop(): Promise<void>;
}

export async function runProjector(
  settings: ProjectorSettings,
  log: Log = jsonLog,
  options: { statusIntervalMs?: number } = {},
): Promise<RunningProjector> {
  // Not used by the projector itself, but an invalid config file is refused by every service alike.
  await loadConfig(settings.configPath);
  const nc = await connectService({
    natsUrl: settings.natsUrl,
    service: 'projector',
    instanceId: settings.projectorId,
  });
  const replica = await startProjectorReplica({
    nc,
    replicaId: settings.projectorId,
    partitions: settings.partitions,
    replicas: settings.replicas,
    leaseTtlMs: settings.leaseTtlMs,
    onEvent: (event) => log({ msg: event.type, ...event }),
    onProblem: (problem) => log({ msg: 'projection problem', ...problem }),
    onError: (error, where) => log({ msg: 'projector error', where, ...errorFields(error) }),
  }).catch(async (error: unknown) => {
    await nc.close();
    throw error;
  });
  log({ msg: 'projector started', projectorId: settings.projectorId, partitions: settings.partitions });
  const stopStatus = logEvery(log, options.statusIntervalMs ?? STATUS_INTERVAL_MS, () => {
    const status = replica.status();
    return { msg: 'projector status', projectorId: settings.projectorId, projecting: !!status, ...status };
  });
  return {
    replica,
    async stop() {
      stopStatus();
      await replica.stop();
      await nc.drain();
      log({ msg: 'projector stopped', projectorId: settings.projectorId });
    },
  };
}
