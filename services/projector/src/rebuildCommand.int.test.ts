import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { LIVE_PROJECTION, type ProjectedKey, readBucket, startProjector } from '@threadline/projector';
import { Subjects } from '@threadline/protocol';
import { parseConfig } from '@threadline/session-core';
import { chat, history, until, workerTestBed } from '@threadline/session-worker/testing';
import { describe, expect, it } from 'vitest';
import { parseRebuildArgs, RebuildExit, type RebuildReportV1, runRebuildCommand } from './rebuildCommand.js';

describe('threadline-projector rebuild', () => {
  const bed = workerTestBed({ config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config });

  const traffic = async (peers: string[]) => {
    await bed.start();
    for (const [n, peer] of peers.entries()) {
      const event = chat('telegram', peer, n + 1);
      await jetstream(bed.nc).publish(Subjects.inbound('telegram', peer), JSON.stringify(event), {
        msgID: event.id,
      });
    }
    for (const peer of peers)
      await until(async () => (await history(bed.nc, `agent:main:telegram:direct:${peer}`)).length > 0);
  };
  const live = async () => {
    const projector = await startProjector({ nc: bed.nc, partitions: 4 });
    bed.cleanup(() => projector.stop());
    return projector;
  };
  const run = async (extra: Partial<Parameters<typeof runRebuildCommand>[0]> = {}) => {
    const lines: string[] = [];
    const code = await runRebuildCommand(
      { natsUrl: bed.url, json: true, keep: false, waitMs: 10_000, ...extra },
      (l) => lines.push(l),
    );
    return { code, report: JSON.parse(lines.at(-1) as string) as RebuildReportV1 };
  };

  it('given a live projection that matches the log, then it reports equal (exit 0) and leaves no bucket behind', async () => {
    await traffic(['a1', 'a2', 'a3']);
    await live();
    const { code, report } = await run();
    expect(code).toBe(RebuildExit.Equal);
    expect(report).toMatchObject({
      equal: true,
      keys: 3,
      onlyLive: [],
      onlyRebuilt: [],
      different: [],
      problems: [],
    });
    const names: string[] = [];
    for await (const s of (await jetstreamManager(bed.nc)).streams.names()) names.push(s);
    expect(names.filter((n) => n.includes('-rebuild-'))).toEqual([]);
  });

  it('given a tampered live entry, then it names the key and exits 1', async () => {
    await traffic(['b1', 'b2']);
    const projector = await live();
    await until(async () => (await readBucket<ProjectedKey>(bed.nc, LIVE_PROJECTION.sessions)).size === 2);
    await until(() => projector.status().pending === 0 && projector.status().checkpointed > 0);
    await projector.stop();
    const kv = await new Kvm(bed.nc).open(LIVE_PROJECTION.sessions);
    const [name, value] = [...(await readBucket<ProjectedKey>(bed.nc, LIVE_PROJECTION.sessions))][0] as [
      string,
      ProjectedKey,
    ];
    await kv.put(name, JSON.stringify({ ...value, entry: { ...value.entry, messageCount: 99 } }));
    const { code, report } = await run({ keep: true });
    expect(code).toBe(RebuildExit.Different);
    expect(report.different).toEqual([
      expect.objectContaining({ sessionKey: value.sessionKey, part: 'entry' }),
    ]);
    expect(report.rebuiltInto?.sessions).toMatch(/^threadline-sessions-rebuild-\d+-[0-9a-f]{8}$/);
  });

  it('given no live projector, then it says the live projection is behind (exit 3)', async () => {
    await traffic(['c1']);
    const lines: string[] = [];
    const code = await runRebuildCommand({ natsUrl: bed.url, json: false, keep: false, waitMs: 300 }, (l) =>
      lines.push(l),
    );
    expect(code).toBe(RebuildExit.LiveBehind);
    expect(lines.at(-1)).toMatch(/live projection is at 0, behind the rebuilt \d+/);
  });

  it('parses its arguments and refuses unknown ones', () => {
    expect(parseRebuildArgs(['--json', '--keep', '--wait-ms', '5'])).toEqual({
      json: true,
      keep: true,
      waitMs: 5,
    });
    expect(parseRebuildArgs(['--wait-ms', 'soon'])).toMatch(/--wait-ms needs a whole number/);
    expect(parseRebuildArgs(['--force'])).toMatch(/unknown argument "--force"/);
  });
});
