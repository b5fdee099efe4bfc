import { MemorySessionLog, type SessionRecord, verifyChain } from '@threadline/event-log';
import { StreamNames } from '@threadline/protocol';
import { parseConfig, serializeSnapshot } from '@threadline/session-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chatInput, controlInput, type InputContext, replyInput, type WorkItem } from './inputs.js';
import { emptyKeyState, foldRecord } from './keyState.js';
import type { TransitionRecordV1 } from './records.js';
import { SessionActors } from './sessionActors.js';
import { MemorySnapshotStore } from './snapshotStore.js';

const T0 = Date.UTC(2026, 10, 24, 9, 0, 0);
const MINUTE = 60_000;
const ctx: InputContext = {
  config: parseConfig({ session: { dmScope: 'per-channel-peer', reset: { mode: 'idle', idleMinutes: 120 } } })
    .config,
  hostTimeZone: 'UTC',
};

function chat(key: string, n: number, text = `message ${n}`) {
  return {
    id: `tg:${key}:${n}`,
    channel: 'telegram',
    chatType: 'direct' as const,
    peer: { kind: 'direct' as const, id: key },
    sender: { id: key, isAuthorized: true },
    text,
    at: T0,
    v: 1 as const,
    type: 'chat.message' as const,
  };
}

async function records(log: MemorySessionLog, key: string) {
  const out: SessionRecord<TransitionRecordV1>[] = [];
  for await (const r of log.read<TransitionRecordV1>(key)) out.push(r);
  return out;
}

const source = (seq: number) => ({ stream: StreamNames.keyed, seq });

describe('SessionActors', () => {
  it('given a chat message, when applied, then one chained record holds the input, the facts and the timers', async () => {
    const log = new MemorySessionLog();
    const actors = new SessionActors({ log, snapshots: new MemorySnapshotStore(), maxResident: 10 });
    const key = 'agent:main:telegram:direct:alice';
    const result = await actors.apply(key, source(1), () => chatInput(key, chat('alice', 1), T0, ctx));
    expect(result.outcome).toBe('recorded');
    const [record] = await records(log, key);
    expect(record?.id).toBe('chat:tg:alice:1');
    expect(record?.body.facts.map((f) => f.type)).toEqual(['SessionStarted', 'MessageRecorded']);
    expect(record?.body.timers.schedule.map((t) => t.kind).sort()).toEqual(['expiry', 'quiet']);
    expect(record?.body.source).toEqual(source(1));
    expect(verifyChain(await records(log, key)).ok).toBe(true);
  });

  it('given an input read again after a restart, when applied, then it is recognised by its sequence and not recorded twice', async () => {
    const log = new MemorySessionLog();
    const key = 'k';
    const first = new SessionActors({ log, snapshots: new MemorySnapshotStore(), maxResident: 10 });
    await first.apply(key, source(5), () => chatInput(key, chat('k', 1), T0, ctx));
    // A fresh worker (nothing resident, no snapshot) reads seq 5 again.
    const second = new SessionActors({ log, snapshots: new MemorySnapshotStore(), maxResident: 10 });
    expect((await second.apply(key, source(5), () => chatInput(key, chat('k', 1), T0, ctx))).outcome).toBe(
      'replayed',
    );
    expect(await records(log, key)).toHaveLength(1);
  });

  it('given a producer id seen twice at different positions, when applied, then the second is a duplicate', async () => {
    const log = new MemorySessionLog();
    const actors = new SessionActors({ log, snapshots: new MemorySnapshotStore(), maxResident: 10 });
    const key = 'k';
    await actors.apply(key, source(1), () => chatInput(key, chat('k', 1), T0, ctx));
    const again = await actors.apply(key, source(9), () => chatInput(key, chat('k', 1), T0 + MINUTE, ctx));
    expect(again.outcome).toBe('duplicate');
    expect(await records(log, key)).toHaveLength(1);
  });

  it('given two writers on one key, when they interleave, then the history is one chain with every input once, in order', async () => {
    const log = new MemorySessionLog();
    const snapshots = new MemorySnapshotStore();
    const a = new SessionActors({ log, snapshots, maxResident: 10 });
    const b = new SessionActors({ log, snapshots, maxResident: 10 });
    const key = 'shared';
    // Both load the key, then both apply the same stream of inputs in the same order, alternating.
    for (let n = 1; n <= 20; n++) {
      const item = () => chatInput(key, chat('shared', n), T0 + n * 1000, ctx);
      const [ra, rb] = await Promise.all([a.apply(key, source(n), item), b.apply(key, source(n), item)]);
      const outcomes = [ra.outcome, rb.outcome];
      expect(outcomes.filter((o) => o === 'recorded')).toHaveLength(1);
      expect(outcomes.filter((o) => o !== 'recorded')[0]).toMatch(/^(replayed|duplicate)$/);
    }
    const history = await records(log, key);
    expect(verifyChain(history).ok).toBe(true);
    expect(history.map((r) => r.body.inputId)).toEqual(
      Array.from({ length: 20 }, (_, i) => `chat:tg:shared:${i + 1}`),
    );
  });

  it('given two writers with different inputs for one key, when they race, then the loser reloads, decides again and both are recorded', async () => {
    const log = new MemorySessionLog();
    const snapshots = new MemorySnapshotStore();
    const a = new SessionActors({ log, snapshots, maxResident: 10 });
    const b = new SessionActors({ log, snapshots, maxResident: 10 });
    const key = 'raced';
    await a.apply(key, source(1), () => chatInput(key, chat('raced', 1), T0, ctx));
    await b.load(key);
    const reply = (n: number) => () =>
      replyInput({ v: 1, type: 'agent.reply', id: `r${n}`, sessionKey: key, text: 'ok', at: T0 }, T0 + n);
    const [ra, rb] = await Promise.all([a.apply(key, source(2), reply(2)), b.apply(key, null, reply(3))]);
    expect([ra.outcome, rb.outcome]).toEqual(['recorded', 'recorded']);
    expect(ra.conflicts + rb.conflicts).toBe(1);
    const history = await records(log, key);
    expect(verifyChain(history).ok).toBe(true);
    expect(history.map((r) => r.id).sort()).toEqual(['chat:tg:raced:1', 'reply:r2', 'reply:r3']);
    // The loser decided on the winner's record: message count includes both replies.
    const final = await new SessionActors({ log, snapshots: new MemorySnapshotStore(), maxResident: 1 }).load(
      key,
    );
    expect(final.snapshot.context.messageCount).toBe(3);
  });

  it('given a stale timer, when it fires, then nothing is recorded; the current one expires the session', async () => {
    const log = new MemorySessionLog();
    const actors = new SessionActors({ log, snapshots: new MemorySnapshotStore(), maxResident: 10 });
    const key = 'k';
    const first = await actors.apply(key, source(1), () => chatInput(key, chat('k', 1), T0, ctx));
    const firstExpiry = first.record?.body.timers.schedule.find((t) => t.kind === 'expiry');
    await actors.apply(key, source(2), () => chatInput(key, chat('k', 2), T0 + 10 * MINUTE, ctx));
    const fired = (timerId: string, at: number, id: string) =>
      controlInput({ v: 1, type: 'timer.fired', id, sessionKey: key, timerId, at }, undefined, ctx);
    // The first expiry was superseded by the second message: ignored.
    const stale = await actors.apply(key, source(3), () =>
      fired(firstExpiry?.timerId as string, firstExpiry?.dueAt as number, 'f1'),
    );
    expect(stale.outcome).toBe('no-op');
    const current = stale.state.snapshot.context.timers.expiry;
    const expired = await actors.apply(key, source(4), () =>
      fired(current?.id as string, current?.dueAt as number, 'f2'),
    );
    expect(expired.record?.body.facts.map((f) => f.type)).toContain('SessionExpired');
    expect(expired.state.snapshot.state).toBe('expired');
    // An expired session is not kept in memory.
    expect(actors.isResident(key)).toBe(false);
  });

  it('given replies and an operator reset, when applied, then they are recorded with their own ids', async () => {
    const log = new MemorySessionLog();
    const actors = new SessionActors({ log, snapshots: new MemorySnapshotStore(), maxResident: 10 });
    const key = 'k';
    await actors.apply(key, source(1), () => chatInput(key, chat('k', 1), T0, ctx));
    await actors.apply(key, source(2), () =>
      replyInput({ v: 1, type: 'agent.reply', id: 'r1', sessionKey: key, text: 'hi', at: T0 }, T0 + 1000),
    );
    const reset = await actors.apply(key, source(3), (snapshot) =>
      controlInput(
        { v: 1, type: 'session.reset', id: 'op1', sessionKey: key, trigger: 'operator', at: T0 + 2000 },
        snapshot,
        ctx,
      ),
    );
    expect(reset.record?.body.facts.map((f) => f.type)).toEqual(['SessionReset', 'SessionStarted']);
    expect((await records(log, key)).map((r) => r.id)).toEqual(['chat:tg:k:1', 'reply:r1', 'ctl:op1']);
  });

  it('never holds more than the cap, even for a moment, while many keys are applied at once', async () => {
    const log = new MemorySessionLog();
    const inner = new MemorySnapshotStore();
    let actors: SessionActors | undefined;
    let over = 0;
    const check = () => {
      if ((actors?.residentCount ?? 0) > 10) over += 1;
    };
    // A slow store: evictions overlap with other keys' inserts.
    const snapshots = {
      get: (key: string) => inner.get(key),
      put: async (state: Parameters<MemorySnapshotStore['put']>[0]) => {
        check();
        await new Promise((r) => setTimeout(r, 1));
        check();
        await inner.put(state);
      },
    };
    actors = new SessionActors({ log, snapshots, maxResident: 10 });
    const a = actors;
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        a
          .apply(`k${i % 50}`, source(i + 1), () =>
            chatInput(`k${i % 50}`, chat(`k${i % 50}`, i), T0 + i, ctx),
          )
          .then(check),
      ),
    );
    expect(over).toBe(0);
    expect(a.metrics.maxResidentSeen).toBeLessThanOrEqual(10);
    expect(a.metrics.recorded).toBe(200);
    // Every key's state survives the churn: rehydrated equals replayed.
    for (let k = 0; k < 50; k++) {
      const key = `k${k}`;
      const replayed = (await records(log, key)).reduce((st, r) => foldRecord(st, r), emptyKeyState(key));
      expect(serializeSnapshot((await a.load(key)).snapshot)).toBe(serializeSnapshot(replayed.snapshot));
    }
  });

  it('keeps 100 000 sessions under the resident cap, and each comes back as it was', async () => {
    const log = new MemorySessionLog();
    const snapshots = new MemorySnapshotStore();
    const cap = 1_000;
    const actors = new SessionActors({ log, snapshots, maxResident: cap });
    const total = 100_000;
    for (let i = 0; i < total; i++) {
      const key = `agent:main:telegram:direct:user${i}`;
      await actors.apply(key, source(i + 1), () => chatInput(key, chat(`user${i}`, 1), T0 + i, ctx));
      if (actors.residentCount > cap) throw new Error(`resident ${actors.residentCount} > cap ${cap}`);
    }
    expect(actors.metrics.recorded).toBe(total);
    expect(actors.metrics.maxResidentSeen).toBeLessThanOrEqual(cap);
    expect(actors.residentCount).toBe(cap);
    expect(snapshots.size).toBe(total - cap);
    // A passivated session rehydrates to exactly its replayed state.
    const key = 'agent:main:telegram:direct:user7';
    const rehydrated = await actors.load(key);
    const replayed = (await records(log, key)).reduce((state, r) => foldRecord(state, r), emptyKeyState(key));
    expect(serializeSnapshot(rehydrated.snapshot)).toBe(serializeSnapshot(replayed.snapshot));
  }, 120_000);

  it('passivate and rehydrate equals replay, for any inputs and any cache size (property)', async () => {
    const keys = ['a', 'b', 'c', 'd'];
    const step = fc.record({
      key: fc.constantFrom(...keys),
      kind: fc.constantFrom('chat', 'chat', 'reply', 'tick', 'reset', 'fire-expiry', 'fire-quiet'),
      gapMin: fc.integer({ min: 0, max: 200 }),
      text: fc.constantFrom('hi', '/new', '/status', '/reset again', '/send off', 'hello'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        async (steps, cap) => {
          const run = async (maxResident: number) => {
            const log = new MemorySessionLog();
            const actors = new SessionActors({ log, snapshots: new MemorySnapshotStore(), maxResident });
            let now = T0;
            let n = 0;
            for (const s of steps) {
              n += 1;
              now += s.gapMin * MINUTE;
              const at = now;
              const build = (snapshot: Parameters<Parameters<SessionActors['apply']>[2]>[0]): WorkItem => {
                const timers = snapshot.context.timers;
                switch (s.kind) {
                  case 'reply':
                    return replyInput(
                      { v: 1, type: 'agent.reply', id: `r${n}`, sessionKey: s.key, text: 'ok', at },
                      at,
                    );
                  case 'tick':
                    return controlInput(
                      { v: 1, type: 'clock.tick', id: `t${n}`, sessionKey: s.key, at },
                      snapshot,
                      ctx,
                    );
                  case 'reset':
                    return controlInput(
                      {
                        v: 1,
                        type: 'session.reset',
                        id: `x${n}`,
                        sessionKey: s.key,
                        trigger: 'operator',
                        at,
                      },
                      snapshot,
                      ctx,
                    );
                  case 'fire-expiry':
                  case 'fire-quiet': {
                    const timer = s.kind === 'fire-expiry' ? timers.expiry : timers.quiet;
                    return controlInput(
                      {
                        v: 1,
                        type: 'timer.fired',
                        id: `f${n}`,
                        sessionKey: s.key,
                        timerId: timer?.id ?? 'none',
                        at: Math.max(at, timer?.dueAt ?? at),
                      },
                      snapshot,
                      ctx,
                    );
                  }
                  default:
                    return chatInput(s.key, { ...chat(s.key, n, s.text) }, at, ctx);
                }
              };
              await actors.apply(s.key, source(n), build);
            }
            return { log, actors };
          };
          const small = await run(cap);
          const large = await run(1_000);
          for (const key of keys) {
            const history = await records(small.log, key);
            const replayed = history.reduce((state, r) => foldRecord(state, r), emptyKeyState(key));
            const rehydrated = await small.actors.load(key);
            const neverEvicted = await large.actors.load(key);
            expect(serializeSnapshot(rehydrated.snapshot)).toBe(serializeSnapshot(replayed.snapshot));
            expect(serializeSnapshot(neverEvicted.snapshot)).toBe(serializeSnapshot(replayed.snapshot));
            expect(rehydrated.head).toEqual(replayed.head);
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
