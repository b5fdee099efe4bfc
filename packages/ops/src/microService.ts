/**
 * The NATS services protocol ("micro", ADR-32 of nats-io/nats-architecture-and-design), small enough to
 * own: a service named `name` answers `$SRV.PING|INFO|STATS`, `$SRV.<verb>.<name>` and
 * `$SRV.<verb>.<name>.<id>` with the `io.nats.micro.v1.*_response` documents, and each endpoint is a
 * queue subscription (group `q`, so replicas share the requests). Errors are answered with the
 * `Nats-Service-Error` and `Nats-Service-Error-Code` headers.
 *
 * Why not `@nats-io/services` (ADR 0017): it calls handlers synchronously, so for an async handler its
 * stats count no errors (only a synchronous throw counts; `respondError` does not) and no processing
 * time, and a rejected async handler is an unhandled rejection. Here a handler is async: it returns the
 * reply's payload or throws, the time counted is until it settles, and every error answered counts.
 */
import { headers, type Msg, type NatsConnection, nuid, type Subscription } from '@nats-io/transport-node';

export const MicroResponseTypes = {
  ping: 'io.nats.micro.v1.ping_response',
  info: 'io.nats.micro.v1.info_response',
  stats: 'io.nats.micro.v1.stats_response',
} as const;

export const ServiceErrorHeaders = {
  /** A description of the error that can be shown to the user. */
  message: 'Nats-Service-Error',
  /** A number: 400, 404, 500, … */
  code: 'Nats-Service-Error-Code',
} as const;

/** The queue group every endpoint joins unless told otherwise: replicas of a service share its requests. */
export const DEFAULT_QUEUE_GROUP = 'q';

/** An error a handler throws to answer with this code and message (anything else answers 500). */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  constructor(
    /** The `Nats-Service-Error-Code`: 400, 404, 500, … */
    readonly code: number,
    message: string,
    /** The error reply's payload (else empty). */
    readonly body?: string | Uint8Array,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface MicroEndpoint {
  /** Letters, digits, `-` and `_`. */
  readonly name: string;
  readonly subject: string;
  readonly metadata?: Record<string, string>;
  /** Answers one request: the reply's payload, or throws (a {@link ServiceError} for its code, else 500). */
  handle(request: Msg): Promise<string | Uint8Array>;
}

export interface MicroServiceConfig {
  /** The service's kind, shared by its replicas: letters, digits, `-` and `_`. */
  readonly name: string;
  /** SemVer. */
  readonly version: string;
  readonly description?: string;
  readonly metadata?: Record<string, string>;
  /** This replica's id; default a NUID. */
  readonly id?: string;
  /** Default {@link DEFAULT_QUEUE_GROUP}. */
  readonly queueGroup?: string;
  readonly endpoints: readonly MicroEndpoint[];
  /** Called with each error answered (to log it); never with the protocol's own requests. */
  readonly onError?: (error: unknown, endpoint: string, code: number) => void;
}

interface Identity {
  name: string;
  id: string;
  version: string;
  metadata: Record<string, string>;
}
export type PingResponse = Identity & { type: typeof MicroResponseTypes.ping };
export interface EndpointInfo {
  name: string;
  subject: string;
  queue_group: string;
  metadata: Record<string, string>;
}
export type InfoResponse = Identity & {
  type: typeof MicroResponseTypes.info;
  description: string;
  endpoints: EndpointInfo[];
};
export interface EndpointStats {
  name: string;
  subject: string;
  queue_group: string;
  num_requests: number;
  num_errors: number;
  /** The last error answered (`<code> <message>`), "" when none. */
  last_error: string;
  /** Nanoseconds spent in the handler, until it settled. */
  processing_time: number;
  average_processing_time: number;
}
export type StatsResponse = Identity & {
  type: typeof MicroResponseTypes.stats;
  started: string;
  endpoints: EndpointStats[];
};

export interface MicroService {
  readonly id: string;
  ping(): PingResponse;
  info(): InfoResponse;
  stats(): StatsResponse;
  /** Stops taking requests (drains the subscriptions) and waits for the ones being answered. */
  stop(): Promise<void>;
}

/** The ADR's name rule: letters, digits, dash, underscore. */
const NAME = /^[A-Za-z0-9_-]+$/;
/** The official SemVer regular expression (semver.org). */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** `$SRV.<verb>`, `$SRV.<verb>.<name>`, `$SRV.<verb>.<name>.<id>`. */
export function controlSubjects(verb: 'PING' | 'INFO' | 'STATS', name: string, id: string): string[] {
  return [`$SRV.${verb}`, `$SRV.${verb}.${name}`, `$SRV.${verb}.${name}.${id}`];
}

/**
 * Starts the service on `nc`: its endpoints' queue subscriptions and the discovery subscriptions. Throws
 * on a bad name, version or endpoint name; the subscriptions end with the connection.
 */
export function startMicroService(nc: NatsConnection, config: MicroServiceConfig): MicroService {
  if (!NAME.test(config.name))
    throw new Error(`service name ${JSON.stringify(config.name)}: use letters, digits, '-' and '_'`);
  if (!SEMVER.test(config.version))
    throw new Error(`service version ${JSON.stringify(config.version)} is not SemVer`);
  for (const endpoint of config.endpoints)
    if (!NAME.test(endpoint.name))
      throw new Error(`endpoint name ${JSON.stringify(endpoint.name)}: use letters, digits, '-' and '_'`);
  const id = config.id ?? nuid.next();
  const queue = config.queueGroup ?? DEFAULT_QUEUE_GROUP;
  const started = new Date().toISOString();
  const identity = (): Identity => ({
    name: config.name,
    id,
    version: config.version,
    metadata: { ...config.metadata },
  });
  const counts = config.endpoints.map(() => ({ requests: 0, errors: 0, lastError: '', nanos: 0n }));
  const inFlight = new Set<Promise<void>>();
  const subscriptions: Subscription[] = [];

  const service: MicroService = {
    id,
    ping: () => ({ type: MicroResponseTypes.ping, ...identity() }),
    info: () => ({
      type: MicroResponseTypes.info,
      ...identity(),
      description: config.description ?? '',
      endpoints: config.endpoints.map((e) => ({
        name: e.name,
        subject: e.subject,
        queue_group: queue,
        metadata: { ...e.metadata },
      })),
    }),
    stats: () => ({
      type: MicroResponseTypes.stats,
      ...identity(),
      started,
      endpoints: config.endpoints.map((e, i) => {
        const c = counts[i] as (typeof counts)[number];
        const nanos = Number(c.nanos);
        return {
          name: e.name,
          subject: e.subject,
          queue_group: queue,
          num_requests: c.requests,
          num_errors: c.errors,
          last_error: c.lastError,
          processing_time: nanos,
          average_processing_time: c.requests === 0 ? 0 : Math.trunc(nanos / c.requests),
        };
      }),
    }),
    async stop() {
      await Promise.allSettled(subscriptions.map((s) => s.drain()));
      await Promise.allSettled([...inFlight]);
    },
  };

  const answer = async (endpoint: MicroEndpoint, index: number, msg: Msg) => {
    const c = counts[index] as (typeof counts)[number];
    const start = process.hrtime.bigint();
    try {
      let payload: string | Uint8Array;
      try {
        payload = await endpoint.handle(msg);
        const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
        const max = nc.info?.max_payload;
        if (max !== undefined && size > max)
          throw new ServiceError(
            413,
            `the answer is ${size} bytes, more than the server's max payload (${max} bytes)`,
          );
      } catch (error) {
        const code = error instanceof ServiceError ? error.code : 500;
        // Header values are one line.
        const message = (error instanceof Error ? error.message : String(error)).replace(/[\r\n]+/g, ' ');
        c.errors += 1;
        c.lastError = `${code} ${message}`;
        config.onError?.(error, endpoint.name, code);
        const h = headers();
        h.set(ServiceErrorHeaders.code, String(code));
        h.set(ServiceErrorHeaders.message, message);
        msg.respond(error instanceof ServiceError ? error.body : undefined, { headers: h });
        return;
      }
      msg.respond(payload);
    } catch (error) {
      // Respond itself failed (the connection closed): nothing left to answer with.
      config.onError?.(error, endpoint.name, 500);
    } finally {
      c.requests += 1;
      c.nanos += process.hrtime.bigint() - start;
    }
  };

  config.endpoints.forEach((endpoint, index) => {
    subscriptions.push(
      nc.subscribe(endpoint.subject, {
        queue,
        callback: (error, msg) => {
          if (error) return;
          const done = answer(endpoint, index, msg);
          inFlight.add(done);
          void done.finally(() => inFlight.delete(done));
        },
      }),
    );
  });
  const control = {
    PING: () => service.ping(),
    INFO: () => service.info(),
    STATS: () => service.stats(),
  } as const;
  for (const verb of ['PING', 'INFO', 'STATS'] as const)
    for (const subject of controlSubjects(verb, config.name, id))
      subscriptions.push(
        nc.subscribe(subject, {
          callback: (error, msg) => {
            if (error) return;
            try {
              msg.respond(JSON.stringify(control[verb]()));
            } catch {
              // The connection closed under us: nobody is left to answer.
            }
          },
        }),
      );
  return service;
}
