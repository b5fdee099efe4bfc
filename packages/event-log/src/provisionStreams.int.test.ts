import { type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { StreamNames } from '@threadline/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureThreadlineStreams, ProvisioningError, provisionStreams } from './provisionStreams.js';
import { INBOUND_MESSAGE_MAX_BYTES, SESSION_RECORD_MAX_BYTES, threadlineStreams } from './streams.js';

const ALL = [
  StreamNames.inbound,
  StreamNames.keyed,
  StreamNames.sessions,
  StreamNames.deadLetters,
  StreamNames.deliveries,
  StreamNames.ticks,
];

describe('provisionStreams on a real server', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const configs = threadlineStreams({ replicas: 1 });

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectToNats({ servers: server.url });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });
  beforeEach(async () => {
    for await (const name of jsm.streams.names()) await jsm.streams.delete(name);
  });

  it('given no streams, when provisioning, then all of them are created as configured', async () => {
    const report = await provisionStreams(jsm, configs, { mode: 'create-or-verify' });

    expect(report.status).toBe('created');
    expect(report.streams.map((s) => [s.stream, s.outcome])).toEqual(ALL.map((name) => [name, 'created']));
    expect(report.mismatches).toEqual([]);
    const sessions = (await jsm.streams.info(StreamNames.sessions)).config;
    expect(sessions).toMatchObject({
      subjects: ['tl.session.*'],
      storage: 'file',
      num_replicas: 1,
      retention: 'limits',
      discard: 'new',
      max_age: 0,
      max_msg_size: SESSION_RECORD_MAX_BYTES,
      duplicate_window: 120_000_000_000,
      allow_direct: true,
    });
    const deadLetters = (await jsm.streams.info(StreamNames.deadLetters)).config;
    expect(deadLetters.max_age).toBe(30 * 86_400_000 * 1_000_000);
  });

  it('given provisioned streams, when provisioning again, then every stream is ok and nothing changed', async () => {
    await provisionStreams(jsm, configs, { mode: 'create-or-verify' });
    const before = await Promise.all(ALL.map((name) => jsm.streams.info(name)));

    const report = await provisionStreams(jsm, configs, { mode: 'create-or-verify', onMismatch: 'throw' });

    expect(report).toEqual({
      status: 'ok',
      streams: ALL.map((stream) => ({ stream, outcome: 'ok', mismatches: [] })),
      mismatches: [],
    });
    const after = await Promise.all(ALL.map((name) => jsm.streams.info(name)));
    expect(after.map((i) => [i.created, i.config])).toEqual(before.map((i) => [i.created, i.config]));
  });

  it('given a sessions stream created earlier with other subjects and storage, when provisioning, then it is reported field by field and left alone', async () => {
    await jsm.streams.add({ name: StreamNames.sessions, subjects: ['tl.session.>'], storage: 'memory' });
    const before = await jsm.streams.info(StreamNames.sessions);

    const report = await provisionStreams(jsm, configs, { mode: 'create-or-verify' });

    expect(report.status).toBe('mismatch');
    expect(report.streams.map((s) => [s.stream, s.outcome])).toEqual([
      [StreamNames.inbound, 'created'],
      [StreamNames.keyed, 'created'],
      [StreamNames.sessions, 'mismatch'],
      [StreamNames.deadLetters, 'created'],
      [StreamNames.deliveries, 'created'],
      [StreamNames.ticks, 'created'],
    ]);
    expect(report.mismatches).toContainEqual({
      stream: StreamNames.sessions,
      field: 'subjects',
      expected: ['tl.session.*'],
      actual: ['tl.session.>'],
    });
    expect(report.mismatches).toContainEqual({
      stream: StreamNames.sessions,
      field: 'storage',
      expected: 'file',
      actual: 'memory',
    });
    expect(report.mismatches).toContainEqual({
      stream: StreamNames.sessions,
      field: 'discard',
      expected: 'new',
      actual: 'old',
    });
    expect(report.mismatches.every((m) => m.stream === StreamNames.sessions)).toBe(true);
    const after = await jsm.streams.info(StreamNames.sessions);
    expect([after.created, after.config]).toEqual([before.created, before.config]);
  });

  it('given a mismatch, when provisioning with onMismatch throw, then ProvisioningError lists every mismatch', async () => {
    await jsm.streams.add({
      name: StreamNames.deadLetters,
      subjects: ['tl.dlq.>'],
      max_age: 60 * 1_000_000_000 * 60,
    });

    const error = await provisionStreams(jsm, configs, {
      mode: 'create-or-verify',
      onMismatch: 'throw',
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProvisioningError);
    expect(error).toMatchObject({
      name: 'ProvisioningError',
      code: 'STREAM_CONFIG_MISMATCH',
      retryable: false,
    });
    const { mismatches, message } = error as ProvisioningError;
    expect(mismatches).toContainEqual({
      stream: StreamNames.deadLetters,
      field: 'max_age',
      expected: 30 * 86_400_000 * 1_000_000,
      actual: 3_600_000_000_000,
    });
    expect(message).toContain(`${StreamNames.deadLetters}.max_age`);
    expect(message).toContain('nothing was changed');
    expect((await jsm.streams.info(StreamNames.deadLetters)).config.max_age).toBe(3_600_000_000_000);
  });

  const DAY_MS = 86_400_000;
  const limitsOf = async (name: string) => {
    const { config } = await jsm.streams.info(name);
    return [config.max_age, config.max_bytes];
  };

  it('given configured retention, when the streams are created, then each stream has its maximum age and size', async () => {
    await ensureThreadlineStreams(nc, {
      retention: {
        sessions: { maxAgeMs: 400 * DAY_MS, maxBytes: 2 * 1024 ** 3 },
        inbound: { maxAgeMs: 3 * DAY_MS, maxBytes: 512 * 1024 ** 2 },
        deadLetters: { maxAgeMs: null },
        // The shortest a buffer may keep anything: the duplicate window, which JetStream accepts.
        keyed: { maxAgeMs: 120_000 },
      },
    });
    expect(await limitsOf(StreamNames.sessions)).toEqual([400 * DAY_MS * 1e6, 2 * 1024 ** 3]);
    expect(await limitsOf(StreamNames.inbound)).toEqual([3 * DAY_MS * 1e6, 512 * 1024 ** 2]);
    expect(await limitsOf(StreamNames.keyed)).toEqual([120_000 * 1e6, -1]);
    expect(await limitsOf(StreamNames.deadLetters)).toEqual([0, -1]);
    expect(await limitsOf(StreamNames.ticks)).toEqual([0, -1]);
  });

  it('given a size limit larger than the server can reserve, when the stream is created, then it is refused with the server error', async () => {
    // JetStream reserves a stream's maximum size from the server's file store (max_file_store) at once.
    const error = await ensureThreadlineStreams(nc, {
      retention: { ticks: { maxBytes: 2 ** 52 } },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STREAM_CREATE_FAILED' });
    expect((error as Error).message).toMatch(/THREADLINE_TICKS: insufficient storage resources/);
  });

  it('given existing streams, when the retention changes, then only the limits are updated in place and reported, the messages kept, and back again', async () => {
    await ensureThreadlineStreams(nc);
    const created = (await jsm.streams.info(StreamNames.sessions)).created;
    await jetstream(nc).publish('tl.session.agent:main:main', '{}');

    const retention = {
      sessions: { maxAgeMs: 400 * DAY_MS },
      deliveries: { maxAgeMs: 2 * DAY_MS, maxBytes: 1024 ** 3 },
    };
    const report = await ensureThreadlineStreams(nc, { retention });

    expect(report.status).toBe('updated');
    expect(report.mismatches).toEqual([]);
    expect(report.streams.filter((s) => s.outcome !== 'ok')).toEqual([
      {
        stream: StreamNames.sessions,
        outcome: 'updated',
        mismatches: [],
        updated: [
          { stream: StreamNames.sessions, field: 'max_age', expected: 400 * DAY_MS * 1e6, actual: 0 },
        ],
      },
      {
        stream: StreamNames.deliveries,
        outcome: 'updated',
        mismatches: [],
        updated: [
          {
            stream: StreamNames.deliveries,
            field: 'max_age',
            expected: 2 * DAY_MS * 1e6,
            actual: 7 * DAY_MS * 1e6,
          },
          { stream: StreamNames.deliveries, field: 'max_bytes', expected: 1024 ** 3, actual: -1 },
        ],
      },
    ]);
    const info = await jsm.streams.info(StreamNames.sessions);
    expect([info.created, info.config.max_age, info.state.messages]).toEqual([
      created,
      400 * DAY_MS * 1e6,
      1,
    ]);
    expect(await limitsOf(StreamNames.deliveries)).toEqual([2 * DAY_MS * 1e6, 1024 ** 3]);
    // Same retention again: nothing to do. Defaults again: today's limits are back.
    expect((await ensureThreadlineStreams(nc, { retention })).status).toBe('ok');
    expect((await ensureThreadlineStreams(nc)).status).toBe('updated');
    expect(await limitsOf(StreamNames.sessions)).toEqual([0, -1]);
    expect(await limitsOf(StreamNames.deliveries)).toEqual([7 * DAY_MS * 1e6, -1]);
  });

  it('given a buffer holding more than a new size limit, when the limit is provisioned, then its oldest messages go at once', async () => {
    await ensureThreadlineStreams(nc);
    const js = jetstream(nc);
    const payload = new Uint8Array(100 * 1024);
    for (let i = 0; i < 6; i++) await js.publish(`tl.in.v1.telegram.${i}`, payload);

    await ensureThreadlineStreams(nc, { retention: { inbound: { maxBytes: INBOUND_MESSAGE_MAX_BYTES } } });

    const { state } = await jsm.streams.info(StreamNames.inbound);
    expect(state.bytes).toBeLessThanOrEqual(INBOUND_MESSAGE_MAX_BYTES);
    expect([state.messages, state.first_seq, state.last_seq]).toEqual([2, 5, 6]);
  });

  it('given different limits, when verifying only or told to report them, then they are mismatches and nothing changes', async () => {
    await ensureThreadlineStreams(nc);
    const other = threadlineStreams({ replicas: 1, retention: { ticks: { maxAgeMs: 30 * DAY_MS } } });
    for (const options of [
      { mode: 'verify-only' },
      { mode: 'create-or-verify', onLimits: 'report' },
    ] as const) {
      const report = await provisionStreams(jsm, other, options);
      expect(report.status).toBe('mismatch');
      expect(report.mismatches).toEqual([
        { stream: StreamNames.ticks, field: 'max_age', expected: 30 * DAY_MS * 1e6, actual: 0 },
      ]);
    }
    expect(await limitsOf(StreamNames.ticks)).toEqual([0, -1]);
    await expect(ensureThreadlineStreams(nc, { replicas: 1, partitions: 8 })).rejects.toMatchObject({
      code: 'STREAM_CONFIG_MISMATCH',
    });
  });

  it('given streams made for 16 partitions, when a worker expects 8, then the partition transform is reported as a mismatch', async () => {
    await provisionStreams(jsm, threadlineStreams({ replicas: 1, partitions: 16 }), {
      mode: 'create-or-verify',
    });
    const report = await provisionStreams(jsm, threadlineStreams({ replicas: 1, partitions: 8 }), {
      mode: 'verify-only',
    });
    expect(report.mismatches.map((m) => [m.stream, m.field])).toEqual([
      [StreamNames.inbound, 'subject_transform'],
      [StreamNames.keyed, 'subject_transform'],
    ]);
    expect(JSON.stringify(report.mismatches[0]?.actual)).toContain('partition(16,1,2)');
  });

  it('given verify-only mode and no streams, when provisioning, then the missing streams are reported and none is created', async () => {
    const report = await provisionStreams(jsm, configs, { mode: 'verify-only' });
    expect(report.status).toBe('mismatch');
    expect(report.streams.map((s) => s.outcome)).toEqual(ALL.map(() => 'missing'));
    expect(report.mismatches[0]).toEqual({
      stream: StreamNames.inbound,
      field: 'exists',
      expected: true,
      actual: false,
    });
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    expect(names).toEqual([]);
    await expect(
      provisionStreams(jsm, configs, { mode: 'verify-only', onMismatch: 'throw' }),
    ).rejects.toMatchObject({
      code: 'STREAM_MISSING',
    });
  });

  it('given three replicas on a single server, when provisioning, then creation fails with the server error as cause', async () => {
    const error = await provisionStreams(jsm, threadlineStreams({ replicas: 3 }), {
      mode: 'create-or-verify',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisioningError);
    expect(error).toMatchObject({ code: 'STREAM_CREATE_FAILED' });
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('given two components starting at once, when both provision, then both succeed and the streams are as configured', async () => {
    const other = await connectToNats({ servers: server.url });
    try {
      const reports = await Promise.all([
        provisionStreams(jsm, configs, { mode: 'create-or-verify', onMismatch: 'throw' }),
        provisionStreams(await jetstreamManager(other), configs, {
          mode: 'create-or-verify',
          onMismatch: 'throw',
        }),
      ]);
      expect(reports.map((r) => r.status).every((s) => s === 'created' || s === 'ok')).toBe(true);
      expect((await provisionStreams(jsm, configs, { mode: 'create-or-verify' })).status).toBe('ok');
    } finally {
      await other.close();
    }
  });
});
