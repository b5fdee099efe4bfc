/**
 * The ops endpoints (`OpsService` in @threadline/protocol) as a NATS service named `threadline`: each
 * takes a JSON request and answers the JSON document the matching `threadline … --json` command prints
 * (a replay a page at a time). Bad requests are answered 400, unknown keys 404, answers too large for one
 * reply 413, anything else 500 — with the error's message in `Nats-Service-Error` and
 * `{ error: { code, message, hint?, field? } }` as the payload — and the service keeps serving.
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { OpsService } from '@threadline/protocol';
import { OpsError } from './errors.js';
import { type MicroEndpoint, type MicroService, ServiceError, startMicroService } from './microService.js';
import { replayPage } from './replay.js';
import {
  parseReplayRequest,
  parseSessionsListRequest,
  parseSessionsShowRequest,
  parseStatusRequest,
} from './requests.js';
import { listSessions, showSession } from './sessions.js';
import { collectStatus } from './status.js';

/** The service's version (`$SRV.INFO`): the version of the request and answer shapes. */
export const OPS_SERVICE_VERSION = '1.0.0';

/** The NATS default max payload, for a connection that has not said its own. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room a reply's headers need beyond its payload. */
const HEADER_ROOM = 4 * 1024;

export interface OpsServiceOptions {
  nc: NatsConnection;
  /** The server's URL as the status names it; default `nc.getServer()`. */
  server?: string;
  /** The current time in epoch ms (ages, `activeMinutes`, the status's `at`). Default `Date.now`. */
  now?: () => number;
  /** This replica's id in `$SRV.*` answers (default a NUID) and in its `metadata.instance`. */
  instanceId?: string;
  /** Each request answered with an error (logs). */
  onError?: (error: unknown, endpoint: string, code: number) => void;
}

/** The endpoints' names, as `$SRV.INFO` and `$SRV.STATS` list them. */
export const OPS_ENDPOINTS = {
  status: 'status',
  sessionsList: 'sessions-list',
  sessionsShow: 'sessions-show',
  replay: 'replay',
} as const;

/** Starts the ops service on `nc` (a queue group: run as many replicas as you like). */
export function startOpsService(options: OpsServiceOptions): MicroService {
  const { nc } = options;
  const now = options.now ?? Date.now;
  const endpoint = (
    name: string,
    subject: string,
    answer: (request: Msg) => Promise<unknown>,
  ): MicroEndpoint => ({
    name,
    subject,
    handle: async (request) => {
      try {
        return JSON.stringify(await answer(request));
      } catch (error) {
        throw serviceErrorOf(error);
      }
    },
  });
  return startMicroService(nc, {
    name: OpsService.name,
    version: OPS_SERVICE_VERSION,
    description:
      'Threadline operations: status, sessions list and show, replay (the threadline CLI --json answers)',
    ...(options.instanceId === undefined ? {} : { metadata: { instance: options.instanceId } }),
    endpoints: [
      endpoint(OPS_ENDPOINTS.status, OpsService.status, async (request) => {
        parseStatusRequest(request.data);
        return collectStatus(nc, {
          ...(options.server === undefined ? {} : { server: options.server }),
          now: now(),
        });
      }),
      endpoint(OPS_ENDPOINTS.sessionsList, OpsService.sessionsList, async (request) => {
        const query = parseSessionsListRequest(request.data);
        return (await listSessions(nc, { ...query, now: now() })).list;
      }),
      endpoint(OPS_ENDPOINTS.sessionsShow, OpsService.sessionsShow, async (request) => {
        const { sessionKey } = parseSessionsShowRequest(request.data);
        return showSession(nc, sessionKey);
      }),
      endpoint(OPS_ENDPOINTS.replay, OpsService.replay, async (request) =>
        replayPage(nc, parseReplayRequest(request.data), {
          maxBytes: (nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - HEADER_ROOM,
        }),
      ),
    ],
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
}

/** An operation's error as the service answers it: its status, its message, and the details as JSON. */
function serviceErrorOf(error: unknown): ServiceError {
  if (error instanceof OpsError)
    return new ServiceError(
      error.status,
      error.message,
      JSON.stringify({
        error: {
          code: error.code,
          message: error.message,
          ...(error.hint === undefined ? {} : { hint: error.hint }),
          ...(error.field === undefined ? {} : { field: error.field }),
        },
      }),
      { cause: error },
    );
  const message = error instanceof Error ? error.message : String(error);
  return new ServiceError(500, message, JSON.stringify({ error: { code: 'FAILED', message } }), {
    cause: error,
  });
}
