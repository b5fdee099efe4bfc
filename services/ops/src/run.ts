/**
 * Composition root of the ops service process: settings → config (its clock) → (the service runtime: ops
 * HTTP server, NATS connection, clock) → the `threadline` NATS service (@threadline/ops). Logs are JSON
 * lines on stdout (pino): start and stop, each request answered with a server error (500) as an error and
 * each refused one at debug, and the status every 30 s (requests and errors per endpoint). With
 * `THREADLINE_METRICS_PORT` set, an HTTP server answers `/metrics` (see metrics.ts), `/healthz` and
 * `/readyz` (ready once started, while the NATS connection is open).
 */
import { type MicroService, startOpsService } from '@threadline/ops';
import {
  type Log,
  loadConfig,
  type OpsServer,
  runService,
  STATUS_INTERVAL_MS,
  serviceLog,
} from '@threadline/service-runtime';
import { opsMetrics } from './metrics.js';
import type { OpsSettings } from './settings.js';

export { STATUS_INTERVAL_MS };

export interface RunningOps {
  readonly service: MicroService;
  /** The ops HTTP server (`/metrics`, `/healthz`, `/readyz`); absent when `THREADLINE_METRICS_PORT` is 0. */
  readonly ops: OpsServer | undefined;
  stop(): Promise<void>;
}

export async function runOps(
  settings: OpsSettings,
  log: Log = serviceLog({ service: 'ops', instanceId: settings.opsId, level: settings.logLevel }),
  options: { statusIntervalMs?: number } = {},
): Promise<RunningOps> {
  const config = await loadConfig(settings.configPath);
  const running = await runService({
    service: 'ops',
    instanceId: settings.opsId,
    idField: 'opsId',
    settings,
    log,
    // Ages and `activeMinutes` on the clock the workers run on (the shared test clock in test mode).
    clockFrom: config,
    start: async ({ nc, clock }) => {
      const service = startOpsService({
        nc,
        server: settings.natsUrl,
        now: () => clock.now(),
        instanceId: settings.opsId,
        onError: (error, endpoint, code) =>
          log({
            msg: 'request refused',
            level: code >= 500 ? 'error' : code === 413 ? 'warn' : 'debug',
            endpoint,
            code,
            err: error,
          }),
      });
      // The endpoints' subscriptions are queued, not yet known to the server: a request from another
      // connection right after the start met "no responders" (a CI run). A flush is a round trip after them.
      await nc.flush();
      return service;
    },
    metrics: (service) => opsMetrics(service?.stats()),
    status: (service) => {
      const stats = service.stats();
      return {
        opsId: settings.opsId,
        serviceId: stats.id,
        endpoints: Object.fromEntries(
          stats.endpoints.map((e) => [e.name, { requests: e.num_requests, errors: e.num_errors }]),
        ),
      };
    },
    ...(options.statusIntervalMs === undefined ? {} : { statusIntervalMs: options.statusIntervalMs }),
  });
  return { service: running.work, ops: running.ops, stop: running.stop };
}
