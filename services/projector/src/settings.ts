/**
 * The projector's settings, from the environment: only the ones every service shares (see
 * `@threadline/service-runtime`), its id in `THREADLINE_PROJECTOR_ID`. All problems are reported at once.
 */
import {
  COMMON_DEFAULTS,
  type NatsAuthSettings,
  type ObservabilitySettings,
  readCommonSettings,
  SettingsReader,
} from '@threadline/service-runtime';

export { SettingsError } from '@threadline/service-runtime';

/** The projector's settings; the observability ones (log level, ops server) are shared by every service. */
export interface ProjectorSettings extends ObservabilitySettings, NatsAuthSettings {
  natsUrl: string;
  /** Path of the Threadline config file (JSON5); absent = the defaults. */
  configPath?: string;
  /** Unique among running projector replicas. */
  projectorId: string;
  /** The session stream's partition count, as the workers have it. */
  partitions: number;
  replicas: number;
  /** How long a dead projector's lease waits before a standby takes over. */
  leaseTtlMs: number;
}

export const SETTINGS_DEFAULTS = COMMON_DEFAULTS;

export function readSettings(env: Record<string, string | undefined>, pid = process.pid): ProjectorSettings {
  const reader = new SettingsReader(env);
  const { instanceId, ...common } = readCommonSettings(reader, {
    idVariable: 'THREADLINE_PROJECTOR_ID',
    pid,
  });
  reader.done('projector');
  return { ...common, projectorId: instanceId };
}
