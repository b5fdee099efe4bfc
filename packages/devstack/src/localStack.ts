import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectToNats, type Identity, ROLES, type Role, renderAuthorization } from '@threadline/nats';
import { freePorts, type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import {
  type ConnectOptions,
  describeIdentities,
  type LocalIdentities,
  localIdentities,
  withoutIdentity,
  writeCredentialFiles,
} from './identities.js';

export interface LocalStackOptions {
  /** Where the stack keeps its data (JetStream store) and logs. */
  readonly dataDir: string;
  /** NATS client port; 0 lets the server choose a free one. */
  readonly natsPort: number;
  /** NATS monitoring port; 0 lets the server choose a free one. */
  readonly httpPort: number;
  readonly host?: string;
  /**
   * How many session worker processes to run (default 1). The services need their builds
   * (`services/<name>/dist`); `npm start` builds them. 0 workers, projectors, schedulers and ops
   * replicas run the event-log server alone.
   */
  readonly workers?: number;
  /** How many projector replicas to run (default 1; one projects, the others stand by). */
  readonly projectors?: number;
  /** How many scheduler replicas to run (default 1; one leads, the others stand by). */
  readonly schedulers?: number;
  /** How many ops service replicas to run (default 1; they share the requests, a queue group). */
  readonly ops?: number;
  /** Extra environment for the services (e.g. `THREADLINE_CONFIG`). */
  readonly serviceEnv?: Record<string, string>;
}

export interface LocalStack {
  readonly nats: RunningNatsServer;
  readonly dataDir: string;
  readonly logDir: string;
  /**
   * The NATS users, one per role, with this start's passwords: the server allows each only its role's
   * subjects, and every service connects as its own (ADR 0022).
   */
  readonly identities: readonly Identity[];
  /** `<dataDir>/credentials/<role>.env` (mode 0600): the server, user and password of each role. */
  readonly credentialFiles: Readonly<Record<Role, string>>;
  /** The NATS client's options to connect as `role` (default admin, which may do everything). */
  connectOptions(role?: Role): ConnectOptions;
  /** Pids of the running worker processes. */
  readonly workerPids: readonly number[];
  /** Pids of the running projector processes. */
  readonly projectorPids: readonly number[];
  /** Pids of the running scheduler processes. */
  readonly schedulerPids: readonly number[];
  /** Pids of the running ops service processes. */
  readonly opsPids: readonly number[];
  /** The running services (each with its log file and metrics endpoint). */
  readonly services: readonly RunningService[];
  /** What runs, one line each, for the banner. */
  describe(): string[];
  stop(): Promise<void>;
}

/** A service of the stack: where its entry point is, its id variable, and how the banner names it. */
export interface ServiceKind {
  /** `worker`, `projector`, …: instance names are `<kind>-<n>`; ready when it logs `"<kind> started"`. */
  readonly kind: string;
  /** Its built entry point (`services/<name>/dist/main.js`). */
  readonly main: string;
  /** The variable that holds its instance id. */
  readonly idVariable: string;
  /** How the banner names it (`Session worker`). */
  readonly label: string;
}

/** A service's entry point, from this file's place in the repository (src/ or dist/ alike). */
const serviceMain = (folder: string) =>
  fileURLToPath(new URL(`../../../services/${folder}/dist/main.js`, import.meta.url));

export const SERVICES = {
  worker: {
    kind: 'worker',
    main: serviceMain('worker'),
    idVariable: 'THREADLINE_WORKER_ID',
    label: 'Session worker',
  },
  projector: {
    kind: 'projector',
    main: serviceMain('projector'),
    idVariable: 'THREADLINE_PROJECTOR_ID',
    label: 'Projector',
  },
  scheduler: {
    kind: 'scheduler',
    main: serviceMain('scheduler'),
    idVariable: 'THREADLINE_SCHEDULER_ID',
    label: 'Scheduler',
  },
  ops: {
    kind: 'ops',
    main: serviceMain('ops'),
    idVariable: 'THREADLINE_OPS_ID',
    label: 'Ops service',
  },
} as const satisfies Record<string, ServiceKind>;

const SERVICE_START_TIMEOUT_MS = 30_000;
/** Where the services' ops servers listen: loopback only. */
const METRICS_HOST = '127.0.0.1';
const SERVICE_STOP_TIMEOUT_MS = 15_000;

export interface RunningService {
  readonly service: ServiceKind;
  /** `<kind>-<n>`. */
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  /**
   * Its Prometheus endpoint (`http://<host>:<port>/metrics`; `/healthz` and `/readyz` beside it), when its
   * environment gives it a `THREADLINE_METRICS_PORT`.
   */
  readonly metricsUrl?: string;
  stop(): Promise<void>;
}

/** The metrics endpoint a service's environment asks for, if any (port unset or 0: none). */
function metricsUrlOf(env: NodeJS.ProcessEnv): string | undefined {
  const port = Number(env.THREADLINE_METRICS_PORT ?? 0);
  if (!Number.isInteger(port) || port <= 0) return undefined;
  const host = env.THREADLINE_METRICS_HOST || '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
}

/** A running service's banner lines: what it is and where its log is, then its metrics endpoint. */
export function describeService(s: RunningService): string[] {
  return [
    `${s.service.label} ${s.name} (pid ${s.child.pid}), log ${s.logFile}`,
    ...(s.metricsUrl === undefined
      ? []
      : [`Metrics        ${s.metricsUrl}  (${s.name}; also /healthz, /readyz)`]),
  ];
}

function exitOf(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((done) => child.once('exit', () => done()));
}

/**
 * Starts one process of `service` (its `main` under this Node), its output appended to `logFile`; resolves
 * once it logs `{"msg":"<kind> started",…}`. Rejects — the process stopped — if it exits first or does not
 * get there within `startTimeoutMs`. `stop()` sends SIGTERM, and SIGKILL after 15 s.
 */
export async function startServiceProcess(
  service: ServiceKind,
  name: string,
  env: NodeJS.ProcessEnv,
  logFile: string,
  startTimeoutMs = SERVICE_START_TIMEOUT_MS,
  /** Node options before the entry point (e.g. `--cpu-prof`, which `NODE_OPTIONS` may not carry). */
  nodeArgs: readonly string[] = [],
): Promise<RunningService> {
  const readyLine = `"msg":${JSON.stringify(`${service.kind} started`)}`;
  if (!existsSync(service.main))
    throw new Error(`${name}: ${service.main} does not exist; build it first (npm start does)`);
  const child = spawn(process.execPath, [...nodeArgs, service.main], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  let seen = '';
  const ready = new Promise<void>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`${name} did not start within ${startTimeoutMs} ms; see ${logFile}`)),
      startTimeoutMs,
    );
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (seen.length < 65_536) seen += chunk.toString('utf8');
      if (seen.includes(readyLine)) {
        clearTimeout(timer);
        ok();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(new Error(`${name} could not be started: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited during start (${signal ?? `code ${code}`}):\n${seen.trim()}`));
    });
  });
  const metricsUrl = metricsUrlOf(env);
  const running: RunningService = {
    service,
    name,
    child,
    logFile,
    ...(metricsUrl === undefined ? {} : { metricsUrl }),
    async stop() {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), SERVICE_STOP_TIMEOUT_MS);
        await exitOf(child);
        clearTimeout(killer);
      }
      log.end();
    },
  };
  try {
    await ready;
  } catch (error) {
    await running.stop();
    throw error;
  }
  return running;
}

/**
 * The environment of a stack's service process: the caller's, less any NATS identity it holds, plus the
 * stack's extra variables, the service's own identity (its role's user) and the given settings.
 */
export function serviceEnvironment(
  identities: LocalIdentities,
  role: Role,
  extra: Record<string, string> | undefined,
  settings: Record<string, string>,
): NodeJS.ProcessEnv {
  return { ...withoutIdentity(process.env), ...extra, ...identities.env(role), ...settings };
}

/** One service process a stack is about to start: what it runs, its name, environment and log file. */
export interface PlannedService {
  readonly service: ServiceKind;
  /** `<kind>-<n>`. */
  readonly name: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logFile: string;
}

/**
 * The service processes of a stack, in start order: `count` of each kind, named `<kind>-<n>` with the
 * instance id `local-<name>`, each given its role's NATS identity ({@link serviceEnvironment}), the
 * stack's `settings` and a metrics port on loopback of its own — all reserved at once, so that no two are
 * the same and a restarted process gets its port again.
 */
export async function planServices(
  counts: readonly (readonly [ServiceKind, number])[],
  stack: {
    identities: LocalIdentities;
    serviceEnv: Record<string, string> | undefined;
    settings: Record<string, string>;
    logDir: string;
  },
): Promise<PlannedService[]> {
  const metricsPorts = await freePorts(
    counts.reduce((sum, [, count]) => sum + count, 0),
    METRICS_HOST,
  );
  const planned: PlannedService[] = [];
  for (const [service, count] of counts)
    for (let i = 1; i <= count; i++) {
      const name = `${service.kind}-${i}`;
      planned.push({
        service,
        name,
        env: serviceEnvironment(stack.identities, roleOf(service), stack.serviceEnv, {
          ...stack.settings,
          [service.idVariable]: `local-${name}`,
          THREADLINE_METRICS_HOST: METRICS_HOST,
          THREADLINE_METRICS_PORT: String(metricsPorts[planned.length]),
        }),
        logFile: join(stack.logDir, `${name}.log`),
      });
    }
  return planned;
}

/** A service's role: each service connects as the NATS user of its own name. */
export function roleOf(service: ServiceKind): Role {
  if (!(ROLES as readonly string[]).includes(service.kind))
    throw new RangeError(`no NATS role for the service kind ${service.kind}`);
  return service.kind as Role;
}

/**
 * Starts the whole system locally: the embedded nats-server (JetStream, file storage under
 * `<dataDir>/nats`) and Threadline's services as processes — the session workers, the projector, the
 * scheduler and the ops service (tl.ops.v1.* requests), each with its own ops HTTP server (`/metrics`,
 * `/healthz`, `/readyz`) on a free loopback port. The server knows one NATS user per role with a fresh
 * password (its config, with them, is `<dataDir>/nats-server.conf`, mode 0600), each service connects as
 * its own role, and `<dataDir>/credentials/<role>.env` says how others connect. Checks the server version
 * through the same connection path every component uses before starting the services.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir);
  const logDir = join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const identities = localIdentities(dataDir);
  const nats = await startNatsServer({
    host: options.host ?? '127.0.0.1',
    port: options.natsPort,
    httpPort: options.httpPort,
    storeDir: join(dataDir, 'nats'),
    serverName: 'threadline-local',
    logFile: join(logDir, 'nats-server.log'),
    configFile: join(dataDir, 'nats-server.conf'),
    extraConfig: renderAuthorization(identities.identities),
  });
  const services: RunningService[] = [];
  const stop = async () => {
    await Promise.all(services.map((s) => s.stop()));
    await nats.dispose();
  };
  try {
    await writeCredentialFiles(identities, nats.url);
    const nc = await connectToNats({
      ...identities.connectOptions('admin', [nats.url]),
      name: 'threadline-devstack',
    });
    await nc.close();
    const planned = await planServices(
      [
        [SERVICES.worker, options.workers ?? 1],
        [SERVICES.projector, options.projectors ?? 1],
        [SERVICES.scheduler, options.schedulers ?? 1],
        [SERVICES.ops, options.ops ?? 1],
      ],
      { identities, serviceEnv: options.serviceEnv, settings: { THREADLINE_NATS_URL: nats.url }, logDir },
    );
    for (const { service, name, env, logFile } of planned)
      services.push(await startServiceProcess(service, name, env, logFile));
  } catch (error) {
    await stop();
    throw error;
  }
  const pidsOf = (service: ServiceKind) =>
    services.filter((s) => s.service === service).map((s) => s.child.pid as number);
  return {
    nats,
    dataDir,
    logDir,
    workerPids: pidsOf(SERVICES.worker),
    projectorPids: pidsOf(SERVICES.projector),
    schedulerPids: pidsOf(SERVICES.scheduler),
    opsPids: pidsOf(SERVICES.ops),
    services,
    identities: identities.identities,
    credentialFiles: identities.files,
    connectOptions: (role = 'admin') => identities.connectOptions(role, [nats.url]),
    describe: () => [
      `NATS           ${nats.url}  (nats-server ${nats.version}, JetStream on)`,
      `Monitoring     ${nats.monitorUrl}/  (varz, jsz, healthz)`,
      ...describeIdentities(identities),
      ...services.flatMap(describeService),
      `JetStream data ${nats.storeDir}`,
      `Logs           ${logDir}`,
    ],
    stop,
  };
}
