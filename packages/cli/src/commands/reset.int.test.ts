/**
 * `threadline reset` against a real nats-server: the CLI publishes the control event, the real worker
 * applies it — the key's history gains the reset and a new session — and the real projector shows it.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { startProjector } from '@threadline/projector';
import { type ControlEventV1, StreamNames } from '@threadline/protocol';
import { parseConfig, type SessionFact } from '@threadline/session-core';
import { history, until, workerTestBed } from '@threadline/session-worker/testing';
import { describe, expect, it } from 'vitest';
import { ExitCodes } from '../errors.js';
import { cli, sendChat, UNREACHABLE } from './cli.support.js';
import type { ResetV1 } from './reset.js';
import type { SessionShowV1 } from './sessions.js';

const keyOf = (peer: string) => `agent:main:telegram:direct:${peer}`;

describe('threadline reset (real nats-server, worker and projector)', () => {
  const bed = workerTestBed({ config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config });

  const facts = async (key: string): Promise<SessionFact[]> =>
    (await history(bed.nc, key)).flatMap((r) => r.body.facts);

  const session = async (peer: string) => {
    await bed.start();
    const projector = await startProjector({ nc: bed.nc, partitions: 4 });
    bed.cleanup(() => projector.stop());
    await sendChat(bed.nc, peer, 1);
    await until(async () => (await history(bed.nc, keyOf(peer))).length === 1, 20_000, 'recorded');
    await until(
      () => projector.status().handled >= 1 && projector.status().pending === 0,
      20_000,
      'projected',
    );
    await projector.waitFor(projector.status().handled);
    return projector;
  };

  it('publishes a session.reset the worker applies: the history gains SessionReset and a new SessionStarted', async () => {
    await session('rita');
    const key = keyOf('rita');
    const before = (await facts(key)).find((f) => f.type === 'SessionStarted') as { sessionId: string };

    const run = await cli(['reset', key, '--reason', 'support-ticket-42', '--json'], { server: bed.url });
    expect(run.code).toBe(ExitCodes.Ok);
    const result = run.json<ResetV1>();
    expect(result).toMatchObject({
      sessionKey: key,
      trigger: 'support-ticket-42',
      subject: `tl.ctl.v1.${key}`,
      stream: StreamNames.keyed,
      duplicate: false,
    });
    expect(result.id).toMatch(/^ops:reset:[0-9a-f-]{36}$/);

    // The event as stored, with its id as the message id.
    const stored = await (await jetstreamManager(bed.nc)).streams.getMessage(StreamNames.keyed, {
      seq: result.seq,
    });
    expect(stored?.json<ControlEventV1>()).toEqual({
      v: 1,
      type: 'session.reset',
      id: result.id,
      sessionKey: key,
      at: result.at,
      trigger: 'support-ticket-42',
    });
    expect(stored?.header.get('Nats-Msg-Id')).toBe(result.id);

    await until(
      async () => (await facts(key)).some((f) => f.type === 'SessionReset'),
      20_000,
      'reset applied',
    );
    const after = await facts(key);
    expect(after.filter((f) => f.type === 'SessionReset')).toEqual([
      expect.objectContaining({ sessionId: before.sessionId, trigger: 'support-ticket-42' }),
    ]);
    const started = after.filter((f) => f.type === 'SessionStarted') as {
      sessionId: string;
      reason: string;
    }[];
    expect(started).toHaveLength(2);
    expect(started[1]?.sessionId).not.toBe(before.sessionId);
    expect(started[1]?.reason).toBe('reset');
    const last = (await history(bed.nc, key)).at(-1);
    expect(last?.body.inputId).toBe(`ctl:${result.id}`);

    // The projection follows: the key's entry names the new session and the old one as previous.
    await until(
      async () => {
        const shown = await cli(['sessions', 'show', key, '--json'], { server: bed.url });
        return shown.json<SessionShowV1>().entry.previousSessionId === before.sessionId;
      },
      20_000,
      'projected reset',
    );

    // Text output names the event id; without --reason the trigger is `operator`.
    const text = await cli(['reset', key], { server: bed.url });
    expect(text.code).toBe(ExitCodes.Ok);
    const id = /^reset requested: (ops:reset:\S+)$/.exec(text.out[0] ?? '')?.[1];
    expect(id).toBeDefined();
    expect(text.text).toContain('trigger "operator"');
    await until(
      async () => (await facts(key)).filter((f) => f.type === 'SessionReset').length === 2,
      20_000,
      'second reset',
    );
    expect((await facts(key)).filter((f) => f.type === 'SessionReset').at(-1)).toMatchObject({
      trigger: 'operator',
    });
  });

  it('refuses an unknown key (exit 4), a bad reason (exit 2) and an unreachable server (exit 3)', async () => {
    await session('sam');
    const unknown = await cli(['reset', keyOf('nobody')], { server: bed.url });
    expect(unknown.code).toBe(ExitCodes.NotFound);
    expect(unknown.err).toContain(`no session "${keyOf('nobody')}" in the session store`);
    // Nothing was published for it.
    const keyed = await (await jetstreamManager(bed.nc)).streams.info(StreamNames.keyed);
    const subjects = await (await jetstreamManager(bed.nc)).streams.info(StreamNames.keyed, {
      subjects_filter: 'tl.ctl.>',
    });
    expect(Object.keys(subjects.state.subjects ?? {})).toEqual([]);
    expect(keyed.state.messages).toBeGreaterThan(0);

    const long = await cli(['reset', keyOf('sam'), '--reason', 'x'.repeat(65), '--json'], {
      server: bed.url,
    });
    expect(long.code).toBe(ExitCodes.Usage);
    expect(long.json<{ error: { message: string } }>().error.message).toMatch(
      /--reason must be 1 to 64 characters/,
    );
    expect((await cli(['reset'], { server: bed.url })).code).toBe(ExitCodes.Usage);

    const away = await cli(['reset', keyOf('sam')], { server: UNREACHABLE });
    expect(away.code).toBe(ExitCodes.Unreachable);
    expect(away.err).toContain(UNREACHABLE);
  });
});
