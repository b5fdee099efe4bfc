import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { StreamNames, Subjects } from '@threadline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrencyError, CorruptRecordError } from './errors.js';
import { NatsSessionLog, RecordHeaders } from './natsSessionLog.js';
import { provisionStreams } from './provisionStreams.js';
import { GENESIS_HASH } from './recordHash.js';
import { collect, sessionLogContract } from './sessionLog.contract.js';
import { threadlineStreams } from './streams.js';

// One server for the whole file; every test uses its own keys.
let server: RunningNatsServer;
const connections: NatsConnection[] = [];

async function connect(): Promise<NatsConnection> {
  const nc = await connectToNats({ servers: server.url });
  connections.push(nc);
  return nc;
}

beforeAll(async () => {
  server = await startNatsServer();
  const jsm = await jetstreamManager(await connect());
  await provisionStreams(jsm, threadlineStreams({ replicas: 1 }), {
    mode: 'create-or-verify',
    onMismatch: 'throw',
  });
});

afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close()));
  await server?.dispose();
});

// Each writer gets its own connection, so the race is between independent clients.
sessionLogContract('NatsSessionLog', async () => new NatsSessionLog(await connect()));

describe('NatsSessionLog on JetStream', () => {
  let log: NatsSessionLog;
  let jsm: JetStreamManager;
  beforeAll(async () => {
    const nc = await connect();
    log = new NatsSessionLog(nc);
    jsm = await jetstreamManager(nc);
  });

  it("given an append, when the stored message is inspected, then it is on the key's encoded subject with the body as payload and the record in headers", async () => {
    const key = 'agent:main:whatsapp:group:12036@g.us';
    const { seq, hash } = await log.append({
      sessionKey: key,
      expectedLastSeq: 0,
      prevHash: GENESIS_HASH,
      id: 'wa-3EB0C767',
      body: { b: 2, a: 1 },
      at: 1_700_000_000_123,
      correlationId: 'corr-1',
      causationId: 'cause-1',
      schemaVersion: 3,
    });
    const stored = await jsm.streams.getMessage(StreamNames.sessions, { seq });
    expect(stored?.subject).toBe(Subjects.session(key));
    expect(stored?.subject).toBe('tl.session.agent:main:whatsapp:group:12036%40g%2Eus');
    expect(stored?.string()).toBe('{"a":1,"b":2}');
    expect(stored?.header.get(RecordHeaders.id)).toBe('wa-3EB0C767');
    expect(stored?.header.get(RecordHeaders.hash)).toBe(hash);
    expect(stored?.header.get(RecordHeaders.prevHash)).toBe(GENESIS_HASH);
    expect(stored?.header.get(RecordHeaders.prevSeq)).toBe('0');
    expect(stored?.header.get(RecordHeaders.at)).toBe('1700000000123');
    expect(stored?.header.get(RecordHeaders.schemaVersion)).toBe('3');
    expect(stored?.header.get(RecordHeaders.correlationId)).toBe('corr-1');
    expect(stored?.header.get(RecordHeaders.causationId)).toBe('cause-1');
  });

  it('given reads that finish, stop early or find nothing, when they are done, then no consumer is left on the stream', async () => {
    const key = 'agent:main:consumers';
    let head = await log.head(key);
    for (let i = 0; i < 3; i++) {
      const r = await log.append({
        sessionKey: key,
        expectedLastSeq: head.seq,
        prevHash: head.hash,
        id: `c-${i}`,
        body: { i },
        at: i,
      });
      head = { seq: r.seq, hash: r.hash };
    }
    expect(await collect(log.read(key))).toHaveLength(3);
    for await (const _ of log.read(key)) break;
    expect(await collect(log.read('agent:main:nobody'))).toEqual([]);
    expect((await jsm.streams.info(StreamNames.sessions)).state.consumer_count).toBe(0);
  });

  it('given a session of 2 000 records, when read, then all come back in order across several pulls', async () => {
    const key = 'agent:main:long';
    const js = jetstream(connections[0] as NatsConnection);
    // Published directly (pipelined) to build the history fast; the log then appends on top of it.
    let prevHash = GENESIS_HASH;
    const { recordHash } = await import('./recordHash.js');
    const acks = [];
    for (let i = 0; i < 2000; i++) {
      const fields = { sessionKey: key, id: `long-${i}`, at: i, schemaVersion: 1, body: { i }, prevHash };
      const hash = recordHash(fields);
      const h = headers();
      h.set(RecordHeaders.schemaVersion, '1');
      h.set(RecordHeaders.at, String(i));
      h.set(RecordHeaders.prevHash, prevHash);
      h.set(RecordHeaders.hash, hash);
      acks.push(js.publish(Subjects.session(key), JSON.stringify({ i }), { msgID: `long-${i}`, headers: h }));
      prevHash = hash;
    }
    await Promise.all(acks);
    const head = await log.head(key);
    await log.append({
      sessionKey: key,
      expectedLastSeq: head.seq,
      prevHash: head.hash,
      id: 'long-last',
      body: { i: 2000 },
      at: 2000,
    });
    const records = await collect(log.read<{ i: number }>(key));
    expect(records.map((r) => r.body.i)).toEqual([...Array(2001).keys()]);
  });

  it('given a message on a session subject without record headers, when read, then CorruptRecordError names its sequence', async () => {
    const key = 'agent:main:foreign';
    const ack = await jetstream(connections[0] as NatsConnection).publish(
      Subjects.session(key),
      '{"not":"a record"}',
    );
    await expect(log.head(key)).rejects.toBeInstanceOf(CorruptRecordError);
    const error = await collect(log.read(key)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error).toMatchObject({ code: 'CORRUPT_RECORD', seq: ack.seq });
  });

  it('given a conflict, when the server refuses the append, then the error keeps the server error as its cause', async () => {
    const key = 'agent:main:cause';
    const first = await log.append({
      sessionKey: key,
      expectedLastSeq: 0,
      prevHash: GENESIS_HASH,
      id: 'cause-a',
      body: {},
      at: 0,
    });
    // A second log instance: its hash cache is empty, so the chain check asks the server too.
    const other = new NatsSessionLog(await connect());
    const error = await other
      .append({ sessionKey: key, expectedLastSeq: 0, prevHash: GENESIS_HASH, id: 'cause-b', body: {}, at: 0 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurrencyError);
    expect((error as ConcurrencyError).actualLastSeq).toBe(first.seq);
    expect(String((error as Error).cause)).toMatch(/wrong last sequence/);
  });
});
