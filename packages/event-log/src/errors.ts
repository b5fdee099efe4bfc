/**
 * The errors of the event log, for the one who handles them. Each has a stable `code` and says whether
 * retrying can help (`retryable`): a concurrency conflict is retryable after reloading the key, a bad
 * record never is.
 */
export const EventLogErrorCodes = {
  ConcurrencyConflict: 'CONCURRENCY_CONFLICT',
  ChainMismatch: 'CHAIN_MISMATCH',
  RecordIdConflict: 'RECORD_ID_CONFLICT',
  InvalidRecord: 'INVALID_RECORD',
  RecordTooLarge: 'RECORD_TOO_LARGE',
  CorruptRecord: 'CORRUPT_RECORD',
} as const;
export type EventLogErrorCode = (typeof EventLogErrorCodes)[keyof typeof EventLogErrorCodes];

/**
 * Another writer appended to the key first: the key's last sequence is not the one the append expected.
 * Nothing was written. Reload the key (`head` / `read`), decide again and append with the new sequence.
 */
export class ConcurrencyError extends Error {
  override readonly name = 'ConcurrencyError';
  readonly code = EventLogErrorCodes.ConcurrencyConflict;
  readonly retryable = true;
  constructor(
    readonly sessionKey: string,
    readonly expectedLastSeq: number,
    /** The key's actual last sequence when the store said so (JetStream does, in its error text). */
    readonly actualLastSeq: number | undefined,
    options?: ErrorOptions,
  ) {
    super(
      `session ${JSON.stringify(sessionKey)}: expected last sequence ${expectedLastSeq}` +
        (actualLastSeq === undefined ? ', but another writer appended first' : `, actual ${actualLastSeq}`),
      options,
    );
  }
}

/**
 * The append's `prevHash` is not the hash of the key's record at `expectedLastSeq` (or, for
 * `expectedLastSeq` 0, not the genesis hash). Nothing was written. This is a caller bug — it built the
 * record on a head it did not read — so retrying the same input cannot help.
 */
export class ChainError extends Error {
  override readonly name = 'ChainError';
  readonly code = EventLogErrorCodes.ChainMismatch;
  readonly retryable = false;
  constructor(
    readonly sessionKey: string,
    readonly expectedLastSeq: number,
    readonly expectedPrevHash: string,
    readonly actualPrevHash: string,
  ) {
    super(
      `session ${JSON.stringify(sessionKey)}: prevHash ${actualPrevHash} does not chain to the record at ` +
        `sequence ${expectedLastSeq}, whose hash is ${expectedPrevHash}`,
    );
  }
}

/**
 * A record id (the `Nats-Msg-Id`) was reused, within the duplicate window, for a record of a *different*
 * session key. JetStream deduplicates per stream, so the second record would silently be dropped; the log
 * refuses instead. Record ids must be unique across all keys (namespace producer ids, e.g. by channel).
 */
export class RecordIdConflictError extends Error {
  override readonly name = 'RecordIdConflictError';
  readonly code = EventLogErrorCodes.RecordIdConflict;
  readonly retryable = false;
  constructor(
    readonly id: string,
    readonly sessionKey: string,
    readonly existingSeq: number,
    readonly existingSubject: string,
  ) {
    super(
      `record id ${JSON.stringify(id)} for session ${JSON.stringify(sessionKey)} is already used by ` +
        `sequence ${existingSeq} on ${existingSubject}`,
    );
  }
}

/** The append's input cannot be stored as given (an id that cannot be a header, a body that is not JSON, …). */
export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError';
  readonly code = EventLogErrorCodes.InvalidRecord;
  readonly retryable = false;
  constructor(
    readonly field: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`invalid session record: ${field} ${reason}`, options);
  }
}

/** The record is larger than the session stream accepts. Large payloads belong elsewhere, referenced. */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError';
  readonly code = EventLogErrorCodes.RecordTooLarge;
  readonly retryable = false;
  constructor(
    readonly sessionKey: string,
    readonly bytes: number | undefined,
    readonly limit: number,
    options?: ErrorOptions,
  ) {
    super(
      `session ${JSON.stringify(sessionKey)}: record body of ${bytes ?? 'unknown'} bytes exceeds the limit of ${limit}`,
      options,
    );
  }
}

/** A stored message on a session subject is not a readable session record (missing headers, bad JSON). */
export class CorruptRecordError extends Error {
  override readonly name = 'CorruptRecordError';
  readonly code = EventLogErrorCodes.CorruptRecord;
  readonly retryable = false;
  constructor(
    readonly sessionKey: string,
    readonly seq: number,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(
      `session ${JSON.stringify(sessionKey)}: message at sequence ${seq} is not a session record: ${reason}`,
      options,
    );
  }
}
