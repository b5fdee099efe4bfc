/**
 * A service's ops HTTP server: `GET /metrics` (Prometheus text format 0.0.4), `GET /healthz` (200 while
 * the process runs: liveness) and `GET /readyz` (200 when the service is ready, 503 with the reason
 * otherwise: readiness). Anything else is a 404 (a 405 for another method on these paths). HEAD works
 * wherever GET does.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { counter, gauge, METRICS_CONTENT_TYPE, type MetricSample, renderMetrics } from './metrics.js';

/** Ready, or not ready and why. */
export type Readiness = boolean | { ready: true } | { ready: false; reason: string };

export interface OpsServerOptions {
  /** 0 = a free port the system picks (see {@link OpsServer.port}). */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The samples of one scrape. */
  metrics: () => readonly MetricSample[] | Promise<readonly MetricSample[]>;
  /** Whether the service is ready now; a throw is "not ready" with the error's message. */
  ready: () => Readiness | Promise<Readiness>;
}

export interface OpsServer {
  readonly host: string;
  readonly port: number;
  /** `http://<host>:<port>` (an IPv6 host in brackets). */
  readonly url: string;
  /** Stops listening and closes every connection, idle keep-alive ones included. */
  stop(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';

async function readinessOf(ready: OpsServerOptions['ready']): Promise<{ ready: boolean; reason: string }> {
  try {
    const state = await ready();
    if (state === true) return { ready: true, reason: '' };
    if (state === false) return { ready: false, reason: 'not ready' };
    return state.ready ? { ready: true, reason: '' } : { ready: false, reason: state.reason };
  } catch (error) {
    return { ready: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

async function answer(
  options: OpsServerOptions,
  request: IncomingMessage,
): Promise<[number, string, string]> {
  const path = new URL(request.url ?? '/', 'http://ops').pathname;
  if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') return [404, TEXT, 'not found\n'];
  if (request.method !== 'GET' && request.method !== 'HEAD') return [405, TEXT, 'method not allowed\n'];
  if (path === '/healthz') return [200, TEXT, 'ok\n'];
  if (path === '/readyz') {
    const state = await readinessOf(options.ready);
    return state.ready ? [200, TEXT, 'ready\n'] : [503, TEXT, `not ready: ${state.reason}\n`];
  }
  try {
    return [200, METRICS_CONTENT_TYPE, renderMetrics(await options.metrics())];
  } catch (error) {
    return [500, TEXT, `metrics failed: ${error instanceof Error ? error.message : String(error)}\n`];
  }
}

function send(
  request: IncomingMessage,
  response: ServerResponse,
  [status, type, body]: [number, string, string],
) {
  response.statusCode = status;
  response.setHeader('Content-Type', type);
  response.setHeader('Content-Length', Buffer.byteLength(body));
  response.setHeader('Cache-Control', 'no-store');
  if (status === 405) response.setHeader('Allow', 'GET, HEAD');
  response.end(request.method === 'HEAD' ? undefined : body);
}

/** Starts the ops server; resolves once it listens (rejects if it cannot, e.g. the port is taken). */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server = createServer((request, response) => {
    answer(options, request).then(
      (reply) => send(request, response, reply),
      (error: unknown) => send(request, response, [500, TEXT, `${String(error)}\n`]),
    );
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopping: Promise<void> | undefined;
  return {
    host,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}

/**
 * The standard process metrics (the names Prometheus's client libraries use): start time, CPU seconds,
 * resident memory; and `threadline_service_info` (1) naming the service and the instance.
 */
export function processMetrics(service: string, instanceId: string): MetricSample[] {
  const cpu = process.cpuUsage();
  return [
    gauge('threadline_service_info', 'Which Threadline service and instance this is (always 1).', 1, {
      service,
      instance_id: instanceId,
    }),
    gauge(
      'process_start_time_seconds',
      'Start time of the process since unix epoch in seconds.',
      Math.round(Date.now() / 1000 - process.uptime()),
    ),
    counter(
      'process_cpu_seconds_total',
      'Total user and system CPU time spent in seconds.',
      (cpu.user + cpu.system) / 1e6,
    ),
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', process.memoryUsage.rss()),
  ];
}

/**
 * A service's ops server as its settings say: none when `metricsPort` is 0, else on `metricsHost`. Its
 * `/metrics` adds {@link processMetrics} to the service's own samples.
 */
export async function startServiceOps(
  settings: { metricsPort: number; metricsHost: string },
  identity: { service: string; instanceId: string },
  probes: Pick<OpsServerOptions, 'metrics' | 'ready'>,
): Promise<OpsServer | undefined> {
  if (settings.metricsPort === 0) return undefined;
  return startOpsServer({
    port: settings.metricsPort,
    host: settings.metricsHost,
    metrics: async () => [
      ...(await probes.metrics()),
      ...processMetrics(identity.service, identity.instanceId),
    ],
    ready: probes.ready,
  });
}

/** Where a service process is in its life. */
export type ServicePhase = 'starting' | 'running' | 'stopping';

/**
 * A service's readiness: ready while running with its NATS connection open (a standby replica counts as
 * ready: it is connected and would take over); not while starting or stopping.
 */
export function serviceReadiness(
  phase: ServicePhase,
  nc: { isClosed(): boolean; isDraining(): boolean } | undefined,
): Readiness {
  if (phase !== 'running') return { ready: false, reason: phase };
  if (nc === undefined || nc.isClosed()) return { ready: false, reason: 'NATS connection closed' };
  if (nc.isDraining()) return { ready: false, reason: 'NATS connection draining' };
  return true;
}
