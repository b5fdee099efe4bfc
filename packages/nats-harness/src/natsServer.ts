import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exited, spawnManaged, terminate } from './childProcesses.js';
import { binaryVersionOf, natsServerBinary } from './natsServerBinary.js';

export interface ClusterSettings {
  /** Cluster name; every node of one cluster shares it. */
  readonly name: string;
  /** Route URLs of the other nodes (`nats-route://127.0.0.1:port`). */
  readonly routes: readonly string[];
  /** Cluster listen port; 0 picks a free one at first start. */
  readonly port?: number;
}

export interface NatsServerOptions {
  /** The nats-server binary; default: $NATS_SERVER_BIN, else the project's resolver. */
  readonly bin?: string;
  readonly host?: string;
  /** Client port; 0 (the default) picks a free one at first start and keeps it across restarts. */
  readonly port?: number;
  /** Monitoring (HTTP) port; 0 (the default) picks a free one; `false` disables monitoring. */
  readonly httpPort?: number | false;
  readonly jetstream?: boolean;
  /** JetStream store directory; default: a temporary one that {@link RunningNatsServer.dispose} removes. */
  readonly storeDir?: string;
  readonly serverName?: string;
  readonly cluster?: ClusterSettings;
  /** Extra lines appended to the generated config file. */
  readonly extraConfig?: string;
  /**
   * Extra lines inside the generated `jetstream { }` block, e.g. `key: $JS_KEY` and `cipher: chachapoly`
   * for encryption at rest (infra/nats/encryption.md).
   */
  readonly jetstreamConfig?: string;
  /** Variables added to the server's environment (over this process's), e.g. `JS_KEY` for `key: $JS_KEY`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Where the server's log goes; default: a file in the server's working directory. */
  readonly logFile?: string;
  /**
   * Where the generated config is written (mode 0600 wherever it is: it may hold passwords, see
   * `extraConfig`); default: a file in the server's temporary working directory.
   */
  readonly configFile?: string;
}

export interface RunningNatsServer {
  readonly serverName: string;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly httpPort: number | undefined;
  readonly monitorUrl: string | undefined;
  readonly clusterPort: number | undefined;
  readonly routeUrl: string | undefined;
  readonly storeDir: string;
  readonly workDir: string;
  readonly logFile: string;
  readonly version: string;
  /** The pid of the current process, or undefined while stopped. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Graceful stop (SIGTERM, then SIGKILL after a grace period). The store is kept. */
  stop(): Promise<void>;
  /** Abrupt stop, as a crash would (SIGKILL by default). The store is kept. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts the server again on the same ports and store, with new cluster routes, JetStream block lines or
   * environment if given (each replaces the one before; the others stay).
   */
  restart(options?: {
    routes?: readonly string[];
    jetstreamConfig?: string;
    env?: Readonly<Record<string, string>>;
  }): Promise<void>;
  /** Stops the server and removes every temporary folder the harness created for it. */
  dispose(): Promise<void>;
  /** The last lines of the server's log, for error messages. */
  logTail(lines?: number): Promise<string>;
}

interface Ports {
  nats?: string[];
  monitoring?: string[];
  cluster?: string[];
}

let counter = 0;

/**
 * Starts a nats-server process on loopback and resolves once it accepts clients (and, with JetStream,
 * once `/healthz` says JetStream is ready — for a clustered node, readiness of the cluster is the
 * cluster helper's job). Ports default to ephemeral ones chosen by the server itself, never 4222.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<RunningNatsServer> {
  const binary = options.bin ? { path: options.bin, version: undefined } : await natsServerBinary();
  const workDir = await mkdtemp(join(tmpdir(), 'threadline-nats-'));
  const ownsStore = options.storeDir === undefined;
  const storeDir = options.storeDir ?? join(workDir, 'jetstream');
  await mkdir(storeDir, { recursive: true });
  const host = options.host ?? '127.0.0.1';
  const serverName = options.serverName ?? `tl-${process.pid}-${++counter}`;
  const logFile = options.logFile ?? join(workDir, 'nats-server.log');
  const jetstream = options.jetstream ?? true;

  let port = options.port ?? 0;
  let httpPort = options.httpPort === false ? undefined : (options.httpPort ?? 0);
  let clusterPort = options.cluster ? (options.cluster.port ?? 0) : undefined;
  let routes = options.cluster?.routes ?? [];
  let jetstreamConfig = options.jetstreamConfig ?? '';
  let env = options.env ?? {};
  let child: ChildProcess | undefined;
  let version = binary.version ?? '';

  const writeConfig = async () => {
    const lines = [
      `server_name: ${JSON.stringify(serverName)}`,
      `listen: "${host}:${port === 0 ? -1 : port}"`,
      httpPort === undefined ? '' : `http: "${host}:${httpPort === 0 ? -1 : httpPort}"`,
      `ports_file_dir: ${JSON.stringify(workDir)}`,
      jetstream
        ? jetstreamConfig.trim() === ''
          ? `jetstream { store_dir: ${JSON.stringify(storeDir)} }`
          : `jetstream {\n  store_dir: ${JSON.stringify(storeDir)}\n${jetstreamConfig}\n}`
        : '',
      options.cluster
        ? [
            'cluster {',
            `  name: ${JSON.stringify(options.cluster.name)}`,
            `  listen: "${host}:${clusterPort === 0 ? -1 : clusterPort}"`,
            `  routes: [${routes.map((r) => JSON.stringify(r)).join(', ')}]`,
            '  connect_retries: 120',
            '}',
          ].join('\n')
        : '',
      options.extraConfig ?? '',
    ];
    const file = options.configFile ?? join(workDir, 'nats-server.conf');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${lines.filter(Boolean).join('\n')}\n`, { mode: 0o600 });
    await chmod(file, 0o600); // an existing file keeps its mode through writeFile
    return file;
  };

  const launch = async () => {
    const configFile = await writeConfig();
    for (const f of await readdir(workDir))
      if (f.endsWith('.ports')) await rm(join(workDir, f), { force: true });
    const proc = spawnManaged(binary.path, ['-c', configFile, '-l', logFile], {
      cwd: workDir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const ports = await waitForPortsFile(workDir, proc, async () => `${stderr}\n${await tail(logFile, 30)}`);
    port = portOf(ports.nats?.[0]) ?? port;
    if (httpPort !== undefined) httpPort = portOf(ports.monitoring?.[0]) ?? httpPort;
    if (clusterPort !== undefined) clusterPort = portOf(ports.cluster?.[0]) ?? clusterPort;
    if (jetstream && httpPort !== undefined && !options.cluster) {
      await waitForHealthz(`http://${host}:${httpPort}`, proc, '?js-enabled-only=true');
    }
  };

  if (!version) version = (await binaryVersionOf(binary.path)) ?? '';
  await launch();

  const server: RunningNatsServer = {
    serverName,
    host,
    get port() {
      return port;
    },
    get url() {
      return `nats://${host}:${port}`;
    },
    get httpPort() {
      return httpPort;
    },
    get monitorUrl() {
      return httpPort === undefined ? undefined : `http://${host}:${httpPort}`;
    },
    get clusterPort() {
      return clusterPort;
    },
    get routeUrl() {
      return clusterPort === undefined ? undefined : `nats-route://${host}:${clusterPort}`;
    },
    storeDir,
    workDir,
    logFile,
    version,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async stop() {
      if (child) await terminate(child, 'SIGTERM');
    },
    async kill(signal = 'SIGKILL') {
      if (!child) return;
      child.kill(signal);
      await exited(child);
    },
    async restart(restartOptions = {}) {
      if (child) await terminate(child, 'SIGTERM');
      if (restartOptions.routes) routes = restartOptions.routes;
      if (restartOptions.jetstreamConfig !== undefined) jetstreamConfig = restartOptions.jetstreamConfig;
      if (restartOptions.env !== undefined) env = restartOptions.env;
      await launch();
    },
    async dispose() {
      if (child) await terminate(child, 'SIGTERM', 5_000);
      await rm(workDir, { recursive: true, force: true });
      if (ownsStore) await rm(storeDir, { recursive: true, force: true });
    },
    logTail: (lines = 40) => tail(logFile, lines),
  };
  return server;
}

function portOf(url: string | undefined): number | undefined {
  if (!url) return undefined;
  const match = /:(\d+)\/?$/.exec(url);
  return match ? Number(match[1]) : undefined;
}

async function tail(file: string, lines: number): Promise<string> {
  if (!existsSync(file)) return '';
  const text = await readFile(file, 'utf8');
  return text.split('\n').slice(-lines).join('\n');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** nats-server writes `<exe>_<pid>.ports` once all its listeners are up. */
async function waitForPortsFile(
  dir: string,
  proc: ChildProcess,
  diagnostics: () => Promise<string>,
): Promise<Ports> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(
        `nats-server exited during start (code ${proc.exitCode}, signal ${proc.signalCode}):\n${await diagnostics()}`,
      );
    }
    const file = (await readdir(dir)).find((f) => f.endsWith(`_${proc.pid}.ports`));
    if (file) {
      try {
        return JSON.parse(await readFile(join(dir, file), 'utf8')) as Ports;
      } catch {
        // written but not complete yet
      }
    }
    await sleep(20);
  }
  proc.kill('SIGKILL');
  throw new Error(`nats-server did not report its ports within 30 s:\n${await diagnostics()}`);
}

/** Polls the monitoring endpoint `/healthz` until it answers 200. */
export async function waitForHealthz(
  monitorUrl: string,
  proc?: ChildProcess,
  query = '',
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) throw new Error('nats-server exited');
    try {
      const res = await fetch(`${monitorUrl}/healthz${query}`);
      last = `${res.status} ${await res.text()}`;
      if (res.ok) return;
    } catch (error) {
      last = String(error);
    }
    await sleep(50);
  }
  throw new Error(`${monitorUrl}/healthz${query} not healthy within ${timeoutMs} ms (last: ${last})`);
}
