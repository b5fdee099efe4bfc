/**
 * The worker's settings, from the environment: the ones every service shares (see
 * `@threadline/service-runtime`) and the worker's own. Every problem names the variable and what is wrong,
 * and all problems are reported at once.
 */
import {
  COMMON_DEFAULTS,
  type NatsAuthSettings,
  type ObservabilitySettings,
  readCommonSettings,
  SettingsError,
  SettingsReader,
} from '@threadline/service-runtime';

export { SettingsError };

/** The worker's settings; the observability ones (log level, ops server) are shared by every service. */
export interface WorkerSettings extends ObservabilitySettings, NatsAuthSettings {
  natsUrl: string;
  /** Path of the Threadline config file (JSON5); absent = the defaults. */
  configPath?: string;
  workerId: string;
  partitions: number;
  replicas: number;
  maxResident: number;
  maxInboundBytes: number;
  leaseTtlMs: number;
  /** Test-only fault injection: exit with SIGKILL right after the n-th append, before its checkpoint. */
  killAfterAppend?: number;
}

export const SETTINGS_DEFAULTS = {
  ...COMMON_DEFAULTS,
  maxResident: 10_000,
  maxInboundBytes: 256 * 1024,
} as const;

export function readSettings(env: Record<string, string | undefined>, pid = process.pid): WorkerSettings {
  const reader = new SettingsReader(env);
  const { instanceId, ...common } = readCommonSettings(reader, { idVariable: 'THREADLINE_WORKER_ID', pid });
  const settings: WorkerSettings = {
    ...common,
    workerId: instanceId,
    maxResident: reader.int('THREADLINE_MAX_RESIDENT', SETTINGS_DEFAULTS.maxResident, 1, 10_000_000),
    maxInboundBytes: reader.int(
      'THREADLINE_MAX_INBOUND_BYTES',
      SETTINGS_DEFAULTS.maxInboundBytes,
      1,
      1024 * 1024,
    ),
  };
  const fault = reader.string('THREADLINE_FAULT');
  if (fault !== undefined) {
    const match = /^kill-after-append=(\d+)$/.exec(fault);
    if (match) settings.killAfterAppend = Number(match[1]);
    else reader.problem(`THREADLINE_FAULT=${JSON.stringify(fault)}: the only fault is kill-after-append=<n>`);
  }
  reader.done('worker');
  return settings;
}
