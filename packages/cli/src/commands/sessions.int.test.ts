/**
 * `threadline sessions list` and `sessions show` against a real nats-server, with the real worker writing
 * the session records and the real projector folding them into the session store.
 */

import { seedSessions } from '@threadline/ops/testing';
import { parseConfig } from '@threadline/session-core';
import { history, until, workerTestBed } from '@threadline/session-worker/testing';
import { describe, expect, it } from 'vitest';
import { ExitCodes } from '../errors.js';
import { cli, sendReply, UNREACHABLE } from './cli.support.js';
import type { SessionListV1, SessionShowV1 } from './sessions.js';

const HOUR = 3_600_000;
const keyOf = (peer: string, agent = 'main') => `agent:${agent}:telegram:direct:${peer}`;

describe('threadline sessions (real nats-server, worker and projector)', () => {
  const bed = workerTestBed({ config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config });

  /** Three sessions: `old` at T0, `ops` (agent ops) and `new` three hours later; the store caught up. */
  const traffic = async () => {
    const { start, now, projector } = await seedSessions(bed);
    await sendReply(bed.nc, keyOf('new'), 'reply-1', 'hello back\nsecond line', start + 3 * HOUR);
    await until(async () => (await history(bed.nc, keyOf('new'))).length === 2, 20_000, 'reply recorded');
    await until(
      () => projector.status().pending === 0 && projector.status().handled >= 4,
      20_000,
      'projected',
    );
    await projector.waitFor(projector.status().handled);
    return { start, now };
  };

  it('lists the sessions newest first with OpenClaw columns, and filters by --active, --agent and --limit', async () => {
    const { now } = await traffic();
    const all = await cli(['sessions', 'list'], { server: bed.url, now });
    expect(all.code).toBe(ExitCodes.Ok);
    expect(all.out[0]).toBe('3 sessions');
    expect(all.out[1]).toMatch(/^Key\s+Kind\s+Age\s+State\s+Model\s+Tokens$/);
    const rows = all.out.slice(2).map((line) => line.split(/\s+/));
    // Newest first; `new` and `opsy` share an updatedAt, so the key breaks the tie.
    expect(rows.map((r) => r[0])).toEqual([keyOf('new'), keyOf('opsy', 'ops'), keyOf('old')]);
    expect(rows[0]).toEqual([keyOf('new'), 'direct', '2m', 'active', '-', expect.stringMatching(/^\d+$/)]);
    expect(rows[2]?.slice(0, 3)).toEqual([keyOf('old'), 'direct', '3h']);

    const active = await cli(['sessions', 'list', '--active', '60', '--json'], { server: bed.url, now });
    expect(active.code).toBe(ExitCodes.Ok);
    const list = active.json<SessionListV1>();
    expect(list).toMatchObject({
      count: 2,
      activeMinutes: 60,
      totalCount: 2,
      limitApplied: 100,
      hasMore: false,
    });
    expect(list.sessions.map((s) => s.key)).toEqual([keyOf('new'), keyOf('opsy', 'ops')]);
    expect(list.sessions[0]).toMatchObject({
      agentId: 'main',
      key: keyOf('new'),
      chatType: 'direct',
      state: 'active',
      ageMs: 2 * 60_000,
      messageCount: 2,
      lastChannel: 'telegram',
      sessionId: expect.any(String),
      updatedAt: now - 2 * 60_000,
    });
    expect(list.sessions[0]).not.toHaveProperty('sessionKey');

    const ops = (
      await cli(['sessions', 'list', '--agent', 'ops', '--json'], { server: bed.url, now })
    ).json<SessionListV1>();
    expect(ops.sessions.map((s) => [s.agentId, s.key])).toEqual([['ops', keyOf('opsy', 'ops')]]);

    const limited = (
      await cli(['sessions', 'list', '--limit', '1', '--json'], { server: bed.url, now })
    ).json<SessionListV1>();
    expect(limited).toMatchObject({ count: 1, totalCount: 3, limitApplied: 1, hasMore: true });
    const every = (
      await cli(['sessions', 'list', '--limit', 'all', '--json'], { server: bed.url, now })
    ).json<SessionListV1>();
    expect(every).toMatchObject({ count: 3, totalCount: 3, limitApplied: null, hasMore: false });
  });

  it('shows one session: its entry and its transcript, one line per turn', async () => {
    const { now } = await traffic();
    const shown = await cli(['sessions', 'show', keyOf('new')], { server: bed.url, now });
    expect(shown.code).toBe(ExitCodes.Ok);
    expect(shown.out[0]).toBe(keyOf('new'));
    expect(shown.text).toMatch(/state\s+active/);
    expect(shown.text).toMatch(/messages\s+2/);
    const turns = shown.out.filter((l) => /^ {2}\[/.test(l));
    expect(turns).toEqual([
      expect.stringMatching(/^ {2}\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] user: message 1$/),
      expect.stringMatching(/\] assistant: hello back second line$/),
    ]);

    const json = (
      await cli(['sessions', 'show', keyOf('new'), '--json'], { server: bed.url, now })
    ).json<SessionShowV1>();
    expect(json.key).toBe(keyOf('new'));
    expect(json.entry).toMatchObject({ sessionKey: keyOf('new'), agentId: 'main', messageCount: 2 });
    expect(json.transcript?.turns.map((t) => [t.role, t.text])).toEqual([
      ['user', 'message 1'],
      ['assistant', 'hello back\nsecond line'],
    ]);
    expect(json.transcript?.sessionId).toBe(json.entry.sessionId);
  });

  it('refuses an unknown key (exit 4), a bad --active (exit 2) and an unreachable server (exit 3)', async () => {
    await traffic();
    const unknown = await cli(['sessions', 'show', keyOf('nobody')], { server: bed.url });
    expect(unknown.code).toBe(ExitCodes.NotFound);
    expect(unknown.err).toContain(`no session "${keyOf('nobody')}"`);
    const unknownJson = await cli(['sessions', 'show', keyOf('nobody'), '--json'], { server: bed.url });
    expect(unknownJson.json()).toEqual({
      error: expect.objectContaining({ exitCode: 4, message: expect.stringContaining(keyOf('nobody')) }),
    });

    for (const bad of ['0', '-5', 'ten', '1.5']) {
      const run = await cli(['sessions', 'list', `--active=${bad}`], { server: bed.url });
      expect(run.code, bad).toBe(ExitCodes.Usage);
      expect(run.err).toMatch(/--active needs a positive whole number|option/);
    }
    expect((await cli(['sessions', 'list', '--limit', 'lots'], { server: bed.url })).code).toBe(
      ExitCodes.Usage,
    );

    const away = await cli(['sessions', 'list'], { server: UNREACHABLE });
    expect(away.code).toBe(ExitCodes.Unreachable);
    expect(away.err).toContain(`cannot reach the NATS server at ${UNREACHABLE}`);
    const awayShow = await cli(['sessions', 'show', keyOf('new'), '--json'], { server: UNREACHABLE });
    expect(awayShow.code).toBe(ExitCodes.Unreachable);
    expect(awayShow.json<{ error: { message: string } }>().error.message).toContain(UNREACHABLE);
  });

  it('says so when there is no session store yet', async () => {
    const run = await cli(['sessions', 'list', '--json'], { server: bed.url });
    expect(run.code).toBe(ExitCodes.Ok);
    expect(run.json()).toMatchObject({ count: 0, totalCount: 0, sessions: [] });
    const text = await cli(['sessions', 'list'], { server: bed.url });
    expect(text.out).toEqual([expect.stringMatching(/^no session store yet/)]);
  });
});
