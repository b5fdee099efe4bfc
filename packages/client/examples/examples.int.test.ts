/**
 * The examples' main functions against a real nats-server with the real worker, projector and ops
 * service, so that they keep working: the adapter publishes a message and waits for a delivery, the
 * agent reads the session and answers, the adapter sends the answer back to the "channel".
 */

import { type ReceivedDelivery, ThreadlineClient } from '@threadline/client';
import { startOpsService } from '@threadline/ops';
import { startProjector } from '@threadline/projector';
import { parseConfig } from '@threadline/session-core';
import { until, workerTestBed } from '@threadline/session-worker/testing';
import { describe, expect, it } from 'vitest';
import { type IncomingMessage, runAdapter } from './adapter.js';
import { runAgent } from './agent.js';

const KEY = 'agent:main:telegram:direct:1001';

describe('the examples (real nats-server, worker, projector and ops service)', () => {
  const bed = workerTestBed({ config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config });

  it('an adapter and an agent hold a conversation through Threadline', async () => {
    await bed.start();
    const projector = await startProjector({ nc: bed.nc, partitions: 4 });
    bed.cleanup(() => projector.stop());
    const ops = startOpsService({ nc: bed.nc, now: () => bed.clock.now() });
    bed.cleanup(() => ops.stop());
    const now = () => bed.clock.now();
    const incoming: IncomingMessage = {
      chatId: 1001,
      messageId: 7,
      senderId: '1001',
      senderName: 'Ann',
      text: 'hi there',
      at: now(),
    };

    const delivered: ReceivedDelivery['delivery'][] = [];
    const adapter = runAdapter({
      servers: bed.url,
      channel: 'telegram',
      incoming: [incoming],
      send: (d) => void delivered.push(d),
      stopAfter: 1,
    });

    // The agent answers once the session store shows the message.
    const tl = new ThreadlineClient(bed.nc);
    await until(
      async () => (await tl.session(KEY))?.transcript?.turns.length === 1,
      20_000,
      'message projected',
    );
    const answers = await runAgent({ servers: bed.url, producer: 'echo', now });
    expect(answers).toEqual([
      expect.objectContaining({
        sessionKey: KEY,
        inReplyTo: 'telegram:default:1001:7',
        result: expect.objectContaining({ duplicate: false }),
      }),
    ]);

    const run = await adapter;
    expect(run.published.map((p) => [p.id, p.duplicate])).toEqual([['telegram:default:1001:7', false]]);
    expect(run.sent).toBe(1);
    expect(delivered).toEqual([
      expect.objectContaining({
        kind: 'reply',
        text: 'You said: hi there',
        inReplyTo: 'telegram:default:1001:7',
        replyId: answers[0]?.result.id,
      }),
    ]);

    // Run again: the agent has nothing left to answer, and the channel redelivering the same message
    // is acknowledged as a duplicate.
    await until(
      async () => (await tl.session(KEY))?.transcript?.turns.length === 2,
      20_000,
      'reply projected',
    );
    expect(await runAgent({ servers: bed.url, producer: 'echo', now })).toEqual([]);
    const again = await runAdapter({
      servers: bed.url,
      channel: 'telegram',
      incoming: [incoming],
      send: () => undefined,
      stopAfter: 0,
    });
    expect(again.published.map((p) => p.duplicate)).toEqual([true]);
  });
});
