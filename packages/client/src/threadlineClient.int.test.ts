/**
 * The client against a real nats-server and the real session worker: chat events and replies land in
 * the session's history, a retry with the same id is acknowledged as a duplicate and recorded once, an
 * invalid message never leaves the client, and an adapter reads its deliveries.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { parseTraceparent, StreamNames, TRACEPARENT_HEADER } from '@threadline/protocol';
import { parseConfig } from '@threadline/session-core';
import { deadLetters, history, T0, until, workerTestBed } from '@threadline/session-worker/testing';
import { describe, expect, it } from 'vitest';
import type { ReceivedDelivery } from './deliveries.js';
import { ClientErrorCodes, InvalidMessageError, PublishError, ThreadlineClientError } from './errors.js';
import { chatEventId, controlEventId, replyId } from './ids.js';
import { ThreadlineClient } from './threadlineClient.js';

const KEY = 'agent:main:telegram:direct:4242';

const message = (messageId: number, text: string) => ({
  id: chatEventId({ channel: 'telegram', chatId: 4242, messageId }),
  channel: 'telegram',
  chatType: 'direct' as const,
  peer: { kind: 'direct' as const, id: 4242 },
  sender: { id: '4242', displayName: 'Ann', isAuthorized: true },
  text,
  at: T0 + messageId,
});

/** Each new trace gets the next of these ids, so the test knows what the headers must say. */
function countingTraceIds() {
  let n = 0;
  return () => {
    n += 1;
    return { traceId: n.toString(16).padStart(32, 'a'), spanId: n.toString(16).padStart(16, 'b') };
  };
}

describe('ThreadlineClient (real nats-server and worker)', () => {
  const bed = workerTestBed({ config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config });
  const client = () => new ThreadlineClient(bed.nc, { traceIds: countingTraceIds() });

  it('publishes a chat event the worker records once, however often it is retried', async () => {
    await bed.start();
    const tl = client();
    const first = await tl.publishChat(message(1, 'hello'));
    expect(first).toMatchObject({
      id: 'telegram:default:4242:1',
      subject: 'tl.in.v1.telegram.4242',
      stream: StreamNames.inbound,
      duplicate: false,
    });
    // A retry of the same event (same id, same body) after a lost acknowledgement.
    const retry = await tl.publishChat(message(1, 'hello'));
    expect(retry).toMatchObject({ duplicate: true, seq: first.seq, stream: StreamNames.inbound });
    await tl.publishChat(message(2, 'second'));

    await until(async () => (await history(bed.nc, KEY)).length === 2, 20_000, 'two records');
    const records = await history(bed.nc, KEY);
    expect(records.map((r) => r.body.inputId)).toEqual([
      'chat:telegram:default:4242:1',
      'chat:telegram:default:4242:2',
    ]);
    const jsm = await jetstreamManager(bed.nc);
    expect((await jsm.streams.info(StreamNames.inbound)).state.messages).toBe(2);
  });

  it('sends Nats-Msg-Id and the trace context it returns as headers', async () => {
    await bed.start();
    const tl = client();
    const caller = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const continued = await tl.publishChat(message(1, 'traced'), { trace: caller });
    expect(continued.trace).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      parentId: '1'.padStart(16, 'b'),
      flags: '01',
    });
    const fresh = await tl.publishChat(message(2, 'untraced'));
    expect(fresh.trace).toEqual({
      traceId: '2'.padStart(32, 'a'),
      parentId: '2'.padStart(16, 'b'),
      flags: '01',
    });

    const jsm = await jetstreamManager(bed.nc);
    for (const sent of [continued, fresh]) {
      const stored = await jsm.streams.getMessage(StreamNames.inbound, { seq: sent.seq });
      expect(stored?.header.get('Nats-Msg-Id')).toBe(sent.id);
      expect(parseTraceparent(stored?.header.get(TRACEPARENT_HEADER))).toEqual(sent.trace);
    }
  });

  it('never sends a message the worker would dead-letter', async () => {
    await bed.start();
    const tl = client();
    const bad = { ...message(1, 'x'), sender: { id: 4242 } };
    const error = await tl.publishChat(bad as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(error).toMatchObject({ field: 'sender.id', problem: 'expected a string, got 4242' });
    await expect(
      tl.publishReply({ id: 'r1', sessionKey: KEY, text: 'x'.repeat(70_000), at: T0 }),
    ).rejects.toMatchObject({ code: ClientErrorCodes.InvalidMessage, field: 'text' });

    // A valid message afterwards is the only one the stream ever held, and nothing was dead-lettered.
    await tl.publishChat(message(2, 'fine'));
    await until(async () => (await history(bed.nc, KEY)).length === 1, 20_000, 'one record');
    const jsm = await jetstreamManager(bed.nc);
    expect((await jsm.streams.info(StreamNames.inbound)).state.messages).toBe(1);
    expect(await deadLetters(bed.nc)).toEqual([]);
  });

  it('says NO_STREAM when Threadline is not provisioned on the server', async () => {
    const error = await client()
      .publishChat(message(1, 'too early'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error).toMatchObject({
      code: ClientErrorCodes.NoStream,
      retryable: false,
      id: 'telegram:default:4242:1',
    });
    expect((error as Error).message).toMatch(/no stream takes tl\.in\.v1\.telegram\.4242/);
    await expect(client().deliveries({ channel: 'telegram' })).rejects.toMatchObject({
      code: ClientErrorCodes.NotProvisioned,
    });
  });

  it("publishes an agent's reply, and the adapter reads it as a delivery, durably", async () => {
    await bed.start();
    const tl = client();
    const status = await tl.publishChat(message(1, '/status'));
    await tl.publishChat(message(2, 'what is on today?'));
    await until(async () => (await history(bed.nc, KEY)).length === 2, 20_000, 'chat recorded');
    const reply = {
      id: replyId({ producer: 'test-agent', sessionKey: KEY, turnId: 'telegram:default:4242:2' }),
      sessionKey: KEY,
      text: 'Two meetings.',
      at: T0 + 3,
      inReplyTo: 'telegram:default:4242:2',
    };
    const published = await tl.publishReply(reply);
    expect(published).toMatchObject({ stream: StreamNames.keyed, duplicate: false });
    expect((await tl.publishReply(reply)).duplicate).toBe(true);
    await until(async () => (await history(bed.nc, KEY)).length === 3, 20_000, 'reply recorded');

    // The /status answer and the reply, in order; the first is acknowledged, the second is not.
    const invalid: unknown[] = [];
    const reader = await tl.deliveries({
      channel: 'telegram',
      durable: 'telegram-adapter',
      ackWaitMs: 1_000,
      onInvalid: (p) => invalid.push(p),
    });
    const got: ReceivedDelivery[] = [];
    for await (const d of reader) {
      got.push(d);
      if (got.length === 1) await d.ack();
      if (got.length === 2) break;
    }
    await reader.stop();
    expect(got.map((d) => [d.delivery.kind, d.delivery.command ?? null, d.subject])).toEqual([
      ['answer', 'status', 'tl.out.v1.telegram.4242'],
      ['reply', null, 'tl.out.v1.telegram.4242'],
    ]);
    expect(got[1]?.delivery).toMatchObject({
      replyId: reply.id,
      inReplyTo: reply.inReplyTo,
      text: 'Two meetings.',
    });
    expect(got[1]?.delivery.route).toMatchObject({ channel: 'telegram', to: '4242' });
    // Each delivery continues the trace of the message that caused it (the worker's hops, ADR 0019).
    expect(got[0]?.trace?.traceId).toBe(status.trace.traceId);
    expect(got[1]?.trace?.traceId).toBe(published.trace.traceId);
    expect(got[1]?.trace?.parentId).not.toBe(published.trace.parentId);

    // A restarted adapter on the same durable consumer gets what it did not acknowledge, and only that.
    const again = await tl.deliveries({ channel: 'telegram', durable: 'telegram-adapter' });
    for await (const d of again) {
      expect(d.delivery.replyId).toBe(reply.id);
      expect(d.deliveryCount).toBe(2);
      await d.ack();
      break;
    }
    await again.stop();
    // Another channel's reader sees none of them.
    const jsm = await jetstreamManager(bed.nc);
    await tl.deliveries({ channel: 'whatsapp', durable: 'wa' }).then((r) => r.stop());
    expect((await jsm.consumers.info(StreamNames.deliveries, 'wa')).num_pending).toBe(0);
    expect(invalid).toEqual([]);
  });

  it('publishes a control event the worker applies to the session', async () => {
    await bed.start();
    const tl = client();
    await tl.publishChat(message(1, 'hello'));
    await until(async () => (await history(bed.nc, KEY)).length === 1, 20_000, 'chat recorded');
    const reset = {
      type: 'session.reset' as const,
      id: controlEventId({ type: 'session.reset', producer: 'ops-test', sessionKey: KEY, eventId: 1 }),
      sessionKey: KEY,
      at: T0 + 10,
      trigger: 'operator',
    };
    const published = await tl.publishControl(reset);
    expect(published).toMatchObject({
      subject: 'tl.ctl.v1.agent:main:telegram:direct:4242',
      duplicate: false,
    });
    expect((await tl.publishControl(reset)).duplicate).toBe(true);
    await until(async () => (await history(bed.nc, KEY)).length === 2, 20_000, 'reset recorded');
    expect((await history(bed.nc, KEY)).map((r) => r.body.inputId)).toEqual([
      'chat:telegram:default:4242:1',
      `ctl:${reset.id}`,
    ]);
    await expect(tl.publishControl({ ...reset, trigger: undefined } as never)).rejects.toMatchObject({
      field: 'trigger',
    });
  });

  it('refuses a consumer name NATS would not take', async () => {
    await expect(client().deliveries({ channel: 'telegram', durable: 'a.b' })).rejects.toThrow(
      ThreadlineClientError,
    );
  });
});
