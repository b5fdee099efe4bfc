/**
 * Shared by the replay and audit integration tests: a real nats-server with the Threadline streams, and
 * ways to put records in the session stream — through the log, or published directly (pipelined, for
 * volume, and to tamper with what is stored).
 */
import { randomUUID } from 'node:crypto';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { StreamNames, Subjects } from '@threadline/protocol';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { NatsSessionLog, RecordHeaders } from './natsSessionLog.js';
import { provisionStreams } from './provisionStreams.js';
import { GENESIS_HASH, recordHash } from './recordHash.js';
import { threadlineStreams } from './streams.js';

export interface SessionStreamBed {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly log: NatsSessionLog;
}

/** One server for the enclosing file; the session stream is purged before every test. */
export function sessionStreamBed(): SessionStreamBed {
  let server: RunningNatsServer | undefined;
  let bed: SessionStreamBed | undefined;
  beforeAll(async () => {
    server = await startNatsServer();
    const nc = await connectToNats({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await provisionStreams(jsm, threadlineStreams({ replicas: 1 }), {
      mode: 'create-or-verify',
      onMismatch: 'throw',
    });
    bed = { nc, js: jetstream(nc), jsm, log: new NatsSessionLog(nc) };
  });
  beforeEach(async () => {
    await bed?.jsm.streams.purge(StreamNames.sessions);
  });
  afterAll(async () => {
    await bed?.nc.close();
    await server?.dispose();
  });
  const get = (): SessionStreamBed => {
    if (!bed) throw new Error('the bed is not up yet');
    return bed;
  };
  return {
    get nc() {
      return get().nc;
    },
    get js() {
      return get().js;
    },
    get jsm() {
      return get().jsm;
    },
    get log() {
      return get().log;
    },
  };
}

export interface Appended {
  readonly seq: number;
  readonly hash: string;
  readonly at: number;
}

/** Appends one record per body through the log, on the key's current head; `at` of each from `atOf`. */
export async function appendRecords(
  log: NatsSessionLog,
  sessionKey: string,
  bodies: readonly unknown[],
  atOf: (i: number) => number = (i) => 1_700_000_000_000 + i,
): Promise<Appended[]> {
  let head = await log.head(sessionKey);
  const out: Appended[] = [];
  for (const [i, body] of bodies.entries()) {
    const at = atOf(i);
    const r = await log.append({
      sessionKey,
      expectedLastSeq: head.seq,
      prevHash: head.hash,
      // Unique across tests: the stream is purged between them, but its duplicate window remembers ids.
      id: `${sessionKey}#${randomUUID()}`,
      body,
      at,
    });
    head = { seq: r.seq, hash: r.hash };
    out.push({ seq: r.seq, hash: r.hash, at });
  }
  return out;
}

/**
 * Publishes `count` valid records for each key directly, pipelined and interleaved key by key — a
 * correct chain per key, as the log would have written it, only faster.
 */
export async function publishRecords(
  js: JetStreamClient,
  keys: readonly string[],
  count: number,
  at = 1_700_000_000_000,
): Promise<void> {
  const prev = new Map(keys.map((k) => [k, GENESIS_HASH]));
  const acks = [];
  for (let i = 0; i < count; i++)
    for (const sessionKey of keys) {
      const prevHash = prev.get(sessionKey) as string;
      const id = `bulk:${sessionKey}:${i}:${randomUUID()}`;
      const body = { i };
      const hash = recordHash({ sessionKey, id, at, schemaVersion: 1, body, prevHash });
      const h = headers();
      h.set(RecordHeaders.schemaVersion, '1');
      h.set(RecordHeaders.at, String(at));
      h.set(RecordHeaders.prevHash, prevHash);
      h.set(RecordHeaders.hash, hash);
      acks.push(js.publish(Subjects.session(sessionKey), JSON.stringify(body), { msgID: id, headers: h }));
      prev.set(sessionKey, hash);
    }
  await Promise.all(acks);
}

/**
 * Tampers directly in JetStream: publishes a copy of the record at `seq` with `body` instead of its own,
 * under its original headers (chain hashes, time) — only the message id is new, so dedupe keeps it.
 * Returns the copy's sequence.
 */
export async function publishEditedCopy(bed: SessionStreamBed, seq: number, body: unknown): Promise<number> {
  const original = await bed.jsm.streams.getMessage(StreamNames.sessions, { seq });
  if (!original) throw new Error(`no message at ${seq}`);
  // The record's own headers only: a stored message also keeps the publish's expectations, which would
  // fence the copy out.
  const h = headers();
  for (const name of Object.values(RecordHeaders)) {
    const value = original.header.get(name);
    if (name !== RecordHeaders.id && value !== '') h.set(name, value);
  }
  h.set(RecordHeaders.id, `${original.header.get(RecordHeaders.id)}-forged`);
  const ack = await bed.js.publish(original.subject, JSON.stringify(body), { headers: h });
  return ack.seq;
}
