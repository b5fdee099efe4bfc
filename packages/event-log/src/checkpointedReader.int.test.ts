import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { StreamNames, Subjects } from '@threadline/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type CheckpointedReader,
  type CheckpointedReaderOptions,
  type ReadMessage,
  startCheckpointedReader,
} from './checkpointedReader.js';
import { type CheckpointStore, KvCheckpointStore, MemoryCheckpointStore } from './checkpoints.js';
import { CorruptRecordError } from './errors.js';
import { decodeStoredRecord, NatsSessionLog } from './natsSessionLog.js';
import { provisionStreams } from './provisionStreams.js';
import { GENESIS_HASH } from './recordHash.js';
import type { SessionRecord } from './sessionLog.js';
import { threadlineStreams } from './streams.js';

let server: RunningNatsServer;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
const readers = new Set<CheckpointedReader>();
let streams = 0;

beforeAll(async () => {
  server = await startNatsServer();
  nc = await connectToNats({ servers: server.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  await provisionStreams(jsm, threadlineStreams({ replicas: 1 }), {
    mode: 'create-or-verify',
    onMismatch: 'throw',
  });
});
afterEach(async () => {
  await Promise.all([...readers].map((r) => stop(r)));
});
afterAll(async () => {
  await nc?.close();
  await server?.dispose();
});

const waitFor = (check: () => void) => vi.waitFor(check, { timeout: 15_000, interval: 20 });

/** A plain stream of its own per test: subjects `<p>.>`, returned with its subject prefix. */
async function plainStream(): Promise<{ stream: string; p: string }> {
  const n = ++streams;
  await jsm.streams.add({ name: `T${n}`, subjects: [`t${n}.>`], storage: 'file' });
  return { stream: `T${n}`, p: `t${n}` };
}
async function publish(subject: string, data = subject): Promise<number> {
  return (await js.publish(subject, data)).seq;
}
type ReadingOptions = Pick<CheckpointedReaderOptions, 'stream'> &
  Partial<Omit<CheckpointedReaderOptions, 'js' | 'stream'>>;
/** Starts a reader (memory checkpoints, key 'k' unless given) that records what it handles. */
async function reading(options: ReadingOptions) {
  const seen: ReadMessage[] = [];
  const reader = await startCheckpointedReader({
    js,
    checkpoints: new MemoryCheckpointStore(),
    checkpointKey: 'k',
    handle: (m) => void seen.push(m),
    ...options,
  });
  readers.add(reader);
  return { reader, seen, seqs: () => seen.map((m) => m.seq) };
}
async function stop(reader: CheckpointedReader): Promise<void> {
  readers.delete(reader);
  await reader.stop();
}

describe('startCheckpointedReader (real nats-server)', () => {
  it('given a checkpoint inside a stream of two subjects, when a reader filtered to one starts, then it handles exactly the later messages of that subject, in stream order', async () => {
    const { stream, p } = await plainStream();
    for (const s of ['a', 'b', 'a', 'b', 'a', 'b', 'a']) await publish(`${p}.${s}`, `${s}@`); // seqs 1..7
    const checkpoints = new MemoryCheckpointStore();
    checkpoints.values.set('k', 3);
    const { reader, seen, seqs } = await reading({ stream, filter: `${p}.a`, checkpoints });
    await waitFor(() => expect(seqs()).toContain(7));
    await publish(`${p}.b`); // 8
    await publish(`${p}.a`, 'last'); // 9: once it is seen, nothing may have slipped in between
    await waitFor(() => expect(seqs()).toContain(9));
    expect(seen.map(({ subject, seq, pending }) => ({ subject, seq, pending }))).toEqual([
      { subject: `${p}.a`, seq: 5, pending: 1 },
      { subject: `${p}.a`, seq: 7, pending: 0 },
      { subject: `${p}.a`, seq: 9, pending: 0 },
    ]);
    expect(seen.map((m) => new TextDecoder().decode(m.data))).toEqual(['a@', 'a@', 'last']);
    expect([reader.handled, reader.pending]).toEqual([9, 0]);
  });

  it('given a handler that buffers its work, when checkpoints are written, then each is preceded by a flush that started after the last message it counts was handled', async () => {
    const { stream, p } = await plainStream();
    const events: string[] = [];
    const [buffered, handled, notDurable]: [number[], number[], number[]] = [[], [], []];
    const durable = new Set<number>();
    const inner = new MemoryCheckpointStore();
    const checkpoints: CheckpointStore = {
      get: (name) => inner.get(name),
      async set(name, seq) {
        events.push(`checkpoint:${seq}`);
        notDurable.push(...handled.filter((s) => s <= seq && !durable.has(s)));
        await inner.set(name, seq);
      },
    };
    const flush = async () => {
      events.push('flush');
      const batch = buffered.splice(0);
      await new Promise((resolve) => setTimeout(resolve, 5)); // a slow write: handling goes on meanwhile
      for (const s of batch) durable.add(s);
    };
    const handle = (m: ReadMessage) => {
      events.push(`handle:${m.seq}`);
      handled.push(m.seq);
      buffered.push(m.seq);
    };
    let last = 0;
    for (let i = 0; i < 10; i++) last = await publish(`${p}.x`);
    const opts = { stream, checkpoints, handle, flush, checkpointEvery: 3, checkpointIntervalMs: 30 };
    const { reader } = await reading(opts);
    await waitFor(() => expect(reader.checkpointed).toBe(last));
    await stop(reader);

    const writes = events.flatMap((e, i) => (e.startsWith('checkpoint:') ? [i] : []));
    expect(writes.length).toBeGreaterThanOrEqual(3); // every 3 messages, and the tail on the interval
    for (const at of writes) {
      const seq = Number(events[at]?.slice('checkpoint:'.length));
      const handledAt = events.indexOf(`handle:${seq}`);
      expect(handledAt, `checkpoint ${seq} before its message was handled`).toBeGreaterThanOrEqual(0);
      expect(handledAt).toBeLessThan(at);
      expect(events.slice(handledAt, at), `no flush between handle:${seq} and its checkpoint`).toContain(
        'flush',
      );
    }
    expect(notDurable).toEqual([]);
    expect(await inner.get('k')).toBe(last);
  });

  it('given a handler that throws twice on one message, when reading, then that message is retried in place until it succeeds and nothing after it is handled first', async () => {
    const { stream, p } = await plainStream();
    for (let i = 0; i < 3; i++) await publish(`${p}.x`); // 1..3
    const [calls, done]: [number[], number[]] = [[], []];
    const errors: string[] = [];
    let [failures, retries] = [0, 0];
    const handle = (m: ReadMessage) => {
      calls.push(m.seq);
      if (m.seq === 2 && failures++ < 2) throw new Error('transient');
      done.push(m.seq);
    };
    const onError = (_: unknown, where: string) => void errors.push(where);
    await reading({ stream, checkpointKey: 'retry', handle, onError, onRetry: () => void retries++ });
    await waitFor(() => expect(done).toContain(3));
    expect(calls).toEqual([1, 2, 2, 2, 3]);
    expect(done).toEqual([1, 2, 3]);
    expect(retries).toBe(2);
    expect(errors).toEqual(['retry seq 2', 'retry seq 2']);
  });

  it('given a reader stopped with a KV checkpoint, when a new reader starts on the same key after more messages, then it handles only the new ones', async () => {
    const { stream, p } = await plainStream();
    const bucket = 'cp-reader-restart';
    const checkpoints = await KvCheckpointStore.open(nc, { bucket });
    const opts = {
      stream,
      filter: `${p}.x`,
      checkpoints,
      checkpointKey: 'part.0',
      checkpointIntervalMs: 60_000,
    };
    for (let i = 0; i < 3; i++) await publish(`${p}.x`); // 1..3
    const one = await reading(opts);
    await waitFor(() => expect(one.seqs()).toEqual([1, 2, 3]));
    expect(one.reader.checkpointed).toBe(0); // nothing written before stop: the interval is long
    await stop(one.reader);
    expect(one.reader.checkpointed).toBe(3);
    expect(await (await KvCheckpointStore.open(nc, { bucket })).get('part.0')).toBe(3);

    await publish(`${p}.x`); // 4
    await publish(`${p}.x`); // 5
    const two = await reading(opts);
    await waitFor(() => expect(two.seqs()).toContain(5));
    await publish(`${p}.x`); // 6
    await waitFor(() => expect(two.seqs()).toContain(6));
    expect(two.seqs()).toEqual([4, 5, 6]);
    await stop(two.reader);
    expect(await checkpoints.get('part.0')).toBe(6);
  });

  it('given startAfter, when a reader starts, then it is used only when no checkpoint exists', async () => {
    const { stream, p } = await plainStream();
    for (let i = 0; i < 5; i++) await publish(`${p}.x`); // 1..5
    const readFrom = async (checkpoints: MemoryCheckpointStore, startAfter: number) => {
      const { reader, seqs } = await reading({ stream, checkpoints, startAfter });
      await waitFor(() => expect(seqs()).toContain(5));
      await stop(reader);
      return seqs();
    };
    expect(await readFrom(new MemoryCheckpointStore(), 3)).toEqual([4, 5]);
    const withCheckpoint = new MemoryCheckpointStore();
    withCheckpoint.values.set('k', 1);
    expect(await readFrom(withCheckpoint, 3)).toEqual([2, 3, 4, 5]); // behind startAfter, still wins
  });

  // Regression: a save with nothing to save used to finish synchronously, so its `finally` cleared the
  // in-progress marker before it was set, and every later save returned that settled promise unwritten.
  it('given a checkpoint with nothing to save, when messages then arrive, then checkpoint() and stop() still write them', async () => {
    const { stream, p } = await plainStream();
    const checkpoints = new MemoryCheckpointStore();
    const { reader, seqs } = await reading({ stream, checkpoints, checkpointIntervalMs: 60_000 });
    await reader.checkpoint(); // nothing handled yet: a no-op (what every idle interval tick does too)
    const seq = await publish(`${p}.x`);
    await waitFor(() => expect(seqs()).toEqual([seq]));
    await reader.checkpoint();
    expect(reader.checkpointed).toBe(seq);
    await publish(`${p}.x`);
    await waitFor(() => expect(seqs()).toHaveLength(2));
    await stop(reader);
    expect(await checkpoints.get('k')).toBe(seq + 1);
  });
});

describe('decodeStoredRecord (real nats-server)', () => {
  it('given records appended by NatsSessionLog for a key with ".", "*" and a space, when the raw stream is read and decoded, then they equal what NatsSessionLog.read returns', async () => {
    const log = new NatsSessionLog(nc);
    const sessionKey = 'agent:main:room.1 * two';
    const base = { sessionKey, at: 1_700_000_000_000 };
    const a = await log.append({
      ...base,
      expectedLastSeq: 0,
      prevHash: GENESIS_HASH,
      id: 'dec-1',
      body: [1],
    });
    const second = { expectedLastSeq: a.seq, prevHash: a.hash, id: 'dec-2', correlationId: 'c-1' };
    const b = await log.append({ ...base, ...second, body: { n: 2, s: 'x y' } });
    const viaLog: SessionRecord<unknown>[] = [];
    for await (const r of log.read(sessionKey)) viaLog.push(r);

    const { seen, seqs } = await reading({ stream: StreamNames.sessions });
    await waitFor(() => expect(seqs()).toContain(b.seq));
    const mine = seen.filter((m) => m.subject === Subjects.session(sessionKey));
    expect(mine.map((m) => m.seq)).toEqual([a.seq, b.seq]);
    const decoded = mine.map((m) => decodeStoredRecord(m));
    expect(decoded).toEqual(viaLog);
    expect(decoded.map((r) => [r.sessionKey, r.seq, r.id, r.prevHash, r.hash])).toEqual([
      [sessionKey, a.seq, 'dec-1', GENESIS_HASH, a.hash],
      [sessionKey, b.seq, 'dec-2', a.hash, b.hash],
    ]);
    expect(decoded.map((r) => r.body)).toEqual([[1], { n: 2, s: 'x y' }]);
    expect(decoded[1]?.correlationId).toBe('c-1');
  });

  it('given flushWhenCaughtUp, when a quiet reader handles its last pending message, then it flushes at once — one flush at a time — and checkpoints only on its schedule', async () => {
    const { stream, p } = await plainStream();
    const checkpoints = new MemoryCheckpointStore();
    let flushes = 0;
    let running = 0;
    let overlapped = false;
    const { seqs } = await reading({
      stream,
      checkpoints,
      // Nothing would flush for a minute but the catch-up rule.
      checkpointEvery: 1_000,
      checkpointIntervalMs: 60_000,
      flushWhenCaughtUp: true,
      flush: async () => {
        running += 1;
        overlapped ||= running > 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
        running -= 1;
        flushes += 1;
      },
    });
    await publish(`${p}.a`);
    await waitFor(() => expect(flushes).toBeGreaterThanOrEqual(1));
    for (let i = 0; i < 20; i++) await publish(`${p}.a`);
    await waitFor(() => expect(seqs()).toHaveLength(21));
    await waitFor(() => expect(flushes).toBeGreaterThanOrEqual(2));
    expect(overlapped).toBe(false);
    expect(await checkpoints.get('k')).toBe(0);
  });

  it('given no flushWhenCaughtUp, when a quiet reader handles its last pending message, then nothing flushes before the interval', async () => {
    const { stream, p } = await plainStream();
    let flushes = 0;
    const { seqs } = await reading({
      stream,
      checkpointEvery: 1_000,
      checkpointIntervalMs: 60_000,
      flush: async () => {
        flushes += 1;
      },
    });
    await publish(`${p}.a`);
    await waitFor(() => expect(seqs()).toHaveLength(1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(flushes).toBe(0);
  });

  it('given a message on a subject that is not a session subject, when decoded, then it throws CorruptRecordError', async () => {
    const { stream, p } = await plainStream();
    await publish(`${p}.x`, '{}');
    const { seen } = await reading({ stream });
    await waitFor(() => expect(seen).toHaveLength(1));
    const message = seen[0] as ReadMessage;
    expect(() => decodeStoredRecord(message)).toThrow(CorruptRecordError);
    expect(() => decodeStoredRecord({ ...message, subject: 'tl.session.a.b' })).toThrow(CorruptRecordError);
  });

  // Regression: decodeSubjectToken's SubjectTokenError used to escape instead of CorruptRecordError.
  it('given a raw message on a session subject whose token no key encodes to, when decoded, then it throws CorruptRecordError', async () => {
    const subject = 'tl.session.bad%zz'; // the stream takes it: `tl.session.*`
    const seq = await publish(subject, '{}');
    expect(() => decodeStoredRecord({ subject, seq, headers: undefined, data: new Uint8Array() })).toThrow(
      CorruptRecordError,
    );
  });
});
