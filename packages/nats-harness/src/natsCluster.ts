import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { freePorts } from './freePorts.js';
import { type RunningNatsServer, startNatsServer, waitForHealthz } from './natsServer.js';

export interface NatsClusterOptions {
  readonly size?: number;
  /** The cluster's name; its nodes are `<name>-n1` … `<name>-n<size>`. Default: unique per cluster. */
  readonly name?: string;
  readonly bin?: string;
  readonly extraConfig?: string;
  /** Extra lines inside every node's `jetstream { }` block (see `NatsServerOptions.jetstreamConfig`). */
  readonly jetstreamConfig?: string;
  /** Variables added to each node's environment, by index (e.g. a `JS_KEY` of its own). */
  readonly env?: (index: number) => Readonly<Record<string, string>>;
  /** The address every node listens on (clients, routes, monitoring); default 127.0.0.1. */
  readonly host?: string;
  /**
   * Client port of each node, by index (`[4222, 4223, 4224]`); a 0 or missing entry lets that node's
   * server pick a free one. Fixed ports are checked before any node starts: one in use is an error, not
   * a retry. Restarts keep every node's port.
   */
  readonly ports?: readonly number[];
  /** Monitoring (HTTP) port of each node, by index, as {@link ports}. */
  readonly httpPorts?: readonly number[];
  /**
   * JetStream store of each node (0-based index), e.g. `(i) => join(dataDir, 'nats', \`n${i + 1}\`)`: kept
   * across restarts and by {@link RunningNatsCluster.dispose}, so a cluster started again on the same
   * folders (and the same {@link name}) has its streams back. Default: a temporary store per node, removed
   * by `dispose`.
   */
  readonly storeDir?: (index: number) => string;
  /** Where each node (0-based index) logs; default: a file in the node's temporary working folder. */
  readonly logFile?: (index: number) => string;
  /** Where each node's generated config is written (mode 0600); default: its temporary working folder. */
  readonly configFile?: (index: number) => string;
}

export interface RunningNatsCluster {
  readonly name: string;
  readonly nodes: readonly RunningNatsServer[];
  /** Client URLs of every node; give all of them to a client so it fails over. */
  readonly urls: string[];
  node(index: number): RunningNatsServer;
  /** SIGKILLs one node (a crash); the others keep serving. */
  kill(index: number): Promise<void>;
  /** Gracefully stops one node. */
  stop(index: number): Promise<void>;
  /** Starts a stopped or killed node again on its ports and store, and waits until it has rejoined. */
  restart(index: number): Promise<void>;
  /** Waits until every running node reports JetStream healthy with a meta leader. */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

let clusters = 0;

/**
 * Starts a JetStream cluster of `size` (default 3) nats-server processes on loopback, each with its own
 * ephemeral client, route and monitoring ports and a temporary store — or the fixed ports, store folders
 * and log files the options give — and waits until it has a JetStream meta leader. Restarts reuse the
 * node's ports and store.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<RunningNatsCluster> {
  const size = options.size ?? 3;
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`size must be a positive integer, got ${size}`);
  const host = options.host ?? '127.0.0.1';
  for (const [what, ports] of [
    ['ports', options.ports],
    ['httpPorts', options.httpPorts],
  ] as const) {
    if (ports === undefined) continue;
    if (ports.length > size) throw new RangeError(`${what} names ${ports.length} ports for ${size} nodes`);
    const bad = ports.find((p) => !Number.isInteger(p) || p < 0 || p > 65_535);
    if (bad !== undefined) throw new RangeError(`${what}: ${bad} is not a port number from 0 to 65535`);
  }
  if (options.logFile)
    for (let i = 0; i < size; i++) await mkdir(dirname(options.logFile(i)), { recursive: true });
  await assertPortsFree(host, [
    ...(options.ports ?? []).map((port, i) => ({ port, what: `client port of node ${i + 1}` })),
    ...(options.httpPorts ?? []).map((port, i) => ({ port, what: `monitoring port of node ${i + 1}` })),
  ]);
  // Route ports are reserved before the servers start, so another process can take one in between
  // (seen about once in 25 runs with test files in parallel: a node never joins). A formation that fails
  // is torn down and tried again on fresh ports; a cluster that forms is never restarted.
  const failures: string[] = [];
  for (let attempt = 1; attempt <= CLUSTER_START_ATTEMPTS; attempt++) {
    try {
      return await startClusterOnce(options, attempt === CLUSTER_START_ATTEMPTS ? 60_000 : 30_000);
    } catch (error) {
      failures.push(`attempt ${attempt}: ${(error as Error).message}`);
    }
  }
  throw new Error(
    `could not form a NATS cluster in ${CLUSTER_START_ATTEMPTS} attempts:\n${failures.join('\n')}`,
  );
}

const CLUSTER_START_ATTEMPTS = 3;

async function startClusterOnce(
  options: NatsClusterOptions,
  readyTimeoutMs: number,
): Promise<RunningNatsCluster> {
  const size = options.size ?? 3;
  const name = options.name ?? `tlc-${process.pid}-${++clusters}`;
  const host = options.host ?? '127.0.0.1';
  const nodes: RunningNatsServer[] = [];
  const common = {
    host,
    ...(options.bin ? { bin: options.bin } : {}),
    ...(options.extraConfig ? { extraConfig: options.extraConfig } : {}),
    ...(options.jetstreamConfig ? { jetstreamConfig: options.jetstreamConfig } : {}),
  };
  try {
    // JetStream clustering needs every node to know its routes from the start, so the route ports are
    // reserved up front (client and monitoring ports are server-chosen unless fixed).
    const routePorts = await freePorts(size, host);
    const routeUrl = (port: number) => `nats-route://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const started = await Promise.allSettled(
      routePorts.map((port, i) =>
        startNatsServer({
          ...common,
          port: options.ports?.[i] ?? 0,
          httpPort: options.httpPorts?.[i] ?? 0,
          ...(options.storeDir ? { storeDir: options.storeDir(i) } : {}),
          ...(options.logFile ? { logFile: options.logFile(i) } : {}),
          ...(options.configFile ? { configFile: options.configFile(i) } : {}),
          ...(options.env ? { env: options.env(i) } : {}),
          serverName: `${name}-n${i + 1}`,
          cluster: { name, port, routes: routePorts.filter((p) => p !== port).map(routeUrl) },
        }),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failure = started.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
  } catch (error) {
    await Promise.all(nodes.map((n) => n.dispose()));
    throw error;
  }

  const peersOf = (index: number) => nodes.filter((_, i) => i !== index).map((n) => n.routeUrl as string);

  const cluster: RunningNatsCluster = {
    name,
    nodes,
    get urls() {
      return nodes.map((n) => n.url);
    },
    node(index) {
      const n = nodes[index];
      if (!n) throw new RangeError(`cluster ${name} has no node ${index} (size ${nodes.length})`);
      return n;
    },
    kill: (index) => cluster.node(index).kill('SIGKILL'),
    stop: (index) => cluster.node(index).stop(),
    async restart(index) {
      await cluster.node(index).restart({ routes: peersOf(index) });
      await cluster.waitUntilReady();
    },
    async waitUntilReady(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (const node of nodes.filter((n) => n.running)) {
        await waitForHealthz(node.monitorUrl as string, undefined, '', Math.max(1, deadline - Date.now()));
        await waitForMetaLeader(node, nodes.length, deadline);
      }
    },
    async dispose() {
      await Promise.all(nodes.map((n) => n.dispose()));
    },
  };
  try {
    await cluster.waitUntilReady(readyTimeoutMs);
  } catch (error) {
    const logs = await Promise.all(nodes.map(async (n) => `--- ${n.serverName}\n${await n.logTail(15)}`));
    await cluster.dispose();
    throw new Error(`${(error as Error).message}\n${logs.join('\n')}`);
  }
  return cluster;
}

/** Throws, naming the port and its role, when one of the fixed (non-zero) ports is already taken. */
async function assertPortsFree(
  host: string,
  ports: readonly { port: number; what: string }[],
): Promise<void> {
  for (const { port, what } of ports) {
    if (port === 0) continue;
    const server = createServer();
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      server.once('error', resolve);
      server.listen(port, host, () => resolve(undefined));
    });
    if (error === undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    else if (error.code === 'EADDRINUSE')
      throw new Error(
        `cannot start the NATS cluster: ${host}:${port} (${what}) is taken (address already in use)`,
      );
    else throw new Error(`cannot start the NATS cluster: ${host}:${port} (${what}): ${error.message}`);
  }
}

async function waitForMetaLeader(node: RunningNatsServer, size: number, deadline: number): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${node.monitorUrl}/jsz`);
      const jsz = (await res.json()) as { meta_cluster?: MetaClusterInfo };
      last = JSON.stringify(jsz.meta_cluster ?? {});
      if (metaGroupFormed(jsz.meta_cluster, size)) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `${node.serverName}: no JetStream meta leader for a ${size}-node cluster (last /jsz: ${last})`,
  );
}

/** The `meta_cluster` part of a server's `/jsz`. */
export interface MetaClusterInfo {
  readonly leader?: string;
  readonly cluster_size?: number;
  readonly replicas?: readonly { readonly name: string; readonly current?: boolean }[];
}

/**
 * Whether a node's view of the JetStream meta group shows a formed cluster of `size` nodes: a leader,
 * and either a cluster size of `size` or `size - 1` current peers besides the node itself. The second
 * form is what nats-server's own tests check: `cluster_size` is grown by the leader as it admits peers and
 * can stay below the real size while every node is routed, current and serving (nats-server#2657; seen
 * here as a whole formation timing out with all three nodes current and a size of 2).
 */
export function metaGroupFormed(meta: MetaClusterInfo | undefined, size: number): boolean {
  if (!meta?.leader) return false;
  if ((meta.cluster_size ?? 0) >= size) return true;
  const current = new Set((meta.replicas ?? []).filter((r) => r.current === true).map((r) => r.name));
  return current.size >= size - 1;
}
