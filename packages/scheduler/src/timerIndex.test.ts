import { validateKey } from '@nats-io/kv/internal';
import type { TimerKind } from '@threadline/session-core';
import type { TransitionRecordV1 } from '@threadline/session-worker';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChangeBatch,
  dayPrefix,
  entryName,
  firingId,
  hourPrefix,
  keyHash,
  MINUTE_MS,
  minuteOf,
  minutePrefix,
  nextDay,
  nextHour,
  type TimerChange,
  type TimerEntry,
  timerChangesOf,
} from './timerIndex.js';

const MINUTES_PER_DAY = 1440;
/** Timestamps the index really sees: from the epoch to the year 9999. */
const instantArb = fc.integer({ min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) });

/** NATS KV key charset (as the client's `validateKey`): `[-/_=.a-zA-Z0-9]+`, no leading or trailing dot. */
const KV_KEY = /^[-/_=.a-zA-Z0-9]+$/;
function expectValidKvKey(name: string): void {
  expect(name).toMatch(KV_KEY);
  expect(name.startsWith('.')).toBe(false);
  expect(name.endsWith('.')).toBe(false);
  expect(name).not.toContain('..');
  expect(() => validateKey(name)).not.toThrow();
}

/** The minute a prefix or entry name is filed under, parsed back from its `d.<day>.<hh>.<mm>` tokens. */
function parseMinute(name: string): number {
  const [d, day, hh, mm] = name.split('.');
  expect(d).toBe('d');
  return Number(day) * MINUTES_PER_DAY + Number(hh) * 60 + Number(mm);
}

const arm = (sessionKey: string, timerId: string, kind: TimerKind, dueAt: number): TimerChange => ({
  op: 'arm',
  entry: { v: 1, sessionKey, timerId, kind, dueAt },
});
const drop = (sessionKey: string, timerId: string, kind: TimerKind, dueAt?: number): TimerChange =>
  dueAt === undefined
    ? { op: 'drop', sessionKey, timerId, kind }
    : { op: 'drop', sessionKey, timerId, kind, dueAt };

describe('entry names', () => {
  // 2026-11-24T04:00:00Z is epoch day 20781 (20781 · 86 400 000 = 1 795 478 400 000 ms, 4 h before it).
  const at = Date.UTC(2026, 10, 24, 4, 0, 0);

  it('given 2026-11-24T04:00:00Z, when named, then the prefixes name its UTC day, zero-padded hour and minute', () => {
    const minute = minuteOf(at);
    expect(minute).toBe(at / MINUTE_MS);
    expect(dayPrefix(minute)).toBe('d.20781');
    expect(hourPrefix(minute)).toBe('d.20781.04');
    expect(minutePrefix(minute)).toBe('d.20781.04.00');
  });

  it('given 00:00 and 04:07 UTC, when named, then single-digit hours and minutes are padded to two digits', () => {
    expect(minutePrefix(minuteOf(Date.UTC(2026, 10, 24, 0, 0)))).toBe('d.20781.00.00');
    expect(minutePrefix(minuteOf(Date.UTC(2026, 10, 24, 4, 7, 59, 999)))).toBe('d.20781.04.07');
    expect(minutePrefix(minuteOf(Date.UTC(2026, 10, 24, 23, 59)))).toBe('d.20781.23.59');
    expect(minutePrefix(minuteOf(Date.UTC(2026, 10, 25, 0, 0)))).toBe('d.20782.00.00');
  });

  it('given any instant in a minute, when its minute is taken, then every millisecond of the minute files alike', () => {
    expect(minuteOf(at - 1)).toBe(minuteOf(at) - 1);
    expect(minuteOf(at + MINUTE_MS - 1)).toBe(minuteOf(at));
    expect(minuteOf(at + MINUTE_MS)).toBe(minuteOf(at) + 1);
  });

  it('given a key and a kind, when its entry is named, then it is the minute prefix, the 32-hex key hash and the kind', () => {
    const name = entryName(minuteOf(at), 'agent:main:main', 'expiry');
    expect(name).toBe(`d.20781.04.00.${keyHash('agent:main:main')}.expiry`);
    expect(name).toMatch(/^d\.20781\.04\.00\.[0-9a-f]{32}\.expiry$/);
    expect(entryName(minuteOf(at), 'agent:main:main', 'quiet')).not.toBe(name);
    expect(entryName(minuteOf(at) + 1, 'agent:main:main', 'expiry')).not.toBe(name);
  });

  it('given any instant, when named, then minute ⊃ hour ⊃ day prefixes nest, and the name parses back to its minute', () => {
    fc.assert(
      fc.property(instantArb, (t) => {
        const m = minuteOf(t);
        const day = dayPrefix(m);
        const hour = hourPrefix(m);
        const minute = minutePrefix(m);
        expect(hour.startsWith(`${day}.`)).toBe(true);
        expect(minute.startsWith(`${hour}.`)).toBe(true);
        expect(minute).toMatch(/^d\.\d+\.\d{2}\.\d{2}$/);
        expect(parseMinute(minute)).toBe(m);
        expect(parseMinute(entryName(m, 'k', 'quiet'))).toBe(m);
        // The UTC calendar fields of the instant, read independently.
        const date = new Date(t);
        const [, dd, hh, mm] = minute.split('.');
        expect(Number(dd)).toBe(Math.floor(t / 86_400_000));
        expect(Number(hh)).toBe(date.getUTCHours());
        expect(Number(mm)).toBe(date.getUTCMinutes());
      }),
    );
  });

  it('given a minute, when nextHour and nextDay are taken, then they are the first minutes of the next hour and day', () => {
    const m = minuteOf(Date.UTC(2026, 10, 24, 4, 7));
    expect(nextHour(m)).toBe(minuteOf(Date.UTC(2026, 10, 24, 5, 0)));
    expect(nextDay(m)).toBe(minuteOf(Date.UTC(2026, 10, 25, 0, 0)));
    // From the very first minute of an hour/day: the next one, not itself.
    const hourStart = minuteOf(Date.UTC(2026, 10, 24, 4, 0));
    expect(nextHour(hourStart)).toBe(hourStart + 60);
    const dayStart = minuteOf(Date.UTC(2026, 10, 24, 0, 0));
    expect(nextDay(dayStart)).toBe(dayStart + MINUTES_PER_DAY);
    // The last minute of a day: both roll into the next day.
    const last = minuteOf(Date.UTC(2026, 10, 24, 23, 59));
    expect(nextHour(last)).toBe(minuteOf(Date.UTC(2026, 10, 25, 0, 0)));
    expect(nextDay(last)).toBe(minuteOf(Date.UTC(2026, 10, 25, 0, 0)));
    expect(minutePrefix(nextHour(last))).toBe('d.20782.00.00');
  });

  it('given any instant, when its minute is bounded, then it lies in [dayStart, nextDay) and [hourStart, nextHour) with matching prefixes', () => {
    fc.assert(
      fc.property(instantArb, (t) => {
        const m = minuteOf(t);
        const dayEnd = nextDay(m);
        const hourEnd = nextHour(m);
        const dayStart = dayEnd - MINUTES_PER_DAY;
        const hourStart = hourEnd - 60;
        expect(dayEnd % MINUTES_PER_DAY).toBe(0);
        expect(hourEnd % 60).toBe(0);
        expect(m).toBeGreaterThanOrEqual(dayStart);
        expect(m).toBeLessThan(dayEnd);
        expect(m).toBeGreaterThanOrEqual(hourStart);
        expect(m).toBeLessThan(hourEnd);
        // The boundaries agree with the names: same prefix inside, a different one at the next start.
        expect(dayPrefix(dayStart)).toBe(dayPrefix(m));
        expect(dayPrefix(dayEnd - 1)).toBe(dayPrefix(m));
        expect(dayPrefix(dayEnd)).not.toBe(dayPrefix(m));
        expect(hourPrefix(hourStart)).toBe(hourPrefix(m));
        expect(hourPrefix(hourEnd - 1)).toBe(hourPrefix(m));
        expect(hourPrefix(hourEnd)).not.toBe(hourPrefix(m));
        expect(minutePrefix(hourStart)).toBe(`${hourPrefix(m)}.00`);
        expect(minutePrefix(dayStart)).toBe(`${dayPrefix(m)}.00.00`);
      }),
    );
  });
});

describe('entryName as a NATS KV key', () => {
  const awkwardKeys = [
    'agent:main:telegram:direct:42',
    'a.b.c',
    '.leading.and.trailing.',
    '..',
    '*',
    '>',
    'agent:main:*:>',
    'with spaces and\ttabs\nnewlines',
    'ünïcödé:日本語:🙂',
    '',
    '$KV.timers.d.1.00.00',
  ];

  it.each(awkwardKeys)('given the session key %j, when named, then the name is a valid KV key', (key) => {
    const name = entryName(minuteOf(Date.UTC(2026, 10, 24, 4)), key, 'compaction');
    expectValidKvKey(name);
    // The key itself never leaks into the name: only its hash.
    expect(name.split('.')).toHaveLength(6);
  });

  it('given the awkward keys, when named under one minute and kind, then no two names coincide', () => {
    const minute = minuteOf(Date.UTC(2026, 10, 24, 4));
    const names = awkwardKeys.map((key) => entryName(minute, key, 'expiry'));
    expect(new Set(names).size).toBe(awkwardKeys.length);
  });

  it('given any two different session keys, when named, then both are valid KV keys and differ', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        instantArb,
        fc.constantFrom<TimerKind>('expiry', 'quiet', 'compaction'),
        (a, b, t, kind) => {
          fc.pre(a !== b);
          const nameA = entryName(minuteOf(t), a, kind);
          const nameB = entryName(minuteOf(t), b, kind);
          expectValidKvKey(nameA);
          expectValidKvKey(nameB);
          expect(nameA).not.toBe(nameB);
        },
      ),
    );
  });
});

describe('timerChangesOf', () => {
  const key = 'agent:main:main';

  it("given a record that cancels and schedules, when read, then its drops come first, then its arms, each in the record's order", () => {
    const body: Pick<TransitionRecordV1, 'timers'> = {
      timers: {
        schedule: [
          { timerId: 't3', kind: 'expiry', dueAt: 3_000 },
          { timerId: 't4', kind: 'quiet', dueAt: 4_000 },
        ],
        cancel: [
          { timerId: 't1', kind: 'expiry', dueAt: 1_000 },
          { timerId: 't2', kind: 'quiet', dueAt: 2_000 },
        ],
      },
    };
    expect(timerChangesOf(key, body)).toStrictEqual([
      { op: 'drop', sessionKey: key, timerId: 't1', kind: 'expiry', dueAt: 1_000 },
      { op: 'drop', sessionKey: key, timerId: 't2', kind: 'quiet', dueAt: 2_000 },
      { op: 'arm', entry: { v: 1, sessionKey: key, timerId: 't3', kind: 'expiry', dueAt: 3_000 } },
      { op: 'arm', entry: { v: 1, sessionKey: key, timerId: 't4', kind: 'quiet', dueAt: 4_000 } },
    ]);
  });

  it('given an old record whose cancel names no due time, when read, then the drop has no dueAt key at all', () => {
    const body = {
      timers: { schedule: [], cancel: [{ timerId: 't1', kind: 'compaction' }] },
    } as unknown as Pick<TransitionRecordV1, 'timers'>;
    const changes = timerChangesOf(key, body);
    expect(changes).toStrictEqual([{ op: 'drop', sessionKey: key, timerId: 't1', kind: 'compaction' }]);
    expect(Object.hasOwn(changes[0] as object, 'dueAt')).toBe(false);
  });

  it('given a body without timers, or with empty lists, when read, then there are no changes', () => {
    expect(timerChangesOf(key, {} as Pick<TransitionRecordV1, 'timers'>)).toStrictEqual([]);
    expect(timerChangesOf(key, { timers: { schedule: [], cancel: [] } })).toStrictEqual([]);
  });
});

describe('firingId', () => {
  it('given the same key and timer, when asked twice, then the ids are equal', () => {
    expect(firingId('agent:main:main', 'timer-1')).toBe(firingId('agent:main:main', 'timer-1'));
    expect(firingId('agent:main:main', 'timer-1')).toBe(`timer:${keyHash('agent:main:main')}:timer-1`);
  });

  it('given two keys with the same timer id, when asked, then the ids differ', () => {
    expect(firingId('agent:main:main', 'timer-1')).not.toBe(firingId('agent:ops:main', 'timer-1'));
  });

  it('given one key with two timer ids, when asked, then the ids differ', () => {
    expect(firingId('agent:main:main', 'timer-1')).not.toBe(firingId('agent:main:main', 'timer-2'));
  });

  it('given any two distinct (key, timer) pairs, when asked, then the ids differ', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (k1, t1, k2, t2) => {
        fc.pre(k1 !== k2 || t1 !== t2);
        expect(firingId(k1, t1)).not.toBe(firingId(k2, t2));
      }),
    );
  });
});

describe('ChangeBatch', () => {
  const key = 'agent:main:main';
  const m0 = Date.UTC(2026, 10, 24, 4, 0);
  const m1 = m0 + MINUTE_MS;

  it('given a timer armed and then dropped in one batch, when taken, then nothing is left', () => {
    const batch = new ChangeBatch();
    batch.add(arm(key, 'A', 'expiry', m0 + 5_000));
    expect(batch.size).toBe(1);
    batch.add(drop(key, 'A', 'expiry', m0 + 5_000));
    expect(batch.size).toBe(0);
    expect(batch.take()).toStrictEqual([]);
  });

  it('given an arm then a drop at another second of the same minute, when taken, then they cancel (slots are per minute)', () => {
    const batch = new ChangeBatch();
    batch.add(arm(key, 'A', 'expiry', m0 + 1_000));
    batch.add(drop(key, 'A', 'expiry', m0 + 59_999));
    expect(batch.take()).toStrictEqual([]);
  });

  it('given a drop then an arm in the same slot, when taken, then only the arm remains (its put overwrites)', () => {
    const batch = new ChangeBatch();
    batch.add(drop(key, 'old', 'expiry', m0 + 1_000));
    batch.add(arm(key, 'new', 'expiry', m0 + 2_000));
    expect(batch.take()).toStrictEqual([arm(key, 'new', 'expiry', m0 + 2_000)]);
  });

  it('given a drop of the old minute then an arm in a new minute, when taken, then both, drop first', () => {
    const batch = new ChangeBatch();
    batch.add(drop(key, 'old', 'expiry', m0));
    batch.add(arm(key, 'new', 'expiry', m1));
    expect(batch.take()).toStrictEqual([drop(key, 'old', 'expiry', m0), arm(key, 'new', 'expiry', m1)]);
  });

  it('given arm A then arm B in the same key, kind and minute, when taken, then only B', () => {
    const batch = new ChangeBatch();
    batch.add(arm(key, 'A', 'quiet', m0 + 10));
    batch.add(arm(key, 'B', 'quiet', m0 + 20));
    expect(batch.size).toBe(1);
    expect(batch.take()).toStrictEqual([arm(key, 'B', 'quiet', m0 + 20)]);
  });

  it('given arms differing only in key or kind, when taken, then each is kept', () => {
    const batch = new ChangeBatch();
    batch.add(arm(key, 'A', 'quiet', m0));
    batch.add(arm(key, 'B', 'expiry', m0));
    batch.add(arm('agent:ops:main', 'A', 'quiet', m0));
    expect(batch.take()).toStrictEqual([
      arm(key, 'A', 'quiet', m0),
      arm(key, 'B', 'expiry', m0),
      arm('agent:ops:main', 'A', 'quiet', m0),
    ]);
  });

  it('given a drop without dueAt, when added, then it is ignored, even after an arm of the same timer', () => {
    const batch = new ChangeBatch();
    batch.add(drop(key, 'A', 'expiry'));
    expect(batch.size).toBe(0);
    expect(batch.take()).toStrictEqual([]);
    batch.add(arm(key, 'A', 'expiry', m0));
    batch.add(drop(key, 'A', 'expiry'));
    expect(batch.take()).toStrictEqual([arm(key, 'A', 'expiry', m0)]);
  });

  it('given a stored timer dropped, re-armed and dropped again, when taken, then the last drop (the store must still be purged)', () => {
    const batch = new ChangeBatch();
    batch.add(drop(key, 'old', 'expiry', m0));
    batch.add(arm(key, 'new', 'expiry', m0));
    batch.add(drop(key, 'new', 'expiry', m0));
    expect(batch.take()).toStrictEqual([drop(key, 'new', 'expiry', m0)]);
  });

  it('given arm, drop, arm in one slot, when taken, then only the last arm', () => {
    const batch = new ChangeBatch();
    batch.add(arm(key, 'A', 'expiry', m0));
    batch.add(drop(key, 'A', 'expiry', m0));
    batch.add(arm(key, 'B', 'expiry', m0));
    expect(batch.take()).toStrictEqual([arm(key, 'B', 'expiry', m0)]);
  });

  it('given a batch with changes, when taken, then it is empty and a second take gives nothing', () => {
    const batch = new ChangeBatch();
    batch.add(arm(key, 'A', 'expiry', m0));
    batch.add(drop(key, 'B', 'quiet', m1));
    expect(batch.take()).toHaveLength(2);
    expect(batch.size).toBe(0);
    expect(batch.take()).toStrictEqual([]);
    // A new batch after take starts afresh: an arm after take is not netted with what was taken.
    batch.add(drop(key, 'A', 'expiry', m0));
    expect(batch.take()).toStrictEqual([drop(key, 'A', 'expiry', m0)]);
  });

  /**
   * The batch's assumption: a slot (minute, key, kind) whose first change in the batch is an arm holds no
   * value before the batch — the decider always cancels a key's timer of a kind before arming the next, so
   * an arm into an occupied slot is always preceded by its drop. Hence the starting map holds values only
   * for slots the sequence first drops (and, randomly, not even all of those: a drop may find nothing).
   */
  it('given a random sequence of arms and drops, when netted, then applying take() gives the same KV map as applying them one by one', () => {
    // Few slots (2 keys × 2 kinds × 2 minutes), so that sequences revisit a slot often.
    const keys = ['agent:main:main', 'a.b*> ü'];
    const kinds: TimerKind[] = ['expiry', 'quiet'];
    const opArb = fc.record({
      op: fc.constantFrom('arm', 'drop', 'drop-without-dueAt'),
      key: fc.constantFrom(...keys),
      kind: fc.constantFrom(...kinds),
      minute: fc.integer({ min: 0, max: 1 }),
      second: fc.integer({ min: 0, max: MINUTE_MS - 1 }),
      timerId: fc.constantFrom('t1', 't2', 't3'),
    });
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40, size: 'max' }),
        fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }),
        (ops, seeded) => {
          const changes = ops.map(({ op, key, kind, minute, second, timerId }) => {
            const dueAt = m0 + minute * MINUTE_MS + second;
            if (op === 'arm') return arm(key, timerId, kind, dueAt);
            return drop(key, timerId, kind, op === 'drop' ? dueAt : undefined);
          });
          const nameOf = (change: TimerChange): string | undefined => {
            if (change.op === 'arm')
              return entryName(minuteOf(change.entry.dueAt), change.entry.sessionKey, change.entry.kind);
            if (change.dueAt === undefined) return undefined; // cannot be located: does nothing to the store
            return entryName(minuteOf(change.dueAt), change.sessionKey, change.kind);
          };
          const applyTo = (store: Map<string, string>, change: TimerChange) => {
            const name = nameOf(change);
            if (name === undefined) return;
            if (change.op === 'arm') store.set(name, change.entry.timerId);
            else store.delete(name);
          };

          // The starting map: a value only for (some) slots whose first locatable change is a drop.
          const start = new Map<string, string>();
          const seen = new Set<string>();
          for (const change of changes) {
            const name = nameOf(change);
            if (name === undefined || seen.has(name)) continue;
            seen.add(name);
            if (change.op === 'drop' && seeded[seen.size % seeded.length])
              start.set(name, `stored-before:${name}`);
          }

          const oneByOne = new Map(start);
          for (const change of changes) applyTo(oneByOne, change);

          const batch = new ChangeBatch();
          for (const change of changes) batch.add(change);
          const netted = batch.take();
          const viaBatch = new Map(start);
          for (const change of netted) applyTo(viaBatch, change);

          expect(viaBatch).toStrictEqual(oneByOne);
          // Netted: at most one change per slot, never an unlocatable drop, and the batch is empty after.
          const names = netted.map(nameOf);
          expect(names).not.toContain(undefined);
          expect(new Set(names).size).toBe(netted.length);
          expect(netted.length).toBeLessThanOrEqual(changes.length);
          expect(batch.size).toBe(0);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

// Keep the stored-entry shape honest: an arm carries exactly what the index writes.
describe('TimerEntry', () => {
  it('given an arm from a record, when read, then its entry is the v1 stored shape', () => {
    const [change] = timerChangesOf('k', {
      timers: { schedule: [{ timerId: 't', kind: 'quiet', dueAt: 7 }], cancel: [] },
    });
    const expected: TimerEntry = { v: 1, sessionKey: 'k', timerId: 't', kind: 'quiet', dueAt: 7 };
    expect(change).toStrictEqual({ op: 'arm', entry: expected });
  });
});
