import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { driveSharedClock, followSharedClock } from '@threadline/clock';
import {
  ensureThreadlineStreams,
  NatsSessionLog,
  parseStoredSubject,
  type SessionLog,
  verifyChain,
} from '@threadline/event-log';
import { decodeBase64, StreamNames, Subjects } from '@threadline/protocol';
import { parseConfig, serializeSnapshot, type ThreadlineConfig } from '@threadline/session-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { sessionKeyOf } from './inputs.js';
import { emptyKeyState, foldRecord } from './keyState.js';
import { chat, deadLetters, history, PARTITIONS, T0, until, workerTestBed } from './worker.support.js';

const encoder = new TextEncoder();

const config: ThreadlineConfig = parseConfig({
  session: {
    dmScope: 'per-channel-peer',
    reset: { mode: 'idle', idleMinutes: 120 },
  },
}).config;

describe('session worker (real nats-server)', () => {
  const bed = workerTestBed({ config, leaseTtlMs: 2_000, heartbeatMs: 300 });
  const start = (extra: Parameters<typeof bed.start>[0] = {}) => bed.start(extra);
  let nc: NatsConnection;
  beforeAll(() => {
    nc = bed.nc;
  });

  it('takes a chat message to its session history, and records the agent reply and control events there', async () => {
    await start();
    const js = jetstream(nc);
    const event = chat('telegram', '42', 1);
    await js.publish(Subjects.inbound('telegram', '42'), JSON.stringify(event), { msgID: event.id });
    const key = 'agent:main:telegram:direct:42';
    await until(async () => (await history(nc, key)).length === 1, 20_000, 'the chat record');
    const reply = {
      v: 1,
      type: 'agent.reply',
      id: 'r1',
      sessionKey: key,
      text: 'hello',
      at: T0,
      inReplyTo: event.id,
    };
    await js.publish(Subjects.reply(key), JSON.stringify(reply), { msgID: 'reply:r1' });
    await until(async () => (await history(nc, key)).length === 2, 20_000, 'the reply record');

    const [first, second] = await history(nc, key);
    expect(first?.id).toBe(`chat:${event.id}`);
    expect(first?.body.facts.map((f) => f.type)).toEqual(['SessionStarted', 'MessageRecorded']);
    expect(first?.body.input).toMatchObject({ type: 'message.inbound', messageId: event.id, at: T0 });
    expect(first?.correlationId).toBe(event.id);
    expect(first?.schemaVersion).toBe(1);
    expect(second?.body.facts.map((f) => f.type)).toEqual(['ReplyRecorded']);
    expect(second?.correlationId).toBe(event.id);
    expect(verifyChain(await history(nc, key)).ok).toBe(true);

    // A durable timer comes back as a control event: the stale one is ignored, the current one applies.
    const expiry =
      second?.body.timers.schedule.find((t) => t.kind === 'expiry') ??
      first?.body.timers.schedule.find((t) => t.kind === 'expiry');
    expect(expiry).toBeDefined();
    const fire = (id: string, timerId: string, at: number) =>
      js.publish(
        Subjects.control(key),
        JSON.stringify({ v: 1, type: 'timer.fired', id, sessionKey: key, timerId, at }),
        { msgID: `ctl:${id}` },
      );
    await fire('stale-1', 'no-such-timer', T0 + 1);
    await fire('fire-1', expiry?.timerId as string, expiry?.dueAt as number);
    await until(async () => (await history(nc, key)).length === 3, 20_000, 'the expiry record');
    const expired = (await history(nc, key))[2];
    expect(expired?.id).toBe('ctl:fire-1');
    expect(expired?.body.facts).toEqual([
      {
        type: 'SessionExpired',
        at: expiry?.dueAt,
        sessionId: first?.body.facts[0]?.type === 'SessionStarted' ? first.body.facts[0].sessionId : '',
        reason: 'idle',
      },
    ]);
  });

  it('routes after dmScope and identity links: two conversations feeding one key reach its one writer, each in publish order', async () => {
    // per-peer + identity links: alice on Telegram (111) and on Discord (alice#1) is one session key,
    // fed from two conversations — two inbound partitions, possibly two different owners.
    const perPeer = parseConfig({
      session: { dmScope: 'per-peer', identityLinks: { alice: ['telegram:111', 'discord:alice#1'] } },
    }).config;
    await start({ config: perPeer });
    const js = jetstream(nc);
    for (let n = 1; n <= 20; n++) {
      const event = n % 2 ? chat('telegram', '111', n) : chat('discord', 'alice#1', n);
      await js.publish(Subjects.inbound(event.channel, event.peer.id), JSON.stringify(event), {
        msgID: event.id,
      });
    }
    // A key full of characters a subject token cannot hold.
    const spaced = chat('slack', 'bob smith.*>', 1);
    await js.publish(Subjects.inbound('slack', 'bob smith.*>'), JSON.stringify(spaced), { msgID: spaced.id });
    const aliceKey = 'agent:main:direct:alice';
    expect(sessionKeyOf(chat('discord', 'alice#1', 2) as never, perPeer)).toBe(aliceKey);
    const bobKey = 'agent:main:direct:bob smith.*>';
    await until(async () => (await history(nc, bobKey)).length === 1, 20_000, "bob's record");
    await until(async () => (await history(nc, aliceKey)).length === 20, 20_000, "alice's records");
    const ids = (await history(nc, aliceKey)).map((r) => r.id);
    expect(new Set(ids).size).toBe(20);
    expect(ids.filter((id) => id.startsWith('chat:telegram'))).toEqual(
      [1, 3, 5, 7, 9, 11, 13, 15, 17, 19].map((n) => `chat:telegram:111:${n}`),
    );
    expect(ids.filter((id) => id.startsWith('chat:discord'))).toEqual(
      [2, 4, 6, 8, 10, 12, 14, 16, 18, 20].map((n) => `chat:discord:alice#1:${n}`),
    );
    expect(verifyChain(await history(nc, aliceKey)).ok).toBe(true);
  });

  it('under dmScope main, Alice and Bob share one session and the privacy warning is recorded in it', async () => {
    await start({ config: parseConfig({}).config }); // dmScope defaults to main
    const js = jetstream(nc);
    const alice = chat('telegram', 'alice', 1, { sender: { id: 'alice' } });
    const bob = chat('whatsapp', 'bob', 1, { sender: { id: 'bob' } });
    await js.publish(Subjects.inbound('telegram', 'alice'), JSON.stringify(alice), { msgID: alice.id });
    const key = 'agent:main:main';
    await until(async () => (await history(nc, key)).length === 1, 20_000, "alice's record");
    await js.publish(Subjects.inbound('whatsapp', 'bob'), JSON.stringify(bob), { msgID: bob.id });
    await until(async () => (await history(nc, key)).length === 2, 20_000, "bob's record");
    const [first, second] = await history(nc, key);
    expect(first?.body.facts.map((f) => f.type)).toEqual(['SessionStarted', 'MessageRecorded']);
    expect(second?.body.facts.map((f) => f.type)).toEqual(['MessageRecorded', 'PrivacyWarning']);
    expect(second?.body.facts[1]).toMatchObject({ senderIds: ['alice', 'bob'], kind: 'shared-dm' });
  });

  it('under per-channel-peer, the same two people get two sessions and no warning', async () => {
    await start();
    const js = jetstream(nc);
    for (const [channel, person] of [
      ['telegram', 'alice'],
      ['whatsapp', 'bob'],
    ] as const) {
      const event = chat(channel, person, 1, { sender: { id: person } });
      await js.publish(Subjects.inbound(channel, person), JSON.stringify(event), { msgID: event.id });
    }
    for (const key of ['agent:main:telegram:direct:alice', 'agent:main:whatsapp:direct:bob']) {
      await until(async () => (await history(nc, key)).length === 1, 20_000, key);
      const facts = (await history(nc, key)).flatMap((r) => r.body.facts.map((f) => f.type));
      expect(facts).not.toContain('PrivacyWarning');
    }
  });

  it('gates replies by the send policy: a denied reply is recorded as blocked with its rule, an owner override lets the next through', async () => {
    const gated = parseConfig({
      session: {
        dmScope: 'per-channel-peer',
        sendPolicy: { default: 'allow', rules: [{ action: 'deny', match: { channel: 'telegram' } }] },
      },
    }).config;
    await start({ config: gated });
    const js = jetstream(nc);
    const key = 'agent:main:telegram:direct:77';
    const say = async (n: number, text: string, owner = false) => {
      const event = chat('telegram', '77', n, {
        text,
        sender: { id: '77', isAuthorized: true, isOwner: owner },
      });
      await js.publish(Subjects.inbound('telegram', '77'), JSON.stringify(event), { msgID: event.id });
    };
    const answer = async (id: string) => {
      const reply = { v: 1, type: 'agent.reply', id, sessionKey: key, text: 'the answer', at: T0 };
      await js.publish(Subjects.reply(key), JSON.stringify(reply), { msgID: `reply:${id}` });
    };
    await say(1, 'hello');
    await until(async () => (await history(nc, key)).length === 1, 20_000, 'the message');
    await answer('r1');
    await until(async () => (await history(nc, key)).length === 2, 20_000, 'the blocked reply');
    await say(2, '/send on', true);
    await until(async () => (await history(nc, key)).length === 3, 20_000, 'the override');
    await answer('r2');
    await until(async () => (await history(nc, key)).length === 4, 20_000, 'the allowed reply');

    const [message, blocked, override, allowed] = await history(nc, key);
    expect(message?.body.facts.map((f) => f.type)).toContain('MessageRecorded'); // recorded either way
    expect(blocked?.body.facts).toEqual([
      expect.objectContaining({
        type: 'ReplyRecorded',
        replyId: 'r1',
        delivery: { decision: 'deny', source: 'rule', rule: 0 },
      }),
      expect.objectContaining({ type: 'DeliveryBlocked', replyId: 'r1', source: 'rule', rule: 0 }),
    ]);
    expect(override?.body.facts.map((f) => f.type)).toContain('SendPolicyChanged');
    expect(allowed?.body.facts).toEqual([
      expect.objectContaining({
        type: 'ReplyRecorded',
        replyId: 'r2',
        delivery: { decision: 'allow', source: 'override' },
      }),
    ]);
  });

  it('applies a producer id seen twice once, whether or not the publisher set Nats-Msg-Id', async () => {
    await start();
    const js = jetstream(nc);
    const event = chat('telegram', '7', 1);
    const subject = Subjects.inbound('telegram', '7');
    await js.publish(subject, JSON.stringify(event), { msgID: event.id });
    await js.publish(subject, JSON.stringify(event), { msgID: event.id }); // stream dedupe
    await js.publish(subject, JSON.stringify(event)); // no header: reaches the stream again
    await js.publish(subject, JSON.stringify(event), { msgID: 'a-different-header' });
    const next = chat('telegram', '7', 2);
    await js.publish(subject, JSON.stringify(next), { msgID: next.id });
    const key = 'agent:main:telegram:direct:7';
    await until(async () => (await history(nc, key)).length === 2, 20_000, 'both records');
    await new Promise((r) => setTimeout(r, 500));
    expect((await history(nc, key)).map((r) => r.id)).toEqual([`chat:${event.id}`, `chat:${next.id}`]);
  });

  it('two workers forced onto the same partition produce one unforked history per key, every input once and in order', async () => {
    // Both serve every partition, without leases: only the append fence keeps them apart.
    const all = Array.from({ length: PARTITIONS }, (_, p) => p);
    const [a, b] = [await start({ forcePartitions: all }), await start({ forcePartitions: all })];
    const js = jetstream(nc);
    const peers = ['1', '2', '3'];
    const perPeer = 40;
    const pubs: Promise<unknown>[] = [];
    for (let n = 1; n <= perPeer; n++) {
      for (const peer of peers) {
        const event = chat('telegram', peer, n);
        pubs.push(js.publish(Subjects.inbound('telegram', peer), JSON.stringify(event), { msgID: event.id }));
      }
      if (n % 10 === 0) await Promise.all(pubs.splice(0));
    }
    await Promise.all(pubs);
    for (const peer of peers) {
      const key = `agent:main:telegram:direct:${peer}`;
      await until(async () => (await history(nc, key)).length === perPeer, 30_000, `all of ${key}`);
      const records = await history(nc, key);
      expect(verifyChain(records).ok).toBe(true);
      expect(records.map((r) => r.id)).toEqual(
        Array.from({ length: perPeer }, (_, i) => `chat:telegram:${peer}:${i + 1}`),
      );
    }
    const recorded = a.actors.metrics.recorded + b.actors.metrics.recorded;
    expect(recorded).toBe(peers.length * perPeer);
    // Both did real work, and the one that lost a race recognised the input instead of writing it again.
    const recognised =
      a.actors.metrics.replayed +
      a.actors.metrics.duplicates +
      b.actors.metrics.replayed +
      b.actors.metrics.duplicates;
    expect(recognised).toBeGreaterThan(0);
  });

  it('dead-letters a corpus of bad inputs with their reasons while every good message between them is applied', async () => {
    const worker = await start();
    const js = jetstream(nc);
    const key = 'agent:main:telegram:direct:9';
    // `seenOn`: where the worker refused it, when that is the routed event rather than the original.
    const bad: { subject: string; data: Uint8Array; code: string; seenOn?: string }[] = [
      { subject: Subjects.inbound('telegram', '9'), data: encoder.encode('{not json'), code: 'invalid_json' },
      {
        subject: Subjects.inbound('telegram', '9'),
        data: new Uint8Array([0xff, 0xfe]),
        code: 'invalid_utf8',
      },
      { subject: Subjects.inbound('telegram', '9'), data: encoder.encode('[1,2]'), code: 'not_an_object' },
      {
        subject: Subjects.inbound('telegram', '9'),
        data: encoder.encode(JSON.stringify({ ...chat('telegram', '9', 0), v: 2 })),
        code: 'unknown_version',
      },
      {
        subject: Subjects.inbound('telegram', '9'),
        data: encoder.encode(JSON.stringify({ ...chat('telegram', '9', 0), text: 5 })),
        code: 'schema_violation',
      },
      {
        subject: Subjects.inbound('telegram', '9'),
        data: encoder.encode(JSON.stringify({ ...chat('telegram', '9', 0), text: 'x'.repeat(70_000) })),
        code: 'too_large',
      },
      {
        subject: Subjects.reply(key),
        data: encoder.encode(
          JSON.stringify({
            v: 1,
            type: 'agent.reply',
            id: 'rx',
            sessionKey: 'another key',
            text: 'x',
            at: T0,
          }),
        ),
        code: 'unrecordable',
      },
      {
        // An explicit key that cannot be a subject once encoded (every `.` becomes `%2E`): refused by the
        // router, before routing.
        subject: Subjects.inbound('telegram', '9'),
        data: encoder.encode(
          JSON.stringify({ ...chat('telegram', '9', 0), id: 'long', sessionKey: '.'.repeat(1000) }),
        ),
        code: 'unrecordable',
      },
      {
        // A producer id reused for another conversation: it is another session's record id.
        subject: Subjects.inbound('telegram', '10'),
        data: encoder.encode(JSON.stringify(chat('telegram', '10', 0, { id: 'telegram:9:1' }))),
        code: 'unrecordable',
        seenOn: Subjects.routed('agent:main:telegram:direct:10'),
      },
      {
        subject: Subjects.control(key),
        data: encoder.encode(
          JSON.stringify({ v: 1, type: 'timer.cancelled', id: 'cx', sessionKey: key, at: T0 }),
        ),
        code: 'unknown_type',
      },
      { subject: Subjects.routed(key), data: encoder.encode('{"v":1}'), code: 'schema_violation' },
    ];
    let good = 0;
    for (const b of bad) {
      good += 1;
      const event = chat('telegram', '9', good);
      await js.publish(Subjects.inbound('telegram', '9'), JSON.stringify(event), { msgID: event.id });
      await js.publish(b.subject, b.data);
    }
    await until(async () => (await history(nc, key)).length === good, 20_000, 'every good message');
    await until(async () => (await deadLetters(nc)).length === bad.length, 20_000, 'every dead letter');
    const letters = await deadLetters(nc);
    expect(letters.map((l) => l.code).sort()).toEqual(bad.map((b) => b.code).sort());
    // Counted, by code, across the worker's partitions.
    const counted: Record<string, number> = {};
    for (const m of Object.values(worker.metrics().partitions))
      for (const [code, n] of Object.entries(m.deadLettersByCode))
        counted[code] = (counted[code] ?? 0) + (n ?? 0);
    const expected: Record<string, number> = {};
    for (const b of bad) expected[b.code] = (expected[b.code] ?? 0) + 1;
    expect(counted).toEqual(expected);
    for (const letter of letters) {
      expect(letter.reason.length).toBeGreaterThan(0);
      const original = bad.find((b) => (b.seenOn ?? b.subject) === letter.subject && b.code === letter.code);
      expect(original, `${letter.code} on ${letter.subject}`).toBeDefined();
      const bytes = decodeBase64(letter.originalBase64) as Uint8Array;
      if (original?.seenOn) {
        // Refused after routing: the letter holds the routed event, which holds the original chat event.
        const routed = JSON.parse(new TextDecoder().decode(bytes));
        expect(routed.event).toEqual(JSON.parse(new TextDecoder().decode(original.data)));
        expect(routed.inboundSeq).toBeGreaterThan(0);
      } else if (!letter.truncated) expect(bytes).toEqual(original?.data);
    }
    const reasons = letters.filter((l) => l.code === 'unrecordable').map((l) => l.reason);
    expect(reasons.join('\n')).toMatch(/longer than 2048/);
    expect(reasons.join('\n')).toMatch(/chat:telegram:9:1/);
    expect((await history(nc, key)).map((r) => r.id)).toEqual(
      Array.from({ length: good }, (_, i) => `chat:telegram:9:${i + 1}`),
    );
  });

  it('passivates quiet sessions, and a new worker rehydrates exactly the state the log replays to', async () => {
    const first = await start({ maxResident: 3 });
    const js = jetstream(nc);
    const peers = Array.from({ length: 12 }, (_, i) => `p${i}`);
    for (let n = 1; n <= 3; n++)
      for (const peer of peers) {
        const event = chat('telegram', peer, n);
        await js.publish(Subjects.inbound('telegram', peer), JSON.stringify(event), { msgID: event.id });
      }
    const keys = peers.map((p) => `agent:main:telegram:direct:${p}`);
    await until(
      async () => {
        for (const key of keys) if ((await history(nc, key)).length !== 3) return false;
        return true;
      },
      30_000,
      'all records',
    );
    expect(first.actors.residentCount).toBeLessThanOrEqual(3);
    expect(first.actors.metrics.passivations).toBeGreaterThan(0);
    await first.stop();
    bed.forget(first);

    const second = await start({ maxResident: 3 });
    for (const key of keys) {
      const replayed = (await history(nc, key)).reduce((s, r) => foldRecord(s, r), emptyKeyState(key));
      const rehydrated = await second.actors.load(key);
      expect(serializeSnapshot(rehydrated.snapshot)).toBe(serializeSnapshot(replayed.snapshot));
      expect(rehydrated.head).toEqual(replayed.head);
    }
    // Rehydration used the snapshots: it folded no record that a snapshot already covered.
    expect(second.actors.metrics.recordsFolded).toBe(0);
  });

  it('rebalances partitions as workers join and leave, and every message is applied once, in order', async () => {
    const js = jetstream(nc);
    const peers = Array.from({ length: 6 }, (_, i) => `r${i}`);
    let n = 0;
    const publishRound = async () => {
      n += 1;
      for (const peer of peers) {
        const event = chat('telegram', peer, n);
        await js.publish(Subjects.inbound('telegram', peer), JSON.stringify(event), { msgID: event.id });
      }
    };
    const first = await start();
    await until(() => first.owned().length === PARTITIONS, 10_000, 'the first worker owning everything');
    await publishRound();
    await publishRound();

    const second = await start();
    await until(
      () => second.owned().length > 0 && first.owned().length + second.owned().length === PARTITIONS,
      15_000,
      'the partitions split between two workers',
    );
    expect(first.owned().filter((p) => second.owned().includes(p))).toEqual([]);
    await publishRound();
    await publishRound();

    await first.stop();
    bed.forget(first);
    await until(() => second.owned().length === PARTITIONS, 15_000, 'the second worker taking over');
    await publishRound();

    for (const peer of peers) {
      const key = `agent:main:telegram:direct:${peer}`;
      await until(async () => (await history(nc, key)).length === n, 20_000, `all of ${key}`);
      const records = await history(nc, key);
      expect(records.map((r) => r.id)).toEqual(
        Array.from({ length: n }, (_, i) => `chat:telegram:${peer}:${i + 1}`),
      );
      expect(verifyChain(records).ok).toBe(true);
    }
  });

  it('runs on the shared simulated clock: a two-hour idle timeout ends the session end to end in seconds', async () => {
    const shared = await followSharedClock(nc, { start: T0, key: 'idle-test' });
    const driver = await driveSharedClock(nc, { start: T0, key: 'idle-test' });
    try {
      await start({ clock: shared.clock });
      const js = jetstream(nc);
      const key = 'agent:main:telegram:direct:55';
      const send = async (n: number) => {
        const event = chat('telegram', '55', n);
        await js.publish(Subjects.inbound('telegram', '55'), JSON.stringify(event), { msgID: event.id });
      };
      await driver.set(T0);
      await send(1);
      await until(async () => (await history(nc, key)).length === 1, 20_000, 'the first record');
      // 1 h 59 min later: still the same session.
      await driver.advance(119 * 60_000);
      await until(() => shared.clock.now() === T0 + 119 * 60_000, 5_000, 'the worker seeing the new time');
      await send(2);
      await until(async () => (await history(nc, key)).length === 2, 20_000, 'the second record');
      // Two hours and one minute after that: stale, so the next message starts a new session.
      await driver.advance(121 * 60_000);
      await until(() => shared.clock.now() === T0 + 240 * 60_000, 5_000, 'the worker seeing the new time');
      await send(3);
      await until(async () => (await history(nc, key)).length === 3, 20_000, 'the third record');
      const [first, second, third] = await history(nc, key);
      const started = (r: typeof first) => r?.body.facts.find((f) => f.type === 'SessionStarted');
      expect(second?.body.facts.map((f) => f.type)).toEqual(['MessageRecorded']);
      expect(second?.body.input.at).toBe(T0 + 119 * 60_000);
      const restarted = started(third);
      expect(restarted).toMatchObject({ reason: 'idle', at: T0 + 240 * 60_000 });
      expect(restarted?.type === 'SessionStarted' && restarted.previousSessionId).toBe(
        started(first)?.type === 'SessionStarted' ? started(first)?.sessionId : 'missing',
      );
    } finally {
      await shared.stop();
    }
  });

  it('stores inputs by partition: one key in one partition, its families together', async () => {
    await start();
    const js = jetstream(nc);
    const key = 'agent:main:telegram:direct:42';
    const a = await js.publish(
      Subjects.reply(key),
      JSON.stringify({ v: 1, type: 'agent.reply', id: 'p1', sessionKey: key, text: 'x', at: T0 }),
    );
    const b = await js.publish(
      Subjects.control(key),
      JSON.stringify({ v: 1, type: 'clock.tick', id: 'p2', sessionKey: key, at: T0 }),
    );
    const jsm = await jetstreamManager(nc);
    const stored = await Promise.all(
      [a, b].map(
        async (ack) => (await jsm.streams.getMessage(StreamNames.keyed, { seq: ack.seq }))?.subject ?? '',
      ),
    );
    const parts = stored.map((s) => parseStoredSubject(s));
    expect(parts[0]?.partition).toBe(parts[1]?.partition);
    expect(parts[0]?.published).toBe(Subjects.reply(key));
    expect(parts[1]?.published).toBe(Subjects.control(key));
  });

  it("reports each reader's lag: an applier held on its first input counts it and everything behind it, and 0 once through", async () => {
    // Five inputs of one key waiting in the keyed stream before the worker starts, and appends held back.
    await ensureThreadlineStreams(nc, { replicas: 1, partitions: PARTITIONS });
    const key = 'agent:main:telegram:direct:42';
    const js = jetstream(nc);
    for (let n = 1; n <= 5; n++) {
      const event = chat('telegram', '42', n);
      await js.publish(
        Subjects.routed(key),
        JSON.stringify({ v: 1, type: 'chat.routed', sessionKey: key, event, inboundSeq: n }),
      );
    }
    const real = new NatsSessionLog(nc);
    let open = () => {};
    const held = new Promise<void>((resolve) => {
      open = resolve;
    });
    const log: SessionLog = {
      append: async (input) => {
        await held;
        return real.append(input);
      },
      read: (sessionKey, options) => real.read(sessionKey, options),
      head: (sessionKey) => real.head(sessionKey),
    };
    const worker = await start({ forcePartitions: [0, 1, 2, 3], log });
    const total = (stage: 'route' | 'apply') =>
      Object.values(worker.metrics().lag).reduce((sum, lag) => sum + lag[stage], 0);
    expect(Object.keys(worker.metrics().lag)).toEqual(['0', '1', '2', '3']);
    await until(() => total('apply') === 5, 20_000, 'the applier held with 5 to go');
    expect(total('route')).toBe(0);

    open();
    await until(async () => (await history(nc, key)).length === 5, 20_000, 'the five records');
    await until(() => total('apply') === 0, 20_000, 'the applier through');
  });
});
