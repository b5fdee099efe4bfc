/**
 * The local stack's and the local cluster's settings from the environment (`npm start`, `npm run
 * cluster`). Every problem names the variable and what it accepts, and all are reported at once.
 */
import type { LocalClusterOptions } from './localCluster.js';
import type { LocalStackOptions } from './localStack.js';

export type Environment = Record<string, string | undefined>;

export class DevstackSettingsError extends Error {
  override readonly name = 'DevstackSettingsError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/** Where `npm start` keeps its data by default (git-ignored). */
export const DEFAULT_DATA_DIR = '.threadline';
/** Where `npm run cluster` keeps its data by default: beside the single stack's, never mixed with it. */
export const DEFAULT_CLUSTER_DATA_DIR = '.threadline/cluster';
/** The cluster's service counts by default. */
export const DEFAULT_CLUSTER_WORKERS = 2;
export const DEFAULT_CLUSTER_SCHEDULERS = 2;
/** The most processes of one service the local commands start. */
export const MAX_SERVICE_PROCESSES = 64;

class Reader {
  readonly problems: string[] = [];
  constructor(readonly env: Environment) {}

  string(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw === '' ? undefined : raw;
  }

  int(name: string, fallback: number, min: number, max: number, what: string): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\s*\d+\s*$/.test(raw) || !Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name}: expected ${what}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  }

  done(): void {
    if (this.problems.length > 0) throw new DevstackSettingsError(this.problems);
  }
}

/**
 * `npm start`'s settings: `THREADLINE_DATA_DIR` (default `.threadline`), `THREADLINE_NATS_PORT` (default
 * 4222) and `THREADLINE_HTTP_PORT` (default 8222), 0 picking a free port. Throws
 * {@link DevstackSettingsError} listing every problem.
 */
export function readLocalStackEnv(env: Environment): LocalStackOptions {
  const reader = new Reader(env);
  const port = 'a port number from 0 to 65535';
  const options = {
    dataDir: reader.string('THREADLINE_DATA_DIR') ?? DEFAULT_DATA_DIR,
    natsPort: reader.int('THREADLINE_NATS_PORT', 4222, 0, 65_535, port),
    httpPort: reader.int('THREADLINE_HTTP_PORT', 8222, 0, 65_535, port),
  };
  reader.done();
  return options;
}

/**
 * `npm run cluster`'s settings: `THREADLINE_DATA_DIR` (default `.threadline/cluster`),
 * `THREADLINE_NATS_PORT` (the first node's client port, default 4222; the others take the next two) and
 * `THREADLINE_HTTP_PORT` (monitoring, default 8222, 8223, 8224), 0 picking free ports;
 * `THREADLINE_WORKERS` (default 2) and `THREADLINE_SCHEDULERS` (default 2), each an integer from 1 to 64.
 * Throws {@link DevstackSettingsError} listing every problem.
 */
export function readLocalClusterEnv(env: Environment): LocalClusterOptions {
  const reader = new Reader(env);
  const ports = '0 (free ports) or a port number from 1 to 65533 (the nodes take it and the next two)';
  const count = `an integer from 1 to ${MAX_SERVICE_PROCESSES}`;
  const options = {
    dataDir: reader.string('THREADLINE_DATA_DIR') ?? DEFAULT_CLUSTER_DATA_DIR,
    natsPort: reader.int('THREADLINE_NATS_PORT', 4222, 0, 65_533, ports),
    httpPort: reader.int('THREADLINE_HTTP_PORT', 8222, 0, 65_533, ports),
    workers: reader.int('THREADLINE_WORKERS', DEFAULT_CLUSTER_WORKERS, 1, MAX_SERVICE_PROCESSES, count),
    schedulers: reader.int(
      'THREADLINE_SCHEDULERS',
      DEFAULT_CLUSTER_SCHEDULERS,
      1,
      MAX_SERVICE_PROCESSES,
      count,
    ),
  };
  reader.done();
  return options;
}
