/**
 * The scheduler's settings, from the environment: only the ones every service shares (see
 * `@threadline/service-runtime`), its id in `THREADLINE_SCHEDULER_ID`. All problems are reported at once.
 */
import {
  COMMON_DEFAULTS,
  type NatsAuthSettings,
  type ObservabilitySettings,
  readCommonSettings,
  SettingsReader,
} from '@threadline/service-runtime';

export { SettingsError } from '@threadline/service-runtime';

/** The scheduler's settings; the observability ones (log level, ops server) are shared by every service. */
export interface SchedulerSettings extends ObservabilitySettings, NatsAuthSettings {
  natsUrl: string;
  /** Path of the Threadline config file (JSON5); absent = the defaults. */
  configPath?: string;
  /** Unique among running scheduler replicas. */
  schedulerId: string;
  /** The session stream's partition count, as the workers have it. */
  partitions: number;
  replicas: number;
  /** How long a dead leader's lease waits before a standby takes over. */
  leaseTtlMs: number;
}

export const SETTINGS_DEFAULTS = COMMON_DEFAULTS;

export function readSettings(env: Record<string, string | undefined>, pid = process.pid): SchedulerSettings {
  const reader = new SettingsReader(env);
  const { instanceId, ...common } = readCommonSettings(reader, {
    idVariable: 'THREADLINE_SCHEDULER_ID',
    pid,
  });
  reader.done('scheduler');
  return { ...common, schedulerId: instanceId };
}
