/**
 * `threadline forget` against a real nats-server with the real worker, projector and scheduler running:
 * several people chat (DMs on two channels, one person linked across them, a group, a shared main
 * session), replies and deliveries flow, timers are armed, a dead letter carries the person's id; the
 * person is forgotten; then every stream and every KV bucket — every message, history included, subjects,
 * headers and bodies, dead letters' original bytes decoded — is searched for the person: nothing.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { GENESIS_HASH, scanStream } from '@threadline/event-log';
import { auditProjection, startProjector } from '@threadline/projector';
import { decodeBase64, Subjects } from '@threadline/protocol';
import { keyHash, startScheduler } from '@threadline/scheduler';
import { parseConfig } from '@threadline/session-core';
import { snapshotEntryName } from '@threadline/session-worker';
import { deliveries, history, PARTITIONS, until, workerTestBed } from '@threadline/session-worker/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCodes } from '../errors.js';
import { cli, sendChat, sendReply } from './cli.support.js';
import type { ForgetReportV1 } from './forget.js';

const rawConfig = {
  session: {
    dmScope: 'per-channel-peer',
    identityLinks: { zedlinked: ['telegram:zed-tg-4417', 'discord:zed-dc-4417'] },
  },
};
const config = parseConfig(rawConfig).config;

const ZED_TG = 'agent:main:telegram:direct:zedlinked';
const ZED_DC = 'agent:main:discord:direct:zedlinked';
const ANN = 'agent:main:telegram:direct:ann-tg-2210';
const BEN = 'agent:main:discord:direct:ben-dc-3391';
const GROUP = 'agent:main:telegram:group:grp-5510';
const MAIN = 'agent:main:main';
const ZED_KEYS = [ZED_TG, ZED_DC];
/** What must not be found anywhere after the person is forgotten. */
const NEEDLES = [
  'zed-tg-4417',
  'zed-dc-4417',
  'zedlinked',
  'zedsecret',
  'for-zed-only',
  ...[...ZED_KEYS, GROUP, MAIN].flatMap((k) => [snapshotEntryName(k), keyHash(k)]),
];

describe('threadline forget (real nats-server, worker, projector and scheduler)', () => {
  const bed = workerTestBed({ config });
  let dir = '';
  let configPath = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-forget-'));
    configPath = join(dir, 'threadline.json5');
    await writeFile(configPath, JSON.stringify(rawConfig));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The whole cast, chatting, with the worker, projector and scheduler running. */
  async function scene() {
    await bed.start();
    const projector = await startProjector({ nc: bed.nc, partitions: PARTITIONS });
    bed.cleanup(() => projector.stop());
    const scheduler = await startScheduler({
      nc: bed.nc,
      clock: bed.clock,
      config,
      hostTimeZone: 'UTC',
      schedulerId: 's1',
      partitions: PARTITIONS,
    });
    bed.cleanup(() => scheduler.stop());
    const nc = bed.nc;
    const group = (peer: string, name: string, n: number, text: string) =>
      sendChat(nc, 'grp-5510', n, {
        id: `telegram:grp-5510:${name}:${n}`,
        chatType: 'group',
        peer: { kind: 'group', id: 'grp-5510' },
        sender: { id: peer, isAuthorized: true },
        text,
      });
    await sendChat(nc, 'zed-tg-4417', 1, { text: 'ZEDSECRET one: my address is 12 Elm' });
    await sendChat(nc, 'zed-dc-4417', 1, { text: 'ZEDSECRET two from discord' }, 'discord');
    await sendChat(nc, 'ann-tg-2210', 1, { text: 'ann says hello' });
    await sendChat(nc, 'ben-dc-3391', 1, { text: 'ben says hi' }, 'discord');
    await group('zed-tg-4417', 'zed', 1, 'ZEDSECRET three in the group');
    await group('ann-tg-2210', 'ann', 2, 'ann in the group');
    // The shared main session: explicit key (cron-like), two people.
    await sendChat(nc, 'zed-tg-4417', 2, { sessionKey: MAIN, text: 'ZEDSECRET four in main' });
    await sendChat(nc, 'ann-tg-2210', 2, { sessionKey: MAIN, text: 'ann in main' });
    // A dead letter with Zed's id inside its original bytes (no `at`: a schema violation).
    const bad = { v: 1, type: 'chat.message', id: 'bad-1', channel: 'telegram', chatType: 'direct' };
    await jetstream(nc).publish(
      Subjects.inbound('telegram', 'zed-tg-4417'),
      JSON.stringify({
        ...bad,
        peer: { kind: 'direct', id: 'zed-tg-4417' },
        sender: { id: 'zed-tg-4417' },
        text: 'ZEDSECRET bad',
      }),
      { msgID: 'bad-1' },
    );
    for (const key of [ZED_TG, ZED_DC, ANN, BEN, GROUP])
      await until(async () => (await history(nc, key)).length >= 1, 20_000, `${key} recorded`);
    await until(async () => (await history(nc, MAIN)).length === 2, 20_000, 'main recorded');
    await sendReply(nc, ZED_TG, 'r-zed-1', 'for-zed-only: noted your address', Date.now());
    await sendReply(nc, ANN, 'r-ann-1', 'hello Ann', Date.now());
    await sendReply(nc, GROUP, 'r-grp-1', 'for-zed-only and Ann in the group', Date.now());
    await until(async () => (await history(nc, ZED_TG)).length === 2, 20_000, 'zed reply recorded');
    await until(async () => (await history(nc, ANN)).length === 2, 20_000, 'ann reply recorded');
    await until(async () => (await history(nc, GROUP)).length === 3, 20_000, 'group reply recorded');
    await until(async () => (await deliveries(nc)).length >= 3, 20_000, 'deliveries published');
    await until(
      async () => (await bucketText(nc, 'threadline-timers')).includes('zedlinked'),
      20_000,
      'timers indexed',
    );
    await until(
      () => projector.status().pending === 0 && projector.status().handled >= 10,
      20_000,
      'projected',
    );
    await projector.waitFor(projector.status().handled);
    return { projector };
  }

  it('refuses while shared sessions hold the person, erasing nothing (exit 1); --dry-run shows the plan', async () => {
    await scene();
    const before = await everything(bed.nc);
    const refused = await cli(
      ['forget', '--peer', 'telegram:zed-tg-4417', '--config', configPath, '--json'],
      {
        server: bed.url,
      },
    );
    expect(refused.code).toBe(ExitCodes.Findings);
    const r = refused.json<ForgetReportV1>();
    expect(r.outcome).toBe('refused');
    expect(r.canonical).toBe('zedlinked');
    expect(r.keys.personal).toEqual([ZED_DC, ZED_TG]);
    expect(r.keys.shared).toEqual([MAIN, GROUP].sort());
    expect(await everything(bed.nc)).toEqual(before); // nothing erased

    const plan = await cli(
      [
        'forget',
        '--peer',
        'discord:zed-dc-4417',
        '--config',
        configPath,
        '--include-shared',
        '--dry-run',
        '--json',
      ],
      { server: bed.url },
    );
    expect(plan.code).toBe(ExitCodes.Ok);
    const p = plan.json<ForgetReportV1>();
    expect(p).toMatchObject({
      outcome: 'planned',
      rounds: 0,
      keys: { erased: [ZED_DC, ZED_TG, MAIN, GROUP].sort() },
    });
    expect(p.streams.THREADLINE_SESSIONS).toBe(2 + 1 + 2 + 3); // zed tg (msg+reply), zed dc, main, group
    expect(p.streams.THREADLINE_DEAD_LETTERS).toBe(1);
    expect(p.streams.THREADLINE_DELIVERIES).toBeGreaterThanOrEqual(2);
    expect(p.buckets.sessions).toBe(4);
    expect(p.buckets.timers).toBeGreaterThan(0);
    expect(await everything(bed.nc)).toEqual(before); // a plan changes nothing

    const text = await cli(
      ['forget', '--peer', 'telegram:zed-tg-4417', '--config', configPath, '--dry-run'],
      {
        server: bed.url,
      },
    );
    expect(text.code).toBe(ExitCodes.Findings); // the plan would be refused: shared keys, no --include-shared
    expect(text.text).toContain(
      'shared sessions they wrote in: agent:main:main, agent:main:telegram:group:grp-5510',
    );
  });

  it('erases the person everywhere; others stay intact, audits are clean, and the person can start afresh', async () => {
    await scene();
    const annBefore = (await history(bed.nc, ANN)).map((r) => r.hash);
    const benBefore = (await history(bed.nc, BEN)).map((r) => r.hash);
    expect(await hits(bed.nc)).not.toEqual([]); // the search finds the person before

    const run = await cli(
      ['forget', '--peer', 'telegram:zed-tg-4417', '--config', configPath, '--include-shared', '--json'],
      { server: bed.url },
    );
    expect(run.code, run.text).toBe(ExitCodes.Ok);
    const report = run.json<ForgetReportV1>();
    expect(report.outcome).toBe('erased');
    expect(report.keys.erased).toEqual([ZED_DC, ZED_TG, MAIN, GROUP].sort());
    expect(report.streams.THREADLINE_SESSIONS).toBe(8);
    expect(report.buckets.sessions).toBe(4);
    expect(report.services.acknowledged.map((a) => a.service).sort()).toEqual([
      'projector',
      'scheduler:s1',
      'worker:w1',
    ]);
    expect(report.services.unconfirmed).toEqual([]);

    expect(await hits(bed.nc)).toEqual([]);
    // The others: untouched histories, clean chains, a projection equal to its rebuild.
    expect((await history(bed.nc, ANN)).map((r) => r.hash)).toEqual(annBefore);
    expect((await history(bed.nc, BEN)).map((r) => r.hash)).toEqual(benBefore);
    const audit = await cli(['audit', 'verify', '--json'], { server: bed.url });
    expect(audit.code, audit.text).toBe(ExitCodes.Ok);
    const compared = await auditProjection(bed.nc);
    expect(compared.outcome).toBe('compared');
    if (compared.outcome === 'compared')
      expect(compared.report.equal, JSON.stringify(compared.report)).toBe(true);
    const out = join(dir, 'export');
    expect((await cli(['export', '--openclaw', out], { server: bed.url })).code).toBe(ExitCodes.Ok);
    const exported = await filesText(out);
    expect(exported).toContain('ann-tg-2210');
    for (const needle of NEEDLES) expect(exported.toLowerCase()).not.toContain(needle);

    // Zed comes back: a fresh session, chained from the start, answered.
    await sendChat(bed.nc, 'zed-tg-4417', 50, { text: 'hello again' });
    await until(async () => (await history(bed.nc, ZED_TG)).length === 1, 20_000, 'fresh session recorded');
    const [first] = await history(bed.nc, ZED_TG);
    expect(first?.prevHash).toBe(GENESIS_HASH);
    expect(first?.body.input).toMatchObject({ type: 'message.inbound', text: 'hello again' });
    await sendReply(bed.nc, ZED_TG, 'r-zed-50', 'welcome back', Date.now());
    await until(async () => (await history(bed.nc, ZED_TG)).length === 2, 20_000, 'reply recorded');
    await until(
      async () => (await deliveries(bed.nc)).some((d) => d.text === 'welcome back'),
      20_000,
      'reply delivered',
    );
    const after = await cli(['audit', 'verify', '--json'], { server: bed.url });
    expect(after.code, after.text).toBe(ExitCodes.Ok);
  });

  it('says what is wrong with --peer (exit 2) and when there is no trace (exit 4)', async () => {
    await bed.start();
    for (const peer of ['zed', 'telegram:', ':zed']) {
      const run = await cli(['forget', '--peer', peer], { server: bed.url });
      expect(run.code).toBe(ExitCodes.Usage);
      expect(run.err).toContain('--peer needs <channel:id>');
    }
    expect((await cli(['forget'], { server: bed.url })).code).toBe(ExitCodes.Usage);
    expect((await cli(['forget', '--peer', 'telegram:nobody-0000'], { server: bed.url })).code).toBe(
      ExitCodes.NotFound,
    );
  });
});

/**
 * Every message of every stream, KV streams included: subject, headers, body (and dead letters' originals
 * decoded). `stable`: without the buckets that change on their own (checkpoints, leases, registries).
 */
async function everything(nc: NatsConnection, stable = true): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const out: string[] = [];
  const names: string[] = [];
  for await (const s of jsm.streams.list()) names.push(s.config.name);
  const volatile =
    /^KV_threadline-(checkpoints|leases|workers|schedulers|scheduler-lease|projectors|projector-lease)$/;
  for (const stream of names.sort()) {
    if (stable && volatile.test(stream)) continue;
    for await (const m of scanStream(nc, { stream })) {
      const body = new TextDecoder().decode(m.data);
      let original = '';
      try {
        const letter = JSON.parse(body) as { originalBase64?: string };
        if (typeof letter.originalBase64 === 'string')
          original = new TextDecoder().decode(decodeBase64(letter.originalBase64));
      } catch {
        // not JSON
      }
      out.push(`${stream} ${m.seq} ${m.subject} ${m.headers?.toString() ?? ''} ${body} ${original}`);
    }
  }
  return out;
}

/** The needles found anywhere in the server's streams and buckets. */
async function hits(nc: NatsConnection): Promise<string[]> {
  const text = (await everything(nc, false)).join('\n').toLowerCase();
  return NEEDLES.filter((needle) => text.includes(needle));
}

async function bucketText(nc: NatsConnection, bucket: string): Promise<string> {
  const out: string[] = [];
  try {
    for await (const m of scanStream(nc, { stream: `KV_${bucket}` }))
      out.push(new TextDecoder().decode(m.data));
  } catch {
    return '';
  }
  return out.join('\n');
}

async function filesText(root: string): Promise<string> {
  const out: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.push(await readFile(join(entry.parentPath, entry.name), 'utf8'));
  }
  return out.join('\n');
}
