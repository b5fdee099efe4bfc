/**
 * Shared by the worker's integration tests (real nats-server): a chat event builder, polling, and
 * readers for a key's history, the dead letters and the deliveries.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsSessionLog, type SessionRecord } from '@threadline/event-log';
import { type DeadLetterV1, type DeliveryV1, StreamNames } from '@threadline/protocol';
import type { TransitionRecordV1 } from './records.js';

export const T0 = Date.UTC(2026, 10, 24, 9, 0, 0);

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

export async function deadLetters(nc: NatsConnection): Promise<DeadLetterV1[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(StreamNames.deadLetters);
  const out: DeadLetterV1[] = [];
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(StreamNames.deadLetters, { seq });
    if (m) out.push(m.json<DeadLetterV1>());
  }
  return out;
}

/** Every delivery the worker published, in stream order. */
export async function deliveries(nc: NatsConnection): Promise<DeliveryV1[]> {
  return streamMessages<DeliveryV1>(nc, StreamNames.deliveries);
}

async function streamMessages<T>(nc: NatsConnection, stream: string): Promise<T[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream).catch(() => undefined);
  const out: T[] = [];
  if (!info) return out;
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m) out.push(m.json<T>());
  }
  return out;
}
