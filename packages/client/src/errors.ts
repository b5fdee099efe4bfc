/**
 * What can go wrong when a publisher talks to Threadline, as classes the caller can branch on: each has
 * a `name`, a `code` from {@link ClientErrorCodes}, a `retryable` flag that says whether doing the same
 * thing again (with the same idempotency id) can succeed, and the underlying `cause` when there is one.
 */
import type { InboundKind, RejectionCode } from '@threadline/protocol';

export const ClientErrorCodes = {
  /** The message would be dead-lettered: refused locally, never published. */
  InvalidMessage: 'INVALID_MESSAGE',
  /** An argument of an SDK call is unusable (an empty id part, a non-integer limit). */
  InvalidArgument: 'INVALID_ARGUMENT',
  /** No stream takes the subject: Threadline is not provisioned on this server (no worker has started). */
  NoStream: 'NO_STREAM',
  /** The server did not acknowledge in time; a retry with the same id is safe. */
  PublishTimeout: 'PUBLISH_TIMEOUT',
  /** The publish failed for another reason (connection closed, permissions, a server error). */
  PublishFailed: 'PUBLISH_FAILED',
  /** Nothing answers the ops endpoint: no ops service is running. */
  OpsUnavailable: 'OPS_UNAVAILABLE',
  /** The ops service did not answer in time. */
  OpsTimeout: 'OPS_TIMEOUT',
  /** The ops service answered with an error (its code and description are kept). */
  OpsFailed: 'OPS_FAILED',
  /** The ops service answered with something that is not the expected JSON document. */
  OpsBadReply: 'OPS_BAD_REPLY',
  /** A stream the call needs does not exist (the deliveries stream before any worker started). */
  NotProvisioned: 'NOT_PROVISIONED',
} as const;
export type ClientErrorCode = (typeof ClientErrorCodes)[keyof typeof ClientErrorCodes];

/** Every error the SDK throws on purpose. */
export class ThreadlineClientError extends Error {
  override name = 'ThreadlineClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One problem with a message: the field (`sender.id`, `(root)`) and what is wrong with it. */
export interface MessageIssue {
  field: string;
  problem: string;
}

/**
 * The message fails Threadline's own inbound validation (the same `validateInbound` the worker runs),
 * so the worker would dead-letter it with `rejection`; it was not published. `issues` names each field
 * and its problem (at most five, as in a dead letter's reason); `field` and `problem` are the first.
 */
export class InvalidMessageError extends ThreadlineClientError {
  override name = 'InvalidMessageError';
  readonly field: string;
  readonly problem: string;
  constructor(
    /** What was being published. */
    readonly kind: InboundKind,
    /** The dead-letter code the worker would have used. */
    readonly rejection: RejectionCode,
    /** The reason, worded exactly as the dead letter's would be. */
    readonly reason: string,
    readonly issues: readonly MessageIssue[],
  ) {
    super(ClientErrorCodes.InvalidMessage, `invalid ${kind} message (${rejection}): ${reason}`, false);
    const first = issues[0] ?? { field: '(root)', problem: reason };
    this.field = first.field;
    this.problem = first.problem;
  }
}

/** A publish that was not acknowledged. `retryable` publishes may be retried with the same id and body. */
export class PublishError extends ThreadlineClientError {
  override name = 'PublishError';
  constructor(
    code:
      | typeof ClientErrorCodes.NoStream
      | typeof ClientErrorCodes.PublishTimeout
      | typeof ClientErrorCodes.PublishFailed,
    message: string,
    readonly subject: string,
    readonly id: string,
    retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(code, message, retryable, options);
  }
}

/** The ops service's own account of an error it answered with (`OPS_FAILED`). */
export interface OpsServiceError {
  /** The service error code: 400 a bad request, 404 not found, 413 too large for one reply, 500 failed. */
  status: number;
  /** `BAD_REQUEST`, `NOT_FOUND`, `TOO_LARGE`, `FAILED`, when the service said. */
  code?: string;
  message: string;
  /** A next step for the operator. */
  hint?: string;
  /** The request field at fault. */
  field?: string;
}

/** An ops query that got no usable answer; `service` is the ops service's error when it sent one. */
export class OpsError extends ThreadlineClientError {
  override name = 'OpsError';
  constructor(
    code:
      | typeof ClientErrorCodes.OpsUnavailable
      | typeof ClientErrorCodes.OpsTimeout
      | typeof ClientErrorCodes.OpsFailed
      | typeof ClientErrorCodes.OpsBadReply,
    message: string,
    readonly subject: string,
    retryable: boolean,
    readonly service?: OpsServiceError,
    options?: { cause?: unknown },
  ) {
    super(code, message, retryable, options);
  }

  /** True for an error answer saying that what was asked for does not exist (404). */
  get notFound(): boolean {
    return this.service?.status === 404;
  }
}

/**
 * Splits a validation reason (`sender.id: expected a string, got 42; at: required, but missing`) into
 * its issues. The reason's grammar is the protocol's (docs/protocol.md, "Dead letters"): `; `-separated
 * `<path>: <problem>` items, optionally ending in `and N more`. Received strings are quoted as JSON, so
 * a `; ` inside quotes (an odd number of unescaped `"` before it) belongs to the item it is in.
 */
export function issuesOf(reason: string): MessageIssue[] {
  const items: string[] = [];
  let open = '';
  for (const piece of reason.split('; ')) {
    open = open === '' ? piece : `${open}; ${piece}`;
    if ((open.match(/(?<!\\)"/g)?.length ?? 0) % 2 === 0) {
      items.push(open);
      open = '';
    }
  }
  if (open !== '') items.push(open);
  const PATH = /^(?:\(root\)|[A-Za-z_$][\w$]*|\[[^\]]*\])(?:\.[A-Za-z_$][\w$]*|\[[^\]]*\])*$/;
  const issues: MessageIssue[] = [];
  for (const item of items) {
    if (/^and \d+ more$/.test(item)) continue; // the count of issues not listed
    const at = item.indexOf(': ');
    const head = at > 0 ? item.slice(0, at) : '';
    if (PATH.test(head)) issues.push({ field: head, problem: item.slice(at + 2) });
    else issues.push({ field: '(root)', problem: item });
  }
  return issues;
}
