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
 */
import type { JetStreamOptions } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { StreamNames } from '@threadline/protocol';
import { CorruptRecordError } from './errors.js';
import { decodeStoredRecord } from './natsSessionLog.js';
import { GENESIS_HASH, recordHash } from './recordHash.js';
import { scanStream } from './scanStream.js';
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
  const { records, unreadable, read } = await readKey(nc, store, [subject], undefined, onProgress);
  const problems = [...unreadable, ...chainProblems(sessionKey, records)].sort(bySeq);
  return { ok: problems.length === 0, keys: read > 0 ? 1 : 0, records: read, problems };
}

async function auditAll(nc: NatsConnection, store: Store, onProgress: Progress): Promise<AuditReport> {
  const lastHash = new Map<string, string>();
  /** Faulted keys, with the subjects their records were stored on (normally one). */
  const faulted = new Map<string, Set<string>>();
  const unreadableKeys = new Set<string>();
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
    const expected = lastHash.get(sessionKey) ?? GENESIS_HASH;
    if (record.prevHash !== expected || !hashesRight(record)) {
      const subjects = faulted.get(sessionKey) ?? new Set<string>();
      subjects.add(message.subject);
      faulted.set(sessionKey, subjects);
    }
    lastHash.set(sessionKey, record.hash);
  }

  for (const [sessionKey, subjects] of faulted) {
    const { records } = await readKey(nc, store, [...subjects], headSeq, undefined);
    problems.push(...chainProblems(sessionKey, records));
  }
  problems.sort(bySeq);
  // A key whose every message is unreadable is still a key that holds something.
  const keys = new Set([...lastHash.keys(), ...unreadableKeys]).size;
  return { ok: problems.length === 0, keys, records: read, problems };
}

/** One key's readable records in order, and problems for its unreadable messages. */
async function readKey(
  nc: NatsConnection,
  store: Store,
  subjects: string[],
  toSeq: number | undefined,
  onProgress: Progress,
): Promise<{ records: SessionRecord[]; unreadable: AuditProblem[]; read: number }> {
  const records: SessionRecord[] = [];
  const problems: AuditProblem[] = [];
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
    } catch (error) {
      if (!(error instanceof CorruptRecordError)) throw error;
      problems.push(unreadable(error));
    }
    onProgress?.(records.length + problems.length, total);
  }
  return { records, unreadable: problems, read: records.length + problems.length };
}

function chainProblems(sessionKey: string, records: readonly SessionRecord[]): AuditProblem[] {
  const verdict = verifyChain(records);
  return verdict.ok ? [] : verdict.problems.map((p) => ({ sessionKey, ...p }));
}

function hashesRight(record: SessionRecord): boolean {
  const { hash, ...fields } = record;
  return recordHash(fields) === hash;
}

function unreadable(error: CorruptRecordError): AuditProblem {
  return { sessionKey: error.sessionKey, seq: error.seq, kind: 'unreadable', detail: error.message };
}

const bySeq = (a: AuditProblem, b: AuditProblem) => a.seq - b.seq;
