import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { StreamNames } from '@threadline/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProvisioningError, provisionStreams } from './provisionStreams.js';
import { SESSION_RECORD_MAX_BYTES, threadlineStreams } from './streams.js';

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
