/**
 * The worker's settings, from the environment. Every problem names the variable and what is wrong, and
 * all problems are reported at once.
 */
import { hostname } from 'node:os';

export interface WorkerSettings {
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

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(readonly problems: string[]) {
    super(`invalid worker settings:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

export const SETTINGS_DEFAULTS = {
  natsUrl: 'nats://127.0.0.1:4222',
  partitions: 16,
  replicas: 1,
  maxResident: 10_000,
  maxInboundBytes: 256 * 1024,
  leaseTtlMs: 10_000,
} as const;

export function readSettings(env: Record<string, string | undefined>, pid = process.pid): WorkerSettings {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const settings: WorkerSettings = {
    natsUrl: env.THREADLINE_NATS_URL || SETTINGS_DEFAULTS.natsUrl,
    workerId: env.THREADLINE_WORKER_ID || `${hostname()}-${pid}`,
    partitions: int('THREADLINE_PARTITIONS', SETTINGS_DEFAULTS.partitions, 1, 1024),
    replicas: int('THREADLINE_REPLICAS', SETTINGS_DEFAULTS.replicas, 1, 5),
    maxResident: int('THREADLINE_MAX_RESIDENT', SETTINGS_DEFAULTS.maxResident, 1, 10_000_000),
    maxInboundBytes: int('THREADLINE_MAX_INBOUND_BYTES', SETTINGS_DEFAULTS.maxInboundBytes, 1, 1024 * 1024),
    leaseTtlMs: int('THREADLINE_LEASE_TTL_MS', SETTINGS_DEFAULTS.leaseTtlMs, 500, 600_000),
  };
  if (env.THREADLINE_CONFIG) settings.configPath = env.THREADLINE_CONFIG;
  // The id is a KV key in the worker registry: letters, digits, `-`, `_`, `=`, and inner dots.
  if (!/^[A-Za-z0-9_=-]([A-Za-z0-9_=.-]{0,126}[A-Za-z0-9_=-])?$/.test(settings.workerId))
    problems.push(
      `THREADLINE_WORKER_ID=${JSON.stringify(settings.workerId)}: 1-128 letters, digits, '-', '_', '=' or inner '.'`,
    );
  const fault = env.THREADLINE_FAULT;
  if (fault) {
    const match = /^kill-after-append=(\d+)$/.exec(fault);
    if (match) settings.killAfterAppend = Number(match[1]);
    else problems.push(`THREADLINE_FAULT=${JSON.stringify(fault)}: the only fault is kill-after-append=<n>`);
  }
  if (problems.length) throw new SettingsError(problems);
  return settings;
}
