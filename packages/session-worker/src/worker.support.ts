/**
 * Shared by the worker's integration tests (real nats-server): the test bed (server, connection,
 * workers, clean-up), a chat event builder, polling, and readers for a key's history, the dead letters
 * and the deliveries.
 */
import { jetstream, jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SimulatedClock } from '@threadline/clock';
import { NatsSessionLog, type SessionRecord } from '@threadline/event-log';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { type DeadLetterV1, type DeliveryV1, StreamNames, Subjects } from '@threadline/protocol';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { TransitionRecordV1 } from './records.js';

export { countingTraceIds } from './tracing.support.js';

import { type SessionWorker, type SessionWorkerOptions, startSessionWorker } from './worker.js';

export const T0 = Date.UTC(2026, 10, 24, 9, 0, 0);

/** The partition count of the test streams. */
export const PARTITIONS = 4;

export interface WorkerTestBed {
  /** The connection to the bed's server (set once `beforeAll` has run). */
  readonly nc: NatsConnection;
  /** The simulated clock every worker of the bed runs on (it starts at {@link T0} and never goes back). */
  readonly clock: SimulatedClock;
  /** The server's URL, for a second connection (a process of its own, in effect). */
  readonly url: string;
  /** Runs `stop` after the test, before the streams are deleted (schedulers, projectors, connections). */
  cleanup(stop: () => Promise<unknown>): void;
  /** Starts a worker with the bed's defaults and `extra`; it is stopped after the test. */
  start(extra?: Partial<SessionWorkerOptions>): Promise<SessionWorker>;
  /** A worker the test stopped (or crashed) itself, so the clean-up leaves it alone. */
  forget(worker: SessionWorker): void;
}

/**
 * One real nats-server for the enclosing `describe`, and workers on it started with `defaults`: stopped
 * after each test, with every stream deleted, so each test starts from an empty server. Call it inside
 * the `describe`, before its own hooks.
 */
export function workerTestBed(
  defaults: Partial<SessionWorkerOptions> & Pick<SessionWorkerOptions, 'config'>,
): WorkerTestBed {
  let server: RunningNatsServer | undefined;
  let nc: NatsConnection | undefined;
  const workers: SessionWorker[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const clock = new SimulatedClock(T0);
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectToNats({ servers: server.url });
  });
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((stop) => stop()));
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    const jsm = await jetstreamManager(nc as NatsConnection);
    for await (const stream of jsm.streams.list()) await jsm.streams.delete(stream.config.name);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });
  return {
    get nc() {
      if (!nc) throw new Error('the test bed is not up yet (use it inside a test or a later hook)');
      return nc;
    },
    clock,
    get url() {
      if (!server) throw new Error('the test bed is not up yet');
      return server.url;
    },
    cleanup(stop) {
      cleanups.push(stop);
    },
    async start(extra = {}) {
      const worker = await startSessionWorker({
        nc: this.nc,
        clock,
        workerId: `w${workers.length + 1}`,
        partitions: PARTITIONS,
        replicas: 1,
        maxResident: 100,
        maxInboundBytes: 64 * 1024,
        ...defaults,
        ...extra,
      });
      workers.push(worker);
      return worker;
    },
    forget(worker) {
      const at = workers.indexOf(worker);
      if (at >= 0) workers.splice(at, 1);
    },
  };
}

export function chat(channel: string, peer: string, n: number, extra: Record<string, unknown> = {}) {
  return {
    v: 1,
    type: 'chat.message',
    id: `${channel}:${peer}:${n}`,
    channel,
    chatType: 'direct',
    peer: { kind: 'direct', id: peer },
    sender: { id: peer, isAuthorized: true },
    text: `message ${n}`,
    at: T0 + n,
    ...extra,
  };
}

/** Publishes {@link chat}'s event as an adapter would (the event id as the message id); returns it. */
export async function sendChat(
  nc: NatsConnection,
  peer: string,
  n: number,
  extra: Record<string, unknown> = {},
  channel = 'telegram',
) {
  const event = chat(channel, peer, n, extra);
  await jetstream(nc).publish(Subjects.inbound(channel, peer), JSON.stringify(event), { msgID: event.id });
  return event;
}

export async function until(predicate: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached in ${ms} ms`);
}

export async function history(nc: NatsConnection, key: string): Promise<SessionRecord<TransitionRecordV1>[]> {
  const out: SessionRecord<TransitionRecordV1>[] = [];
  for await (const r of new NatsSessionLog(nc).read<TransitionRecordV1>(key)) out.push(r);
  return out;
}

/** Every dead letter the worker wrote, in stream order. */
export async function deadLetters(nc: NatsConnection): Promise<DeadLetterV1[]> {
  return streamMessages<DeadLetterV1>(nc, StreamNames.deadLetters);
}

/** Every delivery the worker published, in stream order. */
export async function deliveries(nc: NatsConnection): Promise<DeliveryV1[]> {
  return streamMessages<DeliveryV1>(nc, StreamNames.deliveries);
}

async function streamMessages<T>(nc: NatsConnection, stream: string): Promise<T[]> {
  return (await storedMessages(nc, stream)).map((m) => m.json<T>());
}

/** Every message of `stream` as stored (subject, headers, data), in stream order; none for no stream. */
export async function storedMessages(nc: NatsConnection, stream: string): Promise<StoredMsg[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream).catch(() => undefined);
  const out: StoredMsg[] = [];
  if (!info) return out;
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m) out.push(m);
  }
  return out;
}
