/**
 * The ways an operation fails that its caller can act on. The CLI maps them to its exit codes (usage, not
 * found, failed); the ops service to service errors with the HTTP-like status in `status`. Anything else
 * thrown from an operation is a failure nobody planned for (the service answers it with 500).
 */
export const OpsErrorCodes = {
  /** The request is wrong: a field of the wrong type, a bad time, an unknown key. */
  BadRequest: 'BAD_REQUEST',
  /** What was asked for does not exist: an unknown session key, a missing stream. */
  NotFound: 'NOT_FOUND',
  /** The answer would not fit in one reply (the server's max payload). */
  TooLarge: 'TOO_LARGE',
  /** The store answered, but not as it should: an unreadable record, JetStream off. */
  Failed: 'FAILED',
} as const;
export type OpsErrorCode = (typeof OpsErrorCodes)[keyof typeof OpsErrorCodes];

/** The service error code (`Nats-Service-Error-Code`) of each kind. */
export const OPS_ERROR_STATUS: Readonly<Record<OpsErrorCode, number>> = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  TOO_LARGE: 413,
  FAILED: 500,
};

export interface OpsErrorOptions extends ErrorOptions {
  /** A next step for the operator. */
  hint?: string;
  /** The request field at fault (bad requests). */
  field?: string;
}

export class OpsError extends Error {
  override readonly name: string = 'OpsError';
  readonly hint: string | undefined;
  readonly field: string | undefined;
  constructor(
    readonly code: OpsErrorCode,
    message: string,
    options: OpsErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
    this.field = options.field;
  }

  /** The service error code: 400, 404, 413 or 500. */
  get status(): number {
    return OPS_ERROR_STATUS[this.code];
  }
}

export class BadRequestError extends OpsError {
  override readonly name = 'BadRequestError';
  constructor(message: string, options: OpsErrorOptions = {}) {
    super(OpsErrorCodes.BadRequest, message, options);
  }
}

export class NotFoundError extends OpsError {
  override readonly name = 'NotFoundError';
  constructor(message: string, options: OpsErrorOptions = {}) {
    super(OpsErrorCodes.NotFound, message, options);
  }
}
