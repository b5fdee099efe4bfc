import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JetStreamOptions,
  jetstream,
  jetstreamManager,
  type MsgRequest,
  type PubAck,
  PubHeaders,
  type StoredMsg,
} from '@nats-io/jetstream';
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { decodeSubjectToken, StreamNames, Subjects } from '@threadline/protocol';
import {
  ChainError,
  ConcurrencyError,
  CorruptRecordError,
  RecordIdConflictError,
  RecordTooLargeError,
} from './errors.js';
import { fetchPending } from './fetchPending.js';
import { GENESIS_HASH, recordHashOfBodyJson } from './recordHash.js';
import {
  type AppendInput,
  type AppendResult,
  DUPLICATE_PROBE_LIMIT,
  type LogHead,
  type ReadOptions,
  readAfterSeq,
  type SessionLog,
  type SessionRecord,
  sessionSubject,
  validateAppend,
} from './sessionLog.js';
import { SESSION_RECORD_MAX_BYTES } from './streams.js';

/**
 * Headers of a stored session record. The body is the payload (canonical JSON); everything else is a
 * header, so tools can inspect a record's identity and chain without parsing its body. The record id is
 * JetStream's own `Nats-Msg-Id`.
 */
export const RecordHeaders = {
  id: PubHeaders.MsgIdHdr,
  schemaVersion: 'Tl-Schema-Version',
  at: 'Tl-At',
  prevHash: 'Tl-Prev-Hash',
  hash: 'Tl-Hash',
  /**
   * The stream sequence of the key's previous record (`0` for the first): outside the hash, it tells an
   * audit whether a missing predecessor lay before the stream's first retained sequence — removed by
   * retention — or inside the retained range (ADR 0023).
   */
  prevSeq: 'Tl-Prev-Seq',
  correlationId: 'Tl-Correlation-Id',
  causationId: 'Tl-Causation-Id',
  /** W3C trace context, outside the hash (see `RecordTrace`). */
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

/** "message size exceeds maximum allowed" (not in the client's code map). */
const MESSAGE_TOO_LARGE = 10054;
const CONFLICT_CODES: ReadonlySet<number> = new Set([
  JetStreamApiCodes.StreamWrongLastSequence,
  JetStreamApiCodes.StreamWrongLastSequenceUnknown,
]);

export interface NatsSessionLogOptions {
  /** The stream holding the session subjects. Default `THREADLINE_SESSIONS`. */
  readonly stream?: string;
  /** JetStream API options (domain, API prefix, request timeout). */
  readonly jetStream?: JetStreamOptions;
  /** How long to wait for a publish acknowledgement, in ms. Default: the JetStream request timeout. */
  readonly publishTimeoutMs?: number;
  /** How many record hashes to remember for the chain check (saves a look-up per append). Default 10 000. */
  readonly hashCacheSize?: number;
}

/**
 * The session log on JetStream: key `k` is subject `tl.session.<encodeSubjectToken(k)>` of the
 * `THREADLINE_SESSIONS` stream. Semantics are those of {@link SessionLog} (`sessionLog.ts`); here is how
 * each is carried out:
 *
 * - optimistic concurrency: `expect.lastSubjectSequence` on the publish; the server's "wrong last
 *   sequence" (API error 10071) becomes {@link ConcurrencyError}, with the actual sequence from its text.
 *   Serializable on replicated streams only from nats-server 2.9.21 (ADR 0001), hence the 2.10 floor.
 * - dedupe: the record id is the `Nats-Msg-Id`; a duplicate ack is followed by a look-up of the
 *   original, to return its hash and to refuse an id another key already used. A refused append first
 *   looks for its own id among the records after `expectedLastSeq` (step 5 of the semantics).
 * - chain check: against the hash of the record at `expectedLastSeq`, from a small cache of hashes this
 *   log has written or read, else one `STREAM.MSG.GET` by sequence.
 * - head: `STREAM.MSG.GET` `last_by_subj`, answered by the stream leader (never a lagging replica).
 * - read: an ordered consumer filtered to the key's one subject, from `afterSeq + 1` to the head found
 *   when the read starts; deleted when the read ends, however it ends. Subjects holding `@` are read
 *   one message-get at a time instead (see `#readByGet`: a 2.10 server garbles their consumer deliveries
 *   across routes).
 *
 * It takes a connection and never closes it: connect with `connectToNats` (`@threadline/nats`), which
 * enforces the server version floor.
 */
export class NatsSessionLog implements SessionLog {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #stream: string;
  readonly #options: NatsSessionLogOptions;
  readonly #hashCacheSize: number;
  /** subject → the latest record hash known for it. Records are immutable, so an entry is never wrong. */
  readonly #knownHashes = new Map<string, LogHead>();
  #jsm: Promise<JetStreamManager> | undefined;

  constructor(nc: NatsConnection, options: NatsSessionLogOptions = {}) {
    this.#nc = nc;
    this.#options = options;
    this.#js = jetstream(nc, options.jetStream);
    this.#stream = options.stream ?? StreamNames.sessions;
    this.#hashCacheSize = options.hashCacheSize ?? 10_000;
  }

  /** See {@link SessionLog.append}. */
  async append<T>(input: AppendInput<T>): Promise<AppendResult> {
    const { subject, schemaVersion, bodyJson } = validateAppend(input);
    const { sessionKey, expectedLastSeq, id, prevHash, at, correlationId, causationId } = input;

    const baseHash = await this.#hashAt(sessionKey, subject, expectedLastSeq);
    if (baseHash !== undefined && prevHash !== baseHash)
      throw new ChainError(sessionKey, expectedLastSeq, baseHash, prevHash);

    // `bodyJson` is canonical (validateAppend), so it is hashed as it is, not parsed and serialised again.
    const hash = recordHashOfBodyJson(
      { sessionKey, id, at, schemaVersion, correlationId, causationId, prevHash },
      bodyJson,
    );
    const h = headers();
    h.set(RecordHeaders.schemaVersion, String(schemaVersion));
    h.set(RecordHeaders.at, String(at));
    h.set(RecordHeaders.prevHash, prevHash);
    h.set(RecordHeaders.hash, hash);
    h.set(RecordHeaders.prevSeq, String(expectedLastSeq));
    if (correlationId !== undefined) h.set(RecordHeaders.correlationId, correlationId);
    if (causationId !== undefined) h.set(RecordHeaders.causationId, causationId);
    if (input.trace !== undefined) {
      h.set(RecordHeaders.traceparent, input.trace.traceparent);
      if (input.trace.tracestate !== undefined) h.set(RecordHeaders.tracestate, input.trace.tracestate);
    }

    let ack: PubAck;
    try {
      ack = await this.#js.publish(subject, bodyJson, {
        msgID: id,
        headers: h,
        expect: { lastSubjectSequence: expectedLastSeq, streamName: this.#stream },
        ...(this.#options.publishTimeoutMs === undefined ? {} : { timeout: this.#options.publishTimeoutMs }),
      });
    } catch (error) {
      if (error instanceof JetStreamApiError && CONFLICT_CODES.has(error.code)) {
        const own = await this.#findOwnRecord(sessionKey, subject, id, expectedLastSeq);
        if (own) return own;
        throw new ConcurrencyError(sessionKey, expectedLastSeq, actualLastSeqFrom(error.message), {
          cause: error,
        });
      }
      if (error instanceof JetStreamApiError && error.code === MESSAGE_TOO_LARGE)
        throw new RecordTooLargeError(sessionKey, undefined, SESSION_RECORD_MAX_BYTES, { cause: error });
      throw error;
    }

    if (ack.duplicate) {
      const original = await (await this.#manager()).streams.getMessage(this.#stream, { seq: ack.seq });
      if (original && original.subject !== subject)
        throw new RecordIdConflictError(id, sessionKey, ack.seq, original.subject);
      if (!original)
        throw new CorruptRecordError(sessionKey, ack.seq, `the original of duplicate id ${id} is gone`);
      return {
        seq: ack.seq,
        hash: requiredHeader(original.header, RecordHeaders.hash, sessionKey, ack.seq),
        duplicate: true,
      };
    }
    this.#remember(subject, { seq: ack.seq, hash });
    return { seq: ack.seq, hash, duplicate: false };
  }

  /** See {@link SessionLog.read}. */
  async *read<T>(sessionKey: string, options?: ReadOptions): AsyncIterable<SessionRecord<T>> {
    const subject = sessionSubject(sessionKey);
    const afterSeq = readAfterSeq(options);
    const head = await this.head(sessionKey);
    // Nothing to read: return before creating a consumer that would only wait for messages.
    if (head.seq <= afterSeq) return;
    // Subjects never hold `@` (encodeSubjectToken escapes it), so a consumer delivers them intact even
    // across routes on 2.10 (nats-server #6777).
    const consumer = await this.#js.consumers.get(this.#stream, {
      filter_subjects: [subject],
      opt_start_seq: afterSeq + 1,
      // Cleans up after a reader that died mid-read; a normal read deletes its consumer itself.
      inactive_threshold: 60_000,
    });
    try {
      const { num_pending: pending } = await consumer.info(true);
      for await (const m of fetchPending(consumer, pending)) {
        if (m.subject !== subject)
          throw new CorruptRecordError(
            sessionKey,
            m.seq,
            `delivered on ${m.subject}, not ${subject}: remapped in transit`,
          );
        const record = decode<T>(sessionKey, m.seq, m.headers, () => m.string());
        this.#remember(subject, { seq: record.seq, hash: record.hash });
        yield record;
        if (m.seq >= head.seq) break;
      }
    } finally {
      await consumer.delete().catch(() => {
        // Already gone (inactive threshold, stream deleted): nothing left to release.
      });
    }
  }

  /** See {@link SessionLog.head}. */
  async head(sessionKey: string): Promise<LogHead> {
    const subject = sessionSubject(sessionKey);
    const last = await (await this.#manager()).streams.getMessage(this.#stream, { last_by_subj: subject });
    if (!last) return { seq: 0, hash: GENESIS_HASH };
    const head = {
      seq: last.seq,
      hash: requiredHeader(last.header, RecordHeaders.hash, sessionKey, last.seq),
    };
    this.#remember(subject, head);
    return head;
  }

  /**
   * The hash of the key's record at `seq`; undefined when `seq` is not a record of this key — then the
   * sequence fence refuses the append, as the key's last sequence cannot be `seq`.
   */
  async #hashAt(sessionKey: string, subject: string, seq: number): Promise<string | undefined> {
    if (seq === 0) return GENESIS_HASH;
    const known = this.#knownHashes.get(subject);
    if (known?.seq === seq) return known.hash;
    const stored = await (await this.#manager()).streams.getMessage(this.#stream, { seq });
    if (!stored || stored.subject !== subject) return undefined;
    return requiredHeader(stored.header, RecordHeaders.hash, sessionKey, seq);
  }

  /** The first message on `subject` at or after `seq`, from the stream leader; null when there is none. */
  async #nextStored(subject: string, seq: number): Promise<StoredMsg | null> {
    // The client types STREAM.MSG.GET as by-sequence or last-by-subject only; the server (2.10+) also
    // takes next-by-subject.
    const query = { next_by_subj: subject, seq } as unknown as MsgRequest;
    return (await this.#manager()).streams.getMessage(this.#stream, query);
  }

  /**
   * Step 5 of the append semantics: the key's record with this id among the first
   * {@link DUPLICATE_PROBE_LIMIT} after `afterSeq`. On a replicated stream the server checks the sequence
   * fence before dedupe (nats-server 2.10, clustered path: measured on 2.10.27), so a plain retry after a
   * lost acknowledgement is refused as a conflict there while a single-replica stream answers it as a
   * duplicate; looking for the original makes both answer alike. Steps one record per request, asking the
   * stream leader (`STREAM.MSG.GET` `next_by_subj`, 2.10+), so the original just written is always seen.
   */
  async #findOwnRecord(
    sessionKey: string,
    subject: string,
    id: string,
    afterSeq: number,
  ): Promise<AppendResult | undefined> {
    let from = afterSeq + 1;
    for (let i = 0; i < DUPLICATE_PROBE_LIMIT; i++) {
      const stored = await this.#nextStored(subject, from);
      if (!stored) return undefined;
      if (stored.header.get(RecordHeaders.id) === id)
        return {
          seq: stored.seq,
          hash: requiredHeader(stored.header, RecordHeaders.hash, sessionKey, stored.seq),
          duplicate: true,
        };
      from = stored.seq + 1;
    }
    return undefined;
  }

  #remember(subject: string, head: LogHead): void {
    const known = this.#knownHashes.get(subject);
    if (known && known.seq > head.seq) return;
    this.#knownHashes.delete(subject);
    this.#knownHashes.set(subject, head);
    if (this.#knownHashes.size > this.#hashCacheSize) {
      const oldest = this.#knownHashes.keys().next().value;
      if (oldest !== undefined) this.#knownHashes.delete(oldest);
    }
  }

  #manager(): Promise<JetStreamManager> {
    // No account check: the log only needs the stream, and a missing one shows up on first use.
    this.#jsm ??= jetstreamManager(this.#nc, { ...this.#options.jetStream, checkAPI: false });
    return this.#jsm;
  }
}

/** "wrong last sequence: 42" → 42. */
function actualLastSeqFrom(message: string): number | undefined {
  const match = /wrong last sequence: (\d+)/i.exec(message);
  return match ? Number(match[1]) : undefined;
}

function requiredHeader(h: MsgHdrs | undefined, name: string, sessionKey: string, seq: number): string {
  const value = h?.get(name) ?? '';
  if (value === '') throw new CorruptRecordError(sessionKey, seq, `header ${name} is missing`);
  return value;
}

function decode<T>(
  sessionKey: string,
  seq: number,
  h: MsgHdrs | undefined,
  text: () => string,
): SessionRecord<T> {
  const at = Number(requiredHeader(h, RecordHeaders.at, sessionKey, seq));
  const schemaVersion = Number(requiredHeader(h, RecordHeaders.schemaVersion, sessionKey, seq));
  if (!Number.isFinite(at) || !Number.isSafeInteger(schemaVersion))
    throw new CorruptRecordError(sessionKey, seq, 'headers Tl-At / Tl-Schema-Version are not numbers');
  let body: T;
  try {
    body = JSON.parse(text()) as T;
  } catch (error) {
    throw new CorruptRecordError(sessionKey, seq, 'the body is not JSON', { cause: error });
  }
  const correlationId = h?.get(RecordHeaders.correlationId) || undefined;
  const causationId = h?.get(RecordHeaders.causationId) || undefined;
  const traceparent = h?.get(RecordHeaders.traceparent) || undefined;
  const tracestate = h?.get(RecordHeaders.tracestate) || undefined;
  return {
    seq,
    sessionKey,
    body,
    prevHash: requiredHeader(h, RecordHeaders.prevHash, sessionKey, seq),
    hash: requiredHeader(h, RecordHeaders.hash, sessionKey, seq),
    at,
    id: requiredHeader(h, RecordHeaders.id, sessionKey, seq),
    ...(correlationId === undefined ? {} : { correlationId }),
    ...(causationId === undefined ? {} : { causationId }),
    schemaVersion,
    ...(traceparent === undefined
      ? {}
      : { trace: { traceparent, ...(tracestate === undefined ? {} : { tracestate }) } }),
  };
}

/**
 * Decodes a record read from the session stream by any reader of the whole stream (projector, scheduler,
 * audits), not through {@link NatsSessionLog.read}: the key comes from the subject `tl.session.<key>`.
 *
 * @throws {CorruptRecordError} when the subject is not a session subject or the record is malformed.
 */
export function decodeStoredRecord<T>(message: {
  subject: string;
  seq: number;
  headers: MsgHdrs | undefined;
  data: Uint8Array;
}): SessionRecord<T> {
  const prefix = Subjects.sessionAll.slice(0, -1); // 'tl.session.'
  const token = message.subject.startsWith(prefix) ? message.subject.slice(prefix.length) : '';
  if (token === '' || token.includes('.'))
    throw new CorruptRecordError(message.subject, message.seq, `${message.subject} is not a session subject`);
  let sessionKey: string;
  try {
    sessionKey = decodeSubjectToken(token);
  } catch (error) {
    throw new CorruptRecordError(
      message.subject,
      message.seq,
      `${message.subject} does not encode a session key`,
      {
        cause: error,
      },
    );
  }
  return decode<T>(sessionKey, message.seq, message.headers, () => new TextDecoder().decode(message.data));
}
