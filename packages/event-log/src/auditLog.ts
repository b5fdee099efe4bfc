/**
 * The audit of the session log: verifies the hash chain of one key, or of every key, straight from the
 * stream, and names every problem with its key and sequence.
 *
 * Every key is audited in one pass over the stream that keeps only each key's last hash: each record must
 * hash to its stored hash and link to the hash before it ({@link recordHash}, the rules of
 * {@link verifyChain}). Those two checks find every chain a verification would fault; the few keys they
 * fault are then read again on their own (their subject only, up to the same head) and given to
 * {@link verifyChain}, which names the problem — edited, removed, inserted, reordered, broken link — so
 * memory holds one hash per key plus one faulted key's history at a time.
 *
 * Stored messages that are not session records (missing headers, a body that is not JSON, a subject that
 * encodes no key) are reported as `unreadable`, not thrown; the chain around them is then checked without
 * them (the next record usually reads as `removed`).
 *
 * Retention (ADR 0023): with a maximum age on the session stream the oldest records are deleted, so a key's
 * first retained record may link to one that is gone. That is no problem when the predecessor lay before
 * the stream's first sequence — retention, like any removal from the front of the stream, deletes a
 * prefix — and the chain is then verified from that record on; the report counts such keys in
 * `truncated`. The record says where its predecessor was (`Tl-Prev-Seq`); for records written before that
 * header, the predecessor can only be placed before the first sequence when the stream has no deletion
 * inside it at all, and otherwise it is reported `removed`, as before.
 */
import { type JetStreamOptions, jetstreamManager, type StreamState } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { StreamNames } from '@threadline/protocol';
import { CorruptRecordError } from './errors.js';
import { decodeStoredRecord, RecordHeaders } from './natsSessionLog.js';
import { GENESIS_HASH, recordHash, recordHashOfBodyJson } from './recordHash.js';
import { type StoredMessage, scanStream } from './scanStream.js';
import { type SessionRecord, sessionSubject } from './sessionLog.js';
import { type ChainProblemKind, verifyChain } from './verifyChain.js';

export type AuditProblemKind = ChainProblemKind | 'unreadable';

export interface AuditProblem {
  /** The key, or for a message whose subject encodes no key, its subject. */
  readonly sessionKey: string;
  /** The stream sequence the problem was found at. */
  readonly seq: number;
  readonly kind: AuditProblemKind;
  readonly detail: string;
}

export interface AuditReport {
  /** No problem found. */
  readonly ok: boolean;
  /** Keys with at least one stored message. */
  readonly keys: number;
  /** Stored messages read (readable or not). */
  readonly records: number;
  /** In stream order. */
  readonly problems: AuditProblem[];
  /**
   * Present only when some keys' histories begin after the stream's retention cut: their first retained
   * record links to a record that was removed from the front of the stream (aged out), not to the genesis
   * hash. Not a problem: those chains are verified from their first retained record on.
   */
  readonly truncated?: {
    /** How many keys begin after the cut. */
    readonly keys: number;
    /** The stream's first retained sequence when it was looked at. */
    readonly firstSeq: number;
  };
}

export interface AuditLogOptions {
  /** Audit this key only (its subject only); every key when absent. */
  readonly sessionKey?: string;
  /** Messages read so far of `total` (the audit's first pass). */
  readonly onProgress?: (done: number, total: number) => void;
  /** The session stream. Default `THREADLINE_SESSIONS`. */
  readonly stream?: string;
  readonly jetStream?: JetStreamOptions;
}

/**
 * Audits the hash chain of `sessionKey`, or of every key, as stored when the audit starts. Throws
 * `InvalidRecordError` on a key that cannot be a subject and store errors (a missing stream); chain
 * problems and unreadable messages are in the report.
 */
export async function auditLog(nc: NatsConnection, options: AuditLogOptions = {}): Promise<AuditReport> {
  const store = {
    stream: options.stream ?? StreamNames.sessions,
    ...(options.jetStream === undefined ? {} : { jetStream: options.jetStream }),
  };
  return options.sessionKey === undefined
    ? auditAll(nc, store, options.onProgress)
    : auditOne(nc, store, options.sessionKey, options.onProgress);
}

interface Store {
  readonly stream: string;
  readonly jetStream?: JetStreamOptions;
}

type Progress = ((done: number, total: number) => void) | undefined;

async function auditOne(nc: NatsConnection, store: Store, sessionKey: string, onProgress: Progress) {
  const subject = sessionSubject(sessionKey);
  const cut = retentionCut(nc, store);
  const { records, unreadable, read, firstPrevSeq } = await readKey(
    nc,
    store,
    [subject],
    undefined,
    onProgress,
  );
  const first = records[0];
  const truncated = first !== undefined && (await cut.before(first, firstPrevSeq));
  const problems = [...unreadable, ...chainProblems(sessionKey, records, truncated)].sort(bySeq);
  return {
    ok: problems.length === 0,
    keys: read > 0 ? 1 : 0,
    records: read,
    problems,
    ...(truncated ? { truncated: { keys: 1, firstSeq: await cut.firstSeq() } } : {}),
  };
}

async function auditAll(nc: NatsConnection, store: Store, onProgress: Progress): Promise<AuditReport> {
  const lastHash = new Map<string, string>();
  /** Faulted keys, with the subjects their records were stored on (normally one). */
  const faulted = new Map<string, Set<string>>();
  const unreadableKeys = new Set<string>();
  /** Keys whose first retained record follows the retention cut. */
  const truncated = new Set<string>();
  const cut = retentionCut(nc, store);
  const problems: AuditProblem[] = [];
  let read = 0;
  let total = 0;
  let headSeq = 0;

  for await (const message of scanStream(nc, {
    ...store,
    onStart: (start) => {
      total = start.pending;
      headSeq = start.headSeq;
      onProgress?.(0, total);
    },
  })) {
    read += 1;
    onProgress?.(read, Math.max(read, total));
    let record: SessionRecord;
    try {
      record = decodeStoredRecord(message);
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      problems.push(unreadable(error));
      unreadableKeys.add(error.sessionKey);
      continue;
    }
    const { sessionKey } = record;
    let expected = lastHash.get(sessionKey);
    if (expected === undefined) {
      expected = GENESIS_HASH;
      if (record.prevHash !== GENESIS_HASH && (await cut.before(record, prevSeqOf(message)))) {
        truncated.add(sessionKey);
        expected = record.prevHash;
      }
    }
    if (record.prevHash !== expected || !hashesRight(record, message.data)) {
      const subjects = faulted.get(sessionKey) ?? new Set<string>();
      subjects.add(message.subject);
      faulted.set(sessionKey, subjects);
    }
    lastHash.set(sessionKey, record.hash);
  }

  for (const [sessionKey, subjects] of faulted) {
    const { records, firstPrevSeq } = await readKey(nc, store, [...subjects], headSeq, undefined);
    // Read again, its first record may be a later one: the cut may have moved on meanwhile.
    const first = records[0];
    const cutBefore = first !== undefined && (await cut.before(first, firstPrevSeq));
    problems.push(...chainProblems(sessionKey, records, cutBefore));
  }
  problems.sort(bySeq);
  // A key whose every message is unreadable is still a key that holds something.
  const keys = new Set([...lastHash.keys(), ...unreadableKeys]).size;
  return {
    ok: problems.length === 0,
    keys,
    records: read,
    problems,
    ...(truncated.size > 0 ? { truncated: { keys: truncated.size, firstSeq: await cut.firstSeq() } } : {}),
  };
}

/** One key's readable records in order, and problems for its unreadable messages. */
async function readKey(
  nc: NatsConnection,
  store: Store,
  subjects: string[],
  toSeq: number | undefined,
  onProgress: Progress,
): Promise<{
  records: SessionRecord[];
  unreadable: AuditProblem[];
  read: number;
  /** The `Tl-Prev-Seq` of the first readable record, when it has one. */
  firstPrevSeq: number | undefined;
}> {
  const records: SessionRecord[] = [];
  const problems: AuditProblem[] = [];
  let firstPrevSeq: number | undefined;
  let total = 0;
  for await (const message of scanStream(nc, {
    ...store,
    filter: subjects,
    ...(toSeq === undefined ? {} : { toSeq }),
    onStart: (start) => {
      total = start.pending;
    },
  })) {
    try {
      records.push(decodeStoredRecord(message));
      if (records.length === 1) firstPrevSeq = prevSeqOf(message);
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      problems.push(unreadable(error));
    }
    onProgress?.(records.length + problems.length, total);
  }
  return { records, unreadable: problems, read: records.length + problems.length, firstPrevSeq };
}

/**
 * The chain problems of one key's records; `truncated`: its first record follows the retention cut, so it
 * is checked from there (linking to its stored predecessor hash) instead of from the genesis hash.
 */
function chainProblems(
  sessionKey: string,
  records: readonly SessionRecord[],
  truncated: boolean,
): AuditProblem[] {
  const start = truncated ? records[0]?.prevHash : undefined;
  const verdict = verifyChain(records, start === undefined ? {} : { startHash: start });
  return verdict.ok ? [] : verdict.problems.map((p) => ({ sessionKey, ...p }));
}

/** The `Tl-Prev-Seq` header of a stored record: where its predecessor was; undefined when absent or bad. */
function prevSeqOf(message: Pick<StoredMessage, 'headers'>): number | undefined {
  const raw = message.headers?.get(RecordHeaders.prevSeq) ?? '';
  const value = Number(raw);
  return raw !== '' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

interface RetentionCut {
  /**
   * Whether `record` — a key's first retained record, linking to something other than the genesis hash —
   * lies right after the cut: its predecessor was before the stream's first sequence. `prevSeq`: where
   * the record says its predecessor was.
   */
  before(record: SessionRecord, prevSeq: number | undefined): Promise<boolean>;
  firstSeq(): Promise<number>;
}

/**
 * The stream's front, looked up once per audit and only when a key needs it. Looked up after the record in
 * question was read, which is what makes the answer sound: the front only moves forward, so a
 * predecessor before it now was gone before the scan reached it (or the scan would have read it).
 */
function retentionCut(nc: NatsConnection, store: Store): RetentionCut {
  let state: Promise<StreamState> | undefined;
  const load = () => {
    state ??= jetstreamManager(nc, { ...store.jetStream, checkAPI: false })
      .then((jsm) => jsm.streams.info(store.stream))
      .then((info) => info.state);
    return state;
  };
  return {
    async before(record, prevSeq) {
      if (record.prevHash === GENESIS_HASH) return false;
      const { first_seq: firstSeq, num_deleted: deleted } = await load();
      if (prevSeq !== undefined) return prevSeq > 0 && prevSeq < firstSeq;
      // No header: the predecessor is somewhere below the record. With no deletion inside the stream, a
      // missing one can only have been below the first sequence.
      return firstSeq > 1 && (deleted ?? 0) === 0;
    },
    async firstSeq() {
      return (await load()).first_seq;
    },
  };
}

const utf8 = new TextDecoder();

/**
 * Whether the record hashes to its stored hash. `data`: its stored body, which the log writes in canonical
 * form, so it is hashed as stored first — re-serialising the parsed body took most of a full audit's time —
 * and only a body stored in another form is hashed by the definition (which may still find it intact).
 */
function hashesRight(record: SessionRecord, data?: Uint8Array): boolean {
  const { hash, ...fields } = record;
  if (data !== undefined && recordHashOfBodyJson(fields, utf8.decode(data)) === hash) return true;
  return recordHash(fields) === hash;
}

function unreadable(error: CorruptRecordError): AuditProblem {
  return { sessionKey: error.sessionKey, seq: error.seq, kind: 'unreadable', detail: error.message };
}

const bySeq = (a: AuditProblem, b: AuditProblem) => a.seq - b.seq;
