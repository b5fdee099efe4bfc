/**
 * The system under test, as an operator runs it: one nats-server (file storage, the server's defaults) and
 * the services as processes (`services/<name>/dist`), each killable and restartable on its own, with its
 * metrics endpoint. The baselines run on the same server, on a connection of their own.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { type RunningService, SERVICES, startServiceProcess } from '@threadline/devstack';
import { connectToNats } from '@threadline/nats';
import { freePorts, type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { rssOf } from './raw.js';

export type ServiceName = 'worker' | 'projector' | 'scheduler';

export interface BenchService {
  readonly kind: ServiceName;
  readonly name: string;
  readonly metricsUrl: string;
  /** The running process's pid (undefined while stopped). */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Starts the process (again), with the same id, environment and metrics port; resolves once ready. */
  start(): Promise<void>;
  /** SIGKILL: a crash, nothing flushed. */
  kill(): Promise<void>;
  /** SIGTERM, and a clean shutdown. */
  stop(): Promise<void>;
  rss(): Promise<number>;
  /** Its Prometheus metrics, `name{labels}` → value. */
  metrics(): Promise<Map<string, number>>;
}

export interface BenchStack {
  readonly nats: RunningNatsServer;
  /** A connection for the benchmark's own traffic and baselines. */
  readonly nc: NatsConnection;
  readonly services: BenchService[];
  readonly configFile: string;
  /** Adds a service process (not started: call `start`). */
  add(kind: ServiceName, env?: Record<string, string>): Promise<BenchService>;
  stop(): Promise<void>;
}

/** A session config for benchmarks: one session per peer, and no reset inside a run (a week idle). */
export const BENCH_CONFIG = `{
  session: { dmScope: 'per-channel-peer', reset: { mode: 'idle', idleMinutes: 10080 } },
}
`;

export async function startBenchStack(options: {
  natsBin: string;
  workDir: string;
  /** Threadline config (JSON5) for every service; default {@link BENCH_CONFIG}. */
  config?: string;
  /** Environment for every service (e.g. `THREADLINE_PARTITIONS`). */
  env?: Record<string, string>;
  /** Lines inside the server's `jetstream {}` block. */
  jetstreamConfig?: string;
}): Promise<BenchStack> {
  const nats = await startNatsServer({
    bin: options.natsBin,
    storeDir: join(options.workDir, 'nats'),
    logFile: join(options.workDir, 'nats-server.log'),
    serverName: 'threadline-bench',
    ...(options.jetstreamConfig ? { jetstreamConfig: options.jetstreamConfig } : {}),
  });
  const configFile = join(options.workDir, 'threadline.json5');
  await writeFile(configFile, options.config ?? BENCH_CONFIG);
  const nc = await connectToNats({ servers: nats.url, name: 'threadline-bench' });
  const services: BenchService[] = [];
  const counts: Record<string, number> = {};

  const add = async (kind: ServiceName, env: Record<string, string> = {}): Promise<BenchService> => {
    const n = (counts[kind] ?? 0) + 1;
    counts[kind] = n;
    const name = `${kind}-${n}`;
    const [port] = await freePorts(1, '127.0.0.1');
    const service = SERVICES[kind];
    const processEnv: NodeJS.ProcessEnv = {
      ...process.env,
      THREADLINE_NATS_URL: nats.url,
      THREADLINE_CONFIG: configFile,
      THREADLINE_LOG_LEVEL: 'info',
      THREADLINE_METRICS_PORT: String(port),
      [service.idVariable]: `bench-${name}`,
      ...options.env,
      ...env,
    };
    const logFile = join(options.workDir, `${name}.log`);
    let current: RunningService | undefined;
    const alive = () =>
      current !== undefined && current.child.exitCode === null && current.child.signalCode === null;
    const metricsUrl = `http://127.0.0.1:${port}/metrics`;
    const bench: BenchService = {
      kind,
      name,
      metricsUrl,
      get pid() {
        return alive() ? current?.child.pid : undefined;
      },
      get running() {
        return alive();
      },
      async start() {
        if (alive()) return;
        // `THREADLINE_BENCH_PROFILE=<dir>`: every service writes a V8 CPU profile there when it stops.
        const profile = process.env.THREADLINE_BENCH_PROFILE;
        const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profile, name)}`] : [];
        current = await startServiceProcess(service, name, processEnv, logFile, 120_000, nodeArgs);
      },
      async kill() {
        const child = current?.child;
        if (!child || !alive()) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
        await current?.stop(); // closes its log
      },
      async stop() {
        await current?.stop();
      },
      async rss() {
        const pid = bench.pid;
        if (pid === undefined) throw new Error(`${name} is not running`);
        return rssOf(pid);
      },
      async metrics() {
        return parseMetrics(await (await fetch(metricsUrl)).text());
      },
    };
    services.push(bench);
    return bench;
  };

  return {
    nats,
    nc,
    services,
    configFile,
    add,
    async stop() {
      await Promise.all(services.map((s) => s.stop()));
      await nc.close().catch(() => undefined);
      await nats.dispose();
    },
  };
}

/** Prometheus text format → `name{labels}` (as written) → value; comments skipped. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space < 0) continue;
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}
