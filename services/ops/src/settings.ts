/**
 * The ops service's settings, from the environment: only the ones every service shares (see
 * `@threadline/service-runtime`), its id in `THREADLINE_OPS_ID`. All problems are reported at once.
 */
import {
  COMMON_DEFAULTS,
  type NatsAuthSettings,
  type ObservabilitySettings,
  readCommonSettings,
  SettingsReader,
} from '@threadline/service-runtime';

export { SettingsError } from '@threadline/service-runtime';

/** The ops service's settings; the observability ones (log level, ops server) are shared by every service. */
export interface OpsSettings extends ObservabilitySettings, NatsAuthSettings {
  natsUrl: string;
  /** Path of the Threadline config file (JSON5); absent = the defaults. Only its clock is used. */
  configPath?: string;
  /** Unique among running replicas (`metadata.instance` in `$SRV.INFO`). */
  opsId: string;
  /** The partition count, as the workers have it (logged; the answers read it from the streams). */
  partitions: number;
  replicas: number;
  leaseTtlMs: number;
}

export const SETTINGS_DEFAULTS = COMMON_DEFAULTS;

export function readSettings(env: Record<string, string | undefined>, pid = process.pid): OpsSettings {
  const reader = new SettingsReader(env);
  const { instanceId, ...common } = readCommonSettings(reader, { idVariable: 'THREADLINE_OPS_ID', pid });
  reader.done('ops');
  return { ...common, opsId: instanceId };
}
