import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SimulatedClock } from '@threadline/clock';
import { provisionStreams, threadlineStreams } from '@threadline/event-log';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import {
  type DeadLetterV1,
  decodeBase64,
  inboundSubjectFor,
  StreamNames,
  Subjects,
} from '@threadline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IngestedInput, startIngest } from './ingest.js';

const T0 = Date.UTC(2026, 10, 24, 9, 0, 0);
const encoder = new TextEncoder();

function chat(n: number, extra: Record<string, unknown> = {}) {
  return {
    v: 1,
    type: 'chat.message',
    id: `telegram:default:42:${n}`,
    channel: 'telegram',
    chatType: 'direct',
    peer: { kind: 'direct', id: 42 },
    sender: { id: '42', displayName: 'Bob', isAuthorized: true },
    text: `message ${n}`,
    at: T0 + n * 1000,
    ...extra,
  };
}

async function until(predicate: () => boolean | Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not reached in time');
}

async function readDeadLetters(nc: NatsConnection): Promise<DeadLetterV1[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(StreamNames.deadLetters);
  const out: DeadLetterV1[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(StreamNames.deadLetters, { seq });
    if (m) out.push(m.json<DeadLetterV1>());
  }
  return out;
}

describe('ingest (real nats-server)', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectToNats({ servers: server.url });
    await provisionStreams(await jetstreamManager(nc), threadlineStreams({ replicas: 1 }), {
      mode: 'create-or-verify',
    });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  it('dead-letters a corpus of bad input with reasons and original bytes, while every good message around it is handled in order', async () => {
    const js = jetstream(nc);
    const subject = Subjects.inbound('telegram', '42');
    const bad: { bytes: Uint8Array; code: string }[] = [
      { bytes: encoder.encode('{"v":1,'), code: 'invalid_json' },
      { bytes: encoder.encode('[1,2,3]'), code: 'not_an_object' },
      { bytes: encoder.encode(JSON.stringify({ ...chat(0), v: 7 })), code: 'unknown_version' },
      { bytes: encoder.encode(JSON.stringify({ ...chat(0), type: 'chat.edit' })), code: 'unknown_type' },
      { bytes: encoder.encode(JSON.stringify({ ...chat(0), sender: { id: 42 } })), code: 'schema_violation' },
      { bytes: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), code: 'invalid_utf8' },
      { bytes: encoder.encode(JSON.stringify({ ...chat(0), text: 'x'.repeat(5000) })), code: 'too_large' },
      { bytes: encoder.encode(`${'['.repeat(10_000)}${']'.repeat(10_000)}`), code: 'too_large' },
      { bytes: encoder.encode(`${'['.repeat(2_000)}${']'.repeat(2_000)}`), code: 'not_an_object' },
    ];
    // Interleave: good 1, bad, good 2, bad, …
    const published: { good?: number; bad?: number }[] = [];
    let good = 0;
    for (let i = 0; i < bad.length; i++) {
      good += 1;
      await js.publish(subject, JSON.stringify(chat(good)), { msgID: `good-${good}` });
      published.push({ good });
      await js.publish(subject, (bad[i] as { bytes: Uint8Array }).bytes);
      published.push({ bad: i });
    }
    good += 1;
    await js.publish(subject, JSON.stringify(chat(good)), { msgID: `good-${good}` });

    const handled: IngestedInput[] = [];
    const ingest = await startIngest({
      nc,
      clock: new SimulatedClock(T0 + 60_000),
      maxBytes: 4096,
      consumerName: 'corpus',
      handle: async (input) => {
        handled.push(input);
      },
    });
    try {
      await until(() => handled.length === good && ingest.metrics.received === good + bad.length);
      expect(handled.map((h) => (h.event as { text: string }).text)).toEqual(
        Array.from({ length: good }, (_, i) => `message ${i + 1}`),
      );
      expect(handled.every((h) => h.kind === 'chat' && h.subjectMatchesBody)).toBe(true);

      const letters = await readDeadLetters(nc);
      expect(letters.map((l) => l.code)).toEqual(bad.map((b) => b.code));
      letters.forEach((letter, i) => {
        const original = (bad[i] as { bytes: Uint8Array }).bytes;
        expect(letter.subject).toBe(subject);
        expect(letter.receivedAt).toBe(T0 + 60_000);
        expect(letter.reason.length).toBeGreaterThan(0);
        expect(letter.originalSize).toBe(original.length);
        expect(Buffer.from(decodeBase64(letter.originalBase64) as Uint8Array)).toEqual(Buffer.from(original));
      });
      expect(letters.find((l) => l.code === 'schema_violation')?.reason).toMatch(/sender\.id/);
      expect(ingest.metrics.deadLettered).toEqual({
        invalid_json: 1,
        not_an_object: 2,
        unknown_version: 1,
        unknown_type: 1,
        schema_violation: 1,
        invalid_utf8: 1,
        too_large: 2,
      });

      // Everything acknowledged: nothing pending, nothing waiting for an ack.
      await until(async () => {
        const info = await (await jetstreamManager(nc)).consumers.info(StreamNames.inbound, 'corpus');
        return info.num_pending === 0 && info.num_ack_pending === 0;
      });
    } finally {
      await ingest.stop();
    }
  });

  it('redelivers an input whose handler failed, instead of dead-lettering it', async () => {
    const js = jetstream(nc);
    const event = chat(100, {
      channel: 'discord',
      peer: { kind: 'channel', id: 'c-9' },
      chatType: 'channel',
    });
    await js.publish(inboundSubjectFor(event as never), JSON.stringify(event), { msgID: 'retry-1' });
    // This second consumer re-reads the whole stream, the bad corpus above included: the unchanged count
    // also shows that dead-lettering the same inbound message again stores nothing twice (Nats-Msg-Id).
    const before = (await readDeadLetters(nc)).length;
    let calls = 0;
    const ingest = await startIngest({
      nc,
      clock: new SimulatedClock(T0),
      maxBytes: 4096,
      consumerName: 'retry',
      handle: async (input) => {
        if (input.event.id !== event.id) return;
        calls += 1;
        if (calls === 1) throw new Error('store unavailable');
      },
    });
    try {
      await until(() => calls === 2);
      expect(ingest.metrics.handlerFailures).toBe(1);
      await until(() => ingest.metrics.received > 10);
      expect(Object.values(ingest.metrics.deadLettered).reduce((a, b) => a + (b ?? 0), 0)).toBeGreaterThan(0);
      expect((await readDeadLetters(nc)).length).toBe(before);
    } finally {
      await ingest.stop();
    }
  });
});
