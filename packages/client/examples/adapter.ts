/**
 * A channel adapter on Threadline, in miniature: it turns the channel's incoming messages into chat
 * events (ids from `chatEventId`, so a redelivery by the channel is a harmless duplicate), publishes them
 * in order, and sends what Threadline delivers back to the channel, acknowledging each delivery once it
 * is sent. The "channel" here is the console.
 *
 *   npx pnpm@10 --filter @threadline/client... build
 *   THREADLINE_NATS_URL=nats://127.0.0.1:4222 node packages/client/dist/examples/adapter.js "Hello there"
 *
 * publishes "Hello there" as a Telegram direct message from chat 1001 and prints deliveries until Ctrl-C.
 */
import { pathToFileURL } from 'node:url';
import {
  type ChatEventInput,
  chatEventId,
  type PublishResult,
  type ReceivedDelivery,
  ThreadlineClient,
} from '@threadline/client';

/** A message as a channel's API hands it over (Telegram's shape, simplified). */
export interface IncomingMessage {
  chatId: number | string;
  messageId: number | string;
  senderId: string;
  senderName?: string;
  /** Whether this sender may run chat commands (`/new`, `/status`): the adapter's allow-list decides. */
  authorized?: boolean;
  text: string;
  /** When it was sent, epoch ms. */
  at: number;
}

/** The chat event for one incoming direct message. */
export function toChatEvent(channel: string, m: IncomingMessage): ChatEventInput {
  return {
    id: chatEventId({ channel, chatId: m.chatId, messageId: m.messageId }),
    channel,
    chatType: 'direct',
    peer: { kind: 'direct', id: m.chatId },
    sender: { id: m.senderId, displayName: m.senderName, isAuthorized: m.authorized ?? false },
    text: m.text,
    at: m.at,
  };
}

export interface AdapterOptions {
  /** The NATS server(s). */
  servers: string | string[];
  channel: string;
  /** Messages to publish first, in order. */
  incoming: IncomingMessage[];
  /** Sends one delivery to the channel. Throwing leaves it unacknowledged: it comes again. */
  send: (delivery: ReceivedDelivery['delivery']) => Promise<void> | void;
  /** The durable consumer's name (default `<channel>-adapter`). */
  durable?: string;
  /** Stop after this many deliveries were sent (default: run until `signal` aborts). */
  stopAfter?: number;
  signal?: AbortSignal;
  /** Told about each publish (its id, whether it was a duplicate, its trace id). */
  onPublished?: (result: PublishResult<unknown>) => void;
}

export interface AdapterRun {
  published: PublishResult<unknown>[];
  sent: number;
}

/** The adapter's main loop: publish `incoming`, then send deliveries until told to stop. */
export async function runAdapter(options: AdapterOptions): Promise<AdapterRun> {
  const client = await ThreadlineClient.connect({
    servers: options.servers,
    name: `${options.channel}-adapter`,
  });
  try {
    const published: PublishResult<unknown>[] = [];
    // One conversation's messages in order: each publish after the previous one's acknowledgement.
    for (const m of options.incoming) {
      const result = await client.publishChat(toChatEvent(options.channel, m));
      published.push(result);
      options.onPublished?.(result);
    }

    if (options.stopAfter === 0) return { published, sent: 0 };
    const reader = await client.deliveries({
      channel: options.channel,
      durable: options.durable ?? `${options.channel}-adapter`,
    });
    const stop = () => void reader.stop();
    options.signal?.addEventListener('abort', stop, { once: true });
    // Deliveries can come twice (a worker restart, our own crash before the ack): send each id once.
    const sentIds = new Set<string>();
    let sent = 0;
    try {
      for await (const d of reader) {
        if (!sentIds.has(d.delivery.id)) {
          await options.send(d.delivery);
          sentIds.add(d.delivery.id);
          sent += 1;
        }
        await d.ack();
        if (options.stopAfter !== undefined && sent >= options.stopAfter) break;
      }
    } finally {
      options.signal?.removeEventListener('abort', stop);
      await reader.stop();
    }
    return { published, sent };
  } finally {
    await client.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  const text = process.argv.slice(2).join(' ') || 'Hello, Threadline!';
  runAdapter({
    servers: process.env.THREADLINE_NATS_URL ?? 'nats://127.0.0.1:4222',
    channel: 'telegram',
    incoming: [
      { chatId: 1001, messageId: Date.now(), senderId: '1001', senderName: 'You', text, at: Date.now() },
    ],
    send: (d) => console.log(`→ ${d.route.channel}:${d.route.to} (${d.kind}) ${d.text}`),
    signal: controller.signal,
    onPublished: (p) =>
      console.log(`published ${p.id} (trace ${p.trace.traceId}${p.duplicate ? ', duplicate' : ''})`),
  }).then(
    (run) => console.log(`sent ${run.sent} deliveries`),
    (error: unknown) => {
      console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
      process.exitCode = 1;
    },
  );
}
