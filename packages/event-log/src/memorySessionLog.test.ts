import { describe, expect, it } from 'vitest';
import { ConcurrencyError } from './errors.js';
import { MemorySessionLog } from './memorySessionLog.js';
import { GENESIS_HASH } from './recordHash.js';
import { collect, sessionLogContract } from './sessionLog.contract.js';
import { DUPLICATE_PROBE_LIMIT } from './sessionLog.js';

const shared = new MemorySessionLog();
// Every writer of the race is the same twin: the store is the object itself.
sessionLogContract('MemorySessionLog', async () => shared);

describe('MemorySessionLog dedupe window', () => {
  const key = 'agent:main:main';
  const first = {
    sessionKey: key,
    expectedLastSeq: 0,
    prevHash: GENESIS_HASH,
    id: 'in-1',
    body: { n: 1 },
    at: 0,
  };

  it('given the window has passed, when the same append is retried, then it is still found among the next records', async () => {
    let now = 1_000;
    const log = new MemorySessionLog({ duplicateWindowMs: 500, now: () => now });
    const stored = await log.append(first);
    now += 10_000;
    expect(await log.append(first)).toEqual({ ...stored, duplicate: true });
    expect(await collect(log.read(key))).toHaveLength(1);
  });

  it('given the window has passed and the original is further than the probe looks, when retried, then it conflicts', async () => {
    let now = 0;
    const log = new MemorySessionLog({ duplicateWindowMs: 500, now: () => now });
    let head = await log.append(first);
    for (let i = 0; i < DUPLICATE_PROBE_LIMIT; i++)
      head = await log.append({ ...first, id: `later-${i}`, expectedLastSeq: head.seq, prevHash: head.hash });
    // Within the window dedupe answers whatever the distance…
    expect((await log.append({ ...first, id: 'later-0' })).duplicate).toBe(true);
    now = 500;
    // …after it, only the probe can, and `later-${LIMIT - 1}` is one record too far from expectedLastSeq 0.
    expect((await log.append({ ...first, id: `later-${DUPLICATE_PROBE_LIMIT - 2}` })).duplicate).toBe(true);
    const error = await log
      .append({ ...first, id: `later-${DUPLICATE_PROBE_LIMIT - 1}` })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect((error as ConcurrencyError).actualLastSeq).toBe(head.seq);
  });

  it('given the window has passed, when an id is reused on the current head, then it is stored again', async () => {
    let now = 0;
    const log = new MemorySessionLog({ duplicateWindowMs: 100, now: () => now });
    const one = await log.append(first);
    now = 100;
    const two = await log.append({ ...first, expectedLastSeq: one.seq, prevHash: one.hash, body: { n: 2 } });
    expect(two.duplicate).toBe(false);
    expect(two.seq).toBe(one.seq + 1);
  });

  it('given two keys, when appending alternately, then sequences are one counter across keys, as in a stream', async () => {
    const log = new MemorySessionLog();
    const a = await log.append({ ...first, sessionKey: 'a', id: 'a1' });
    const b = await log.append({ ...first, sessionKey: 'b', id: 'b1' });
    const a2 = await log.append({
      ...first,
      sessionKey: 'a',
      id: 'a2',
      expectedLastSeq: a.seq,
      prevHash: a.hash,
    });
    expect([a.seq, b.seq, a2.seq]).toEqual([1, 2, 3]);
    expect(await log.head('b')).toEqual({ seq: 2, hash: b.hash });
  });
});
