import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connectToNats, type Identity, type Role, renderAuthorization } from '@threadline/nats';
import { type RunningNatsCluster, startNatsCluster } from '@threadline/nats-harness';
import {
  type ConnectOptions,
  describeIdentities,
  localIdentities,
  writeCredentialFiles,
} from './identities.js';
import {
  describeService,
  planServices,
  type RunningService,
  SERVICES,
  type ServiceKind,
  startServiceProcess,
} from './localStack.js';

/** The local cluster's nodes; streams and buckets get one replica per node. */
export const CLUSTER_NODES = 3;
/** Its name: the nodes are `threadline-local-n1` … `-n3`, stable so that a restart finds its stores. */
export const CLUSTER_NAME = 'threadline-local';

export interface LocalClusterOptions {
  /** Where the cluster keeps its data (`nats/n1` … `nats/n3`, one JetStream store per node) and `logs/`. */
  readonly dataDir: string;
  /** Client port of the first node; the others get the next two (4222 → 4223, 4224). 0: free ports. */
  readonly natsPort: number;
  /** Monitoring port of the first node, the others the next two, as {@link natsPort}. 0: free ports. */
  readonly httpPort: number;
  /** Where the nodes listen; default 127.0.0.1. */
  readonly host?: string;
  /**
   * How many session worker processes to run (default 2). The services need their builds
   * (`services/<name>/dist`); `npm run cluster` builds them. With 0 of everything the cluster runs alone.
   */
  readonly workers?: number;
  /** How many projector replicas to run (default 1; one projects, the others stand by). */
  readonly projectors?: number;
  /** How many scheduler replicas to run (default 2; one leads, the other stands by). */
  readonly schedulers?: number;
  /** How many ops service replicas to run (default 1; they share the requests). */
  readonly ops?: number;
  /** Extra environment for the services (e.g. `THREADLINE_CONFIG`, `THREADLINE_LEASE_TTL_MS`). */
  readonly serviceEnv?: Record<string, string>;
}

/**
 * One service process of the cluster, across restarts: the same name, instance id, environment, metrics
 * port and log file (appended to) every time it starts.
 */
export interface ClusterService {
  readonly service: ServiceKind;
  /** `<kind>-<n>`: `worker-1`, `scheduler-2`, … */
  readonly name: string;
  /** Its id among its service's instances (`local-<name>`), the same after a restart. */
  readonly instanceId: string;
  readonly logFile: string;
  /** Its Prometheus endpoint (`/healthz` and `/readyz` beside it). */
  readonly metricsUrl: string | undefined;
  /** The current (or last) process. */
  readonly current: RunningService;
  /** The current process's pid, or undefined while it is not running. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Stops the process gracefully (SIGTERM, SIGKILL after 15 s). */
  stop(): Promise<void>;
  /** Kills the process, as a crash would (SIGKILL unless told otherwise), and waits until it is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again (after a stop or a kill); resolves once it logs `"<kind> started"`. */
  start(): Promise<void>;
  /** Kills it (SIGKILL unless told otherwise; SIGTERM is a graceful stop) and starts it again. */
  restart(signal?: NodeJS.Signals): Promise<void>;
}

export interface LocalCluster {
  /** The nodes: `cluster.kill(i)`, `cluster.stop(i)`, `cluster.restart(i)`, `cluster.node(i)`. */
  readonly cluster: RunningNatsCluster;
  /** Every node's client URL, comma-separated: what each service gets as `THREADLINE_NATS_URL`. */
  readonly natsUrl: string;
  /** The replicas every stream and KV bucket is created with (`THREADLINE_REPLICAS`): 3. */
  readonly replicas: number;
  readonly dataDir: string;
  readonly logDir: string;
  /** The NATS users, one per role, with this start's passwords; every service connects as its own. */
  readonly identities: readonly Identity[];
  /** `<dataDir>/credentials/<role>.env` (mode 0600): every node's URL, the user and password of each role. */
  readonly credentialFiles: Readonly<Record<Role, string>>;
  /** The NATS client's options to connect to every node as `role` (default admin, which may do everything). */
  connectOptions(role?: Role): ConnectOptions;
  /** Every service process, in start order: workers, projectors, schedulers, ops. */
  readonly services: readonly ClusterService[];
  readonly workers: readonly ClusterService[];
  readonly projectors: readonly ClusterService[];
  readonly schedulers: readonly ClusterService[];
  readonly opsServices: readonly ClusterService[];
  /** A service by its name (`worker-2`); throws if there is none. */
  service(name: string): ClusterService;
  /** What runs, one line each, for the banner. */
  describe(): string[];
  /** Stops every service, then every node; the stores stay in the data folder. */
  stop(): Promise<void>;
}

/** How long services stopping with no NATS node left get before they are killed. */
const NO_NODE_GRACE_MS = 2_000;

/** The three ports from `first` (0: three free ones), refused if they do not fit. */
function portsFrom(name: string, first: number): number[] {
  if (!Number.isInteger(first) || first < 0 || first > 65_535 - (CLUSTER_NODES - 1))
    throw new RangeError(
      `${name} must be 0 (free ports) or a port from 1 to ${65_535 - (CLUSTER_NODES - 1)} (the nodes take it and the next ${CLUSTER_NODES - 1}), got ${first}`,
    );
  return Array.from({ length: CLUSTER_NODES }, (_, i) => (first === 0 ? 0 : first + i));
}

/**
 * Starts Threadline as a local cluster: a 3-node nats-server JetStream cluster on loopback (persistent
 * stores under `<dataDir>/nats/n1` … `n3`, logs in `<dataDir>/logs/`), then the services as processes —
 * by default two session workers, one projector, two schedulers and one ops service — each given every
 * node's URL (`THREADLINE_NATS_URL`, comma-separated: it fails over between them) and
 * `THREADLINE_REPLICAS=3`, so the streams and buckets they create are replicated on all three nodes. Every
 * node and every service can be killed and started again (chaos).
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const natsPorts = portsFrom('natsPort', options.natsPort);
  const httpPorts = portsFrom('httpPort', options.httpPort);
  const dataDir = resolve(options.dataDir);
  const logDir = join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const identities = localIdentities(dataDir);
  const cluster = await startNatsCluster({
    size: CLUSTER_NODES,
    name: CLUSTER_NAME,
    host: options.host ?? '127.0.0.1',
    ports: natsPorts,
    httpPorts,
    storeDir: (i) => join(dataDir, 'nats', `n${i + 1}`),
    logFile: (i) => join(logDir, `nats-n${i + 1}.log`),
    configFile: (i) => join(dataDir, `nats-n${i + 1}.conf`),
    // Client authorization only: the routes between the loopback nodes stay as the harness sets them.
    extraConfig: renderAuthorization(identities.identities),
  });
  const natsUrl = cluster.urls.join(',');
  const replicas = CLUSTER_NODES;
  const services: ClusterService[] = [];
  const stop = async () => {
    let stopped = false;
    const stopping = Promise.all(services.map((s) => s.stop())).finally(() => {
      stopped = true;
    });
    // Ctrl-C in a terminal signals the whole process group, the NATS nodes too: with every node gone, a
    // service's graceful stop can only wait out its NATS timeouts (up to 15 s), so it is killed instead.
    let downSince: number | undefined;
    while (!stopped) {
      await Promise.race([stopping, new Promise((r) => setTimeout(r, 100))]);
      if (stopped) break;
      if (cluster.nodes.some((n) => n.running)) downSince = undefined;
      else downSince ??= Date.now();
      if (downSince !== undefined && Date.now() - downSince >= NO_NODE_GRACE_MS) {
        await Promise.all(services.map((s) => s.kill()));
        break;
      }
    }
    await stopping;
    await cluster.dispose();
  };
  try {
    await writeCredentialFiles(identities, natsUrl);
    const nc = await connectToNats({
      ...identities.connectOptions('admin', cluster.urls),
      name: 'threadline-devstack',
    });
    await nc.close();
    const planned = await planServices(
      [
        [SERVICES.worker, options.workers ?? 2],
        [SERVICES.projector, options.projectors ?? 1],
        [SERVICES.scheduler, options.schedulers ?? 2],
        [SERVICES.ops, options.ops ?? 1],
      ],
      {
        identities,
        serviceEnv: options.serviceEnv,
        settings: { THREADLINE_NATS_URL: natsUrl, THREADLINE_REPLICAS: String(replicas) },
        logDir,
      },
    );
    for (const { service, name, env, logFile } of planned) {
      const handle = clusterService(service, name, env, logFile);
      await handle.start();
      services.push(handle);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const of = (service: ServiceKind) => services.filter((s) => s.service === service);
  return {
    cluster,
    natsUrl,
    replicas,
    dataDir,
    logDir,
    identities: identities.identities,
    credentialFiles: identities.files,
    connectOptions: (role = 'admin') => identities.connectOptions(role, cluster.urls),
    services,
    workers: of(SERVICES.worker),
    projectors: of(SERVICES.projector),
    schedulers: of(SERVICES.scheduler),
    opsServices: of(SERVICES.ops),
    service(name) {
      const found = services.find((s) => s.name === name);
      if (!found)
        throw new RangeError(`no service ${name} (running: ${services.map((s) => s.name).join(', ')})`);
      return found;
    },
    describe: () => [
      ...cluster.nodes.map(
        (n, i) =>
          `NATS node n${i + 1}   ${n.url}  (${n.serverName}, pid ${n.pid ?? 'stopped'}; monitoring ${n.monitorUrl}/)`,
      ),
      `JetStream      nats-server ${cluster.node(0).version}, cluster ${cluster.name}; streams and buckets at ${replicas} replicas`,
      ...describeIdentities(identities),
      ...services.flatMap((s) =>
        s.running ? describeService(s.current) : [`${s.service.label} ${s.name} (stopped)`],
      ),
      `JetStream data ${join(dataDir, 'nats')}/n1 … n${CLUSTER_NODES}`,
      `Logs           ${logDir}`,
      `Client URL     ${natsUrl}`,
    ],
    stop,
  };
}

/** A restartable service process: each start spawns it again with the same environment and log file. */
function clusterService(
  service: ServiceKind,
  name: string,
  env: NodeJS.ProcessEnv,
  logFile: string,
): ClusterService {
  let current: RunningService | undefined;
  const alive = () =>
    current !== undefined && current.child.exitCode === null && current.child.signalCode === null;
  const handle: ClusterService = {
    service,
    name,
    instanceId: env[service.idVariable] as string,
    logFile,
    get metricsUrl() {
      return current?.metricsUrl;
    },
    get current() {
      if (!current) throw new Error(`${name} has not been started`);
      return current;
    },
    get pid() {
      return alive() ? current?.child.pid : undefined;
    },
    get running() {
      return alive();
    },
    async stop() {
      await current?.stop();
    },
    async kill(signal = 'SIGKILL') {
      const running = current;
      if (!running || !alive()) return;
      const gone = new Promise<void>((done) => running.child.once('exit', () => done()));
      running.child.kill(signal);
      await gone;
      await running.stop(); // the process is gone: this only closes its log stream
    },
    async start() {
      if (alive()) throw new Error(`${name} is already running (pid ${current?.child.pid})`);
      current = await startServiceProcess(service, name, env, logFile);
    },
    async restart(signal = 'SIGKILL') {
      if (signal === 'SIGTERM') await handle.stop();
      else await handle.kill(signal);
      await handle.start();
    },
  };
  return handle;
}
