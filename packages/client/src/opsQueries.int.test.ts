/**
 * The client's status and session queries against the real ops service (@threadline/ops, in-process) on
 * a real nats-server, over sessions the real worker recorded and the real projector folded; and what the
 * client says when nobody answers, when the answer is late, and when it is not JSON.
 */
import { startOpsService } from '@threadline/ops';
import { startProjector } from '@threadline/projector';
import { StreamNames } from '@threadline/protocol';
import { parseConfig } from '@threadline/session-core';
import { history, T0, until, workerTestBed } from '@threadline/session-worker/testing';
import { describe, expect, it } from 'vitest';
import { ClientErrorCodes, OpsError } from './errors.js';
import { chatEventId, replyId } from './ids.js';
import { ThreadlineClient } from './threadlineClient.js';

const keyOf = (peer: string) => `agent:main:telegram:direct:${peer}`;

describe('ThreadlineClient ops queries (real nats-server, worker, projector and ops service)', () => {
  const bed = workerTestBed({ config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config });

  /** Two sessions, `ann` (a message and a reply) and `bob` (one message), projected into the store. */
  const system = async () => {
    await bed.start();
    const projector = await startProjector({ nc: bed.nc, partitions: 4 });
    bed.cleanup(() => projector.stop());
    const ops = startOpsService({ nc: bed.nc, now: () => T0 + 60_000 });
    bed.cleanup(() => ops.stop());
    const tl = new ThreadlineClient(bed.nc);
    for (const [n, peer] of [
      [1, 'ann'],
      [2, 'bob'],
    ] as const) {
      await tl.publishChat({
        id: chatEventId({ channel: 'telegram', chatId: peer, messageId: n }),
        channel: 'telegram',
        chatType: 'direct',
        peer: { kind: 'direct', id: peer },
        sender: { id: peer, displayName: peer },
        text: `hello from ${peer}`,
        at: T0 + n,
      });
    }
    await tl.publishReply({
      id: replyId({ producer: 'test', sessionKey: keyOf('ann'), turnId: 1 }),
      sessionKey: keyOf('ann'),
      text: 'hello ann',
      at: T0 + 3,
      inReplyTo: chatEventId({ channel: 'telegram', chatId: 'ann', messageId: 1 }),
    });
    await until(async () => (await history(bed.nc, keyOf('ann'))).length === 2, 20_000, 'ann recorded');
    await until(async () => (await history(bed.nc, keyOf('bob'))).length === 1, 20_000, 'bob recorded');
    await until(
      () => projector.status().pending === 0 && projector.status().handled >= 3,
      20_000,
      'projected',
    );
    await projector.waitFor(projector.status().handled);
    return tl;
  };

  it('asks for the status, the session list and one session', async () => {
    const tl = await system();
    const status = await tl.status();
    expect(status.v).toBe(1);
    expect(status.server.jetstream).toBe(true);
    expect(status.streams.find((s) => s.name === StreamNames.inbound)).toMatchObject({
      present: true,
      messages: 2,
    });
    expect(status.sessions).toBe(2);
    expect(status.workers.live.map((w) => w.id)).toEqual(['w1']);

    const list = await tl.listSessions();
    expect(list).toMatchObject({ count: 2, totalCount: 2, hasMore: false });
    expect(list.sessions.map((s) => s.key).sort()).toEqual([keyOf('ann'), keyOf('bob')]);
    const one = await tl.listSessions({ limit: 1, activeMinutes: 60, agentId: 'main' });
    expect(one).toMatchObject({ count: 1, totalCount: 2, hasMore: true, limitApplied: 1, activeMinutes: 60 });

    const ann = await tl.session(keyOf('ann'));
    expect(ann?.entry).toMatchObject({ sessionKey: keyOf('ann'), state: 'active', messageCount: 2 });
    expect(ann?.transcript?.turns.map((t) => [t.role, t.text])).toEqual([
      ['user', 'hello from ann'],
      ['assistant', 'hello ann'],
    ]);
    expect(await tl.session('agent:main:nobody')).toBeUndefined();
  });

  it('replays records a page at a time, and all of them', async () => {
    const tl = await system();
    const page = await tl.replay({ sessionKey: keyOf('ann'), limit: 1 });
    expect(page).toMatchObject({ count: 1, hasMore: true });
    expect(page.records[0]).toMatchObject({ sessionKey: keyOf('ann'), id: expect.any(String) });
    const next = await tl.replay({ sessionKey: keyOf('ann'), limit: 1, afterSeq: page.nextSeq });
    expect(next).toMatchObject({ count: 1, hasMore: false });

    const every: string[] = [];
    for await (const record of tl.replayAll({ limit: 1 })) every.push(record.sessionKey);
    expect(every.sort()).toEqual([keyOf('ann'), keyOf('ann'), keyOf('bob')]);
    await expect(tl.replay({ sessionKey: 'agent:main:nobody' })).rejects.toMatchObject({ notFound: true });
  });

  it("passes the service's refusal of a bad request on, with its field", async () => {
    const tl = await system();
    const error = await tl.listSessions({ limit: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpsError);
    expect(error).toMatchObject({
      code: ClientErrorCodes.OpsFailed,
      retryable: false,
      service: { status: 400, code: 'BAD_REQUEST', field: 'limit' },
    });
    // What the client can tell by itself it does not ask.
    await expect(tl.listSessions({ limit: 0 })).rejects.toMatchObject({
      code: ClientErrorCodes.InvalidArgument,
    });
  });

  it('says OPS_UNAVAILABLE when no ops service runs, OPS_TIMEOUT when it does not answer in time', async () => {
    const tl = new ThreadlineClient(bed.nc, { requestTimeoutMs: 300 });
    await expect(tl.status()).rejects.toMatchObject({
      code: ClientErrorCodes.OpsUnavailable,
      retryable: true,
    });

    // A responder that takes the request and never answers, then one that answers with something else.
    const silent = bed.nc.subscribe('tl.ops.v1.status', { callback: () => undefined });
    await bed.nc.flush();
    await expect(tl.status()).rejects.toMatchObject({ code: ClientErrorCodes.OpsTimeout, retryable: true });
    silent.unsubscribe();
    const garbled = bed.nc.subscribe('tl.ops.v1.sessions.show', {
      callback: (_e, m) => {
        m.respond('<html>');
      },
    });
    await bed.nc.flush();
    await expect(tl.session('k')).rejects.toMatchObject({ code: ClientErrorCodes.OpsBadReply });
    garbled.unsubscribe();
  });
});
