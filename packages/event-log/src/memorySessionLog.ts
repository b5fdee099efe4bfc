import { ChainError, ConcurrencyError, RecordIdConflictError } from './errors.js';
import { GENESIS_HASH, recordHash } from './recordHash.js';
import {
  type AppendInput,
  type AppendResult,
  DUPLICATE_PROBE_LIMIT,
  type LogHead,
  type ReadOptions,
  type RecordTrace,
  readAfterSeq,
  type SessionLog,
  type SessionRecord,
  sessionSubject,
  validateAppend,
} from './sessionLog.js';
import { DUPLICATE_WINDOW_MS } from './streams.js';

export interface MemorySessionLogOptions {
  /** How long a record id is remembered for dedupe. Default: the streams' duplicate window (2 minutes). */
  readonly duplicateWindowMs?: number;
  /** The clock that ages the dedupe window (the server's clock, for JetStream). Default `Date.now`. */
  readonly now?: () => number;
}

interface StoredRecord {
  readonly seq: number;
  readonly subject: string;
  readonly sessionKey: string;
  /** Canonical JSON; parsed afresh on every read so no reader shares (or can mutate) stored state. */
  readonly bodyJson: string;
  readonly prevHash: string;
  readonly hash: string;
  readonly at: number;
  readonly id: string;
  readonly correlationId: string | undefined;
  readonly causationId: string | undefined;
  readonly schemaVersion: number;
  readonly trace: RecordTrace | undefined;
}

/**
 * The in-memory twin of {@link NatsSessionLog}, with the same semantics (see `sessionLog.ts`): one
 * sequence counter across all keys like a stream, per-key expected-last-sequence, dedupe by record id
 * within a window, the same validation and the same hash chain. For tests and single-process tools;
 * nothing survives the process.
 *
 * Each `append` runs its checks and its write without yielding to the event loop, so concurrent appends
 * are serialised exactly as a JetStream stream leader serialises them.
 */
export class MemorySessionLog implements SessionLog {
  readonly #duplicateWindowMs: number;
  readonly #now: () => number;
  #lastSeq = 0;
  readonly #bySeq = new Map<number, StoredRecord>();
  readonly #byKey = new Map<string, StoredRecord[]>();
  readonly #ids = new Map<string, { readonly seq: number; readonly storedAt: number }>();

  constructor(options: MemorySessionLogOptions = {}) {
    this.#duplicateWindowMs = options.duplicateWindowMs ?? DUPLICATE_WINDOW_MS;
    this.#now = options.now ?? Date.now;
  }

  /** See {@link SessionLog.append}. */
  async append<T>(input: AppendInput<T>): Promise<AppendResult> {
    const { subject, schemaVersion, bodyJson } = validateAppend(input);
    const { sessionKey, expectedLastSeq, id, prevHash } = input;

    // 2. Chain: against the immutable record at expectedLastSeq, if it is this key's.
    const base = expectedLastSeq === 0 ? undefined : this.#bySeq.get(expectedLastSeq);
    const baseHash = expectedLastSeq === 0 ? GENESIS_HASH : base?.subject === subject ? base.hash : undefined;
    if (baseHash !== undefined && prevHash !== baseHash)
      throw new ChainError(sessionKey, expectedLastSeq, baseHash, prevHash);

    // 3. Dedupe, before the sequence fence — as JetStream does.
    const now = this.#now();
    const seen = this.#ids.get(id);
    if (seen && now - seen.storedAt < this.#duplicateWindowMs) {
      const original = this.#bySeq.get(seen.seq) as StoredRecord;
      if (original.subject !== subject)
        throw new RecordIdConflictError(id, sessionKey, original.seq, original.subject);
      return { seq: original.seq, hash: original.hash, duplicate: true };
    }

    // 4. Optimistic concurrency.
    const records = this.#byKey.get(subject) ?? [];
    const actualLastSeq = records.at(-1)?.seq ?? 0;
    if (actualLastSeq !== expectedLastSeq) {
      // 5. Unless the refused record is already among the next records (see NatsSessionLog for why).
      const own = records
        .filter((r) => r.seq > expectedLastSeq)
        .slice(0, DUPLICATE_PROBE_LIMIT)
        .find((r) => r.id === id);
      if (own) return { seq: own.seq, hash: own.hash, duplicate: true };
      throw new ConcurrencyError(sessionKey, expectedLastSeq, actualLastSeq);
    }

    const { correlationId, causationId, at } = input;
    const hash = recordHash({
      sessionKey,
      id,
      at,
      schemaVersion,
      correlationId,
      causationId,
      body: JSON.parse(bodyJson),
      prevHash,
    });
    const seq = ++this.#lastSeq;
    const stored: StoredRecord = {
      seq,
      subject,
      sessionKey,
      bodyJson,
      prevHash,
      hash,
      at,
      id,
      correlationId,
      causationId,
      schemaVersion,
      trace: input.trace === undefined ? undefined : { ...input.trace },
    };
    records.push(stored);
    this.#byKey.set(subject, records);
    this.#bySeq.set(seq, stored);
    this.#ids.delete(id); // re-inserted at the end, keeping the map in storedAt order
    this.#ids.set(id, { seq, storedAt: now });
    this.#forgetExpiredIds(now);
    return { seq, hash, duplicate: false };
  }

  /** See {@link SessionLog.read}. */
  async *read<T>(sessionKey: string, options?: ReadOptions): AsyncIterable<SessionRecord<T>> {
    const subject = sessionSubject(sessionKey);
    const afterSeq = readAfterSeq(options);
    // The records present now; appends made while the caller iterates are not waited for.
    const snapshot = (this.#byKey.get(subject) ?? []).filter((r) => r.seq > afterSeq);
    for (const stored of snapshot) yield toRecord<T>(stored);
  }

  /** See {@link SessionLog.head}. */
  async head(sessionKey: string): Promise<LogHead> {
    const last = this.#byKey.get(sessionSubject(sessionKey))?.at(-1);
    return last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  #forgetExpiredIds(now: number): void {
    // Map iteration is insertion order, so expired ids are at the front.
    for (const [id, entry] of this.#ids) {
      if (now - entry.storedAt < this.#duplicateWindowMs) break;
      this.#ids.delete(id);
    }
  }
}

function toRecord<T>(stored: StoredRecord): SessionRecord<T> {
  const {
    seq,
    sessionKey,
    bodyJson,
    prevHash,
    hash,
    at,
    id,
    correlationId,
    causationId,
    schemaVersion,
    trace,
  } = stored;
  return {
    seq,
    sessionKey,
    body: JSON.parse(bodyJson) as T,
    prevHash,
    hash,
    at,
    id,
    ...(correlationId === undefined ? {} : { correlationId }),
    ...(causationId === undefined ? {} : { causationId }),
    schemaVersion,
    ...(trace === undefined ? {} : { trace: { ...trace } }),
  };
}
