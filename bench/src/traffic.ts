/**
 * Chat traffic as a channel adapter sends it, and the projection as a reader sees it: how a benchmark
 * knows an event went all the way through (publish → session history → session store).
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, KvWatchInclude } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BucketNames, Subjects } from '@threadline/protocol';

/** The session key of a Telegram DM peer under the benchmarks' `per-channel-peer` scope. */
export const sessionKeyOf = (peer: string) => `agent:main:telegram:direct:${peer}`;

/** The peer of the `i`-th conversation. */
export const peerOf = (i: number) => `bench${i}`;

const WORDS = (
  'the quick brown fox jumps over a lazy dog while we talk about what to cook for dinner tonight and ' +
  'whether the meeting on thursday can move to friday morning because my flight lands late please remind ' +
  'me to send the report summary with numbers from last quarter thanks so much see you soon'
).split(' ');

/** Chat-like text of about `length` characters (English words, so token counting sees real text). */
export function chatText(seed: number, length: number): string {
  let text = '';
  for (let i = seed; text.length < length; i++) text += `${WORDS[(i * 7 + seed) % WORDS.length]} `;
  return text.slice(0, Math.max(1, length)).trimEnd() || 'hi';
}

/** One chat event: its text is chat-like words, sized so that every body has `bodyBytes` bytes (± a few). */
export function chatEvent(peer: string, id: string, at: number, bodyBytes: number): Uint8Array {
  const event = {
    v: 1,
    type: 'chat.message',
    id,
    channel: 'telegram',
    chatType: 'direct',
    peer: { kind: 'direct', id: peer },
    sender: { id: peer, isAuthorized: true },
    text: '',
    at,
  };
  const bare = JSON.stringify(event).length;
  event.text = chatText(id.length + at, Math.max(1, bodyBytes - bare));
  return new TextEncoder().encode(JSON.stringify(event));
}

/** Publishes one chat event, acknowledged, with its id as `Nats-Msg-Id` (as an adapter does). */
export function publisher(nc: NatsConnection) {
  const js = jetstream(nc, { timeout: 30_000 });
  return (peer: string, id: string, body: Uint8Array) =>
    js.publish(Subjects.inbound('telegram', peer), body, { msgID: id });
}

/** Opens a KV bucket, waiting for the service that creates it (the projector, once it leads). */
export async function openWhenThere(nc: NatsConnection, bucket: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      // `Kvm.open` does not check that the bucket exists; its stream's info does.
      await (await jetstreamManager(nc)).streams.info(`KV_${bucket}`);
      return await new Kvm(nc).open(bucket);
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`bucket ${bucket} did not appear within ${timeoutMs} ms`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export interface ProjectionWatch {
  /** The latest `messageCount` seen for a session key (0 if none yet). */
  count(sessionKey: string): number;
  /** The sum of the latest `messageCount` over every key seen. */
  readonly total: number;
  /** Resolves once `total` reaches `n`. */
  totalAtLeast(n: number, timeoutMs: number): Promise<void>;
  /** Resolves once the key's `messageCount` reaches `n`; `onVisible` is called then (ms clock). */
  keyAtLeast(sessionKey: string, n: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Watches the session store (the projector's output bucket) for updates, as any reader of it would, and
 * keeps each key's latest message count. Only updates after the watch starts are seen.
 */
export async function watchProjection(nc: NatsConnection): Promise<ProjectionWatch> {
  const kv = await openWhenThere(nc, BucketNames.sessionStore, 60_000);
  const counts = new Map<string, number>();
  let total = 0;
  const waiters = new Set<{ key?: string; n: number; resolve: (at: number) => void }>();
  const iter = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
  const loop = (async () => {
    for await (const e of iter) {
      if (e.operation !== 'PUT' || e.value.length === 0) continue;
      const projected = e.json<{ sessionKey: string; entry: { messageCount: number } }>();
      const key = projected.sessionKey;
      const next = projected.entry.messageCount;
      const before = counts.get(key) ?? 0;
      if (next <= before) continue;
      counts.set(key, next);
      total += next - before;
      if (waiters.size === 0) continue;
      const now = performance.now();
      for (const w of waiters)
        if ((w.key === undefined && total >= w.n) || (w.key === key && next >= w.n)) {
          waiters.delete(w);
          w.resolve(now);
        }
    }
  })();
  return {
    count: (key) => counts.get(key) ?? 0,
    get total() {
      return total;
    },
    totalAtLeast(n, timeoutMs) {
      if (total >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`the projection showed ${total} of ${n} messages after ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.add(waiter);
      });
    },
    keyAtLeast(key, n) {
      if ((counts.get(key) ?? 0) >= n) return Promise.resolve(performance.now());
      return new Promise((resolve) => waiters.add({ key, n, resolve }));
    },
    async stop() {
      iter.stop();
      await loop;
    },
  };
}
