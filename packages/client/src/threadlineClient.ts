import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type ConnectToNatsOptions, connectToNats } from '@threadline/nats';
import {
  type AgentReplyV1,
  type agentReplyV1Schema,
  type ChatEventV1,
  type ControlEventV1,
  type chatEventV1Schema,
  type controlEventV1Schema,
  OpsService,
} from '@threadline/protocol';
import type * as z from 'zod';
import { type DeliveriesOptions, type DeliveryReader, readDeliveries } from './deliveries.js';
import { ClientErrorCodes, OpsError, ThreadlineClientError } from './errors.js';
import { opsRequest } from './opsRequest.js';
import type {
  ListSessionsOptions,
  ReplayOptions,
  ReplayPage,
  ReplayRecord,
  SessionList,
  SessionView,
  SystemStatus,
} from './opsTypes.js';
import { type PublishOptions, type PublishResult, publishMessage } from './publish.js';
import { randomTraceIds, type TraceIdSource } from './trace.js';

/**
 * What a publisher may pass: the schema's input (optional fields may be `null`, a peer id may be a
 * number, `chatType: 'dm'` is read as `direct`), with `v` and (for chat events and replies) `type` filled
 * in when absent.
 */
type Loosen<T, Defaulted extends PropertyKey> = T extends unknown // distributes over the control union
  ? Omit<T, 'v' | Defaulted> & Partial<Pick<T, Extract<'v' | Defaulted, keyof T>>>
  : never;
export type ChatEventInput = Loosen<z.input<typeof chatEventV1Schema>, 'type'>;
export type AgentReplyInput = Loosen<z.input<typeof agentReplyV1Schema>, 'type'>;
export type ControlEventInput = Loosen<z.input<typeof controlEventV1Schema>, never>;

/**
 * The byte cap checked before publishing: the worker service's default `THREADLINE_MAX_INBOUND_BYTES`
 * (256 KiB). A worker configured with another cap wants the same number in {@link ClientOptions.maxBytes}.
 */
export const DEFAULT_CLIENT_MAX_BYTES = 256 * 1024;

export interface ClientOptions {
  /** Messages longer than this many bytes are refused before publishing (default 256 KiB). */
  maxBytes?: number;
  /** How long a publish waits for its acknowledgement, ms (default 5000). */
  publishTimeoutMs?: number;
  /** How long an ops query waits for its answer, ms (default 5000). */
  requestTimeoutMs?: number;
  /** Where new trace and span ids come from (default: random, node:crypto). */
  traceIds?: TraceIdSource;
}

export interface QueryOptions {
  /** How long to wait for the answer, ms (default: the client's `requestTimeoutMs`). */
  timeoutMs?: number;
}

/**
 * A publisher's handle on Threadline: publish chat events (adapters), replies (agents) and control
 * events (tools), read deliveries (adapters), and ask the ops service about the system and its sessions.
 *
 * Every publish validates locally first ({@link InvalidMessageError}: nothing is sent), then waits for
 * the server's acknowledgement ({@link PublishError} when there is none). A retry of a message with the
 * same `id` and body is always safe: the server acknowledges the copy with `duplicate: true`.
 */
export class ThreadlineClient {
  readonly #nc: NatsConnection;
  readonly #owned: boolean;
  readonly #js: JetStreamClient;
  #jsm: JetStreamManager | undefined;
  readonly #maxBytes: number;
  readonly #publishTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #traceIds: TraceIdSource;

  /**
   * Connects (refusing NATS servers older than Threadline's 2.10 floor) and returns a client that owns
   * the connection: {@link close} closes it.
   */
  static async connect(options: ConnectToNatsOptions & ClientOptions = {}): Promise<ThreadlineClient> {
    const { maxBytes, publishTimeoutMs, requestTimeoutMs, traceIds, ...connection } = options;
    const nc = await connectToNats(connection);
    return new ThreadlineClient(nc, { maxBytes, publishTimeoutMs, requestTimeoutMs, traceIds }, true);
  }

  /** A client on a connection the caller owns ({@link close} leaves it open). */
  constructor(nc: NatsConnection, options: ClientOptions = {}, owned = false) {
    this.#nc = nc;
    this.#owned = owned;
    this.#js = jetstream(nc);
    this.#maxBytes = positive('maxBytes', options.maxBytes, DEFAULT_CLIENT_MAX_BYTES);
    this.#publishTimeoutMs = positive('publishTimeoutMs', options.publishTimeoutMs, 5_000);
    this.#requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs, 5_000);
    this.#traceIds = options.traceIds ?? randomTraceIds;
  }

  /** The connection (for anything the client does not cover). */
  get connection(): NatsConnection {
    return this.#nc;
  }

  /**
   * Publishes a chat message on `tl.in.v1.<channel>.<peer>`. Publish one conversation's messages in
   * order, each after the previous one's acknowledgement.
   * @throws {InvalidMessageError} the worker would dead-letter it; nothing was sent.
   * @throws {PublishError} not acknowledged: `NO_STREAM`, `PUBLISH_TIMEOUT` (retry with the same id) or
   *   `PUBLISH_FAILED`.
   */
  async publishChat(event: ChatEventInput, options?: PublishOptions): Promise<PublishResult<ChatEventV1>> {
    return publishMessage(this.#publishSettings(), 'chat', event, options);
  }

  /** Publishes an agent reply on `tl.reply.v1.<sessionKey>`; throws as {@link publishChat}. */
  async publishReply(reply: AgentReplyInput, options?: PublishOptions): Promise<PublishResult<AgentReplyV1>> {
    return publishMessage(this.#publishSettings(), 'reply', reply, options);
  }

  /** Publishes a control event on `tl.ctl.v1.<sessionKey>`; throws as {@link publishChat}. */
  async publishControl(
    event: ControlEventInput,
    options?: PublishOptions,
  ): Promise<PublishResult<ControlEventV1>> {
    return publishMessage(this.#publishSettings(), 'control', event, options);
  }

  /**
   * Reads the deliveries for a channel (or one of its conversations). Iterate it; acknowledge each
   * delivery once it is sent.
   * @throws {ThreadlineClientError} `NOT_PROVISIONED` before any worker created the deliveries stream,
   *   `INVALID_ARGUMENT` for a bad consumer name.
   */
  async deliveries(options: DeliveriesOptions): Promise<DeliveryReader> {
    return readDeliveries(this.#js, await this.#manager(), options);
  }

  /**
   * The whole system, as `threadline status --json` prints it.
   * @throws {OpsError} `OPS_UNAVAILABLE` (no ops service), `OPS_TIMEOUT`, `OPS_FAILED`, `OPS_BAD_REPLY`.
   */
  async status(options: QueryOptions = {}): Promise<SystemStatus> {
    return opsRequest<SystemStatus>(this.#nc, OpsService.status, {}, this.#timeout(options));
  }

  /** The session store's sessions, most recently updated first; throws as {@link status}. */
  async listSessions(filters: ListSessionsOptions & QueryOptions = {}): Promise<SessionList> {
    const { timeoutMs, activeMinutes, agentId, limit } = filters;
    if (activeMinutes !== undefined) positive('activeMinutes', activeMinutes, 0, true);
    if (limit !== undefined) positive('limit', limit, 0, true);
    const request = {
      ...(activeMinutes === undefined ? {} : { activeMinutes }),
      ...(agentId === undefined ? {} : { agentId }),
      ...(limit === undefined ? {} : { limit }),
    };
    return opsRequest<SessionList>(this.#nc, OpsService.sessionsList, request, this.#timeout({ timeoutMs }));
  }

  /**
   * One key's session entry and transcript view; `undefined` when the session store does not know the
   * key (the ops service's 404). Throws as {@link status} otherwise.
   */
  async session(sessionKey: string, options: QueryOptions = {}): Promise<SessionView | undefined> {
    if (typeof sessionKey !== 'string' || sessionKey === '')
      throw new ThreadlineClientError(
        ClientErrorCodes.InvalidArgument,
        'sessionKey: expected a non-empty string',
        false,
      );
    try {
      return await opsRequest<SessionView>(
        this.#nc,
        OpsService.sessionsShow,
        { sessionKey },
        this.#timeout(options),
      );
    } catch (error) {
      if (error instanceof OpsError && error.notFound) return undefined;
      throw error;
    }
  }

  /**
   * One page of session records in stream order: one key's (`sessionKey`), or every key's, bounded by
   * record time. Continue with `afterSeq: page.nextSeq` while `page.hasMore`. A key without records is
   * the ops service's 404 (an {@link OpsError} whose `notFound` is true). Throws as {@link status}.
   */
  async replay(options: ReplayOptions & QueryOptions = {}): Promise<ReplayPage> {
    const { timeoutMs, sessionKey, since, until, limit, afterSeq } = options;
    if (limit !== undefined) positive('limit', limit, 0, true);
    if (afterSeq !== undefined && !(Number.isSafeInteger(afterSeq) && afterSeq >= 0))
      throw new ThreadlineClientError(
        ClientErrorCodes.InvalidArgument,
        `afterSeq: expected a whole number, got ${String(afterSeq)}`,
        false,
      );
    const request = {
      ...(sessionKey === undefined ? {} : { sessionKey }),
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
      ...(limit === undefined ? {} : { limit }),
      ...(afterSeq === undefined ? {} : { afterSeq }),
    };
    return opsRequest<ReplayPage>(this.#nc, OpsService.replay, request, this.#timeout({ timeoutMs }));
  }

  /** Every record {@link replay} finds, page after page, until none is left. */
  async *replayAll(
    options: Omit<ReplayOptions, 'afterSeq'> & QueryOptions = {},
  ): AsyncIterable<ReplayRecord> {
    for (let afterSeq = 0; ; ) {
      const page = await this.replay({ ...options, afterSeq });
      yield* page.records;
      if (!page.hasMore || page.nextSeq <= afterSeq) return;
      afterSeq = page.nextSeq;
    }
  }

  /** Closes the connection if the client opened it ({@link connect}); otherwise does nothing. */
  async close(): Promise<void> {
    if (this.#owned) await this.#nc.close();
  }

  #publishSettings() {
    return {
      js: this.#js,
      maxBytes: this.#maxBytes,
      timeoutMs: this.#publishTimeoutMs,
      traceIds: this.#traceIds,
    };
  }

  #timeout(options: QueryOptions): number {
    return positive('timeoutMs', options.timeoutMs, this.#requestTimeoutMs);
  }

  async #manager(): Promise<JetStreamManager> {
    this.#jsm ??= await jetstreamManager(this.#nc);
    return this.#jsm;
  }
}

/** `value`, or `fallback` when absent; a positive (integer, if asked) number or an INVALID_ARGUMENT. */
function positive(name: string, value: number | undefined, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !(value > 0) ||
    !Number.isFinite(value) ||
    (integer && !Number.isSafeInteger(value))
  )
    throw new ThreadlineClientError(
      ClientErrorCodes.InvalidArgument,
      `${name}: expected a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`,
      false,
    );
  return value;
}
