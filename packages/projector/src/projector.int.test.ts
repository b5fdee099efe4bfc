import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SimulatedClock } from '@threadline/clock';
import {
  KvCheckpointStore,
  MemoryCheckpointStore,
  NatsSessionLog,
  type SessionRecord,
} from '@threadline/event-log';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { Subjects } from '@threadline/protocol';
import { parseConfig, type SessionFact, type ThreadlineConfig } from '@threadline/session-core';
import {
  type SessionWorker,
  sessionKeyOf,
  snapshotEntryName,
  startSessionWorker,
  type TransitionRecordV1,
  transcriptOf,
} from '@threadline/session-worker';
import { until as untilWithin } from '@threadline/session-worker/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FoldProblem, ProjectedKey, TranscriptView } from './projection.js';
import {
  LIVE_PROJECTION,
  openProjectionBuckets,
  type ProjectionBuckets,
  type Projector,
  type ProjectorOptions,
  startProjector,
} from './projector.js';
import {
  compareProjections,
  RebuildError,
  readBucket,
  rebuildProjection,
  sessionStreamHead,
} from './rebuild.js';

// The projector against a real nats-server and the real session worker: the worker turns chat events
// and agent replies into session records, the projector folds them into the KV session store.

const T0 = Date.UTC(2026, 10, 24, 9, 0, 0);
const PARTITIONS = 4;
const config: ThreadlineConfig = parseConfig({
  session: { dmScope: 'per-channel-peer' },
  compaction: { keepRecentTurns: 2 },
}).config;

type Record = SessionRecord<TransitionRecordV1>;

/** The worker tests' polling, with the description first as these tests read best. */
const until = (predicate: () => boolean | Promise<boolean>, what: string, ms = 20_000) =>
  untilWithin(predicate, ms, what);

const keyOf = (channel: string, peer: string) => `agent:main:${channel}:direct:${peer}`;

function chat(channel: string, peer: string, n: number, text = `message ${n} from ${peer}`) {
  return {
    v: 1,
    type: 'chat.message',
    id: `${channel}:${peer}:${n}`,
    channel,
    chatType: 'direct',
    peer: { kind: 'direct', id: peer },
    sender: { id: peer, isAuthorized: true, isOwner: true },
    text,
    at: T0 + n,
    tokens: 3 + n,
  };
}

describe('projector (real nats-server, real worker)', () => {
  let server: RunningNatsServer | undefined;
  let nc: NatsConnection;
  const workers: SessionWorker[] = [];
  const projectors = new Set<Projector>();

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectToNats({ servers: server.url });
  });
  afterEach(async () => {
    await Promise.all([...projectors].map((p) => p.stop()));
    projectors.clear();
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    // Every stream and bucket goes, so each test starts from an empty server.
    const jsm = await jetstreamManager(nc);
    for await (const stream of jsm.streams.list()) await jsm.streams.delete(stream.config.name);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  const startWorker = async () => {
    const worker = await startSessionWorker({
      nc,
      config,
      clock: new SimulatedClock(T0),
      workerId: `w${workers.length + 1}`,
      partitions: PARTITIONS,
      replicas: 1,
      maxResident: 100,
      maxInboundBytes: 64 * 1024,
      hostTimeZone: 'UTC',
      leaseTtlMs: 2_000,
      heartbeatMs: 300,
    });
    workers.push(worker);
    return worker;
  };
  const project = async (options: Omit<ProjectorOptions, 'nc'> = {}) => {
    const projector = await startProjector({ nc, partitions: PARTITIONS, ...options });
    projectors.add(projector);
    return projector;
  };
  const stop = async (projector: Projector) => {
    projectors.delete(projector);
    await projector.stop();
  };

  const history = async (key: string): Promise<Record[]> => {
    const out: Record[] = [];
    for await (const record of new NatsSessionLog(nc).read<TransitionRecordV1>(key)) out.push(record);
    return out;
  };
  const recorded = (key: string, id: string) =>
    until(async () => (await history(key)).some((r) => r.id === id), `record ${id} of ${key}`);

  /** Sends a chat event and waits for its record; returns the event id. */
  const send = async (channel: string, peer: string, n: number, text?: string) => {
    const event = chat(channel, peer, n, text);
    await jetstream(nc).publish(Subjects.inbound(channel, peer), JSON.stringify(event), { msgID: event.id });
    await recorded(keyOf(channel, peer), `chat:${event.id}`);
    return event.id;
  };
  /** Sends an agent reply with usage and waits for its record. */
  const reply = async (key: string, id: string, n: number) => {
    const body = {
      v: 1,
      type: 'agent.reply',
      id,
      sessionKey: key,
      text: `answer ${n}`,
      at: T0 + n,
      tokens: 2 * n,
      usage: { inputTokens: 100 + n, outputTokens: 10 + n },
    };
    await jetstream(nc).publish(Subjects.reply(key), JSON.stringify(body), { msgID: `reply:${id}` });
    await recorded(key, `reply:${id}`);
  };
  /** `rounds` chat messages from the peer, each answered by the agent. */
  const converse = async (channel: string, peer: string, from: number, rounds: number) => {
    for (let n = from; n < from + rounds; n++) {
      await send(channel, peer, n);
      await reply(keyOf(channel, peer), `${channel}-${peer}-r${n}`, n);
    }
  };

  /** What a key's own records say its entry must show. */
  const impliedBy = (records: readonly Record[]) => {
    const facts = records.flatMap((r) => r.body.facts);
    const started = facts.filter(
      (f): f is Extract<SessionFact, { type: 'SessionStarted' }> => f.type === 'SessionStarted',
    );
    const sessionId = started.at(-1)?.sessionId ?? null;
    const turns = facts.filter(
      (f) => (f.type === 'MessageRecorded' || f.type === 'ReplyRecorded') && f.sessionId === sessionId,
    );
    const usage = records.map((r) =>
      r.body.input.type === 'reply.outbound' ? r.body.input.usage : undefined,
    );
    const inputTokens = usage.reduce((sum, u) => sum + (u?.inputTokens ?? 0), 0);
    const outputTokens = usage.reduce((sum, u) => sum + (u?.outputTokens ?? 0), 0);
    const messageTokens = turns.reduce(
      (sum, f) => sum + (f.type === 'MessageRecorded' ? (f.tokens ?? 0) : 0),
      0,
    );
    return {
      sessionId,
      messageCount: turns.length,
      inputTokens,
      outputTokens,
      totalTokens: messageTokens + inputTokens + outputTokens,
      compactionCount: facts.filter((f) => f.type === 'CompactionCompleted').length,
    };
  };

  const entries = (buckets: ProjectionBuckets) => readBucket<ProjectedKey>(nc, buckets.sessions);
  const views = (buckets: ProjectionBuckets) => readBucket<TranscriptView>(nc, buckets.transcripts);

  /** Every key's stored entry and view agree with the key's records. */
  const expectProjectionOfRecords = async (buckets: ProjectionBuckets, keys: readonly string[]) => {
    const stored = await entries(buckets);
    const storedViews = await views(buckets);
    expect(stored.size).toBe(keys.length);
    for (const key of keys) {
      const records = await history(key);
      const projected = stored.get(snapshotEntryName(key));
      expect(projected, key).toBeDefined();
      expect(projected?.seq).toBe(records.at(-1)?.seq);
      expect(projected?.hash).toBe(records.at(-1)?.hash);
      expect(projected?.entry).toMatchObject({ sessionKey: key, agentId: 'main', ...impliedBy(records) });
      const view = storedViews.get(snapshotEntryName(key));
      expect({ sessionId: view?.sessionId, turns: view?.turns }).toEqual(
        transcriptOf(records.map((r) => r.body)),
      );
    }
  };

  it('given chat events from several peers, when projected, then each key has one entry whose counts are what its records say, and the lag goes to 0', async () => {
    await startWorker();
    const peers = [
      ['telegram', 'p1'],
      ['telegram', 'p2'],
      ['whatsapp', 'p3'],
    ] as const;
    await Promise.all(peers.map(([channel, peer]) => converse(channel, peer, 1, 3)));
    expect(sessionKeyOf(chat('telegram', 'p1', 1) as never, config)).toBe(keyOf('telegram', 'p1'));

    // One more key that compacts, with a message sent while it compacts.
    const compacting = keyOf('telegram', 'c1');
    await converse('telegram', 'c1', 1, 3);
    await send('telegram', 'c1', 4, '/compact');
    const meanwhile = chat('telegram', 'c1', 5, 'sent while compacting');
    await jetstream(nc).publish(Subjects.inbound('telegram', 'c1'), JSON.stringify(meanwhile), {
      msgID: meanwhile.id,
    });
    await until(
      async () =>
        transcriptOf((await history(compacting)).map((r) => r.body)).turns.some((t) => t.id === meanwhile.id),
      'the message sent while compacting, recorded after the compaction',
    );
    expect(transcriptOf((await history(compacting)).map((r) => r.body)).turns[0]?.role).toBe('summary');

    const projector = await project({ buckets: LIVE_PROJECTION });
    const head = await sessionStreamHead(nc);
    await until(() => {
      const status = projector.status();
      return status.handled === head && status.pending === 0;
    }, 'the projector at the head of the session stream');
    await projector.waitFor(head);
    expect(projector.status()).toMatchObject({
      handled: head,
      checkpointed: head,
      pending: 0,
      applied: head,
      skipped: 0,
      divergences: 0,
      chainBreaks: 0,
    });

    const keys = [...peers.map(([channel, peer]) => keyOf(channel, peer)), compacting];
    await expectProjectionOfRecords(LIVE_PROJECTION, keys);
    const stored = await entries(LIVE_PROJECTION);
    expect(stored.get(snapshotEntryName(keyOf('telegram', 'p1')))?.entry).toMatchObject({
      state: 'active',
      messageCount: 6,
      inputTokens: 101 + 102 + 103,
      outputTokens: 11 + 12 + 13,
      totalTokens: 4 + 5 + 6 + 101 + 102 + 103 + 11 + 12 + 13,
      channel: 'telegram',
      lastTo: 'p1',
    });
    expect(stored.get(snapshotEntryName(compacting))?.entry).toMatchObject({
      compactionCount: 1,
      state: 'active',
    });
    const view = (await views(LIVE_PROJECTION)).get(snapshotEntryName(compacting));
    expect(view?.turns[0]?.role).toBe('summary');
    expect(view?.turns.at(-1)?.text).toBe('sent while compacting');

    // New records flow in while it runs.
    await converse('whatsapp', 'p3', 4, 1);
    const later = await sessionStreamHead(nc);
    expect(later).toBeGreaterThan(head);
    await projector.waitFor(later);
    await until(() => projector.status().pending === 0, 'no lag');
    expect(projector.status()).toMatchObject({ handled: later, applied: later });
    await expectProjectionOfRecords(LIVE_PROJECTION, keys);
  });

  it('given a projector stopped mid-way, when a new one resumes from its checkpoint, then nothing is missed or counted twice, and a checkpoint moved back only re-reads', async () => {
    await startWorker();
    const buckets = { sessions: 'resume-sessions', transcripts: 'resume-transcripts' };
    const batch1 = [
      ['telegram', 'a'],
      ['telegram', 'b'],
      ['discord', 'c'],
    ] as const;
    await Promise.all(batch1.map(([channel, peer]) => converse(channel, peer, 1, 2)));
    const head1 = await sessionStreamHead(nc);

    const first = await project({
      buckets,
      checkpoints: await KvCheckpointStore.open(nc),
      checkpointKey: 'resume',
      checkpointEvery: 1,
    });
    await until(() => first.status().handled === head1, 'the first projector at the first batch');
    // More arrives; the first projector is stopped while it is (most likely) still reading it.
    const batch2 = Promise.all([
      converse('telegram', 'a', 3, 2),
      converse('discord', 'c', 3, 2),
      converse('whatsapp', 'd', 1, 2),
    ]);
    await until(() => first.status().handled > head1, 'the first projector into the second batch');
    await stop(first);
    await batch2;
    const head2 = await sessionStreamHead(nc);
    const stoppedAt = first.status();
    expect(stoppedAt.handled).toBeGreaterThan(head1);
    expect(stoppedAt.handled).toBeLessThan(head2); // it really stopped mid-way
    expect(stoppedAt.checkpointed).toBe(stoppedAt.handled);
    expect(await (await KvCheckpointStore.open(nc)).get('resume')).toBe(stoppedAt.handled);

    const second = await project({
      buckets,
      checkpoints: await KvCheckpointStore.open(nc),
      checkpointKey: 'resume',
    });
    await second.waitFor(head2);
    await stop(second);
    expect(second.status()).toMatchObject({ skipped: 0, divergences: 0, chainBreaks: 0, handled: head2 });
    // Every record applied exactly once, by one of the two.
    expect(stoppedAt.applied + second.status().applied).toBe(head2);

    const keys = [...batch1.map(([channel, peer]) => keyOf(channel, peer)), keyOf('whatsapp', 'd')];
    await expectProjectionOfRecords(buckets, keys);
    const rebuilt = { sessions: 'resume-rebuilt-sessions', transcripts: 'resume-rebuilt-transcripts' };
    expect(await rebuildProjection({ nc, into: rebuilt })).toEqual({
      untilSeq: head2,
      applied: head2,
      problems: [],
    });
    expect(await compareProjections(nc, buckets, rebuilt)).toEqual({
      equal: true,
      keys: keys.length,
      onlyLive: [],
      onlyRebuilt: [],
      different: [],
    });

    // The checkpoint moved back (a crash after the entries were written, before the checkpoint was):
    // the records after it are read again and skipped; nothing changes, nothing is counted twice.
    const before = { entries: await entries(buckets), views: await views(buckets) };
    const back = Math.floor(head2 / 2);
    const memory = new MemoryCheckpointStore();
    memory.values.set('back', back);
    const third = await project({ buckets, checkpoints: memory, checkpointKey: 'back' });
    await third.waitFor(head2);
    await stop(third);
    expect(third.status()).toMatchObject({
      applied: 0,
      skipped: head2 - back,
      handled: head2,
      chainBreaks: 0,
    });
    expect(third.status().skipped).toBeGreaterThan(0);
    expect(await memory.get('back')).toBe(head2);
    expect(await entries(buckets)).toEqual(before.entries);
    expect(await views(buckets)).toEqual(before.views);
    expect((await compareProjections(nc, buckets, rebuilt)).equal).toBe(true);
    const a = before.entries.get(snapshotEntryName(keyOf('telegram', 'a')));
    expect(a?.entry.messageCount).toBe(8);
  });

  it('given the live projection, when rebuilt into fresh buckets and compared, then they are equal, and a tampered or deleted live entry is named', async () => {
    await startWorker();
    const peers = [
      ['telegram', 'x'],
      ['telegram', 'y'],
      ['whatsapp', 'z'],
    ] as const;
    await Promise.all(peers.map(([channel, peer]) => converse(channel, peer, 1, 2)));
    const head = await sessionStreamHead(nc);
    const live = await project(); // the defaults: live buckets, checkpoint in KV
    await live.waitFor(head);
    await stop(live);
    expect(await (await KvCheckpointStore.open(nc)).get('projector')).toBe(head);

    const rebuilt = { sessions: 'audit-sessions', transcripts: 'audit-transcripts' };
    const progress: number[] = [];
    const report = await rebuildProjection({
      nc,
      into: rebuilt,
      onProgress: (s) => progress.push(s.handled),
    });
    expect(report).toEqual({ untilSeq: head, applied: head, problems: [] });
    expect(await compareProjections(nc, LIVE_PROJECTION, rebuilt)).toEqual({
      equal: true,
      keys: peers.length,
      onlyLive: [],
      onlyRebuilt: [],
      different: [],
    });

    const kv = await openProjectionBuckets(nc, LIVE_PROJECTION);
    const [x, y, z] = peers.map(([channel, peer]) => keyOf(channel, peer)) as [string, string, string];
    const stored = (await kv.sessions.get(snapshotEntryName(x)))?.json<ProjectedKey>();
    if (!stored) throw new Error(`no live entry for ${x}`);
    await kv.sessions.put(
      snapshotEntryName(x),
      JSON.stringify({ ...stored, entry: { ...stored.entry, messageCount: stored.entry.messageCount + 1 } }),
    );
    expect(await compareProjections(nc, LIVE_PROJECTION, rebuilt)).toEqual({
      equal: false,
      keys: peers.length,
      onlyLive: [],
      onlyRebuilt: [],
      different: [{ sessionKey: x, part: 'entry', liveSeq: stored.seq, rebuiltSeq: stored.seq }],
    });

    await kv.sessions.delete(snapshotEntryName(y));
    const afterDelete = await compareProjections(nc, LIVE_PROJECTION, rebuilt);
    expect(afterDelete).toMatchObject({ equal: false, keys: peers.length, onlyLive: [], onlyRebuilt: [y] });
    expect(afterDelete.different.map((d) => d.sessionKey)).toEqual([x]);

    const view = (await kv.transcripts.get(snapshotEntryName(z)))?.json<TranscriptView>();
    if (!view) throw new Error(`no live view for ${z}`);
    await kv.transcripts.put(
      snapshotEntryName(z),
      JSON.stringify({
        ...view,
        turns: view.turns.map((t, i) => (i === 0 ? { ...t, text: 'rewritten' } : t)),
      }),
    );
    const afterView = await compareProjections(nc, LIVE_PROJECTION, rebuilt);
    expect(afterView.different).toHaveLength(2);
    expect(afterView.different).toContainEqual({
      sessionKey: z,
      part: 'transcript',
      liveSeq: view.seq,
      rebuiltSeq: view.seq,
    });
  });

  it('given more keys than the cache holds, interleaved, when projected, then no fold is lost to eviction', async () => {
    await startWorker();
    for (let n = 1; n <= 5; n++) {
      await send('telegram', 'ev-a', n);
      await send('telegram', 'ev-b', n);
    }
    const head = await sessionStreamHead(nc);
    const projector = await project({ cacheSize: 1 });
    await projector.waitFor(head);
    expect(projector.status()).toMatchObject({ divergences: 0, chainBreaks: 0 });
    await expectProjectionOfRecords(LIVE_PROJECTION, [keyOf('telegram', 'ev-a'), keyOf('telegram', 'ev-b')]);
  });

  it('given messages on session subjects that are not records, when projected, then each is reported unreadable and skipped, and the rest is projected', async () => {
    await startWorker();
    await send('telegram', 'odd', 1);
    const js = jetstream(nc);
    // A foreign publish without the record headers (on a key no worker writes: security keeps publishers
    // off session subjects; this is what tampering with the stream itself would look like).
    await js.publish(Subjects.session(keyOf('telegram', 'ghost')), 'not a record');
    await send('telegram', 'odd', 2);
    await send('telegram', 'even', 1);
    const problems: FoldProblem[] = [];
    const head = await sessionStreamHead(nc);
    const projector = await project({ onProblem: (p) => problems.push(p) });
    await projector.waitFor(head);
    expect(problems.map((p) => p.kind)).toContain('unreadable');
    expect(projector.status().unreadable).toBe(1);
    await expectProjectionOfRecords(LIVE_PROJECTION, [keyOf('telegram', 'odd'), keyOf('telegram', 'even')]);
  });

  it('given untilSeq, when rebuilt, then only records up to it are folded; and a bucket holding entries is refused', async () => {
    await startWorker();
    for (let n = 1; n <= 4; n++) await send('telegram', 'until', n);
    const records = await history(keyOf('telegram', 'until'));
    const cut = records[1]?.seq as number;
    const into = { sessions: 'rb-until-s', transcripts: 'rb-until-t' };
    const report = await rebuildProjection({ nc, into, untilSeq: cut });
    expect(report).toMatchObject({ untilSeq: cut, applied: 2 });
    const rebuilt = await entries(into);
    expect([...rebuilt.values()].map((e) => e.seq)).toEqual([cut]);
    await expect(rebuildProjection({ nc, into })).rejects.toThrow(RebuildError);
  });

  it('given the live buckets as the target, when a rebuild is asked for, then it is refused and nothing is written', async () => {
    await expect(rebuildProjection({ nc, into: LIVE_PROJECTION })).rejects.toBeInstanceOf(RebuildError);
    await expect(
      rebuildProjection({ nc, into: { sessions: 'elsewhere', transcripts: LIVE_PROJECTION.transcripts } }),
    ).rejects.toThrow(RebuildError);
    await expect(
      rebuildProjection({ nc, into: { sessions: LIVE_PROJECTION.sessions, transcripts: 'elsewhere' } }),
    ).rejects.toThrow(/fresh buckets/);
    const jsm = await jetstreamManager(nc);
    const streams: string[] = [];
    for await (const stream of jsm.streams.list()) streams.push(stream.config.name);
    expect(streams).not.toContain(`KV_${LIVE_PROJECTION.sessions}`);
    expect(streams).not.toContain('KV_elsewhere');
  });
});
