import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, recordHash } from './recordHash.js';
import type { SessionRecord } from './sessionLog.js';
import { verifyChain } from './verifyChain.js';

/** A valid chain of `n` records with stream sequences 10, 20, 30, … (not contiguous, as in a stream). */
function chain(n: number, startHash = GENESIS_HASH): SessionRecord[] {
  const out: SessionRecord[] = [];
  let prevHash = startHash;
  for (let i = 0; i < n; i++) {
    const fields = { sessionKey: 'k', id: `r${i}`, at: i, schemaVersion: 1, body: { i }, prevHash };
    const hash = recordHash(fields);
    out.push({ ...fields, seq: (i + 1) * 10, hash });
    prevHash = hash;
  }
  return out;
}

function at(records: SessionRecord[], i: number): SessionRecord {
  return records[i] as SessionRecord;
}

describe('verifyChain', () => {
  it('accepts an intact chain and the empty list', () => {
    expect(verifyChain(chain(5))).toEqual({ ok: true });
    expect(verifyChain([])).toEqual({ ok: true });
  });

  it('given a tail read, when verified against the hash before it, then it is intact; against genesis it is not', () => {
    const all = chain(5);
    expect(verifyChain(all.slice(2), { startHash: at(all, 1).hash })).toEqual({ ok: true });
    expect(verifyChain(all.slice(2))).toMatchObject({ ok: false, problems: [{ seq: 30, kind: 'removed' }] });
  });

  it('reports an edited body, time, id or key at the edited record only', () => {
    const all = chain(4);
    for (const change of [
      { body: { i: 'x' } },
      { at: 99 },
      { id: 'other' },
      { sessionKey: 'other' },
      { correlationId: 'c' },
    ]) {
      const tampered = all.map((r, i) => (i === 1 ? { ...r, ...change } : r));
      expect(verifyChain(tampered)).toEqual({
        ok: false,
        problems: [{ seq: 20, kind: 'edited', detail: expect.stringContaining(at(all, 1).hash) }],
      });
    }
  });

  it('reports a removed record at the one after the gap, including the first and several in a row', () => {
    const all = chain(6);
    expect(verifyChain([at(all, 0), at(all, 2), at(all, 3)])).toMatchObject({
      ok: false,
      problems: [{ seq: 30, kind: 'removed' }],
    });
    expect(verifyChain(all.slice(1))).toMatchObject({ ok: false, problems: [{ seq: 20, kind: 'removed' }] });
    expect(verifyChain([at(all, 0), at(all, 4), at(all, 5)])).toMatchObject({
      ok: false,
      problems: [{ seq: 50, kind: 'removed' }],
    });
  });

  it('reports a swapped pair once, whether first, in the middle or last', () => {
    const all = chain(4);
    const swap = (i: number) => {
      const copy = [...all];
      [copy[i], copy[i + 1]] = [at(all, i + 1), at(all, i)];
      return copy;
    };
    expect(verifyChain(swap(0))).toMatchObject({ ok: false, problems: [{ seq: 20, kind: 'reordered' }] });
    expect(verifyChain(swap(1))).toMatchObject({ ok: false, problems: [{ seq: 30, kind: 'reordered' }] });
    expect(verifyChain(swap(2))).toMatchObject({ ok: false, problems: [{ seq: 40, kind: 'reordered' }] });
  });

  it('reports sequences that go backwards on an otherwise intact chain as reordered', () => {
    const all = chain(3).map((r, i) => (i === 2 ? { ...r, seq: 15 } : r));
    expect(verifyChain(all)).toMatchObject({ ok: false, problems: [{ seq: 15, kind: 'reordered' }] });
  });

  it('reports an inserted record, forged to link to its predecessor or not linked at all', () => {
    const all = chain(3);
    const forgedFields = { ...at(all, 0), id: 'forged', prevHash: at(all, 0).hash, seq: 15 };
    const forged = { ...forgedFields, hash: recordHash(forgedFields) };
    expect(verifyChain([at(all, 0), forged, at(all, 1), at(all, 2)])).toEqual({
      ok: false,
      problems: [{ seq: 15, kind: 'inserted', detail: expect.any(String) }],
    });
    const loose = { ...at(all, 1), prevHash: 'e'.repeat(64), seq: 25 };
    const stray = { ...loose, hash: recordHash(loose) };
    expect(verifyChain([at(all, 0), at(all, 1), stray, at(all, 2)])).toMatchObject({
      ok: false,
      problems: [{ seq: 25, kind: 'inserted' }],
    });
  });

  it('reports a link to a record that is present but not the predecessor as a broken link', () => {
    const all = chain(4);
    const fields = { ...at(all, 3), prevHash: at(all, 0).hash };
    const relinked = { ...fields, hash: recordHash(fields) };
    const verdict = verifyChain([at(all, 0), at(all, 1), at(all, 2), relinked]);
    expect(verdict).toMatchObject({ ok: false, problems: [{ seq: 40, kind: 'broken-link' }] });
  });
});
