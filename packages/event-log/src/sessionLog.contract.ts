/**
 * The one contract every {@link SessionLog} implementation passes: `memorySessionLog.test.ts` runs it
 * against the in-memory twin, `natsSessionLog.int.test.ts` against JetStream on a real nats-server. A
 * difference between the twins is a failure of one of them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ChainError,
  ConcurrencyError,
  InvalidRecordError,
  RecordIdConflictError,
  RecordTooLargeError,
} from './errors.js';
import { GENESIS_HASH, recordHash } from './recordHash.js';
import {
  type AppendInput,
  type AppendResult,
  MAX_BODY_BYTES,
  type SessionLog,
  type SessionRecord,
} from './sessionLog.js';
import { verifyChain } from './verifyChain.js';

/**
 * Makes a log over the suite's store. Every call must return a writer over the SAME store (for
 * JetStream: a new connection to the same server), so the race test has independent writers.
 */
export type MakeSessionLog = () => Promise<SessionLog>;

export interface SessionLogContractOptions {
  /** Concurrent writers per race round. Default 6. */
  readonly writers?: number;
  /** Race rounds. Default 50. */
  readonly rounds?: number;
}

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z: fixed times, the log never reads a clock for `at`

export async function collect<T>(records: AsyncIterable<SessionRecord<T>>): Promise<SessionRecord<T>[]> {
  const out: SessionRecord<T>[] = [];
  for await (const record of records) out.push(record);
  return out;
}

export interface RaceRound {
  readonly winners: number;
  readonly conflicts: number;
  /** Rejections that were not a ConcurrencyError: always a failure. */
  readonly otherErrors: unknown[];
}

/**
 * `rounds` times, every writer appends to `sessionKey` with the same expected sequence and hash, all at
 * once. Returns what happened in each round; a correct log has exactly one winner and `writers - 1`
 * conflicts in every round.
 */
export async function raceAppends(
  writers: readonly SessionLog[],
  sessionKey: string,
  rounds: number,
  idPrefix: string,
): Promise<RaceRound[]> {
  const first = writers[0];
  if (!first) throw new RangeError('raceAppends needs at least one writer');
  let head = await first.head(sessionKey);
  const results: RaceRound[] = [];
  for (let round = 0; round < rounds; round++) {
    const expected = head;
    const outcomes = await Promise.allSettled(
      writers.map((writer, w) =>
        writer.append({
          sessionKey,
          expectedLastSeq: expected.seq,
          prevHash: expected.hash,
          id: `${idPrefix}-r${round}-w${w}`,
          body: { round, writer: w },
          at: T0 + round,
        }),
      ),
    );
    const won = outcomes.filter((o): o is PromiseFulfilledResult<AppendResult> => o.status === 'fulfilled');
    const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    results.push({
      winners: won.length,
      conflicts: errors.filter((e) => e instanceof ConcurrencyError).length,
      otherErrors: errors.filter((e) => !(e instanceof ConcurrencyError)),
    });
    const winner = won[0]?.value;
    head = winner && won.length === 1 ? { seq: winner.seq, hash: winner.hash } : await first.head(sessionKey);
  }
  return results;
}

export function sessionLogContract(
  name: string,
  makeLog: MakeSessionLog,
  options: SessionLogContractOptions = {},
) {
  const writerCount = options.writers ?? 6;
  const rounds = options.rounds ?? 50;

  describe(`SessionLog contract: ${name}`, () => {
    let log: SessionLog;
    let counter = 0;
    // Unique per suite run, so suites sharing a store never see each other's keys or ids.
    const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    const newKey = (label: string) => `agent:main:${label}:${run}-${++counter}`;
    const newId = () => `rec-${run}-${++counter}`;

    beforeAll(async () => {
      log = await makeLog();
    });

    /** Appends on the key's current head. */
    async function appendNext<T>(
      sessionKey: string,
      body: T,
      extra: Partial<AppendInput<T>> = {},
    ): Promise<AppendResult & { input: AppendInput<T> }> {
      const head = await log.head(sessionKey);
      const input: AppendInput<T> = {
        sessionKey,
        expectedLastSeq: head.seq,
        prevHash: head.hash,
        id: newId(),
        body,
        at: T0 + counter,
        ...extra,
      };
      return { ...(await log.append(input)), input };
    }

    async function history(sessionKey: string, length: number): Promise<SessionRecord[]> {
      for (let i = 0; i < length; i++)
        await appendNext(sessionKey, { type: 'MessageRecorded', data: { n: i } });
      return collect(log.read(sessionKey));
    }

    describe('append and read', () => {
      it('given a new key, when appending on expectedLastSeq 0 and the genesis hash, then it becomes the first record', async () => {
        const key = newKey('first');
        expect(await log.head(key)).toEqual({ seq: 0, hash: GENESIS_HASH });

        const input = {
          sessionKey: key,
          expectedLastSeq: 0,
          prevHash: GENESIS_HASH,
          id: newId(),
          body: { hello: 'world' },
          at: T0,
        };
        const result = await log.append(input);

        expect(result.duplicate).toBe(false);
        expect(result.seq).toBeGreaterThan(0);
        expect(result.hash).toBe(recordHash({ ...input, schemaVersion: 1 }));
        expect(await log.head(key)).toEqual({ seq: result.seq, hash: result.hash });
      });

      it('given five appends, when reading the key, then every field comes back in append order', async () => {
        const key = newKey('order');
        const appended: AppendResult[] = [];
        for (let i = 0; i < 5; i++) {
          appended.push(
            await appendNext(
              key,
              {
                type: 'MessageRecorded',
                data: { i, text: `message ${i}`, nested: { z: 1, a: [true, null] } },
              },
              { correlationId: `corr-${i}`, causationId: `cause-${i}`, schemaVersion: 2, at: T0 + i * 1000 },
            ),
          );
        }

        const records = await collect(log.read<{ data: { i: number } }>(key));

        expect(records.map((r) => r.seq)).toEqual(appended.map((a) => a.seq));
        expect(records.map((r) => r.body.data.i)).toEqual([0, 1, 2, 3, 4]);
        expect(records.map((r) => r.at)).toEqual([0, 1, 2, 3, 4].map((i) => T0 + i * 1000));
        expect(
          records.every((r, i) => r.correlationId === `corr-${i}` && r.causationId === `cause-${i}`),
        ).toBe(true);
        expect(records.every((r) => r.schemaVersion === 2 && r.sessionKey === key)).toBe(true);
        expect(records[0]?.prevHash).toBe(GENESIS_HASH);
        expect(records.slice(1).map((r) => r.prevHash)).toEqual(records.slice(0, -1).map((r) => r.hash));
        expect(records.map((r) => r.hash)).toEqual(appended.map((a) => a.hash));
        expect(verifyChain(records)).toEqual({ ok: true });
        expect(await log.head(key)).toEqual({ seq: appended[4]?.seq, hash: appended[4]?.hash });
      });

      it('given a record without correlation and causation ids, when read, then it has none and defaults to schema version 1', async () => {
        const key = newKey('bare');
        await appendNext(key, ['just', 'an', 'array']);
        const [record] = await collect(log.read(key));
        expect(record).toBeDefined();
        expect(record && 'correlationId' in record).toBe(false);
        expect(record && 'causationId' in record).toBe(false);
        expect(record?.schemaVersion).toBe(1);
        expect(record?.body).toEqual(['just', 'an', 'array']);
      });

      it('given a record written in a trace, when read, then the trace comes back and is no part of the hash', async () => {
        const key = newKey('traced');
        const trace = {
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          tracestate: 'rojo=00f067aa0ba902b7',
        };
        const traced = await appendNext(key, { n: 1 }, { trace });
        const plain = await appendNext(key, { n: 2 }, { trace: { traceparent: trace.traceparent } });
        await appendNext(key, { n: 3 });
        const [first, second, third] = await collect(log.read(key));
        expect(first?.trace).toEqual(trace);
        expect(second?.trace).toEqual({ traceparent: trace.traceparent });
        expect(third && 'trace' in third).toBe(false);
        // The hash is the one of the same record without a trace (recordHash has no trace field).
        expect(traced.hash).toBe(recordHash({ ...traced.input, schemaVersion: 1 }));
        expect(second && recordHash(second)).toBe(plain.hash);
        await expect(
          appendNext(key, { n: 4 }, { trace: { traceparent: 'line\nbreak' } }),
        ).rejects.toBeInstanceOf(InvalidRecordError);
      });

      it('given a body with undefined properties and unsorted keys, when read back, then it is its JSON form and hashes the same', async () => {
        const key = newKey('json');
        const { hash } = await appendNext(key, { b: 1, a: { d: undefined, c: 'x' }, when: new Date(T0) });
        const [record] = await collect(log.read(key));
        expect(record?.body).toEqual({ a: { c: 'x' }, b: 1, when: new Date(T0).toISOString() });
        expect(record && recordHash(record)).toBe(hash);
      });

      it('given a key with no records, when read, then nothing is yielded and head is genesis', async () => {
        const key = newKey('empty');
        expect(await collect(log.read(key))).toEqual([]);
        expect(await collect(log.read(key, { afterSeq: 10 }))).toEqual([]);
        expect(await log.head(key)).toEqual({ seq: 0, hash: GENESIS_HASH });
      });
    });

    describe('optimistic concurrency', () => {
      it('given a key with records, when appending on expectedLastSeq 0, then ConcurrencyError names the actual last sequence', async () => {
        const key = newKey('zero');
        const { seq } = await appendNext(key, { n: 1 });
        const attempt = log.append({
          sessionKey: key,
          expectedLastSeq: 0,
          prevHash: GENESIS_HASH,
          id: newId(),
          body: {},
          at: T0,
        });
        const error = await attempt.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConcurrencyError);
        expect(error).toMatchObject({
          code: 'CONCURRENCY_CONFLICT',
          expectedLastSeq: 0,
          actualLastSeq: seq,
          retryable: true,
        });
        expect(await collect(log.read(key))).toHaveLength(1);
      });

      it('given a writer that decided on an older head, when it appends, then it conflicts and nothing is written', async () => {
        const key = newKey('stale');
        const first = await appendNext(key, { n: 1 });
        const second = await appendNext(key, { n: 2 });
        const error = await log
          .append({
            sessionKey: key,
            expectedLastSeq: first.seq,
            prevHash: first.hash,
            id: newId(),
            body: { n: 'late' },
            at: T0,
          })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConcurrencyError);
        expect((error as ConcurrencyError).actualLastSeq).toBe(second.seq);
        expect((await collect(log.read(key))).map((r) => r.seq)).toEqual([first.seq, second.seq]);
      });

      it(`given ${writerCount} writers racing on the same expected sequence, when repeated ${rounds} times, then exactly one wins each round`, async () => {
        const writers = [log];
        while (writers.length < writerCount) writers.push(await makeLog());
        const key = newKey('race');

        const results = await raceAppends(writers, key, rounds, `race-${run}`);

        expect(results.flatMap((r) => r.otherErrors)).toEqual([]);
        expect(results.filter((r) => r.winners !== 1)).toEqual([]);
        expect(results.every((r) => r.conflicts === writerCount - 1)).toBe(true);
        const records = await collect(log.read<{ round: number }>(key));
        expect(records.map((r) => r.body.round)).toEqual([...Array(rounds).keys()]);
        expect(verifyChain(records)).toEqual({ ok: true });
      });
    });

    describe('dedupe by record id', () => {
      it('given an appended record, when the same append is retried, then it is a duplicate at the original position', async () => {
        const key = newKey('retry');
        const first = await appendNext(key, { n: 1 });
        const retried = await log.append(first.input);
        expect(retried).toEqual({ seq: first.seq, hash: first.hash, duplicate: true });
        expect(await collect(log.read(key))).toHaveLength(1);
      });

      it('given the key moved on, when an old append is retried with its stale expected sequence, then it is still a duplicate', async () => {
        const key = newKey('late-retry');
        const first = await appendNext(key, { n: 1 });
        await appendNext(key, { n: 2 });
        expect(await log.append(first.input)).toEqual({ seq: first.seq, hash: first.hash, duplicate: true });
        expect(await collect(log.read(key))).toHaveLength(2);
      });

      it('given a record id, when the same input is re-decided on the newer head, then the original stands (duplicate)', async () => {
        const key = newKey('redecided');
        const first = await appendNext(key, { n: 1 });
        const head = await log.head(key);
        const again = await log.append({
          ...first.input,
          expectedLastSeq: head.seq,
          prevHash: head.hash,
          body: { n: 'again' },
        });
        expect(again).toEqual({ seq: first.seq, hash: first.hash, duplicate: true });
        expect((await collect(log.read(key))).map((r) => r.body)).toEqual([{ n: 1 }]);
      });

      it("given a record id used by another key's record, when appending with it, then RecordIdConflictError and nothing is written", async () => {
        const a = newKey('owner');
        const b = newKey('intruder');
        const owned = await appendNext(a, { n: 1 });
        const error = await log
          .append({
            sessionKey: b,
            expectedLastSeq: 0,
            prevHash: GENESIS_HASH,
            id: owned.input.id,
            body: {},
            at: T0,
          })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RecordIdConflictError);
        expect(error).toMatchObject({ code: 'RECORD_ID_CONFLICT', existingSeq: owned.seq });
        expect(await collect(log.read(b))).toEqual([]);
        expect(await collect(log.read(a))).toHaveLength(1);
      });
    });

    describe('keys', () => {
      it('given interleaved appends to keys that share prefixes, when reading one, then it sees only its own records', async () => {
        const base = newKey('iso');
        const keys = [base, `${base}.x`, `${base} x`, `${base}*`, `${base}>`, `${base}:x`];
        for (let i = 0; i < 3; i++) for (const key of keys) await appendNext(key, { key, i });
        for (const key of keys) {
          const records = await collect(log.read<{ key: string; i: number }>(key));
          expect(records.map((r) => r.body)).toEqual([0, 1, 2].map((i) => ({ key, i })));
          expect(records.every((r) => r.sessionKey === key)).toBe(true);
        }
      });

      it.each([
        ['dots', 'agent:main:whatsapp:group:12036@g.us'],
        ['matrix room', 'agent:main:matrix:channel:!ops:matrix.example'],
        ['wildcards', 'a*b>c'],
        ['a lone >', '>'],
        ['a lone *', '*'],
        ['spaces', 'agent:main:direct:alice smith'],
        ['unicode', 'agent:main:direct:zoë 🦊 日本'],
        ['percent', '100%'],
        ['a leading $', '$JS.API'],
        ['the empty key', ''],
      ])('given a key with %s, when appending and reading, then it round-trips', async (_, special) => {
        const key = special === '' ? '' : `${special}${run}`;
        const before = await log.head(key);
        const one = await appendNext(key, { n: 1 });
        const two = await appendNext(key, { n: 2 });
        const records = await collect(log.read(key));
        const mine = records.filter((r) => r.seq > before.seq);
        expect(mine.map((r) => r.seq)).toEqual([one.seq, two.seq]);
        expect(mine.every((r) => r.sessionKey === key)).toBe(true);
        expect(verifyChain(records)).toEqual({ ok: true });
        expect(await log.head(key)).toEqual({ seq: two.seq, hash: two.hash });
      });

      it('given ids with inner spaces, colons and Unicode, when appended, then they round-trip', async () => {
        const key = newKey('ids');
        const id = `msg: ${run} — ünïcode ✓`;
        await appendNext(key, {}, { id, correlationId: 'corr with space', causationId: '$causé:1' });
        const [record] = await collect(log.read(key));
        expect(record).toMatchObject({ id, correlationId: 'corr with space', causationId: '$causé:1' });
      });
    });

    describe('hash chain', () => {
      it('given a prevHash that is not the hash at expectedLastSeq, when appending, then ChainError and nothing is written', async () => {
        const key = newKey('chain');
        const first = await appendNext(key, { n: 1 });
        const error = await log
          .append({
            sessionKey: key,
            expectedLastSeq: first.seq,
            prevHash: 'f'.repeat(64),
            id: newId(),
            body: {},
            at: T0,
          })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ChainError);
        expect(error).toMatchObject({
          code: 'CHAIN_MISMATCH',
          expectedPrevHash: first.hash,
          actualPrevHash: 'f'.repeat(64),
        });
        const genesis = await log
          .append({
            sessionKey: newKey('chain0'),
            expectedLastSeq: 0,
            prevHash: first.hash,
            id: newId(),
            body: {},
            at: T0,
          })
          .catch((e: unknown) => e);
        expect(genesis).toBeInstanceOf(ChainError);
        expect(await collect(log.read(key))).toHaveLength(1);
      });

      it('given a stored history, when a body is edited, then verifyChain reports it edited at that record', async () => {
        const records = await history(newKey('edit'), 4);
        const tampered = records.map((r, i) =>
          i === 2 ? { ...r, body: { type: 'MessageRecorded', data: { n: 99 } } } : r,
        );
        expect(verifyChain(tampered)).toEqual({
          ok: false,
          problems: [expect.objectContaining({ seq: records[2]?.seq, kind: 'edited' })],
        });
      });

      it('given a stored history, when a record is removed, then verifyChain reports it removed at the next record', async () => {
        const records = await history(newKey('remove'), 4);
        const tampered = records.filter((_, i) => i !== 1);
        expect(verifyChain(tampered)).toEqual({
          ok: false,
          problems: [expect.objectContaining({ seq: records[2]?.seq, kind: 'removed' })],
        });
        expect(verifyChain(records.slice(1))).toMatchObject({ ok: false, problems: [{ kind: 'removed' }] });
      });

      it('given a stored history, when two neighbours are swapped, then verifyChain reports them reordered', async () => {
        const records = await history(newKey('swap'), 4);
        const [r0, r1, r2, r3] = records as [SessionRecord, SessionRecord, SessionRecord, SessionRecord];
        expect(verifyChain([r0, r2, r1, r3])).toEqual({
          ok: false,
          problems: [expect.objectContaining({ seq: r2.seq, kind: 'reordered' })],
        });
      });

      it('given a stored history, when a record is inserted, then verifyChain reports it inserted', async () => {
        const records = await history(newKey('insert'), 3);
        const [r0, r1, r2] = records as [SessionRecord, SessionRecord, SessionRecord];
        // A well-forged record: valid hash, linking to its predecessor — the next record still links past it.
        const forgedFields = {
          ...r1,
          id: 'forged',
          body: { type: 'MessageRecorded', data: { n: 'forged' } },
          prevHash: r1.hash,
          seq: r1.seq + 0.5,
        };
        const forged = { ...forgedFields, hash: recordHash(forgedFields) };
        expect(verifyChain([r0, r1, forged, r2])).toEqual({
          ok: false,
          problems: [expect.objectContaining({ seq: forged.seq, kind: 'inserted' })],
        });
        // A record from another chain altogether.
        const foreign = { ...r1, prevHash: 'e'.repeat(64), seq: r1.seq + 0.5 };
        const stranger = { ...foreign, hash: recordHash(foreign) };
        expect(verifyChain([r0, r1, stranger, r2])).toEqual({
          ok: false,
          problems: [expect.objectContaining({ seq: stranger.seq, kind: 'inserted' })],
        });
      });
    });

    describe('afterSeq', () => {
      it('given a history, when reading after a sequence, then only later records come back and chain onto it', async () => {
        const key = newKey('after');
        const results: AppendResult[] = [];
        for (let i = 0; i < 5; i++) results.push(await appendNext(key, { i }));
        const [, second, , , last] = results as [
          AppendResult,
          AppendResult,
          AppendResult,
          AppendResult,
          AppendResult,
        ];

        const tail = await collect(log.read<{ i: number }>(key, { afterSeq: second.seq }));
        expect(tail.map((r) => r.body.i)).toEqual([2, 3, 4]);
        expect(verifyChain(tail, { startHash: second.hash })).toEqual({ ok: true });
        expect(await collect(log.read(key, { afterSeq: last.seq }))).toEqual([]);
        expect(await collect(log.read(key, { afterSeq: 0 }))).toHaveLength(5);
        // A sequence that is not this key's (another key's record sits between): the next records of the key.
        const other = await appendNext(newKey('between'), {});
        await appendNext(key, { i: 5 });
        expect(
          (await collect(log.read<{ i: number }>(key, { afterSeq: other.seq }))).map((r) => r.body.i),
        ).toEqual([5]);
      });

      it('given a read, when the caller stops early, then later reads still work', async () => {
        const key = newKey('early');
        await history(key, 3);
        for await (const record of log.read(key)) {
          expect(record.prevHash).toBe(GENESIS_HASH);
          break;
        }
        expect(await collect(log.read(key))).toHaveLength(3);
      });
    });

    describe('refused input', () => {
      it.each([
        ['an id with a newline', { id: 'a\nb' }, 'id'],
        ['an id with a leading space', { id: ' a' }, 'id'],
        ['an empty id', { id: '' }, 'id'],
        ['a correlation id with a tab', { correlationId: 'a\tb' }, 'correlationId'],
        ['a negative expected sequence', { expectedLastSeq: -1 }, 'expectedLastSeq'],
        ['a fractional expected sequence', { expectedLastSeq: 1.5 }, 'expectedLastSeq'],
        ['a body with no JSON form', { body: undefined }, 'body'],
        ['a BigInt body', { body: { n: 1n } }, 'body'],
        ['a non-finite time', { at: Number.NaN }, 'at'],
        ['a malformed prevHash', { prevHash: 'abc' }, 'prevHash'],
        ['schema version 0', { schemaVersion: 0 }, 'schemaVersion'],
        ['a key with a lone surrogate', { sessionKey: 'a\ud800' }, 'sessionKey'],
      ])('given %s, when appending, then InvalidRecordError names the field', async (_, change, field) => {
        const input = {
          sessionKey: newKey('bad'),
          expectedLastSeq: 0,
          prevHash: GENESIS_HASH,
          id: newId(),
          body: {},
          at: T0,
          ...change,
        };
        const error = await log.append(input as AppendInput).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidRecordError);
        expect(error).toMatchObject({ code: 'INVALID_RECORD', field });
      });

      it('given a body over the size limit, when appending, then RecordTooLargeError and nothing is written', async () => {
        const key = newKey('big');
        const error = await log
          .append({
            sessionKey: key,
            expectedLastSeq: 0,
            prevHash: GENESIS_HASH,
            id: newId(),
            body: 'x'.repeat(MAX_BODY_BYTES),
            at: T0,
          })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RecordTooLargeError);
        expect(error).toMatchObject({ code: 'RECORD_TOO_LARGE', limit: MAX_BODY_BYTES });
        expect(await log.head(key)).toEqual({ seq: 0, hash: GENESIS_HASH });
      });
    });
  });
}
