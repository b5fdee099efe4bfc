/**
 * What a channel adapter reads: the deliveries the worker publishes on `tl.out.v1.<channel>.<peer>`
 * (stream THREADLINE_DELIVERIES), each checked against the protocol's `deliveryV1Schema`, with the
 * trace context of its headers.
 *
 * Two ways to read, chosen by `durable`:
 * - **durable** (a name): a durable consumer with explicit acks, created if absent. What was not
 *   acknowledged is delivered again (after `ackWaitMs`, or at once on `nak()`), and a restarted adapter
 *   goes on where it stopped: at least once. Adapters must still send a given delivery `id` once
 *   (docs/protocol.md): a crash between sending and acknowledging delivers it again.
 * - **ephemeral** (no name): an ordered consumer, no acks, gone when stopped. For tools and tests.
 */
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import {
  type DeliveryV1,
  deliveryV1Schema,
  parseTraceparent,
  StreamNames,
  Subjects,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  type TraceContext,
} from '@threadline/protocol';
import { ClientErrorCodes, ThreadlineClientError } from './errors.js';

export interface DeliveriesOptions {
  /** The adapter's channel: reads `tl.out.v1.<channel>.*`. */
  channel: string;
  /** Only this conversation's deliveries (`tl.out.v1.<channel>.<peer>`). */
  peer?: string;
  /** A durable consumer's name (ASCII letters, digits, `-`, `_`); absent: an ephemeral ordered reader. */
  durable?: string;
  /** Where a new consumer starts: every stored delivery (`all`, the default) or only new ones (`new`). */
  from?: 'all' | 'new';
  /** Durable only: how long an unacknowledged delivery waits before it is delivered again, ms (30 s). */
  ackWaitMs?: number;
  /**
   * Told about a message that is not a valid delivery (it is terminated, never redelivered, and not
   * yielded). Without it such messages are skipped silently.
   */
  onInvalid?: (problem: InvalidDelivery) => void;
}

export interface InvalidDelivery {
  subject: string;
  seq: number;
  reason: string;
}

/** One delivery to send. */
export interface ReceivedDelivery {
  delivery: DeliveryV1;
  subject: string;
  /** The deliveries stream's sequence of the message. */
  seq: number;
  /** How many times it has been delivered (1 the first time). */
  deliveryCount: number;
  /** The worker's trace context, to continue when sending (undefined if it sent none). */
  trace: TraceContext | undefined;
  /** Sent: never deliver it again (durable); a no-op for an ephemeral reader. */
  ack(): Promise<void>;
  /** Not sent: deliver it again, after `delayMs` if given (durable); a no-op for an ephemeral reader. */
  nak(delayMs?: number): void;
  /** Still sending: extend the acknowledgement deadline (durable). */
  working(): void;
}

export interface DeliveryReader extends AsyncIterable<ReceivedDelivery> {
  /**
   * Stops reading: the iteration ends (whether or not anyone iterates). A durable consumer stays on the
   * server for the next start, with what was not acknowledged.
   */
  stop(): Promise<void>;
}

/** The filter subject: `tl.out.v1.<channel>.*`, or one peer's subject. */
export function deliveryFilter(channel: string, peer?: string): string {
  if (peer !== undefined) return Subjects.delivery(channel, peer);
  // The protocol's own layout with the peer token as the wildcard: `''` is encoded as the lone `%`.
  return `${Subjects.delivery(channel, '').slice(0, -1)}*`;
}

const CONSUMER_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const DEFAULT_ACK_WAIT_MS = 30_000;
const NS_PER_MS = 1_000_000;

/**
 * Creates the durable consumer, or takes the existing one: a restarted adapter goes on where it stopped.
 * An existing consumer that reads other subjects is refused (its name is taken by another reader);
 * its acknowledgement wait is updated when `ackWaitMs` asks for another.
 */
async function ensureDurable(
  jsm: JetStreamManager,
  durable: string,
  filter: string,
  deliverPolicy: DeliverPolicy,
  ackWaitMs: number | undefined,
): Promise<void> {
  const existing = await jsm.consumers.info(StreamNames.deliveries, durable).catch((error: unknown) => {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)
      return undefined;
    throw error;
  });
  if (existing === undefined) {
    await jsm.consumers.add(StreamNames.deliveries, {
      durable_name: durable,
      filter_subject: filter,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: deliverPolicy,
      ack_wait: (ackWaitMs ?? DEFAULT_ACK_WAIT_MS) * NS_PER_MS,
    });
    return;
  }
  const filters = existing.config.filter_subjects ?? [existing.config.filter_subject];
  if (filters.length !== 1 || filters[0] !== filter)
    throw new ThreadlineClientError(
      ClientErrorCodes.InvalidArgument,
      `durable: the consumer ${durable} exists and reads ${filters.join(', ') || 'every delivery'}, not ${filter}`,
      false,
    );
  if (ackWaitMs !== undefined && existing.config.ack_wait !== ackWaitMs * NS_PER_MS)
    await jsm.consumers.update(StreamNames.deliveries, durable, { ack_wait: ackWaitMs * NS_PER_MS });
}

export async function readDeliveries(
  js: JetStreamClient,
  jsm: JetStreamManager,
  options: DeliveriesOptions,
): Promise<DeliveryReader> {
  const filter = deliveryFilter(options.channel, options.peer);
  const deliverPolicy = options.from === 'new' ? DeliverPolicy.New : DeliverPolicy.All;
  const durable = options.durable;
  if (durable !== undefined && !CONSUMER_NAME.test(durable)) {
    throw new ThreadlineClientError(
      ClientErrorCodes.InvalidArgument,
      `durable: ${JSON.stringify(durable)} is not a consumer name (1–64 ASCII letters, digits, "-", "_")`,
      false,
    );
  }
  try {
    await jsm.streams.info(StreamNames.deliveries);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)
      throw new ThreadlineClientError(
        ClientErrorCodes.NotProvisioned,
        `the stream ${StreamNames.deliveries} does not exist yet: a worker creates it when it starts`,
        true,
        { cause: error },
      );
    throw error;
  }

  let consumer: Awaited<ReturnType<JetStreamClient['consumers']['get']>>;
  if (durable !== undefined) {
    await ensureDurable(jsm, durable, filter, deliverPolicy, options.ackWaitMs);
    consumer = await js.consumers.get(StreamNames.deliveries, durable);
  } else {
    consumer = await js.consumers.get(StreamNames.deliveries, {
      filter_subjects: [filter],
      deliver_policy: deliverPolicy,
    });
  }
  const messages = await consumer.consume({ max_messages: 64 });

  const received = (m: JsMsg): ReceivedDelivery | undefined => {
    let body: unknown;
    try {
      body = m.json();
    } catch (error) {
      return invalid(m, `not JSON: ${(error as Error).message}`);
    }
    const parsed = deliveryV1Schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return invalid(m, issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'not a delivery');
    }
    return {
      delivery: parsed.data,
      subject: m.subject,
      seq: m.seq,
      deliveryCount: m.info.deliveryCount,
      trace: parseTraceparent(m.headers?.get(TRACEPARENT_HEADER), m.headers?.get(TRACESTATE_HEADER)),
      ack: async () => {
        if (durable !== undefined) await m.ackAck();
      },
      nak: (delayMs) => {
        if (durable !== undefined) m.nak(delayMs);
      },
      working: () => {
        if (durable !== undefined) m.working();
      },
    };
  };
  const invalid = (m: JsMsg, reason: string): undefined => {
    if (durable !== undefined) m.term(reason);
    options.onInvalid?.({ subject: m.subject, seq: m.seq, reason });
    return undefined;
  };

  let stopped = false;
  return {
    async *[Symbol.asyncIterator]() {
      for await (const m of messages) {
        // Messages already fetched when the reader stopped are left unacknowledged: delivered again later.
        if (stopped) return;
        const delivery = received(m);
        if (delivery) yield delivery;
      }
    },
    async stop() {
      stopped = true;
      // Not close(): it waits for an iteration to end, and there may be none.
      messages.stop();
    },
  };
}
