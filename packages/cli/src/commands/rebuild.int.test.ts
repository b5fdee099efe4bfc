/**
 * `threadline rebuild` against a real nats-server, with the real worker and projector: equal when the
 * live store is what the log says, the tampered key named when it is not, and a clear failure when the
 * live projection is behind.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { LIVE_PROJECTION, type ProjectedKey, readBucket, startProjector } from '@threadline/projector';
import { parseConfig } from '@threadline/session-core';
import { history, until, workerTestBed } from '@threadline/session-worker/testing';
import { describe, expect, it } from 'vitest';
import { ExitCodes } from '../errors.js';
import { cli, sendChat, UNREACHABLE } from './cli.support.js';
import type { RebuildReportV1 } from './rebuild.js';

const keyOf = (peer: string) => `agent:main:telegram:direct:${peer}`;

describe('threadline rebuild (real nats-server, worker and projector)', () => {
  const bed = workerTestBed({ config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config });

  const traffic = async (peers: string[]) => {
    await bed.start();
    for (const [n, peer] of peers.entries()) await sendChat(bed.nc, peer, n + 1);
    for (const peer of peers)
      await until(async () => (await history(bed.nc, keyOf(peer))).length > 0, 20_000, `${peer} recorded`);
  };
  const live = async () => {
    const projector = await startProjector({ nc: bed.nc, partitions: 4 });
    bed.cleanup(() => projector.stop());
    return projector;
  };
  const rebuildStreams = async () => {
    const names: string[] = [];
    for await (const s of (await jetstreamManager(bed.nc)).streams.names()) names.push(s);
    return names.filter((n) => n.includes('-rebuild-'));
  };

  it('reports equal (exit 0) when the live projection matches the log, and leaves no bucket behind', async () => {
    await traffic(['a1', 'a2', 'a3']);
    await live();
    const run = await cli(['rebuild', '--json', '--wait-ms', '10000'], { server: bed.url });
    expect(run.code).toBe(ExitCodes.Ok);
    expect(run.json<RebuildReportV1>()).toMatchObject({
      v: 1,
      equal: true,
      untilSeq: 3,
      keys: 3,
      recordsFolded: 3,
      onlyLive: [],
      onlyRebuilt: [],
      different: [],
      movedOn: [],
      problems: [],
      rebuiltInto: null,
    });
    expect(await rebuildStreams()).toEqual([]);

    const text = await cli(['rebuild'], { server: bed.url });
    expect(text.code).toBe(ExitCodes.Ok);
    expect(text.out).toEqual(['equal: 3 keys, 3 records folded; the live projection is what the log says']);
    expect(text.err).toContain('rebuilding the projection from records 1…3');
  });

  it('names a tampered key and exits 1 (findings); --keep keeps the rebuilt buckets', async () => {
    await traffic(['b1', 'b2']);
    const projector = await live();
    await until(async () => (await readBucket<ProjectedKey>(bed.nc, LIVE_PROJECTION.sessions)).size === 2);
    await until(() => projector.status().pending === 0 && projector.status().checkpointed >= 2);
    await projector.stop();
    const kv = await new Kvm(bed.nc).open(LIVE_PROJECTION.sessions);
    const [name, value] = [...(await readBucket<ProjectedKey>(bed.nc, LIVE_PROJECTION.sessions))][0] as [
      string,
      ProjectedKey,
    ];
    await kv.put(name, JSON.stringify({ ...value, entry: { ...value.entry, messageCount: 99 } }));

    const run = await cli(['rebuild', '--keep', '--json'], { server: bed.url });
    expect(run.code).toBe(ExitCodes.Findings);
    const report = run.json<RebuildReportV1>();
    expect(report.equal).toBe(false);
    expect(report.different).toEqual([
      { sessionKey: value.sessionKey, part: 'entry', liveSeq: value.seq, rebuiltSeq: value.seq },
    ]);
    expect(report.rebuiltInto?.sessions).toMatch(/^threadline-sessions-rebuild-\d+-[0-9a-f]{8}$/);
    expect((await rebuildStreams()).sort()).toEqual(
      [`KV_${report.rebuiltInto?.sessions}`, `KV_${report.rebuiltInto?.transcripts}`].sort(),
    );

    const text = await cli(['rebuild'], { server: bed.url });
    expect(text.code).toBe(ExitCodes.Findings);
    expect(text.out[0]).toBe('DIFFERENT: 0 only live, 0 only rebuilt, 1 differing');
    expect(text.out[1]).toBe(
      `  ${value.sessionKey}: entry differs (live at ${value.seq}, rebuilt at ${value.seq})`,
    );
  });

  it('fails (exit 5) saying the live projection is behind when no projector runs', async () => {
    await traffic(['c1']);
    const run = await cli(['rebuild', '--wait-ms', '300'], { server: bed.url });
    expect(run.code).toBe(ExitCodes.Failed);
    expect(run.err).toMatch(
      /the live projection is at 0, behind the rebuilt 1: it did not catch up within 300 ms/,
    );
    expect(run.err).toContain('is a projector running');
    expect(await rebuildStreams()).toEqual([]);
    const json = await cli(['rebuild', '--wait-ms', '0', '--json'], { server: bed.url });
    expect(json.json()).toEqual({ error: expect.objectContaining({ exitCode: 5 }) });
  });

  it('refuses bad usage (exit 2), a server without a session stream (exit 4) and an unreachable one (exit 3)', async () => {
    expect((await cli(['rebuild', '--wait-ms', 'soon'], { server: bed.url })).code).toBe(ExitCodes.Usage);
    expect((await cli(['rebuild', '--force'], { server: bed.url })).code).toBe(ExitCodes.Usage);
    const empty = await cli(['rebuild'], { server: bed.url });
    expect(empty.code).toBe(ExitCodes.NotFound);
    expect(empty.err).toContain('there is no session stream');
    const away = await cli(['rebuild', '--json'], { server: UNREACHABLE });
    expect(away.code).toBe(ExitCodes.Unreachable);
    expect(away.json<{ error: { message: string } }>().error.message).toContain(UNREACHABLE);
  });
});
