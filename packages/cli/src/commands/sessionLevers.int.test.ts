/**
 * `threadline compact` and `threadline send-policy` against a real nats-server: the CLI publishes the
 * control event, the real worker applies it as /compact and /send would — and the effect shows in the
 * session's history and in what reaches the delivery stream.
 */
import { startProjector } from '@threadline/projector';
import { parseConfig, type SessionFact } from '@threadline/session-core';
import { deliveries, history, until, workerTestBed } from '@threadline/session-worker/testing';
import { describe, expect, it } from 'vitest';
import { ExitCodes } from '../errors.js';
import { cli, sendChat, sendReply } from './cli.support.js';

const keyOf = (peer: string) => `agent:main:telegram:direct:${peer}`;

describe('threadline compact and send-policy (real nats-server, worker and projector)', () => {
  const bed = workerTestBed({
    config: parseConfig({ session: { dmScope: 'per-channel-peer' }, compaction: { keepRecentTurns: 1 } })
      .config,
  });
  const facts = async (key: string): Promise<SessionFact[]> =>
    (await history(bed.nc, key)).flatMap((r) => r.body.facts);

  const session = async (peer: string, messages: number) => {
    await bed.start();
    const projector = await startProjector({ nc: bed.nc, partitions: 4 });
    bed.cleanup(() => projector.stop());
    for (let n = 1; n <= messages; n++) await sendChat(bed.nc, peer, n);
    await until(async () => (await history(bed.nc, keyOf(peer))).length === messages, 20_000, 'recorded');
    await until(
      () => projector.status().pending === 0 && projector.status().handled >= messages,
      20_000,
      'projected',
    );
    await projector.waitFor(projector.status().handled);
  };

  it('compact: the session compacts (manual, with the instructions) and nobody in the chat is answered', async () => {
    await session('cora', 3);
    const key = keyOf('cora');
    const run = await cli(['compact', key, '--instructions', 'keep the order numbers', '--json'], {
      server: bed.url,
    });
    expect(run.code).toBe(ExitCodes.Ok);
    expect(run.json<{ id: string; type: string }>()).toMatchObject({ type: 'compaction.requested' });
    await until(
      async () => (await facts(key)).some((f) => f.type === 'CompactionCompleted'),
      20_000,
      'compacted',
    );
    expect((await facts(key)).find((f) => f.type === 'CompactionStarted')).toMatchObject({
      trigger: 'manual',
      instructions: 'keep the order numbers',
    });
    expect((await deliveries(bed.nc)).filter((d) => d.kind === 'answer')).toEqual([]);
  });

  it('send-policy off holds the next reply back; inherit lets replies through again', async () => {
    await session('sid', 1);
    const key = keyOf('sid');
    const reply = (n: number) => sendReply(bed.nc, key, `r${n}`, `answer ${n}`, Date.now());
    expect((await cli(['send-policy', key, 'off'], { server: bed.url })).code).toBe(ExitCodes.Ok);
    await until(
      async () => (await facts(key)).some((f) => f.type === 'SendPolicyChanged'),
      20_000,
      'policy set',
    );
    await reply(1);
    await until(
      async () => (await facts(key)).some((f) => f.type === 'DeliveryBlocked'),
      20_000,
      'reply held back',
    );
    expect((await cli(['send-policy', key, 'inherit'], { server: bed.url })).code).toBe(ExitCodes.Ok);
    await reply(2);
    await until(
      async () => (await deliveries(bed.nc)).some((d) => d.text === 'answer 2'),
      20_000,
      'reply delivered',
    );
    expect((await deliveries(bed.nc)).map((d) => d.text)).toEqual(['answer 2']);
    const changes = (await facts(key)).filter((f) => f.type === 'SendPolicyChanged');
    expect(changes.map((f) => (f as { override: unknown }).override)).toEqual(['deny', null]);
  });

  it('refuses a missing mode, an unknown mode, and an unknown key', async () => {
    await session('una', 1);
    expect((await cli(['send-policy', keyOf('una')], { server: bed.url })).code).toBe(ExitCodes.Usage);
    expect((await cli(['send-policy', keyOf('una'), 'maybe'], { server: bed.url })).code).toBe(
      ExitCodes.Usage,
    );
    const unknown = await cli(['compact', keyOf('nobody')], { server: bed.url });
    expect(unknown.code).toBe(ExitCodes.NotFound);
    expect(unknown.err).toMatch(/no session "agent:main:telegram:direct:nobody"/);
  });
});
