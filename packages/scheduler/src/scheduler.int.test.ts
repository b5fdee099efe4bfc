/**
 * The scheduler with the real worker on a real nats-server, time driven by the simulated clock: sessions
 * end on the clock without any new message, at the exact millisecond; daily boundaries expire every
 * session stale at them (evicted ones included) and tick where the spec puts them across DST; a
 * scheduler killed before a deadline fires it after its restart, once; two replicas never double-fire.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { type ControlEventV1, StreamNames, Subjects } from '@threadline/protocol';
import {
  dailyBoundaryAfter,
  parseConfig,
  type SessionFact,
  type ThreadlineConfig,
} from '@threadline/session-core';
import { chat, history, PARTITIONS, until, workerTestBed } from '@threadline/session-worker/testing';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { type Scheduler, type SchedulerEvent, startScheduler } from './scheduler.js';
import type { TickV1 } from './ticks.js';

const MIN = 60_000;
const NY = 'America/New_York';

const configOf = (session: Record<string, unknown>): ThreadlineConfig =>
  parseConfig({ session: { dmScope: 'per-channel-peer', ...session } }).config;

const keyOf = (peer: string) => `agent:main:telegram:direct:${peer}`;

async function facts(nc: NatsConnection, key: string): Promise<SessionFact[]> {
  return (await history(nc, key)).flatMap((r) => r.body.facts);
}

/** Every `timer.fired` control event stored in the keyed stream, in order. */
async function firings(nc: NatsConnection): Promise<ControlEventV1[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(StreamNames.keyed);
  const out: ControlEventV1[] = [];
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(StreamNames.keyed, { seq }).catch(() => null);
    if (m?.subject.startsWith('tl.ctl.')) {
      const event = m.json<ControlEventV1>();
      if (event.type === 'timer.fired') out.push(event);
    }
  }
  return out;
}

async function ticks(nc: NatsConnection): Promise<TickV1[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(StreamNames.ticks);
  const out: TickV1[] = [];
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(StreamNames.ticks, { seq }).catch(() => null);
    if (m) out.push(m.json<TickV1>());
  }
  return out;
}

function schedulerBed(config: ThreadlineConfig) {
  const bed = workerTestBed({ config, leaseTtlMs: 1_500, heartbeatMs: 250 });
  const events: SchedulerEvent[] = [];
  /** A scheduler on a connection of its own (so it can be killed), stopped after the test. */
  const scheduler = async (id: string, extra: { config?: ThreadlineConfig } = {}) => {
    const nc = await connectToNats({ servers: bed.url });
    const s = await startScheduler({
      nc,
      clock: bed.clock,
      config: extra.config ?? config,
      hostTimeZone: NY,
      schedulerId: id,
      partitions: PARTITIONS,
      leaseTtlMs: 1_500,
      heartbeatMs: 250,
      onEvent: (event) => events.push(event),
    });
    let alive = true;
    bed.cleanup(async () => {
      if (alive) await s.stop();
      await nc.close().catch(() => {});
    });
    return {
      scheduler: s,
      /** kill -9, as far as NATS can tell: the connection drops, nothing is released. */
      kill: async () => {
        alive = false;
        await nc.close();
      },
    };
  };
  const send = async (peer: string, n: number) => {
    const event = chat('telegram', peer, n);
    await jetstream(bed.nc).publish(Subjects.inbound('telegram', peer), JSON.stringify(event), {
      msgID: event.id,
    });
  };
  const leading = (s: Scheduler) => until(() => s.status().leader, 20_000, 'scheduler leading');
  /** The scheduler has indexed every record written so far. */
  const indexed = async (s: Scheduler) => {
    const head = (await (await jetstreamManager(bed.nc)).streams.info(StreamNames.sessions)).state.last_seq;
    await until(() => s.status().indexedSeq >= head, 20_000, `index at ${head}`);
  };
  return { bed, events, scheduler, send, leading, indexed };
}

describe('idle expiry on the clock', () => {
  const t = schedulerBed(configOf({ reset: { mode: 'idle', idleMinutes: 30 } }));

  it('expires a session idle past idleMinutes at the exact millisecond, with no new message', async () => {
    const { bed } = t;
    await bed.start();
    const { scheduler } = await t.scheduler('s1');
    await t.leading(scheduler);
    // Something on a session subject that is not a record (tampering): skipped, it stops no timer.
    await jetstream(bed.nc).publish(Subjects.session(keyOf('ghost')), 'not a record');
    await t.send('ann', 1);
    const key = keyOf('ann');
    await until(async () => (await history(bed.nc, key)).length === 1, 20_000, 'first record');
    const started = (await facts(bed.nc, key)).find((f) => f.type === 'SessionStarted');
    const last = (started as { at: number }).at;
    const deadline = last + 30 * MIN + 1; // the first stale millisecond (spec §2.3: strictly after)
    await t.indexed(scheduler);

    // One millisecond before: the quiet step has fired (idle), the expiry has not.
    bed.clock.set(deadline - 1);
    await until(
      async () => (await facts(bed.nc, key)).some((f) => f.type === 'SessionIdled'),
      20_000,
      'idled',
    );
    await until(() => scheduler.status().held === 1, 20_000, 'the expiry timer held for its minute');
    expect((await facts(bed.nc, key)).some((f) => f.type === 'SessionExpired')).toBe(false);

    bed.clock.set(deadline);
    await until(
      async () => (await facts(bed.nc, key)).some((f) => f.type === 'SessionExpired'),
      20_000,
      'expired',
    );
    const expired = (await facts(bed.nc, key)).filter((f) => f.type === 'SessionExpired');
    expect(expired).toEqual([expect.objectContaining({ at: deadline, reason: 'idle' })]);
    const fired = await firings(bed.nc);
    expect(fired.map((e) => e.type === 'timer.fired' && e.timerId)).toHaveLength(2); // quiet, expiry
    expect(new Set(fired.map((e) => e.id)).size).toBe(fired.length);
  });

  it('fires a timer whose deadline passed while the scheduler was dead, once, after the restart', async () => {
    const { bed } = t;
    await bed.start();
    const first = await t.scheduler('s-killed');
    await t.leading(first.scheduler);
    await t.send('bob', 1);
    const key = keyOf('bob');
    await until(async () => (await history(bed.nc, key)).length === 1, 20_000, 'first record');
    await t.indexed(first.scheduler);
    await first.kill();

    const last = ((await facts(bed.nc, key))[0] as { at: number }).at;
    bed.clock.set(last + 45 * MIN); // past the quiet step and the idle deadline, nobody firing
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await facts(bed.nc, key)).some((f) => f.type === 'SessionExpired')).toBe(false);

    const second = await t.scheduler('s-restarted');
    await t.leading(second.scheduler); // after the dead leader's lease lapsed
    await until(
      async () => (await facts(bed.nc, key)).some((f) => f.type === 'SessionExpired'),
      20_000,
      'expired',
    );
    const expired = (await facts(bed.nc, key)).filter((f) => f.type === 'SessionExpired');
    expect(expired).toEqual([expect.objectContaining({ at: last + 30 * MIN + 1, reason: 'idle' })]);
    // Both overdue timers fired, each once, in due order: the quiet step at its own time, then the expiry.
    const f = await facts(bed.nc, key);
    expect(f.filter((x) => x.type === 'SessionIdled')).toEqual([
      expect.objectContaining({ at: last + 5 * MIN }),
    ]);
    const records = await history(bed.nc, key);
    const timerInputs = records.filter((r) => r.body.input.type === 'timer.fired').map((r) => r.body.inputId);
    expect(timerInputs).toHaveLength(2);
    expect(new Set(timerInputs).size).toBe(2);
    const fired = (await firings(bed.nc)).filter((e) => e.sessionKey === key);
    expect(new Set(fired.map((e) => e.id)).size).toBe(fired.length);
  });

  it('two replicas running together never double-fire, even when the leader dies in the middle', async () => {
    const { bed } = t;
    await bed.start();
    const a = await t.scheduler('rep-a');
    const b = await t.scheduler('rep-b');
    // Leadership can move once while the second replica joins (rendezvous hashing picks the owner):
    // wait until one replica has led for a whole second.
    let since = Date.now();
    let last: Scheduler | undefined;
    await until(
      () => {
        const now = [a, b].filter((r) => r.scheduler.status().leader).map((r) => r.scheduler);
        expect(now.length).toBeLessThanOrEqual(1);
        if (now[0] !== last) {
          last = now[0];
          since = Date.now();
        }
        return last !== undefined && Date.now() - since >= 1_000;
      },
      20_000,
      'a stable leader',
    );
    const peers = Array.from({ length: 12 }, (_, i) => `rep${i}`);
    for (const peer of peers) await t.send(peer, 1);
    await until(
      async () =>
        (await Promise.all(peers.map((p) => history(bed.nc, keyOf(p))))).every((h) => h.length === 1),
      20_000,
      'all sessions started',
    );
    const leader = a.scheduler.status().leader ? a : b;
    const standby = leader === a ? b : a;
    await t.indexed(leader.scheduler);
    const start = bed.clock.now();
    bed.clock.set(start + 6 * MIN); // quiet steps due
    await until(() => leader.scheduler.status().fired >= peers.length, 20_000, 'quiet timers fired');
    await leader.kill();
    bed.clock.set(start + 31 * MIN); // idle deadlines due, for the standby to fire
    await t.leading(standby.scheduler);
    await until(
      async () =>
        (await Promise.all(peers.map((p) => facts(bed.nc, keyOf(p))))).every((f) =>
          f.some((x) => x.type === 'SessionExpired'),
        ),
      30_000,
      'every session expired',
    );
    for (const peer of peers) {
      const f = await facts(bed.nc, keyOf(peer));
      expect(f.filter((x) => x.type === 'SessionIdled')).toHaveLength(1);
      expect(f.filter((x) => x.type === 'SessionExpired')).toHaveLength(1);
      const timerInputs = (await history(bed.nc, keyOf(peer))).filter(
        (r) => r.body.input.type === 'timer.fired',
      );
      expect(new Set(timerInputs.map((r) => r.body.inputId)).size).toBe(timerInputs.length);
    }
    const fired = await firings(bed.nc);
    expect(new Set(fired.map((e) => e.id)).size).toBe(fired.length);
  });
});

describe('compaction time limits', () => {
  const config = parseConfig({
    session: { dmScope: 'per-channel-peer', reset: { mode: 'idle', idleMinutes: 600 } },
    lifecycle: { compactionTimeoutMs: 10 * MIN },
    compaction: { keepRecentTurns: 1 },
  }).config;
  const t = schedulerBed(config);

  it('ends a compaction whose summariser never answers at its time limit, and the session goes on', async () => {
    const { bed } = t;
    // A summariser that never finishes (until the worker stops): only the time limit can end it.
    const never = {
      name: 'never',
      summarise: (_request: unknown, signal: AbortSignal) =>
        new Promise<string>((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        ),
    };
    await bed.start({ summariser: never });
    const { scheduler } = await t.scheduler('s-compaction');
    await t.leading(scheduler);
    const key = keyOf('cmp');
    await t.send('cmp', 1);
    await t.send('cmp', 2);
    const compact = {
      ...chat('telegram', 'cmp', 3),
      text: '/compact',
      sender: { id: 'cmp', isAuthorized: true, isOwner: true },
    };
    await jetstream(bed.nc).publish(Subjects.inbound('telegram', 'cmp'), JSON.stringify(compact), {
      msgID: compact.id,
    });
    await until(
      async () => (await facts(bed.nc, key)).some((f) => f.type === 'CompactionStarted'),
      20_000,
      'compacting',
    );
    const started = (await facts(bed.nc, key)).find((f) => f.type === 'CompactionStarted') as {
      at: number;
      deadlineAt: number;
    };
    expect(started.deadlineAt).toBe(started.at + 10 * MIN);
    await t.indexed(scheduler);
    bed.clock.set(started.deadlineAt);
    await until(
      async () => (await facts(bed.nc, key)).some((f) => f.type === 'CompactionFailed'),
      20_000,
      'timed out',
    );
    expect((await facts(bed.nc, key)).filter((f) => f.type === 'CompactionFailed')).toEqual([
      expect.objectContaining({ at: started.deadlineAt, reason: 'the summariser did not finish in time' }),
    ]);
    // The session is active again and takes the next message as a turn.
    await t.send('cmp', 4);
    await until(
      async () => (await facts(bed.nc, key)).filter((f) => f.type === 'MessageRecorded').length === 4,
      20_000,
      'the next message recorded',
    );
  });
});

describe('daily boundaries', () => {
  const daily4 = configOf({ reset: { mode: 'daily', atHour: 4, timeZone: NY } });
  const t = schedulerBed(daily4);

  it('at 04:00 in the zone expires every session active before it, with reason daily, evicted ones included', async () => {
    const { bed } = t;
    const worker = await bed.start({ maxResident: 2 });
    const { scheduler } = await t.scheduler('s-daily');
    await t.leading(scheduler);
    const peers = Array.from({ length: 8 }, (_, i) => `day${i}`);
    for (const [n, peer] of peers.entries()) await t.send(peer, n + 1);
    await until(
      async () =>
        (await Promise.all(peers.map((p) => history(bed.nc, keyOf(p))))).every((h) => h.length >= 1),
      20_000,
      'all sessions started',
    );
    expect(worker.metrics().resident).toBeLessThanOrEqual(2); // most of them are passivated
    await t.indexed(scheduler);
    const at = dailyBoundaryAfter(bed.clock.now(), 4, NY);
    expect(DateTime.fromMillis(at, { zone: NY }).toFormat('HH:mm:ss.SSS')).toBe('04:00:00.000');
    bed.clock.set(at - 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const peer of peers)
      expect((await facts(bed.nc, keyOf(peer))).some((f) => f.type === 'SessionExpired')).toBe(false);
    bed.clock.set(at);
    await until(
      async () =>
        (await Promise.all(peers.map((p) => facts(bed.nc, keyOf(p))))).every((f) =>
          f.some((x) => x.type === 'SessionExpired'),
        ),
      30_000,
      'every session expired at the boundary',
    );
    for (const peer of peers) {
      const expired = (await facts(bed.nc, keyOf(peer))).filter((f) => f.type === 'SessionExpired');
      expect(expired).toEqual([expect.objectContaining({ at, reason: 'daily' })]);
    }
    await until(async () => (await ticks(bed.nc)).length === 1, 20_000, 'the tick');
    const [tick] = await ticks(bed.nc);
    expect(tick).toMatchObject({ at, atHour: 4, timeZone: NY });
    expect(tick?.local).toMatch(/T04:00:00\.000-05:00$/);
  });

  it('publishes every tick missed during downtime on restart, oldest first, none twice', async () => {
    const { bed } = t;
    const first = await t.scheduler('s-down-1');
    await t.leading(first.scheduler);
    const before = (await ticks(bed.nc)).length;
    const from = bed.clock.now();
    await first.scheduler.stop();
    bed.clock.set(from + 3 * 24 * 60 * MIN + 1); // three boundaries pass with no scheduler
    const second = await t.scheduler('s-down-2');
    await t.leading(second.scheduler);
    await until(async () => (await ticks(bed.nc)).length === before + 3, 20_000, 'three missed ticks');
    const missed = (await ticks(bed.nc)).slice(before);
    const expected: number[] = [];
    for (let at = from; expected.length < 3; ) {
      at = dailyBoundaryAfter(at, 4, NY);
      expected.push(at);
    }
    expect(missed.map((x) => x.at)).toEqual(expected);
    // A third start (the same checkpoints) adds none.
    await second.scheduler.stop();
    const third = await t.scheduler('s-down-3');
    await t.leading(third.scheduler);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await ticks(bed.nc)).toHaveLength(before + 3);
  });

  it('ticks where the spec says on the New York spring-forward and fall-back days, and expires sessions there', async () => {
    const { bed } = t;
    // 2027: spring forward on 14 March (02:00 EST → 03:00 EDT), fall back on 7 November (01:00 twice).
    const spring = configOf({ reset: { mode: 'daily', atHour: 2, timeZone: NY } });
    bed.clock.set(Date.UTC(2027, 2, 13, 17, 0)); // 12:00 EST the day before
    await bed.start({ config: spring });
    const first = await t.scheduler('s-spring', { config: spring });
    await t.leading(first.scheduler);
    await t.send('spring', 1);
    await until(async () => (await history(bed.nc, keyOf('spring'))).length === 1, 20_000, 'spring session');
    await t.indexed(first.scheduler);
    const springTick = Date.UTC(2027, 2, 14, 7, 0); // 03:00 EDT: the first instant after the gap
    bed.clock.set(springTick);
    await until(async () => (await ticks(bed.nc)).length === 1, 20_000, 'spring tick');
    expect((await ticks(bed.nc))[0]).toMatchObject({
      at: springTick,
      local: '2027-03-14T03:00:00.000-04:00',
    });
    await until(
      async () => (await facts(bed.nc, keyOf('spring'))).some((f) => f.type === 'SessionExpired'),
      20_000,
      'spring expiry',
    );
    expect((await facts(bed.nc, keyOf('spring'))).filter((f) => f.type === 'SessionExpired')).toEqual([
      expect.objectContaining({ at: springTick, reason: 'daily' }),
    ]);
    await first.scheduler.stop();

    const fall = configOf({ reset: { mode: 'daily', atHour: 1, timeZone: NY } });
    bed.clock.set(Date.UTC(2027, 10, 6, 16, 0)); // 12:00 EDT the day before
    const second = await t.scheduler('s-fall', { config: fall });
    await t.leading(second.scheduler);
    const earlier = Date.UTC(2027, 10, 7, 5, 0); // 01:00 EDT, the first of the two 01:00s
    bed.clock.set(earlier + 90 * MIN); // through the repeated hour (01:00 EST is 06:00Z)
    await until(async () => (await ticks(bed.nc)).some((x) => x.atHour === 1), 20_000, 'fall tick');
    const fallTicks = (await ticks(bed.nc)).filter((x) => x.atHour === 1);
    expect(fallTicks).toEqual([
      expect.objectContaining({ at: earlier, local: '2027-11-07T01:00:00.000-04:00' }),
    ]);
    bed.clock.set(earlier + 25 * 60 * MIN); // the next day's 01:00 EST
    await until(
      async () => (await ticks(bed.nc)).filter((x) => x.atHour === 1).length === 2,
      20_000,
      'next tick',
    );
    expect((await ticks(bed.nc)).filter((x) => x.atHour === 1)[1]).toMatchObject({
      at: earlier + 25 * 60 * MIN,
      local: '2027-11-08T01:00:00.000-05:00',
    });
  });
});
