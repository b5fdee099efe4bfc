import { GENESIS_HASH, recordHash } from './recordHash.js';
import type { SessionRecord } from './sessionLog.js';

export type ChainProblemKind = 'edited' | 'removed' | 'reordered' | 'inserted' | 'broken-link';

export interface ChainProblem {
  /** The record the problem was found at. */
  readonly seq: number;
  readonly kind: ChainProblemKind;
  readonly detail: string;
}

export type ChainVerdict = { readonly ok: true } | { readonly ok: false; readonly problems: ChainProblem[] };

export interface VerifyChainOptions {
  /**
   * The hash the first record must link to: {@link GENESIS_HASH} (the default) for a whole history, or
   * the hash of the record before the first one for a read that started after a sequence.
   */
  readonly startHash?: string;
}

/**
 * Checks one key's records, in the order given, against their hash chain. Pure: no I/O, no clock.
 *
 * - `edited`: a record's content no longer gives its stored hash.
 * - `reordered`: two neighbours are swapped (each links to the other), or sequences go backwards.
 * - `inserted`: a record the chain does not pass through — the next record links over it to the one
 *   before it.
 * - `removed`: a record links to a hash that is in no record of the list, so its predecessor is missing.
 * - `broken-link`: a record links to a record of the list that is not its predecessor, in no pattern
 *   above.
 *
 * Limits, stated plainly: a hash chain proves order and integrity *relative to a trusted head*. An edit
 * whose hash was recomputed reads as `removed` at the next record (the original is gone from the chain);
 * removing the newest records, or rewriting the whole chain, cannot be seen without an externally kept
 * head hash — compare the last record's hash with one recorded elsewhere for that.
 */
export function verifyChain(
  records: readonly SessionRecord[],
  options: VerifyChainOptions = {},
): ChainVerdict {
  const problems: ChainProblem[] = [];
  const hashes = new Set(records.map((r) => r.hash));

  for (const record of records) {
    const { hash, ...fields } = record;
    const actual = recordHash(fields);
    if (actual !== hash)
      problems.push({
        seq: record.seq,
        kind: 'edited',
        detail: `content hashes to ${actual}, stored hash is ${hash}`,
      });
  }

  // Walk the links. `expected` is the hash the next record must link to; `beforeExpected` the link of
  // the record that produced `expected`, which a record links to when its predecessor was inserted.
  let expected = options.startHash ?? GENESIS_HASH;
  let beforeExpected: string | undefined;
  let lastSeq = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i] as SessionRecord;
    const next = records[i + 1];
    if (record.prevHash === expected) {
      if (record.seq <= lastSeq)
        problems.push({
          seq: record.seq,
          kind: 'reordered',
          detail: `sequence ${record.seq} follows ${lastSeq}`,
        });
      beforeExpected = expected;
      expected = record.hash;
      lastSeq = record.seq;
      continue;
    }
    if (next && next.prevHash === expected && record.prevHash === next.hash) {
      problems.push({
        seq: record.seq,
        kind: 'reordered',
        detail: `sequence ${record.seq} comes before ${next.seq}, but it is ${next.seq} that links to it`,
      });
      beforeExpected = record.prevHash;
      expected = record.hash;
      lastSeq = Math.max(record.seq, next.seq);
      i++; // the pair is settled
      continue;
    }
    if (next && next.prevHash === expected) {
      problems.push({
        seq: record.seq,
        kind: 'inserted',
        detail: `the chain does not pass through sequence ${record.seq}: ${next.seq} links to the record before it`,
      });
      continue; // `expected` stays: the next record must link over the inserted one
    }
    const previous = records[i - 1];
    if (previous && beforeExpected !== undefined && record.prevHash === beforeExpected) {
      problems.push({
        seq: previous.seq,
        kind: 'inserted',
        detail: `the chain does not pass through sequence ${previous.seq}: ${record.seq} links to the record before it`,
      });
    } else if (!hashes.has(record.prevHash)) {
      problems.push({
        seq: record.seq,
        kind: 'removed',
        detail: `the record before sequence ${record.seq} is missing: its prevHash ${record.prevHash} is no record's hash`,
      });
    } else {
      problems.push({
        seq: record.seq,
        kind: 'broken-link',
        detail: `sequence ${record.seq} links to ${record.prevHash}, expected ${expected}`,
      });
    }
    beforeExpected = record.prevHash;
    expected = record.hash;
    lastSeq = record.seq;
  }

  return problems.length === 0 ? { ok: true } : { ok: false, problems };
}
