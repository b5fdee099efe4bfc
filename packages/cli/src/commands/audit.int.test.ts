import { randomUUID } from 'node:crypto';
import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { NatsSessionLog, provisionStreams, RecordHeaders, threadlineStreams } from '@threadline/event-log';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { StreamNames, Subjects } from '@threadline/protocol';
import { parseConfig } from '@threadline/session-core';
import { chat, history, T0, until, workerTestBed } from '@threadline/session-worker/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import type { CliIo } from '../context.js';
import { COMMANDS } from './index.js';

interface Ran {
  code: number;
  out: string[];
  err: string;
}

async function cli(server: string, ...argv: string[]): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), isTTY: false, env: {} };
  const code = await runCli([...argv, '--server', server], io, COMMANDS);
  return { code, out, err: err.join('') };
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('threadline replay and audit verify (real nats-server)', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let log: NatsSessionLog;
  const run = (...argv: string[]) => cli(server.url, ...argv);

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectToNats({ servers: server.url });
    jsm = await jetstreamManager(nc);
    await provisionStreams(jsm, threadlineStreams({ replicas: 1 }), {
      mode: 'create-or-verify',
      onMismatch: 'throw',
    });
    log = new NatsSessionLog(nc);
  });
  beforeEach(async () => {
    await jsm.streams.purge(StreamNames.sessions);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  /** Appends one record per `at`, with a transition-like body; returns their seqs. */
  async function append(key: string, ats: number[]): Promise<number[]> {
    let head = await log.head(key);
    const seqs: number[] = [];
    for (const [i, at] of ats.entries()) {
      const r = await log.append({
        sessionKey: key,
        expectedLastSeq: head.seq,
        prevHash: head.hash,
        id: `test:${randomUUID()}`,
        body: { input: { type: 'message.inbound', text: `m${i}` }, facts: [{ type: 'MessageRecorded' }] },
        at,
      });
      head = { seq: r.seq, hash: r.hash };
      seqs.push(r.seq);
    }
    return seqs;
  }

  const T = Date.UTC(2026, 0, 1, 12);
  const HOUR = 3_600_000;

  it('replays one key in order as text, bounded by --since (inclusive) and --until (exclusive)', async () => {
    const key = 'agent:main:telegram:direct:7';
    const seqs = await append(key, [T, T + HOUR, T + 2 * HOUR, T + 3 * HOUR]);
    await append('agent:main:other', [T + HOUR]);

    const all = await run('replay', key);
    expect(all.code).toBe(0);
    expect(all.out).toEqual(
      seqs.map((seq, i) => `#${seq} ${iso(T + i * HOUR)} ${key} message.inbound → MessageRecorded`),
    );

    const bounded = await run('replay', key, '--since', iso(T + HOUR), '--until', String(T + 3 * HOUR));
    expect(bounded.code).toBe(0);
    expect(bounded.out.map((l) => l.split(' ')[0])).toEqual([`#${seqs[1]}`, `#${seqs[2]}`]);
  });

  it('replays every key as JSONL (--json), one record per line, in stream order', async () => {
    const a = await append('agent:main:a', [T, T + 2]);
    const b = await append('agent:main:b.c *', [T + 1]);
    const c = await append('agent:main:a', [T + 3]);

    const ran = await run('replay', '--json');
    expect(ran.code).toBe(0);
    const lines = ran.out.map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.seq, l.sessionKey])).toEqual(
      [
        [a[0], 'agent:main:a'],
        [a[1], 'agent:main:a'],
        [b[0], 'agent:main:b.c *'],
        [c[0], 'agent:main:a'],
      ].sort((x, y) => (x[0] as number) - (y[0] as number)),
    );
    expect(Object.keys(lines[0]).sort()).toEqual(
      ['at', 'body', 'hash', 'id', 'prevHash', 'seq', 'sessionKey'].sort(),
    );
    expect(lines[0].body).toEqual({
      input: { type: 'message.inbound', text: 'm0' },
      facts: [{ type: 'MessageRecorded' }],
    });

    expect(ran.err).toBe(''); // --json: no progress
    const formatted = await run('replay', '--format', 'jsonl', '--since', String(T + 2));
    expect(formatted.out.map((l) => JSON.parse(l).at)).toEqual([T + 2, T + 3]);
    expect(formatted.err).toMatch(/^replaying \[#*\.*\] \d+% 1\/4\n$/);
    expect((await run('replay', '--format', 'text', '--until', String(T + 1))).out).toEqual([
      `#${a[0]} ${iso(T)} agent:main:a message.inbound → MessageRecorded`,
    ]);
  });

  it('refuses a bad time, since after until, a bad format and extra arguments with exit 2, naming the problem', async () => {
    await append('agent:main:x', [T]);
    const cases: [string[], RegExp][] = [
      [['replay', '--since', 'yesterday'], /--since "yesterday" is not a time/],
      [['replay', 'agent:main:x', '--until', '2026-02-30'], /--until "2026-02-30" is not a valid date/],
      [
        ['replay', '--since', '2026-01-02', '--until', '2026-01-01'],
        /--since 2026-01-02T00:00:00.000Z is after --until/,
      ],
      [['replay', '--format', 'yaml'], /--format "yaml" is not one of jsonl, text/],
      [['replay', '--json', '--format', 'text'], /cannot be combined/],
      [['replay', 'k1', 'k2'], /at most one session key/],
      [['audit', 'verify', 'k1', 'k2'], /at most one session key/],
      [['replay', '--bogus'], /Unknown option/],
    ];
    for (const [argv, message] of cases) {
      const ran = await run(...argv);
      expect({ argv, code: ran.code }).toEqual({ argv, code: 2 });
      expect(ran.err + ran.out.join('\n')).toMatch(message);
    }
    const json = await run('replay', '--since', 'soon', '--json');
    expect(JSON.parse(json.out[0] as string)).toMatchObject({ error: { exitCode: 2 } });
  });

  it('answers an unknown key with exit 4, for replay and audit verify', async () => {
    await append('agent:main:known', [T]);
    const replay = await run('replay', 'agent:main:unknown');
    expect(replay.code).toBe(4);
    expect(replay.err).toContain('no records for session key "agent:main:unknown"');
    expect((await run('audit', 'verify', 'agent:main:unknown')).code).toBe(4);
    // A known key whose records are all outside the range is not unknown: an empty replay.
    expect(await run('replay', 'agent:main:known', '--since', String(T + 1))).toMatchObject({
      code: 0,
      out: [],
    });
  });

  it('answers an unreachable server with exit 3', async () => {
    for (const argv of [['replay'], ['replay', 'agent:main:x'], ['audit', 'verify']]) {
      const ran = await cli('nats://127.0.0.1:1', ...argv);
      expect(ran.code).toBe(3);
      expect(ran.err).toContain('cannot reach the NATS server at nats://127.0.0.1:1');
    }
  });

  it('audit verify exits 0 on intact chains, and 1 after a record is deleted directly in the stream, naming key and seq in text and --json', async () => {
    const key = 'agent:main:whatsapp:group:1@g.us';
    const seqs = await append(key, [T, T + 1, T + 2]);
    await append('agent:main:untouched', [T, T + 1]);

    const clean = await run('audit', 'verify');
    expect(clean).toMatchObject({
      code: 0,
      out: ['audited 5 records of 2 session keys: every hash chain is intact'],
    });
    expect((await run('audit', 'verify', key)).code).toBe(0);

    await jsm.streams.deleteMessage(StreamNames.sessions, seqs[1] as number);
    const text = await run('audit', 'verify');
    expect(text.code).toBe(1);
    expect(text.out[0]).toBe('audited 4 records of 2 session keys: 1 problem in 1 key');
    expect(text.out[1]).toMatch(new RegExp(`^  ${key.replace('.', '\\.')}  #${seqs[2]}  removed  `));

    const json = await run('audit', 'verify', key, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out.join('\n'))).toEqual({
      ok: false,
      keys: 1,
      records: 2,
      problems: [{ sessionKey: key, seq: seqs[2], kind: 'removed', detail: expect.any(String) }],
    });
    expect((await run('audit', 'verify', 'agent:main:untouched', '--json')).code).toBe(0);
  });

  it('audit verify exits 0 when the oldest records aged out (the front of the stream removed), counting the keys that begin after the cut', async () => {
    const key = 'agent:main:telegram:direct:aged';
    const seqs = await append(key, [T, T + 1, T + 2]);
    // What a maximum age on the session stream does: a prefix of the stream goes.
    await jsm.streams.purge(StreamNames.sessions, { seq: seqs[1] as number });

    expect(await run('audit', 'verify')).toMatchObject({
      code: 0,
      out: [
        'audited 2 records of 1 session key: every hash chain is intact',
        `keys whose older records aged out (retention cut at stream sequence ${seqs[1]}): 1, each checked from its first retained record`,
      ],
    });
    const json = await run('audit', 'verify', key, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out.join('\n'))).toEqual({
      ok: true,
      keys: 1,
      records: 2,
      problems: [],
      truncated: { keys: 1, firstSeq: seqs[1] },
    });
  });

  it('audit verify reports a forged copy published with a record’s headers as edited, and replay skips an unreadable message with exit 1', async () => {
    const key = 'agent:main:forged';
    const seqs = await append(key, [T, T + 1]);
    const original = await jsm.streams.getMessage(StreamNames.sessions, { seq: seqs[0] as number });
    // The record's headers (its chain hashes) on a new message id, so dedupe keeps the copy.
    const h = headers();
    for (const name of [
      RecordHeaders.at,
      RecordHeaders.schemaVersion,
      RecordHeaders.prevHash,
      RecordHeaders.hash,
    ])
      h.set(name, original?.header.get(name) ?? '');
    h.set(RecordHeaders.id, `forged:${randomUUID()}`);
    const js = jetstream(nc);
    const forged = await js.publish(
      Subjects.session(key),
      '{"input":{"type":"message.inbound","text":"forged"}}',
      {
        headers: h,
      },
    );
    const audit = await run('audit', 'verify', '--json');
    expect(audit.code).toBe(1);
    expect(JSON.parse(audit.out.join('\n')).problems).toContainEqual(
      expect.objectContaining({ sessionKey: key, seq: forged.seq, kind: 'edited' }),
    );

    const junk = await js.publish(Subjects.session('agent:main:junk'), 'junk');
    const replay = await run('replay', '--format', 'jsonl');
    expect(replay.code).toBe(1);
    expect(replay.out).toHaveLength(3);
    expect(replay.err).toContain(`sequence ${junk.seq} is not a session record`);
    const unreadable = await run('audit', 'verify', 'agent:main:junk');
    expect(unreadable.code).toBe(1);
    expect(unreadable.out[1]).toMatch(new RegExp(`^  agent:main:junk  #${junk.seq}  unreadable  `));
  });
});

describe('threadline replay of a real worker’s records', () => {
  const config = parseConfig({
    session: { dmScope: 'per-channel-peer', reset: { mode: 'idle', idleMinutes: 120 } },
  }).config;
  const bed = workerTestBed({ config, leaseTtlMs: 2_000, heartbeatMs: 300 });

  it('answers exit 4 before the streams exist, then shows the input and fact types of each transition', async () => {
    const missing = await cli(bed.url, 'replay');
    expect(missing.code).toBe(4);
    expect(missing.err).toContain(`the session stream ${StreamNames.sessions} does not exist`);

    await bed.start();
    const js = jetstream(bed.nc);
    for (const n of [1, 2]) {
      const event = chat('telegram', '42', n);
      await js.publish(Subjects.inbound('telegram', '42'), JSON.stringify(event), { msgID: event.id });
    }
    const key = 'agent:main:telegram:direct:42';
    await until(async () => (await history(bed.nc, key)).length === 2, 20_000, 'two chat records');
    const records = await history(bed.nc, key);

    const ran = await cli(bed.url, 'replay', key);
    expect(ran.code).toBe(0);
    expect(ran.out).toEqual([
      `#${records[0]?.seq} ${iso(T0)} ${key} message.inbound → SessionStarted, MessageRecorded`,
      `#${records[1]?.seq} ${iso(T0)} ${key} message.inbound → MessageRecorded`,
    ]);
    const all = await cli(bed.url, 'replay', '--json');
    expect(all.out.map((l) => JSON.parse(l).body.input.type)).toEqual(['message.inbound', 'message.inbound']);
    expect(await cli(bed.url, 'audit', 'verify')).toMatchObject({
      code: 0,
      out: ['audited 2 records of 1 session key: every hash chain is intact'],
    });
  });
});
