/**
 * `threadline export --openclaw` against a real nats-server, worker and projector: the files OpenClaw
 * reads — a sessions.json per agent and a JSONL transcript per session — hold what the store and the log
 * say.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIVE_PROJECTION, type ProjectedKey, readBucket, startProjector } from '@threadline/projector';
import { parseConfig } from '@threadline/session-core';
import { history, until, workerTestBed } from '@threadline/session-worker/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCodes } from '../errors.js';
import { cli, sendChat, sendReply, UNREACHABLE } from './cli.support.js';
import type { ExportReportV1 } from './exportOpenClaw.js';

describe('threadline export --openclaw (real nats-server, worker and projector)', () => {
  const bed = workerTestBed({ config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config });
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-export-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes one sessions.json per agent with each key, and each session as a linked JSONL transcript', async () => {
    await bed.start();
    const projector = await startProjector({ nc: bed.nc, partitions: 4 });
    bed.cleanup(() => projector.stop());
    const ann = 'agent:main:telegram:direct:ann';
    const ben = 'agent:main:telegram:direct:ben';
    await sendChat(bed.nc, 'ann', 1, { text: 'hello there' });
    await until(async () => (await history(bed.nc, ann)).length === 1, 20_000, 'ann recorded');
    await sendReply(bed.nc, ann, 'r-ann-1', 'hi Ann', Date.now());
    await sendChat(bed.nc, 'ben', 1, { text: 'good morning' });
    await until(async () => (await history(bed.nc, ann)).length === 2, 20_000, 'reply recorded');
    await until(async () => (await history(bed.nc, ben)).length === 1, 20_000, 'ben recorded');
    await until(
      () => projector.status().pending === 0 && projector.status().handled >= 3,
      20_000,
      'projected',
    );
    await projector.waitFor(projector.status().handled);

    const out = join(dir, 'store');
    const run = await cli(['export', '--openclaw', out, '--json'], { server: bed.url });
    expect(run.code).toBe(ExitCodes.Ok);
    expect(run.json<ExportReportV1>()).toMatchObject({
      sessions: 2,
      transcripts: 2,
      agents: [{ agentId: 'main', sessions: 2 }],
    });

    const sessionsDir = join(out, 'agents', 'main', 'sessions');
    const store = JSON.parse(await readFile(join(sessionsDir, 'sessions.json'), 'utf8')) as Record<
      string,
      Record<string, unknown>
    >;
    expect(Object.keys(store).sort()).toEqual([ann, ben]);
    const live = [...(await readBucket<ProjectedKey>(bed.nc, LIVE_PROJECTION.sessions)).values()];
    const annEntry = live.find((k) => k.sessionKey === ann)?.entry;
    expect(store[ann]).toMatchObject({
      sessionId: annEntry?.sessionId,
      updatedAt: annEntry?.updatedAt,
      chatType: 'direct',
      lastChannel: 'telegram',
      lastTo: 'ann',
    });
    expect(store[ann]).not.toHaveProperty('state'); // Threadline-only fields stay out

    const files = (await readdir(sessionsDir)).sort();
    expect(files).toEqual(
      ['sessions.json', `${store[ann]?.sessionId}.jsonl`, `${store[ben]?.sessionId}.jsonl`].sort(),
    );
    const lines = (await readFile(join(sessionsDir, `${store[ann]?.sessionId}.jsonl`), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ type: 'session', version: 3, id: store[ann]?.sessionId });
    expect(
      lines
        .slice(1)
        .map((l) => [
          l.type,
          (l.message as { role: string }).role,
          (l.message as { content: { text: string }[] }).content[0]?.text,
        ]),
    ).toEqual([
      ['message', 'user', 'hello there'],
      ['message', 'assistant', 'hi Ann'],
    ]);
    expect(lines[1]?.parentId).toBeNull();
    expect(lines[2]?.parentId).toBe(lines[1]?.id);
  });

  it('needs --openclaw (exit 2) and a reachable server (exit 3)', async () => {
    expect((await cli(['export'], { server: UNREACHABLE })).code).toBe(ExitCodes.Usage);
    expect((await cli(['export', '--openclaw', join(dir, 'x')], { server: UNREACHABLE })).code).toBe(
      ExitCodes.Unreachable,
    );
  });
});
