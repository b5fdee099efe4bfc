/**
 * What a person in the chat sees of the session system, end to end through a real nats-server and the
 * real worker: chat events in on `tl.in.v1`, agent replies on `tl.reply.v1`, and everything that comes
 * back on the delivery subject `tl.out.v1.<channel>.<peer>` (spec §2.5, §3, §5, §6; issue 5).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Summariser, SummariserError } from '@threadline/compaction';
import { type DeliveryV1, Subjects } from '@threadline/protocol';
import { parseConfig, type ThreadlineConfig } from '@threadline/session-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transcriptOf } from './transcript.js';
import type { SessionWorkerOptions } from './worker.js';
import { chat, deliveries, history, T0, until, workerTestBed } from './worker.support.js';

describe('conversation features through NATS (real nats-server, real worker)', () => {
  const bed = workerTestBed({ config: parseConfig({}).config, forcePartitions: [0, 1, 2, 3] });
  let nc: NatsConnection;
  let workspaceDir: string;
  const start = (config: ThreadlineConfig, extra: Partial<SessionWorkerOptions> = {}) =>
    bed.start({ config, ...extra });

  const send = async (channel: string, peer: string, n: number, text: string, sender: object = {}) => {
    const event = chat(channel, peer, n, {
      text,
      sender: { id: peer, isAuthorized: true, ...sender },
    });
    await jetstream(nc).publish(Subjects.inbound(channel, peer), JSON.stringify(event), { msgID: event.id });
    return event.id;
  };
  const reply = async (sessionKey: string, id: string, text: string, extra: object = {}) => {
    const body = { v: 1, type: 'agent.reply', id, sessionKey, text, at: T0, ...extra };
    await jetstream(nc).publish(Subjects.reply(sessionKey), JSON.stringify(body), { msgID: id });
  };
  const recorded = async (key: string, n: number) =>
    until(async () => (await history(nc, key)).length >= n, 20_000, `${n} records of ${key}`);
  /** Waits for the delivery that answers `inReplyTo` (or is reply `replyId`) and returns it. */
  const deliveryFor = async (match: (d: DeliveryV1) => boolean, what: string): Promise<DeliveryV1> => {
    let found: DeliveryV1 | undefined;
    await until(
      async () => {
        found = (await deliveries(nc)).find(match);
        return found !== undefined;
      },
      20_000,
      what,
    );
    return found as DeliveryV1;
  };
  const answerTo = (id: string) =>
    deliveryFor((d) => d.inReplyTo === id && d.kind === 'answer', `answer to ${id}`);

  beforeAll(async () => {
    nc = bed.nc;
    workspaceDir = await mkdtemp(join(tmpdir(), 'threadline-workspace-'));
    await writeFile(join(workspaceDir, 'AGENTS.md'), '# Agents\nBe kind and brief.\n');
    await writeFile(join(workspaceDir, 'SOUL.md'), 'x'.repeat(500));
  });
  afterAll(async () => {
    await rm(workspaceDir, { recursive: true, force: true });
  });

  it('under dmScope main, Alice and Bob share one session, and /status shows the privacy warning to the chat', async () => {
    const worker = await start(parseConfig({}).config);
    const key = 'agent:main:main';
    await send('telegram', 'alice', 1, 'my salary is 100k, keep it private');
    await recorded(key, 1);
    await send('whatsapp', 'bob', 1, 'hi, what do you know?');
    await recorded(key, 2);
    const status = await answerTo(await send('whatsapp', 'bob', 2, '/status'));

    const records = await history(nc, key);
    const sessions = new Set(
      records.flatMap((r) => r.body.facts.flatMap((f) => ('sessionId' in f ? [f.sessionId] : []))),
    );
    expect(sessions.size).toBe(1);
    expect(records.flatMap((r) => r.body.facts).filter((f) => f.type === 'PrivacyWarning')).toHaveLength(1);
    expect(worker.metrics().actors.privacyWarnings).toBe(1); // counted for the metrics endpoint
    expect(status.route).toMatchObject({ channel: 'whatsapp', to: 'bob' });
    expect(status.text).toContain(`Session: ${key}`);
    expect(status.text).toMatch(/⚠ Privacy: 2 people share this session \(alice, bob\).*per-channel-peer/);
  });

  it("under per-channel-peer, the same conversation gives two sessions and Bob's context holds nothing of Alice's", async () => {
    await start(parseConfig({ session: { dmScope: 'per-channel-peer' } }).config);
    await send('telegram', 'alice', 1, 'my salary is 100k, keep it private');
    await send('whatsapp', 'bob', 1, 'hi, what do you know?');
    const aliceKey = 'agent:main:telegram:direct:alice';
    const bobKey = 'agent:main:whatsapp:direct:bob';
    await recorded(aliceKey, 1);
    await recorded(bobKey, 1);
    await reply(bobKey, 'r-bob-1', 'Nothing about anyone else.');
    await recorded(bobKey, 2);

    const bob = transcriptOf((await history(nc, bobKey)).map((r) => r.body));
    const alice = transcriptOf((await history(nc, aliceKey)).map((r) => r.body));
    expect(bob.sessionId).not.toBe(alice.sessionId);
    expect(bob.turns.map((t) => t.text)).toEqual(['hi, what do you know?', 'Nothing about anyone else.']);
    expect(JSON.stringify(bob)).not.toContain('salary');
    const status = await answerTo(await send('whatsapp', 'bob', 2, '/status'));
    expect(status.text).toContain('Privacy: ok');
  });

  it('answers every command on the delivery subject, and treats the same text from an unauthorized sender as ordinary text', async () => {
    const config = parseConfig({
      session: { dmScope: 'per-channel-peer' },
      models: [{ id: 'anthropic/claude-opus-4', alias: 'opus' }],
      agents: {
        main: {
          contextWindow: 1000,
          reserveTokens: 100,
          workspace: { dir: workspaceDir, maxFileChars: 200 },
        },
      },
    }).config;
    await start(config);
    const key = 'agent:main:telegram:direct:42';
    const owner = { isOwner: true };
    await send('telegram', '42', 1, 'hello there');
    await recorded(key, 1);
    await reply(key, 'r1', 'Hi! How can I help?', { tokens: 7, inReplyTo: 'telegram:42:1' });

    const status = await answerTo(await send('telegram', '42', 2, '/status'));
    expect(status).toMatchObject({
      kind: 'answer',
      command: 'status',
      route: { channel: 'telegram', to: '42' },
    });
    expect(status.text).toContain(`Session: ${key}`);
    expect(status.text).toContain('State: active');
    expect(status.text).toMatch(/Context: \d+\/1,000 \(\d+(\.\d)?%\)/);
    expect(status.text).toContain('Send policy: allow (no policy configured)');
    expect(status.text).toMatch(/Agent: ok — last reply/);

    const list = await answerTo(await send('telegram', '42', 3, '/context'));
    expect(list.text).toMatch(/AGENTS\.md\s+OK/);
    expect(list.text).toMatch(/SOUL\.md\s+TRUNCATED/);
    expect(list.text).toMatch(/TOOLS\.md\s+MISSING/);
    const json = await answerTo(await send('telegram', '42', 4, '/context json'));
    const parsed = JSON.parse(json.text);
    expect(parsed.workspace.files.find((f: { name: string }) => f.name === 'SOUL.md')).toMatchObject({
      status: 'TRUNCATED',
      rawChars: 500,
      injectedChars: 200,
    });
    expect((await answerTo(await send('telegram', '42', 5, '/context everything'))).text).toBe(
      'Usage: /context [list|detail|json]',
    );
    expect((await answerTo(await send('telegram', '42', 6, '/send', owner))).text).toBe(
      'Usage: /send on|off|inherit',
    );
    expect((await answerTo(await send('telegram', '42', 7, '/send on', owner))).text).toBe(
      'Send policy for this session: on',
    );
    expect((await answerTo(await send('telegram', '42', 8, '/compact'))).text).toMatch(
      /^Compacted \(\d+ → \d+ tokens\)/,
    );
    const reset = await answerTo(await send('telegram', '42', 9, '/new opus'));
    expect(reset.text).toMatch(/^New session started \([0-9a-f-]{36}\) · model anthropic\/claude-opus-4$/);
    expect(reset.sessionId).toBe(reset.text.slice(21, 57));

    // The unauthorized person's /status, /send off and /new are ordinary text: recorded, never answered.
    const before = (await history(nc, key)).length;
    const strangers = [];
    for (const [n, text] of [
      [20, '/status'],
      [21, '/send off'],
      [22, '/new'],
    ] as const) {
      strangers.push(await send('telegram', '42', n, text, { isAuthorized: false, isOwner: false }));
    }
    await recorded(key, before + 3);
    // A non-owner's /send is ordinary text too, even when authorized.
    const notOwner = await send('telegram', '42', 23, '/send off');
    await recorded(key, before + 4);
    const later = (await history(nc, key)).slice(before);
    expect(later.map((r) => r.body.facts.find((f) => f.type === 'MessageRecorded'))).toEqual(
      [...strangers, notOwner].map((messageId) => expect.objectContaining({ messageId, system: false })),
    );
    expect(
      later.flatMap((r) => r.body.facts).some((f) => f.type === 'MessageRecorded' && 'command' in f),
    ).toBe(false);
    expect(later.flatMap((r) => r.body.answers)).toEqual([]);
    const answered = new Set((await deliveries(nc)).map((d) => d.inReplyTo));
    for (const id of [...strangers, notOwner]) expect(answered.has(id)).toBe(false);
  });

  it('compacts on /compact: the summary and the kept turns hold every message, and a message sent meanwhile follows them', async () => {
    const config = parseConfig({
      session: { dmScope: 'per-channel-peer' },
      compaction: { keepRecentTurns: 2 },
    }).config;
    await start(config);
    const key = 'agent:main:telegram:direct:7';
    const said: string[] = [];
    for (let n = 1; n <= 4; n++) {
      said.push(await send('telegram', '7', n, `question ${n}: what about topic ${n}? Details follow.`));
      await recorded(key, 2 * n - 1);
      await reply(key, `r${n}`, `Answer ${n}. More words.`, { inReplyTo: `telegram:7:${n}` });
      said.push(`r${n}`);
      await recorded(key, 2 * n);
    }
    const compact = await send('telegram', '7', 5, '/compact focus on topics');
    said.push(compact);
    const meanwhile = await send('telegram', '7', 6, 'one more thing');
    const done = await answerTo(compact);
    expect(done.text).toMatch(/^Compacted \(\d[\d,]* → \d[\d,]* tokens\)/);
    await until(
      async () =>
        transcriptOf((await history(nc, key)).map((r) => r.body)).turns.some((t) => t.id === 'telegram:7:6'),
      20_000,
      'the message sent during compaction',
    );

    const records = await history(nc, key);
    const completed = records.flatMap((r) => r.body.facts).find((f) => f.type === 'CompactionCompleted');
    expect(completed).toMatchObject({ compactionCount: 1 });
    const transcript = transcriptOf(records.map((r) => r.body));
    const [summary, ...rest] = transcript.turns;
    expect(summary?.role).toBe('summary');
    for (const id of said) {
      const verbatim = rest.some((t) => t.id === id);
      const summarised = summary?.text.includes(`[${id}]`) ?? false;
      expect(verbatim !== summarised, `${id} is either kept verbatim or inside the summary, once`).toBe(true);
    }
    expect(rest.at(-1)?.id).toBe(meanwhile);
  });

  it('a failing summariser leaves the session active with "Compaction failed: …" and nothing lost', async () => {
    const broken: Summariser = {
      name: 'broken',
      summarise: async () => {
        throw new SummariserError('HTTP_STATUS', 'summariser returned HTTP 503: overloaded');
      },
    };
    await start(
      parseConfig({ session: { dmScope: 'per-channel-peer' }, compaction: { keepRecentTurns: 1 } }).config,
      {
        summariser: broken,
      },
    );
    const key = 'agent:main:telegram:direct:8';
    for (let n = 1; n <= 3; n++) {
      await send('telegram', '8', n, `message ${n}`);
      await recorded(key, n);
    }
    await send('telegram', '8', 4, '/compact');
    const failed = await deliveryFor((d) => d.command === 'compact-failed', 'the failure answer');
    expect(failed.text).toBe('Compaction failed: summariser returned HTTP 503: overloaded');
    await send('telegram', '8', 5, 'still there?');
    await until(
      async () => transcriptOf((await history(nc, key)).map((r) => r.body)).turns.length === 5,
      20_000,
      'every message in the context',
    );
    const transcript = transcriptOf((await history(nc, key)).map((r) => r.body));
    expect(transcript.turns.map((t) => t.text)).toEqual([
      'message 1',
      'message 2',
      'message 3',
      '/compact',
      'still there?',
    ]);
    expect((await history(nc, key)).flatMap((r) => r.body.facts).map((f) => f.type)).toContain(
      'CompactionFailed',
    );
  });

  it('a denied reply never reaches the delivery subject and is visible in the history; an allowed one is delivered once, even after a crash between append and publish', async () => {
    const config = parseConfig({
      session: {
        dmScope: 'per-channel-peer',
        sendPolicy: { default: 'allow', rules: [{ action: 'deny', match: { channel: 'discord' } }] },
      },
    }).config;
    const denied = 'agent:main:discord:direct:9';
    const allowed = 'agent:main:telegram:direct:9';
    let allowedAppends = 0;
    const worker = await start(config, {
      // The reply's record is stored, then the worker "crashes" before publishing it: the input is read
      // again, recognised as already recorded, and its delivery published from the record.
      afterAppend: (key) => {
        if (key === allowed && ++allowedAppends === 2)
          throw new Error('injected crash after the append, before the delivery');
      },
    });
    await send('discord', '9', 1, 'hello from discord');
    await send('telegram', '9', 1, 'hello from telegram');
    await recorded(denied, 1);
    await recorded(allowed, 1);
    await reply(denied, 'r-denied', 'secret answer', { inReplyTo: 'discord:9:1' });
    await reply(allowed, 'r-allowed', 'public answer', { inReplyTo: 'telegram:9:1' });
    await recorded(denied, 2);
    await recorded(allowed, 2);
    const delivered = await deliveryFor((d) => d.replyId === 'r-allowed', 'the allowed reply');
    expect(delivered).toMatchObject({
      kind: 'reply',
      text: 'public answer',
      route: { channel: 'telegram', to: '9' },
    });

    // Give a wrongly published denied reply every chance to show up before looking.
    await send('telegram', '9', 2, '/status');
    await answerTo('telegram:9:2');
    const all = await deliveries(nc);
    expect(all.filter((d) => d.replyId === 'r-denied')).toEqual([]);
    expect(all.filter((d) => d.replyId === 'r-allowed')).toHaveLength(1);
    expect(all.some((d) => d.route.channel === 'discord')).toBe(false);

    const blocked = (await history(nc, denied)).at(-1)?.body;
    expect(blocked?.facts).toContainEqual(
      expect.objectContaining({ type: 'DeliveryBlocked', replyId: 'r-denied', source: 'rule', rule: 0 }),
    );
    expect(blocked?.deliveries).toEqual([
      expect.objectContaining({ status: 'blocked', verdict: { decision: 'deny', source: 'rule', rule: 0 } }),
    ]);
    expect(worker.metrics().actors.deliveriesBlocked).toBe(1); // counted for the metrics endpoint
  });
});
