/**
 * Settings from the environment, shared by every service process. Every problem names the variable and
 * what is wrong with it, and all problems are reported at once ({@link SettingsError}), so an operator
 * fixes a bad environment in one round.
 */
import { hostname } from 'node:os';
import { type NatsCredentials, natsServerList, readCredentials, redactCredentials } from '@threadline/nats';

export type Environment = Record<string, string | undefined>;

/** The log level names `THREADLINE_LOG_LEVEL` accepts, least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How a service process is observed: its log level and its ops HTTP server (metrics, health, readiness). */
export interface ObservabilitySettings {
  /** The least severe level logged (`THREADLINE_LOG_LEVEL`). */
  logLevel: LogLevel;
  /** Port of the ops HTTP server (`/metrics`, `/healthz`, `/readyz`); 0 = no server. */
  metricsPort: number;
  /** Address the ops HTTP server listens on. */
  metricsHost: string;
}

/**
 * Who a service is to NATS and whom it trusts. Each field is absent when its variable is unset: no
 * credentials (a server without authorization), no TLS unless the server asks for it.
 */
export interface NatsAuthSettings {
  /** The NATS user (`THREADLINE_NATS_USER`); its role's permissions apply (ADR 0022). */
  natsUser?: string;
  /**
   * Its password: `THREADLINE_NATS_PASSWORD`, or the first line of the file `THREADLINE_NATS_PASSWORD_FILE`
   * names (a mounted secret). Never logged, never echoed in a settings problem.
   */
  natsPassword?: string;
  /** A CA certificate file (PEM) to trust (`THREADLINE_NATS_TLS_CA`): the connection then requires TLS. */
  natsTlsCa?: string;
}

/**
 * What every service reads: where NATS is and who it is there, the config file, its own id, the
 * partition layout, and how it is observed.
 */
export interface CommonSettings extends ObservabilitySettings, NatsAuthSettings {
  /**
   * The NATS server, or several of one cluster separated by commas (`THREADLINE_NATS_URL`, as given; a
   * client fails over between them): {@link natsServerList} splits it.
   */
  natsUrl: string;
  /** Path of the Threadline config file (JSON5); absent = the defaults. */
  configPath?: string;
  /** This process's id among the running instances of its service (`<host>-<pid>` by default). */
  instanceId: string;
  partitions: number;
  replicas: number;
  leaseTtlMs: number;
}

export const COMMON_DEFAULTS = {
  natsUrl: 'nats://127.0.0.1:4222',
  partitions: 16,
  replicas: 1,
  leaseTtlMs: 10_000,
  logLevel: 'info',
  metricsPort: 0,
  metricsHost: '127.0.0.1',
} as const;

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(
    readonly problems: string[],
    /** Whose settings, for the message (`worker`, `projector`, …). */
    readonly service = 'service',
  ) {
    super(`invalid ${service} settings:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/**
 * Reads variables one by one and collects what is wrong instead of throwing at the first problem; call
 * {@link SettingsReader.done} once everything is read.
 */
export class SettingsReader {
  readonly problems: string[] = [];

  constructor(readonly env: Environment) {}

  /** The variable's value; unset and empty are the same: absent. */
  string(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw === '' ? undefined : raw;
  }

  /** An integer from `min` to `max`; `fallback` when absent, and also (with a problem noted) when invalid. */
  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problem(`${name}=${JSON.stringify(raw)}: must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  /** One of `allowed` (exactly as written); `fallback` when absent, and also (with a problem noted) when not. */
  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problem(`${name}=${JSON.stringify(raw)}: must be one of ${allowed.join(', ')}`);
    return fallback;
  }

  problem(text: string): void {
    this.problems.push(text);
  }

  /** Throws one {@link SettingsError} listing every problem noted, if any. */
  done(service?: string): void {
    if (this.problems.length) throw new SettingsError([...this.problems], service);
  }
}

/**
 * One server as the NATS client takes it: `nats://` or `tls://` (or no scheme), optional `user:pass@`,
 * a host name, an IPv4 address or a bracketed IPv6 address, and an optional port; a trailing `/`.
 */
const NATS_SERVER =
  /^(?:(?:nats|tls):\/\/(?:[^@/\s]+@)?)?(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?\/?$/i;

/** What is wrong with one entry of a NATS URL list, or undefined when the client can take it. */
export function natsServerProblem(entry: string): string | undefined {
  const match = NATS_SERVER.exec(entry);
  if (match === null) {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(entry)?.[1];
    return scheme !== undefined && !['nats', 'tls'].includes(scheme.toLowerCase())
      ? `${JSON.stringify(entry)} has the scheme ${scheme}://; use nats:// or tls://`
      : `${JSON.stringify(entry)} is not a NATS URL (nats://host:port) or host:port`;
  }
  const port = match[1] === undefined ? undefined : Number(match[1]);
  if (port !== undefined && (port < 1 || port > 65_535))
    return `${JSON.stringify(entry)}: the port must be from 1 to 65535`;
  return undefined;
}

/**
 * The problems of a NATS URL list (`nats://a:4222,nats://b:4222`), each naming `name`, the variable or
 * option it came from; none when every entry is a server the client can take.
 */
export function natsUrlProblems(name: string, value: string): string[] {
  const servers = natsServerList(value);
  // A URL may carry `user:password@`: never echoed.
  const shown = JSON.stringify(redactCredentials(value));
  if (servers.length === 0)
    return [`${name}=${shown}: names no server (nats://host:port, several separated by commas)`];
  return servers.flatMap((entry) => {
    const problem = natsServerProblem(entry);
    return problem === undefined ? [] : [`${name}=${shown}: ${redactCredentials(problem)}`];
  });
}

/** An instance id is a KV key (registries, leases): letters, digits, `-`, `_`, `=`, and inner dots. */
const INSTANCE_ID = /^[A-Za-z0-9_=-]([A-Za-z0-9_=.-]{0,126}[A-Za-z0-9_=-])?$/;

export interface CommonSettingsOptions {
  /** The variable holding this service's instance id, e.g. `THREADLINE_WORKER_ID`. */
  idVariable: string;
  /** For the default id `<host>-<pid>`. */
  pid?: number;
  host?: string;
}

/**
 * The NATS credentials variables, as a service and the CLI read them: `THREADLINE_NATS_USER` with
 * `THREADLINE_NATS_PASSWORD` or `THREADLINE_NATS_PASSWORD_FILE` (exactly one of the two), and
 * `THREADLINE_NATS_TLS_CA`. Problems go to `reader`, naming the variables and never a password: a user
 * without a password or the reverse, both password variables, a password file or CA file that cannot be
 * read, a user name that is not one subject token.
 */
export function readNatsAuthSettings(reader: SettingsReader): NatsAuthSettings {
  const { credentials, problems } = readCredentials({
    user: reader.string('THREADLINE_NATS_USER'),
    password: reader.string('THREADLINE_NATS_PASSWORD'),
    passwordFile: reader.string('THREADLINE_NATS_PASSWORD_FILE'),
    tlsCa: reader.string('THREADLINE_NATS_TLS_CA'),
  });
  for (const problem of problems) reader.problem(problem);
  return {
    ...(credentials.user === undefined ? {} : { natsUser: credentials.user }),
    ...(credentials.password === undefined ? {} : { natsPassword: credentials.password }),
    ...(credentials.tlsCaFile === undefined ? {} : { natsTlsCa: credentials.tlsCaFile }),
  };
}

/** The connection credentials of a service's settings, for `connectService`. */
export function natsCredentialsOf(settings: NatsAuthSettings): NatsCredentials {
  return {
    ...(settings.natsUser === undefined ? {} : { user: settings.natsUser }),
    ...(settings.natsPassword === undefined ? {} : { password: settings.natsPassword }),
    ...(settings.natsTlsCa === undefined ? {} : { tlsCaFile: settings.natsTlsCa }),
  };
}

/**
 * The variables every service shares: `THREADLINE_NATS_URL` (one server or a comma-separated list of
 * a cluster's, each checked), the credentials ({@link readNatsAuthSettings}), `THREADLINE_CONFIG`, `THREADLINE_PARTITIONS`,
 * `THREADLINE_REPLICAS`, `THREADLINE_LEASE_TTL_MS`, the service's own id variable, and the observability
 * ones — `THREADLINE_LOG_LEVEL` (debug, info, warn or error), `THREADLINE_METRICS_PORT` (the ops HTTP
 * server's port, 0 = none) and `THREADLINE_METRICS_HOST`. Problems go to `reader`; the caller reads its
 * own variables next and then calls `reader.done()`.
 */
export function readCommonSettings(reader: SettingsReader, options: CommonSettingsOptions): CommonSettings {
  const settings: CommonSettings = {
    natsUrl: reader.string('THREADLINE_NATS_URL') ?? COMMON_DEFAULTS.natsUrl,
    instanceId:
      reader.string(options.idVariable) ?? `${options.host ?? hostname()}-${options.pid ?? process.pid}`,
    partitions: reader.int('THREADLINE_PARTITIONS', COMMON_DEFAULTS.partitions, 1, 1024),
    replicas: reader.int('THREADLINE_REPLICAS', COMMON_DEFAULTS.replicas, 1, 5),
    leaseTtlMs: reader.int('THREADLINE_LEASE_TTL_MS', COMMON_DEFAULTS.leaseTtlMs, 500, 600_000),
    logLevel: reader.oneOf<LogLevel>('THREADLINE_LOG_LEVEL', COMMON_DEFAULTS.logLevel, LOG_LEVELS),
    metricsPort: reader.int('THREADLINE_METRICS_PORT', COMMON_DEFAULTS.metricsPort, 0, 65_535),
    metricsHost: reader.string('THREADLINE_METRICS_HOST') ?? COMMON_DEFAULTS.metricsHost,
  };
  for (const problem of natsUrlProblems('THREADLINE_NATS_URL', settings.natsUrl)) reader.problem(problem);
  Object.assign(settings, readNatsAuthSettings(reader));
  const configPath = reader.string('THREADLINE_CONFIG');
  if (configPath !== undefined) settings.configPath = configPath;
  if (!INSTANCE_ID.test(settings.instanceId))
    reader.problem(
      `${options.idVariable}=${JSON.stringify(settings.instanceId)}: 1-128 letters, digits, '-', '_', '=' or inner '.'`,
    );
  return settings;
}
