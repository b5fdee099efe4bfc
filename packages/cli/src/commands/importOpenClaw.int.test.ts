/**
 * `threadline import --openclaw` against a real nats-server, worker and projector. The round trip of the
 * issue's "done when": a store written by `export` from one system, imported into an empty one, gives the
 * same entries — and exporting the second system gives the very same files. Then: a second import changes
 * nothing, a key that already runs another session is left alone, legacy `:dm:` keys are normalised, bad
 * entries are named, and an imported session goes on as a live one.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIVE_PROJECTION, type ProjectedKey, readBucket, startProjector } from '@threadline/projector';
import { parseConfig, type SessionFact } from '@threadline/session-core';
import { history, until, workerTestBed } from '@threadline/session-worker/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCodes } from '../errors.js';
import { openClawEntryOf } from '../openclaw/layout.js';
import { cli, sendChat, sendReply, UNREACHABLE } from './cli.support.js';
import type { ImportReportV1 } from './importOpenClaw.js';

const ann = 'agent:main:telegram:direct:ann';
const ben = 'agent:main:telegram:direct:ben';
const ops = 'agent:ops:discord:direct:cy';

describe('threadline import --openclaw (real nats-server, worker and projector)', () => {
  const bed = workerTestBed({
    config: parseConfig({ session: { dmScope: 'per-channel-peer' }, compaction: { keepRecentTurns: 1 } })
      .config,
  });
  let dir = '';
  /** What system A's session store said, per key, in OpenClaw's fields. */
  let before: Record<string, unknown> = {};
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-import-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const withProjector = async () => {
    await bed.start();
    const projector = await startProjector({ nc: bed.nc, partitions: 4 });
    bed.cleanup(() => projector.stop());
    return projector;
  };
  const facts = async (key: string): Promise<SessionFact[]> =>
    (await history(bed.nc, key)).flatMap((r) => r.body.facts);
  const openClawEntries = async () => {
    const out: Record<string, unknown> = {};
    for (const { sessionKey, entry } of (
      await readBucket<ProjectedKey>(bed.nc, LIVE_PROJECTION.sessions)
    ).values())
      out[sessionKey] = openClawEntryOf(entry);
    return out;
  };
  /** Every file of an export, by its path under the export folder. */
  const filesOf = async (root: string) => {
    const out: Record<string, string> = {};
    for (const agent of await readdir(join(root, 'agents'))) {
      const sessionsDir = join(root, 'agents', agent, 'sessions');
      for (const file of await readdir(sessionsDir))
        out[`${agent}/${file}`] = await readFile(join(sessionsDir, file), 'utf8');
    }
    return out;
  };

  it('system A: sessions with replies, a send override, a compaction and a second agent, exported', async () => {
    const projector = await withProjector();
    await sendChat(bed.nc, 'ann', 1, {
      text: 'flights to Lisbon?',
      sender: { id: 'ann', displayName: 'Ann', isAuthorized: true, isOwner: true },
    });
    await until(async () => (await history(bed.nc, ann)).length === 1, 20_000, 'ann recorded');
    await sendReply(bed.nc, ann, 'r-ann-1', 'TAP at 9:10', Date.now());
    await sendChat(bed.nc, 'ann', 2, { text: 'and hotels?' });
    await until(async () => (await history(bed.nc, ann)).length === 3, 20_000, 'ann turns');
    await sendReply(bed.nc, ann, 'r-ann-2', 'three near the river', Date.now());
    await until(async () => (await history(bed.nc, ann)).length === 4, 20_000, 'ann reply 2');
    // The levers need the key in the session store: let the projector catch up first.
    await until(() => projector.status().pending === 0 && projector.status().handled >= 4, 20_000, 'stored');
    await projector.waitFor(projector.status().handled);
    expect((await cli(['compact', ann], { server: bed.url })).code).toBe(ExitCodes.Ok);
    await until(
      async () => (await facts(ann)).some((f) => f.type === 'CompactionCompleted'),
      20_000,
      'compacted',
    );
    expect((await cli(['send-policy', ann, 'off'], { server: bed.url })).code).toBe(ExitCodes.Ok);
    await until(async () => (await facts(ann)).some((f) => f.type === 'SendPolicyChanged'), 20_000, 'policy');
    await sendChat(bed.nc, 'ann', 3, { text: 'book the second one' });
    await sendChat(bed.nc, 'ben', 1, { text: 'good morning' });
    await sendChat(bed.nc, 'cy', 1, { text: 'deploy status?', agentId: 'ops' }, 'discord');
    await until(async () => (await history(bed.nc, ops)).length === 1, 20_000, 'cy recorded');
    await until(async () => (await history(bed.nc, ben)).length === 1, 20_000, 'ben recorded');
    await until(
      async () => (await facts(ann)).filter((f) => f.type === 'MessageRecorded').length >= 3,
      20_000,
      'ann 3',
    );
    await until(() => projector.status().pending === 0, 20_000, 'projected');
    await projector.waitFor(projector.status().handled);

    before = await openClawEntries();
    expect(Object.keys(before).sort()).toEqual([ann, ben, ops]);
    expect(before[ann]).toMatchObject({ compactionCount: 1, sendPolicy: 'deny' });
    const run = await cli(['export', '--openclaw', join(dir, 'a'), '--json'], { server: bed.url });
    expect(run.code).toBe(ExitCodes.Ok);
    expect(run.json()).toMatchObject({ sessions: 3, transcripts: 3 });
  });

  it('system B, empty: the import gives the same entries, and its export the very same files', async () => {
    const projector = await withProjector();
    expect(await openClawEntries()).toEqual({});
    const run = await cli(['import', '--openclaw', join(dir, 'a'), '--json'], { server: bed.url });
    expect(run.err).toBe('');
    expect(run.code).toBe(ExitCodes.Ok);
    const report = run.json<ImportReportV1>();
    expect(report.imported.map((i) => i.sessionKey).sort()).toEqual([ann, ben, ops]);
    expect(report).toMatchObject({ unchanged: [], conflicts: [], invalid: [], pending: [], superseded: [] });
    expect(report.imported.find((i) => i.sessionKey === ann)).toMatchObject({
      transcript: true,
      omittedTurns: 0,
    });
    await until(() => projector.status().pending === 0, 20_000, 'projected');
    await projector.waitFor(projector.status().handled);

    expect(await openClawEntries()).toEqual(before);
    expect((await cli(['export', '--openclaw', join(dir, 'b')], { server: bed.url })).code).toBe(
      ExitCodes.Ok,
    );
    expect(await filesOf(join(dir, 'b'))).toEqual(await filesOf(join(dir, 'a')));

    // Each key's log starts with the import, as one record.
    expect((await facts(ann)).map((f) => f.type)).toEqual(['SessionImported']);

    // A second run changes nothing: every session is unchanged, and no key got another record.
    const again = await cli(['import', '--openclaw', join(dir, 'a'), '--json'], { server: bed.url });
    expect(again.code).toBe(ExitCodes.Ok);
    expect(again.json<ImportReportV1>()).toMatchObject({ imported: [], conflicts: [] });
    expect(
      again
        .json<ImportReportV1>()
        .unchanged.map((u) => u.sessionKey)
        .sort(),
    ).toEqual([ann, ben, ops]);
    expect((await history(bed.nc, ann)).length).toBe(1);

    // The imported session is live: Ann's next message continues it, summary and all.
    const sessionId = (before[ann] as { sessionId: string }).sessionId;
    await sendChat(bed.nc, 'ann', 4, { text: 'thanks!' });
    await until(async () => (await history(bed.nc, ann)).length === 2, 20_000, 'ann continues');
    expect((await facts(ann)).at(-1)).toMatchObject({ type: 'MessageRecorded', sessionId });
    await until(() => projector.status().pending === 0, 20_000, 'projected');
    await projector.waitFor(projector.status().handled);
    const shown = await cli(['sessions', 'show', ann, '--json'], { server: bed.url });
    const turns = shown.json<{ transcript: { turns: { role: string; text: string }[] } }>().transcript.turns;
    expect(turns[0]?.role).toBe('summary');
    expect(turns.at(-1)).toMatchObject({ role: 'user', text: 'thanks!' });
  });

  it('normalises legacy :dm: keys (the newer twin wins), leaves a key with another session alone, and names bad entries', async () => {
    const projector = await withProjector();
    await sendChat(bed.nc, 'dot', 1, { text: 'already here' });
    await until(
      async () => (await history(bed.nc, 'agent:main:telegram:direct:dot')).length === 1,
      20_000,
      'dot',
    );
    await until(
      () => projector.status().pending === 0 && projector.status().handled >= 1,
      20_000,
      'projected',
    );
    await projector.waitFor(projector.status().handled);

    const root = join(dir, 'legacy');
    const sessionsDir = join(root, 'agents', 'main', 'sessions');
    await mkdir(sessionsDir, { recursive: true });
    const t = Date.now() - 60_000;
    await writeFile(
      join(sessionsDir, 'sessions.json'),
      JSON.stringify({
        'agent:main:telegram:dm:eve': { sessionId: 'eve-new', updatedAt: t + 10, chatType: 'direct' },
        'agent:main:telegram:direct:eve': { sessionId: 'eve-old', updatedAt: t },
        'agent:main:telegram:direct:dot': { sessionId: 'dot-openclaw', updatedAt: t },
        'agent:main:telegram:direct:fay': { sessionId: 'fay', updatedAt: t },
        'agent:main:telegram:direct:gus': { updatedAt: t },
        'agent:main': { sessionId: 'nokey', updatedAt: t },
      }),
    );
    await writeFile(
      join(sessionsDir, 'eve-new.jsonl'),
      `${JSON.stringify({ type: 'session', version: 3, id: 'eve-new', timestamp: new Date(t).toISOString() })}\n` +
        `${JSON.stringify({ type: 'message', id: 'e1', timestamp: new Date(t + 5).toISOString(), message: { role: 'user', content: 'hi from the old days' } })}\n`,
    );
    await writeFile(join(sessionsDir, 'fay.jsonl'), '{"type":"session"}\nnot json\n');

    const dry = await cli(['import', '--openclaw', root, '--dry-run', '--json'], { server: bed.url });
    expect(dry.json<ImportReportV1>()).toMatchObject({
      dryRun: true,
      imported: [{ sessionKey: 'agent:main:telegram:direct:eve' }],
    });
    expect(await history(bed.nc, 'agent:main:telegram:direct:eve')).toEqual([]);

    const run = await cli(['import', '--openclaw', root, '--json'], { server: bed.url });
    expect(run.code).toBe(ExitCodes.Findings);
    const report = run.json<ImportReportV1>();
    expect(report.imported).toEqual([
      expect.objectContaining({
        sessionKey: 'agent:main:telegram:direct:eve',
        sessionId: 'eve-new',
        turns: 1,
      }),
    ]);
    expect(report.superseded).toEqual([
      {
        sessionKey: 'agent:main:telegram:direct:eve',
        rawKey: 'agent:main:telegram:direct:eve',
        sessionId: 'eve-old',
        by: 'agent:main:telegram:dm:eve',
      },
    ]);
    expect(report.conflicts).toEqual([
      expect.objectContaining({ sessionKey: 'agent:main:telegram:direct:dot', sessionId: 'dot-openclaw' }),
    ]);
    expect(report.invalid.map((i) => [i.rawKey, i.reason])).toEqual([
      ['agent:main:telegram:direct:fay', expect.stringMatching(/fay\.jsonl:2 is not JSON/)],
      ['agent:main:telegram:direct:gus', 'the entry has no sessionId'],
      ['agent:main', 'not a session key (agent:<id>:<rest>)'],
    ]);
    // The key that already ran a session still runs its own.
    expect((await facts('agent:main:telegram:direct:dot')).map((f) => f.type)).toEqual([
      'SessionStarted',
      'MessageRecorded',
    ]);
    expect(run.err).toBe('');
  });

  it('says what is wrong: no --openclaw (2), no store in the folder (4), an unreachable server (3)', async () => {
    expect((await cli(['import'], { server: UNREACHABLE })).code).toBe(ExitCodes.Usage);
    const empty = await cli(['import', '--openclaw', join(dir, 'nothing-here')], { server: UNREACHABLE });
    expect(empty.code).toBe(ExitCodes.NotFound);
    expect(empty.err).toMatch(/no OpenClaw session store under/);
    const store = join(dir, 'unreachable', 'agents', 'main', 'sessions');
    await mkdir(store, { recursive: true });
    await writeFile(
      join(store, 'sessions.json'),
      JSON.stringify({ 'agent:main:main': { sessionId: 's', updatedAt: 1 } }),
    );
    expect(
      (await cli(['import', '--openclaw', join(dir, 'unreachable')], { server: UNREACHABLE })).code,
    ).toBe(ExitCodes.Unreachable);
  });
});
