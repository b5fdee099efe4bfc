/**
 * W3C trace context end to end through a real nats-server and the real worker (ADR 0019): what a
 * producer sends in `traceparent` / `tracestate` comes out on every message the worker writes because of
 * it — the routed event, the session record, the deliveries, the compaction result — with the same trace
 * id and flags and a new parent span per hop; a message without a valid context starts one trace.
 */
import { jetstream } from '@nats-io/jetstream';
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { StreamNames, Subjects } from '@threadline/protocol';
import { parseConfig } from '@threadline/session-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  chat,
  countingTraceIds,
  deadLetters,
  history,
  storedMessages,
  T0,
  until,
  workerTestBed,
} from './worker.support.js';

const config = parseConfig({
  session: { dmScope: 'per-channel-peer' },
  compaction: { keepRecentTurns: 1 },
}).config;
const KEY = 'agent:main:telegram:direct:42';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PRODUCER_SPAN = '00f067aa0ba902b7';
const TRACESTATE = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE';
/** The counting source's span ids, in the order the worker asks for them. */
const span = (n: number) => n.toString(16).padStart(16, '0');
/** The counting source's first new trace. */
const NEW_TRACE = `a${'1'.padStart(31, '0')}`;

interface Carried {
  traceparent: string | undefined;
  tracestate: string | undefined;
}
const carried = (h: MsgHdrs | undefined): Carried => ({
  traceparent: h?.get('traceparent') || undefined,
  tracestate: h?.get('tracestate') || undefined,
});

describe('trace context through the worker (real nats-server, real worker)', () => {
  const bed = workerTestBed({ config, forcePartitions: [0, 1, 2, 3] });
  let nc: NatsConnection;
  beforeAll(() => {
    nc = bed.nc;
  });
  const start = () => bed.start({ traceIds: countingTraceIds() });

  const publish = async (
    subject: string,
    body: object | string,
    id: string,
    trace: Partial<Carried> = {},
  ) => {
    const h = headers();
    if (trace.traceparent !== undefined) h.set('traceparent', trace.traceparent);
    if (trace.tracestate !== undefined) h.set('tracestate', trace.tracestate);
    const data = typeof body === 'string' ? body : JSON.stringify(body);
    await jetstream(nc).publish(subject, data, { msgID: id, headers: h });
  };
  const sendChat = (n: number, text: string, trace: Partial<Carried> = {}) => {
    const event = chat('telegram', '42', n, { text });
    return publish(Subjects.inbound('telegram', '42'), event, event.id, trace).then(() => event.id);
  };
  /** The routed events' trace headers, in stream order. */
  const routed = async () =>
    (await storedMessages(nc, StreamNames.keyed))
      .filter((m) => m.subject.startsWith('tl.routed.'))
      .map((m) => carried(m.header));
  /** The deliveries with their trace headers, in stream order. */
  const delivered = async () =>
    (await storedMessages(nc, StreamNames.deliveries)).map((m) => ({
      body: m.json<{ kind: string; inReplyTo?: string; replyId?: string; command?: string }>(),
      ...carried(m.header),
    }));
  const recordsOf = async (n: number) => {
    await until(async () => (await history(nc, KEY)).length >= n, 20_000, `${n} records`);
    return history(nc, KEY);
  };

  it('given a chat event with a traceparent, then its routed event, record and answer carry its trace, each hop its own span', async () => {
    await start();
    await sendChat(1, '/status', {
      traceparent: `00-${TRACE}-${PRODUCER_SPAN}-01`,
      tracestate: TRACESTATE,
    });
    const [record] = await recordsOf(1);
    await until(async () => (await delivered()).length === 1, 20_000, 'the /status answer');

    expect(await routed()).toEqual([{ traceparent: `00-${TRACE}-${span(1)}-01`, tracestate: TRACESTATE }]);
    expect(record?.trace).toEqual({ traceparent: `00-${TRACE}-${span(2)}-01`, tracestate: TRACESTATE });
    const [answer] = await delivered();
    expect(answer).toMatchObject({
      body: { kind: 'answer', command: 'status' },
      traceparent: `00-${TRACE}-${span(3)}-01`,
      tracestate: TRACESTATE,
    });
    // The hash chain knows nothing of traces.
    expect(JSON.stringify(record?.body)).not.toContain(TRACE);
  });

  it("given an agent reply with its own traceparent, then its record and delivery continue the reply's trace, flags kept", async () => {
    await start();
    const chatId = await sendChat(1, 'hello');
    await recordsOf(1);
    const replyTrace = '0af7651916cd43dd8448eb211c80319c';
    const reply = {
      v: 1,
      type: 'agent.reply',
      id: 'r1',
      sessionKey: KEY,
      text: 'hi',
      at: T0,
      inReplyTo: chatId,
    };
    await publish(Subjects.reply(KEY), reply, 'r1', { traceparent: `00-${replyTrace}-b7ad6b7169203331-00` });
    const [, replyRecord] = await recordsOf(2);
    await until(async () => (await delivered()).length === 1, 20_000, 'the reply delivery');

    // The chat event started a trace (span 1 routed it, span 2 recorded it); the reply's is its own.
    expect(replyRecord?.trace).toEqual({ traceparent: `00-${replyTrace}-${span(3)}-00` });
    const [delivery] = await delivered();
    expect(delivery).toMatchObject({
      body: { kind: 'reply', replyId: 'r1', inReplyTo: chatId },
      traceparent: `00-${replyTrace}-${span(4)}-00`,
      tracestate: undefined,
    });
  });

  it('given a chat event without a traceparent, then one new trace starts at the router and is carried to the answer', async () => {
    await start();
    await sendChat(1, '/status');
    const [record] = await recordsOf(1);
    await until(async () => (await delivered()).length === 1, 20_000, 'the /status answer');

    expect(await routed()).toEqual([{ traceparent: `00-${NEW_TRACE}-${span(1)}-01`, tracestate: undefined }]);
    expect(record?.trace).toEqual({ traceparent: `00-${NEW_TRACE}-${span(2)}-01` });
    expect((await delivered())[0]?.traceparent).toBe(`00-${NEW_TRACE}-${span(3)}-01`);
  });

  it('given invalid traceparents, then the messages are applied, not refused, each in a new trace (its tracestate dropped)', async () => {
    await start();
    await sendChat(1, 'one', {
      traceparent: `00-${'0'.repeat(32)}-${PRODUCER_SPAN}-01`, // an all-zero trace id
      tracestate: TRACESTATE,
    });
    // The ids are handed out in call order: the second message is sent once the first is recorded, or
    // its router hop could take a span id before the first message's record does.
    await recordsOf(1);
    await sendChat(2, 'two', { traceparent: 'not a traceparent' });
    const records = await recordsOf(2);

    expect(records.map((r) => r.id)).toEqual(['chat:telegram:42:1', 'chat:telegram:42:2']);
    expect(await deadLetters(nc)).toEqual([]);
    const second = `a${'2'.padStart(31, '0')}`;
    expect(await routed()).toEqual([
      { traceparent: `00-${NEW_TRACE}-${span(1)}-01`, tracestate: undefined },
      { traceparent: `00-${second}-${span(3)}-01`, tracestate: undefined },
    ]);
    expect(records.map((r) => r.trace?.traceparent.split('-')[1])).toEqual([NEW_TRACE, second]);
  });

  it('given a refused message, then its dead letter keeps its traceparent and tracestate', async () => {
    await start();
    const traceparent = `00-${TRACE}-${PRODUCER_SPAN}-01`;
    await publish(Subjects.inbound('telegram', '42'), '{not json', 'bad-1', {
      traceparent,
      tracestate: TRACESTATE,
    });
    await until(async () => (await deadLetters(nc)).length === 1, 20_000, 'the dead letter');
    const [letter] = await storedMessages(nc, StreamNames.deadLetters);
    expect(letter?.json<{ code: string }>().code).toBe('invalid_json');
    expect(carried(letter?.header)).toEqual({ traceparent, tracestate: TRACESTATE });
  });

  it("given /compact with a traceparent, then the compaction's result and its record continue that trace", async () => {
    await start();
    for (let n = 1; n <= 3; n++) await sendChat(n, `message ${n}`);
    const compactTrace = 'c'.repeat(32);
    const compactId = await sendChat(4, '/compact', {
      traceparent: `00-${compactTrace}-${PRODUCER_SPAN}-01`,
    });
    const resultId = await (async () => {
      let id: string | undefined;
      await until(
        async () => {
          id = (await history(nc, KEY)).find((r) => r.id.startsWith('ctl:worker:compaction:'))?.id;
          return id !== undefined;
        },
        20_000,
        'the compaction result record',
      );
      return id as string;
    })();
    const records = await history(nc, KEY);
    const traceOfRecord = (id: string) => records.find((r) => r.id === id)?.trace?.traceparent.split('-')[1];
    expect(traceOfRecord(`chat:${compactId}`)).toBe(compactTrace);
    expect(traceOfRecord(resultId)).toBe(compactTrace);
    const result = (await storedMessages(nc, StreamNames.keyed)).find((m) => m.subject.startsWith('tl.ctl.'));
    const resultTrace = carried(result?.header).traceparent?.split('-');
    expect(resultTrace?.[1]).toBe(compactTrace);
    // Its own span: neither the producer's nor any other hop's.
    const spans = [
      PRODUCER_SPAN,
      resultTrace?.[2],
      ...records.map((r) => r.trace?.traceparent.split('-')[2]),
    ];
    expect(new Set(spans).size).toBe(spans.length);
  });
});
