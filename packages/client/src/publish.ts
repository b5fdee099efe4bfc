/**
 * One publish of an inbound message, the way docs/protocol.md asks for it: the body checked with the
 * protocol's own `validateInbound` (so the SDK never sends what the worker would dead-letter), published
 * with JetStream on the subject the parsed body implies, `Nats-Msg-Id` = the body's `id`, the trace
 * context in headers, and the acknowledgement awaited.
 */
import { type JetStreamClient, JetStreamError } from '@nats-io/jetstream';
import { headers, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import {
  controlSubjectFor,
  type InboundEventByKind,
  type InboundKind,
  inboundSubjectFor,
  RejectionCode,
  replySubjectFor,
  type TraceContext,
  traceHeaders,
  validateInbound,
} from '@threadline/protocol';
import { ClientErrorCodes, InvalidMessageError, issuesOf, PublishError } from './errors.js';
import { publishTrace, type TraceIdSource, type TraceInput } from './trace.js';

/** What a publish did. */
export interface PublishResult<E> {
  /** The message's `id`, also its `Nats-Msg-Id`. */
  id: string;
  subject: string;
  /** The stream that stored it (or had already stored it) and its sequence there. */
  stream: string;
  seq: number;
  /**
   * True when the server dropped this publish as a copy of one it already stored with the same id
   * (within the stream's duplicate window): a retry that needed no second message. Not an error.
   */
  duplicate: boolean;
  /** The trace context sent in the headers: log `traceId` to follow the message through Threadline. */
  trace: TraceContext;
  /** The message as Threadline reads it (unknown fields dropped, empty optionals absent). */
  event: E;
}

export interface PublishOptions {
  /**
   * The caller's trace to continue (its `traceparent`, with `tracestate`, or a parsed context); absent or
   * invalid starts a new trace. Either way the publish is a span of its own, named as the parent.
   */
  trace?: TraceInput;
  /** How long to wait for the acknowledgement, ms (default: the client's). */
  timeoutMs?: number;
}

export interface PublishSettings {
  js: JetStreamClient;
  maxBytes: number;
  timeoutMs: number;
  traceIds: TraceIdSource;
}

const DEFAULT_TYPES: Record<InboundKind, string | undefined> = {
  chat: 'chat.message',
  reply: 'agent.reply',
  // Control events have seven types: the caller must say which.
  control: undefined,
};

type EventOf<K extends InboundKind> = InboundEventByKind[K];

const encoder = new TextEncoder();

/**
 * The bytes to send for `message`, with `v: 1` and the kind's `type` filled in when absent, and the
 * parsed event; throws {@link InvalidMessageError} for anything the worker would dead-letter.
 */
export function prepareMessage<K extends InboundKind>(
  kind: K,
  message: object,
  maxBytes: number,
): { bytes: Uint8Array; event: EventOf<K> } {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new InvalidMessageError(kind, RejectionCode.NotAnObject, 'expected an object', [
      { field: '(root)', problem: 'expected an object' },
    ]);
  }
  const { v, type, ...rest } = message as { v?: unknown; type?: unknown };
  const body = {
    v: Object.hasOwn(message, 'v') ? v : 1,
    ...(Object.hasOwn(message, 'type') || DEFAULT_TYPES[kind] === undefined
      ? { type }
      : { type: DEFAULT_TYPES[kind] }),
    ...rest,
  };
  let text: string;
  try {
    text = JSON.stringify(body);
  } catch (error) {
    // A bigint or a cycle: no JSON exists for it.
    const reason = `cannot be written as JSON: ${(error as Error).message}`;
    throw new InvalidMessageError(kind, RejectionCode.InvalidJson, reason, [
      { field: '(root)', problem: reason },
    ]);
  }
  const bytes = encoder.encode(text);
  const verdict = validateInbound(bytes, { kind, maxBytes });
  if (!verdict.ok)
    throw new InvalidMessageError(kind, verdict.code, verdict.reason, issuesOf(verdict.reason));
  return { bytes, event: verdict.event };
}

const SUBJECT_OF: { [K in InboundKind]: (event: EventOf<K>) => string } = {
  chat: inboundSubjectFor,
  reply: replySubjectFor,
  control: controlSubjectFor,
};

export async function publishMessage<K extends InboundKind>(
  settings: PublishSettings,
  kind: K,
  message: object,
  options: PublishOptions = {},
): Promise<PublishResult<EventOf<K>>> {
  const { bytes, event } = prepareMessage(kind, message, settings.maxBytes);
  const subject = (SUBJECT_OF[kind] as (event: EventOf<K>) => string)(event);
  const trace = publishTrace(options.trace, settings.traceIds);
  const h = headers();
  for (const [name, value] of Object.entries(traceHeaders(trace))) h.set(name, value);
  const id = event.id;
  try {
    const ack = await settings.js.publish(subject, bytes, {
      msgID: id,
      headers: h,
      timeout: options.timeoutMs ?? settings.timeoutMs,
    });
    return { id, subject, stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, trace, event };
  } catch (error) {
    throw publishError(error, subject, id);
  }
}

function publishError(error: unknown, subject: string, id: string): PublishError {
  if (
    hasCause(
      error,
      (e) => e instanceof NoRespondersError || (e instanceof RequestError && e.isNoResponders()),
    )
  )
    return new PublishError(
      ClientErrorCodes.NoStream,
      `no stream takes ${subject}: Threadline is not provisioned on this server (a worker creates its streams when it starts)`,
      subject,
      id,
      false,
      { cause: error },
    );
  if (hasCause(error, (e) => e instanceof TimeoutError))
    return new PublishError(
      ClientErrorCodes.PublishTimeout,
      `no acknowledgement for ${id} on ${subject} in time; publishing it again with the same id is safe`,
      subject,
      id,
      true,
      { cause: error },
    );
  const detail = error instanceof Error ? error.message : String(error);
  const what = error instanceof JetStreamError ? 'the server refused' : 'failed to publish';
  return new PublishError(
    ClientErrorCodes.PublishFailed,
    `${what} ${id} on ${subject}: ${detail}`,
    subject,
    id,
    false,
    {
      cause: error,
    },
  );
}

/** Whether `error` or anything in its `cause` chain passes `test`. */
export function hasCause(error: unknown, test: (error: unknown) => boolean): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (test(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
