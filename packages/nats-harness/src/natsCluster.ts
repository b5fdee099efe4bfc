import { freePorts } from './freePorts.js';
import { type RunningNatsServer, startNatsServer, waitForHealthz } from './natsServer.js';

export interface NatsClusterOptions {
  readonly size?: number;
  readonly name?: string;
  readonly bin?: string;
  readonly extraConfig?: string;
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
 * ephemeral client, route and monitoring ports and a temporary store, and waits until it has a
 * JetStream meta leader. Restarts reuse the node's ports and store.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<RunningNatsCluster> {
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
  const nodes: RunningNatsServer[] = [];
  const common = {
    ...(options.bin ? { bin: options.bin } : {}),
    ...(options.extraConfig ? { extraConfig: options.extraConfig } : {}),
  };
  try {
    // JetStream clustering needs every node to know its routes from the start, so the route ports are
    // reserved up front (client and monitoring ports stay server-chosen).
    const routePorts = await freePorts(size);
    const routeUrl = (port: number) => `nats-route://127.0.0.1:${port}`;
    const started = await Promise.allSettled(
      routePorts.map((port, i) =>
        startNatsServer({
          ...common,
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

async function waitForMetaLeader(node: RunningNatsServer, size: number, deadline: number): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${node.monitorUrl}/jsz`);
      const jsz = (await res.json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
      last = JSON.stringify(jsz.meta_cluster ?? {});
      if (jsz.meta_cluster?.leader && (jsz.meta_cluster.cluster_size ?? 0) >= size) return;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `${node.serverName}: no JetStream meta leader for a ${size}-node cluster (last /jsz: ${last})`,
  );
}
