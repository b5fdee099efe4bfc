import { StreamNames, Subjects } from '@threadline/protocol';
import { describe, expect, it } from 'vitest';
import { CorruptRecordError } from './errors.js';
import { appendRecords, publishRecords, sessionStreamBed } from './records.support.js';
import { replayAll, replaySession } from './replay.js';
import type { SessionRecord } from './sessionLog.js';

async function collect<T>(records: AsyncIterable<SessionRecord<T>>): Promise<SessionRecord<T>[]> {
  const out: SessionRecord<T>[] = [];
  for await (const r of records) out.push(r);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('replaySession (real nats-server)', () => {
  const bed = sessionStreamBed();

  it("given a key's records among other keys', when replayed, then exactly its records come back in order", async () => {
    const key = 'agent:main:telegram:direct:1';
    await publishRecords(bed.js, ['agent:main:other:a', 'agent:main:other:b'], 5);
    const mine = await appendRecords(bed.log, key, [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }]);
    await publishRecords(bed.js, ['agent:main:other:c'], 5);

    const records = await collect(replaySession<{ n: number }>(bed.nc, key));
    expect(records.map((r) => r.body.n)).toEqual([0, 1, 2, 3]);
    expect(records.map((r) => r.seq)).toEqual(mine.map((m) => m.seq));
    expect(records.every((r) => r.sessionKey === key)).toBe(true);
  });

  it('given since and until, when replayed, then since is inclusive and until exclusive on the record time', async () => {
    const key = 'agent:main:bounds';
    await appendRecords(bed.log, key, [0, 1, 2, 3, 4, 5], (i) => 1_000 * (i + 1));
    const at = async (bounds: { since?: number; until?: number }) =>
      (await collect(replaySession(bed.nc, key, bounds))).map((r) => r.at);
    expect(await at({ since: 2_000, until: 5_000 })).toEqual([2_000, 3_000, 4_000]);
    expect(await at({ since: 2_001 })).toEqual([3_000, 4_000, 5_000, 6_000]);
    expect(await at({ until: 1_000 })).toEqual([]);
    expect(await at({ since: 3_000, until: 3_000 })).toEqual([]);
    await expect(collect(replaySession(bed.nc, key, { since: 5_000, until: 4_000 }))).rejects.toThrow(
      RangeError,
    );
  });

  it('given a key holding a dot, a star and a space, when replayed, then its records come back and no other key', async () => {
    const key = 'agent:main:odd key.with*star';
    await appendRecords(bed.log, 'agent:main:odd key', [{ other: true }]);
    await appendRecords(bed.log, key, [{ n: 0 }, { n: 1 }]);
    const records = await collect(replaySession<{ n: number }>(bed.nc, key));
    expect(records.map((r) => [r.sessionKey, r.body.n])).toEqual([
      [key, 0],
      [key, 1],
    ]);
    expect(await collect(replaySession(bed.nc, 'agent:main:never'))).toEqual([]);
  });

  it('given 2 000 records of other keys and 3 of the target, when one session is replayed, then its consumer only ever has the 3 to deliver', async () => {
    const key = 'agent:main:needle';
    await publishRecords(
      bed.js,
      ['agent:main:hay:1', 'agent:main:hay:2', 'agent:main:hay:3', 'agent:main:hay:4'],
      500,
    );
    await appendRecords(bed.log, key, [{ n: 0 }, { n: 1 }, { n: 2 }]);
    expect((await bed.jsm.streams.info(StreamNames.sessions)).state.messages).toBe(2_003);

    const seen: { filter: string[]; delivered: number; pending: number }[] = [];
    const bodies: unknown[] = [];
    for await (const record of replaySession(bed.nc, key)) {
      bodies.push(record.body);
      if (seen.length === 0)
        for await (const c of bed.jsm.consumers.list(StreamNames.sessions))
          seen.push({
            filter: c.config.filter_subjects ?? (c.config.filter_subject ? [c.config.filter_subject] : []),
            delivered: c.delivered.consumer_seq,
            pending: c.num_pending,
          });
    }
    expect(bodies).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    // The one consumer of the replay: filtered to the key's subject, 3 messages in all (delivered or not).
    expect(seen).toEqual([
      { filter: [Subjects.session(key)], delivered: expect.any(Number), pending: expect.any(Number) },
    ]);
    expect((seen[0]?.delivered ?? 0) + (seen[0]?.pending ?? 0)).toBe(3);
    expect((await bed.jsm.streams.info(StreamNames.sessions)).state.consumer_count).toBe(0);
  });
});

describe('replayAll (real nats-server)', () => {
  const bed = sessionStreamBed();

  it('given records of several keys, when all are replayed, then every record comes back once, in stream order, with progress', async () => {
    await publishRecords(bed.js, ['agent:main:a', 'agent:main:b.x', 'agent:main:c *'], 20);
    const progress: [number, number][] = [];
    const records = await collect(
      replayAll<{ i: number }>(bed.nc, { onProgress: (d, t) => progress.push([d, t]) }),
    );
    expect(records).toHaveLength(60);
    const seqs = records.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(records.slice(0, 3).map((r) => r.sessionKey)).toEqual([
      'agent:main:a',
      'agent:main:b.x',
      'agent:main:c *',
    ]);
    expect(records.filter((r) => r.sessionKey === 'agent:main:b.x').map((r) => r.body.i)).toEqual([
      ...Array(20).keys(),
    ]);
    expect(progress.at(-1)).toEqual([60, 60]);
    expect((await bed.jsm.streams.info(StreamNames.sessions)).state.consumer_count).toBe(0);
  });

  it('given a cursor (afterSeq), when replayed, then only later records come back, for one key and for all', async () => {
    await publishRecords(bed.js, ['agent:main:p', 'agent:main:q'], 3);
    const all = await collect(replayAll(bed.nc));
    const cursor = all[2]?.seq ?? 0;
    expect((await collect(replayAll(bed.nc, { afterSeq: cursor }))).map((r) => r.seq)).toEqual(
      all.slice(3).map((r) => r.seq),
    );
    // The cursor wins over since: it comes from an earlier page, past the start time.
    expect((await collect(replayAll(bed.nc, { afterSeq: cursor, since: 1, clockSlackMs: 0 }))).length).toBe(
      3,
    );
    const q = all.filter((r) => r.sessionKey === 'agent:main:q');
    expect(
      (await collect(replaySession(bed.nc, 'agent:main:q', { afterSeq: q[0]?.seq ?? 0 }))).map((r) => r.seq),
    ).toEqual(q.slice(1).map((r) => r.seq));
    await expect(collect(replayAll(bed.nc, { afterSeq: -1 }))).rejects.toThrow(RangeError);
  });

  it('given an empty stream, when all are replayed, then the replay ends at once with nothing', async () => {
    expect(await collect(replayAll(bed.nc))).toEqual([]);
  });

  it('given appends while the replay runs, when it reaches the head seen at its start, then it ends there', async () => {
    await publishRecords(bed.js, ['agent:main:live'], 10);
    const records = [];
    for await (const record of replayAll(bed.nc)) {
      records.push(record);
      if (records.length === 1) await publishRecords(bed.js, ['agent:main:later'], 5);
    }
    expect(records).toHaveLength(10);
    expect(new Set(records.map((r) => r.sessionKey))).toEqual(new Set(['agent:main:live']));
  });

  it('given since, when all are replayed, then the consumer starts at that time instead of at the beginning', async () => {
    const before = Date.now();
    await publishRecords(bed.js, ['agent:main:early:1', 'agent:main:early:2'], 100, before);
    await sleep(50);
    const since = Date.now();
    await sleep(50);
    const later = Date.now();
    await publishRecords(bed.js, ['agent:main:late'], 3, later);

    let total = -1;
    const records = await collect(
      replayAll(bed.nc, { since, clockSlackMs: 0, onProgress: (_, t) => (total = t) }),
    );
    expect(records.map((r) => r.sessionKey)).toEqual([
      'agent:main:late',
      'agent:main:late',
      'agent:main:late',
    ]);
    // Only the 3 stored after `since` were ever pending for the replay's consumer, not the 203 of the stream.
    expect(total).toBe(3);

    // With the default slack the consumer starts earlier, and the record time still bounds the result.
    const slack = await collect(replayAll(bed.nc, { since }));
    expect(slack.map((r) => r.sessionKey)).toEqual(['agent:main:late', 'agent:main:late', 'agent:main:late']);
    // A since past everything stored: an empty replay that does not wait.
    expect(await collect(replayAll(bed.nc, { since: Date.now() + 3_600_000, clockSlackMs: 0 }))).toEqual([]);
  });

  it('given until and a maximum store delay, when all are replayed, then records at or after it are left out and the replay stops reading once the stream is past it', async () => {
    await publishRecords(bed.js, ['agent:main:first'], 50, Date.now());
    await sleep(50);
    const until = Date.now();
    await sleep(50);
    await publishRecords(bed.js, ['agent:main:second'], 50, Date.now());

    let done = 0;
    let total = 0;
    const records = await collect(
      replayAll(bed.nc, {
        until,
        maxStoreDelayMs: 0,
        onProgress: (d, t) => {
          done = d;
          total = t;
        },
      }),
    );
    expect(records).toHaveLength(50);
    expect(records.every((r) => r.sessionKey === 'agent:main:first')).toBe(true);
    expect(total).toBe(100);
    expect(done).toBe(50);
    // By record time alone (the default reads to the head): the same records.
    expect(await collect(replayAll(bed.nc, { until }))).toHaveLength(50);
  });

  it('given records stored long after their time, when all are replayed up to until, then none is left out', async () => {
    // An imported history, or timers fired after a downtime: `at` far before the time of storing.
    await publishRecords(bed.js, ['agent:main:old'], 5, Date.UTC(2020, 0, 1));
    await publishRecords(bed.js, ['agent:main:new'], 5, Date.now());
    const records = await collect(replayAll(bed.nc, { until: Date.UTC(2021, 0, 1) }));
    expect(records.map((r) => r.sessionKey)).toEqual(Array(5).fill('agent:main:old'));
    expect(
      await collect(replayAll(bed.nc, { since: Date.UTC(2020, 0, 1), until: Date.UTC(2020, 0, 2) })),
    ).toHaveLength(5);
  });

  it('given a message that is not a session record, when all are replayed, then it throws, or is handed to onUnreadable and skipped', async () => {
    await publishRecords(bed.js, ['agent:main:fine'], 2);
    const bad = await bed.js.publish(Subjects.session('agent:main:fine'), '{"no":"headers"}');
    await publishRecords(bed.js, ['agent:main:fine2'], 1);

    const error = await collect(replayAll(bed.nc)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error).toMatchObject({ seq: bad.seq });

    const unreadable: number[] = [];
    const records = await collect(replayAll(bed.nc, { onUnreadable: (e) => unreadable.push(e.seq) }));
    expect(records).toHaveLength(3);
    expect(unreadable).toEqual([bad.seq]);
  });

  it('given since after until, when all are replayed, then it is a RangeError', async () => {
    await expect(collect(replayAll(bed.nc, { since: 2, until: 1 }))).rejects.toThrow(
      /since .* is after until/,
    );
  });
});
