/**
 * The session log PORT: one session key's whole history, appended one record at a time by exactly one
 * writer, read back in order. Two implementations keep identical semantics and pass one contract suite
 * (`sessionLog.contract.ts`): {@link NatsSessionLog} (JetStream) and {@link MemorySessionLog} (the twin).
 *
 * Semantics both implement, in the order they are checked by `append`:
 *  1. the input is validated ({@link InvalidRecordError}, {@link RecordTooLargeError});
 *  2. chain: `prevHash` must be the hash of the key's record at `expectedLastSeq` (the genesis hash for
 *     0) — otherwise {@link ChainError}. The log checks this itself rather than trusting the caller, so no
 *     writer can ever store a record that breaks the key's chain. It checks against the record *at
 *     `expectedLastSeq`*, which is immutable; whether that record is still the key's head is step 4's
 *     question. If `expectedLastSeq` is not a record of this key at all the check is left to step 4,
 *     which then refuses the append;
 *  3. dedupe: a record id already stored within the duplicate window returns the original record's
 *     `seq` and `hash` with `duplicate: true` and writes nothing — even when the key has moved on since
 *     (a redelivered input re-decided on newer state is still the same input). If the original belongs
 *     to another key the append fails with {@link RecordIdConflictError} instead of being dropped;
 *  4. optimistic concurrency: the key's last stream sequence must equal `expectedLastSeq` — otherwise
 *     {@link ConcurrencyError}, unless
 *  5. the refused record is already there: among the first {@link DUPLICATE_PROBE_LIMIT} records of the
 *     key after `expectedLastSeq` one has the append's id. Then it is a duplicate of that record. This
 *     step exists because a replicated JetStream stream checks the sequence fence *before* dedupe
 *     (nats-server 2.10, clustered path), so the most common retry — the same append again after a lost
 *     acknowledgement — would otherwise be a conflict on R3 and a duplicate on R1.
 *
 * Whatever the order, a record id is never stored twice for a key within the duplicate window, and no
 * record is ever stored on a stale head. One corner differs between a replicated stream and the others,
 * and it is the server's: an append on a stale head whose id is already taken within the window — by a
 * record not among the probed ones, or by another key — is a duplicate (or an id conflict) on R1 and in
 * memory, where dedupe comes first, but a plain conflict on R3. Reloading and appending on the fresh
 * head then meets dedupe, so the outcome converges after the retry every conflict calls for anyway.
 *
 * `seq` is a STREAM sequence: one counter shared by all keys, so a key's sequences are increasing but not
 * contiguous. It is exactly what JetStream's expected-last-subject-sequence compares against.
 */
import { Subjects } from '@threadline/protocol';
import { InvalidRecordError, RecordTooLargeError } from './errors.js';
import { canonicalJson } from './recordHash.js';
import { SESSION_RECORD_MAX_BYTES } from './streams.js';

/** One stored record of a session key's history. */
export interface SessionRecord<T = unknown> {
  /** Stream sequence, assigned by the log; increasing per key, shared across keys. */
  readonly seq: number;
  readonly sessionKey: string;
  readonly body: T;
  /** Hash of the key's previous record, {@link GENESIS_HASH} for the first. */
  readonly prevHash: string;
  /** See {@link recordHash}. */
  readonly hash: string;
  /** When the transition happened (epoch ms), from the caller — the log never reads a clock for it. */
  readonly at: number;
  /** Record id, stored as `Nats-Msg-Id`: the dedupe key. */
  readonly id: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  /** Version of the body's schema, so readers can upcast old records. */
  readonly schemaVersion: number;
  /** The W3C trace context the record was written in (see {@link AppendInput.trace}), when it has one. */
  readonly trace?: RecordTrace;
}

/**
 * W3C trace context (`traceparent`, optional `tracestate`) stored with a record as headers, outside the
 * hash: it says which request wrote the record, not what happened, so it is no part of the history's
 * identity and two writes of the same transition in different traces chain identically.
 */
export interface RecordTrace {
  readonly traceparent: string;
  readonly tracestate?: string;
}

export interface AppendInput<T = unknown> {
  readonly sessionKey: string;
  /** The key's last sequence this record was decided on; 0 when the key has no records. */
  readonly expectedLastSeq: number;
  /** Unique across all keys of the stream (it is the stream-wide dedupe key). */
  readonly id: string;
  readonly body: T;
  readonly at: number;
  readonly correlationId?: string;
  readonly causationId?: string;
  /** The hash of the record at `expectedLastSeq` ({@link GENESIS_HASH} for 0). */
  readonly prevHash: string;
  /** Default {@link DEFAULT_SCHEMA_VERSION}. */
  readonly schemaVersion?: number;
  /** Stored as the `traceparent` / `tracestate` headers; not hashed (see {@link RecordTrace}). */
  readonly trace?: RecordTrace;
}

export interface AppendResult {
  /** Where the record is (for a duplicate: where the original is). */
  readonly seq: number;
  /** The stored record's hash (for a duplicate: the original's). */
  readonly hash: string;
  /** True when the id was already stored and nothing was written. */
  readonly duplicate: boolean;
}

export interface LogHead {
  readonly seq: number;
  readonly hash: string;
}

export interface ReadOptions {
  /** Only records with a sequence greater than this (default 0: all of them). */
  readonly afterSeq?: number;
}

export interface SessionLog {
  /**
   * Appends one record iff the key's last sequence is `expectedLastSeq` (0 = the key has no records).
   *
   * Failure semantics (nothing is written in any of these cases):
   * - {@link ConcurrencyError} (`CONCURRENCY_CONFLICT`, retryable after reloading the key): another
   *   writer got there first; carries the actual last sequence when the store reports it.
   * - {@link ChainError} (`CHAIN_MISMATCH`): `prevHash` is not the hash of the record at `expectedLastSeq`.
   * - {@link RecordIdConflictError} (`RECORD_ID_CONFLICT`): the id is taken by another key's record.
   * - {@link InvalidRecordError} / {@link RecordTooLargeError}: the input cannot be stored.
   * A duplicate id within the window is not an error: it resolves with the original's position and
   * `duplicate: true`. Transport errors (timeouts, no stream) propagate from the store; an append that
   * timed out may have been stored, and retrying it with the same `id` and `expectedLastSeq` is safe —
   * dedupe answers within the window, the sequence fence after it.
   */
  append<T>(input: AppendInput<T>): Promise<AppendResult>;
  /**
   * The key's records in order, those with `seq > afterSeq` — reading only that key's subject, never the
   * whole stream. The records are those present when iteration starts (later appends are not waited
   * for). Breaking out of the loop releases what the read holds. Throws {@link CorruptRecordError} on a
   * stored message that is not a session record, and store errors as they come.
   */
  read<T>(sessionKey: string, options?: ReadOptions): AsyncIterable<SessionRecord<T>>;
  /** The key's last record's sequence and hash, or `{ seq: 0, hash: GENESIS_HASH }`. Store errors propagate. */
  head(sessionKey: string): Promise<LogHead>;
}

export const DEFAULT_SCHEMA_VERSION = 1;

/**
 * The largest record body (canonical JSON, UTF-8 bytes) either log accepts: the session stream's
 * `max_msg_size` minus room for the headers (ids of up to {@link MAX_ID_LENGTH} characters, hashes).
 */
export const MAX_BODY_BYTES = SESSION_RECORD_MAX_BYTES - 8 * 1024;

/**
 * How many of the key's records after `expectedLastSeq` a refused append looks through for its own id
 * (step 5). A conflict between live writers leaves a gap of one or two records; a retry after a lost
 * acknowledgement finds its original first.
 */
export const DUPLICATE_PROBE_LIMIT = 16;

/** Longest record / correlation / causation id, in UTF-16 code units. */
export const MAX_ID_LENGTH = 512;

/**
 * Longest encoded session subject. NATS protocol lines default to 4 KiB (`max_control_line`) and the
 * subject shares the line with the reply inbox and sizes; keys long enough to get near are refused early.
 */
export const MAX_SUBJECT_LENGTH = 2048;

/** An input that passed validation, with what both implementations store derived from it. */
export interface ValidatedAppend<T> {
  readonly input: AppendInput<T>;
  readonly subject: string;
  readonly schemaVersion: number;
  /** The body as canonical JSON: what is stored and what is hashed. */
  readonly bodyJson: string;
}

// Header values cannot hold CR/LF and are trimmed by the client, so ids must not start or end with
// whitespace; other control characters are refused too, as nobody means them in an id.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkId(field: string, value: unknown, required: boolean): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || value.length === 0)
    throw new InvalidRecordError(field, 'must be a non-empty string');
  if (value.length > MAX_ID_LENGTH)
    throw new InvalidRecordError(field, `is longer than ${MAX_ID_LENGTH} characters`);
  if (CONTROL.test(value)) throw new InvalidRecordError(field, 'must not contain control characters');
  if (value.trim() !== value) throw new InvalidRecordError(field, 'must not start or end with whitespace');
}

function checkSeq(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new InvalidRecordError(field, 'must be a non-negative integer');
}

/** Checks an append's input and derives subject and body JSON. Shared so both logs refuse alike. */
export function validateAppend<T>(input: AppendInput<T>): ValidatedAppend<T> {
  const subject = sessionSubject(input.sessionKey);
  checkSeq('expectedLastSeq', input.expectedLastSeq);
  checkId('id', input.id, true);
  checkId('correlationId', input.correlationId, false);
  checkId('causationId', input.causationId, false);
  if (input.trace !== undefined) {
    checkId('trace.traceparent', input.trace.traceparent, true);
    checkId('trace.tracestate', input.trace.tracestate, false);
  }
  if (typeof input.at !== 'number' || !Number.isFinite(input.at))
    throw new InvalidRecordError('at', 'must be a finite number (epoch milliseconds)');
  if (typeof input.prevHash !== 'string' || !/^[0-9a-f]{64}$/.test(input.prevHash))
    throw new InvalidRecordError('prevHash', 'must be 64 lower-case hex digits');
  const schemaVersion = input.schemaVersion ?? DEFAULT_SCHEMA_VERSION;
  if (!Number.isSafeInteger(schemaVersion) || schemaVersion < 1)
    throw new InvalidRecordError('schemaVersion', 'must be a positive integer');
  let bodyJson: string;
  try {
    bodyJson = canonicalJson(input.body);
  } catch (error) {
    throw new InvalidRecordError('body', `has no JSON form: ${(error as Error).message}`, { cause: error });
  }
  const bytes = Buffer.byteLength(bodyJson, 'utf8');
  if (bytes > MAX_BODY_BYTES) throw new RecordTooLargeError(input.sessionKey, bytes, MAX_BODY_BYTES);
  return { input, subject, schemaVersion, bodyJson };
}

/** The key's subject, refusing keys that cannot be one ({@link InvalidRecordError} on field `sessionKey`). */
export function sessionSubject(sessionKey: string): string {
  if (typeof sessionKey !== 'string') throw new InvalidRecordError('sessionKey', 'must be a string');
  let subject: string;
  try {
    subject = Subjects.session(sessionKey);
  } catch (error) {
    throw new InvalidRecordError('sessionKey', (error as Error).message, { cause: error });
  }
  if (subject.length > MAX_SUBJECT_LENGTH)
    throw new InvalidRecordError(
      'sessionKey',
      `encodes to a subject longer than ${MAX_SUBJECT_LENGTH} characters`,
    );
  return subject;
}

/** Validates `afterSeq` of a read. */
export function readAfterSeq(options: ReadOptions | undefined): number {
  const afterSeq = options?.afterSeq ?? 0;
  checkSeq('afterSeq', afterSeq);
  return afterSeq;
}
