/**
 * `threadline status` against a real nats-server with the whole system running in-process: the real
 * worker, a projector replica and a scheduler (each with its registry entry and lease), a shared DM that
 * earns a privacy warning, and a dead letter.
 */
import { jetstream } from '@nats-io/jetstream';
import { startProjectorReplica } from '@threadline/projector';
import { BucketNames, StreamNames, Subjects } from '@threadline/protocol';
import { startScheduler } from '@threadline/scheduler';
import { parseConfig } from '@threadline/session-core';
import { deadLetters, history, PARTITIONS, until, workerTestBed } from '@threadline/session-worker/testing';
import { describe, expect, it } from 'vitest';
import { ExitCodes } from '../errors.js';
import { cli, sendChat, UNREACHABLE } from './cli.support.js';
import type { StatusV1 } from './status.js';

const SHARED_KEY = 'agent:main:main';

describe('threadline status (real nats-server, worker, projector and scheduler)', () => {
  // dmScope `main` (the default): every DM shares one session, and a second person earns a privacy warning.
  const config = parseConfig({}).config;
  const bed = workerTestBed({ config });

  const system = async () => {
    await bed.start();
    const projector = await startProjectorReplica({
      nc: bed.nc,
      replicaId: 'proj-1',
      partitions: PARTITIONS,
      leaseTtlMs: 1_500,
      heartbeatMs: 250,
    });
    bed.cleanup(() => projector.stop());
    const scheduler = await startScheduler({
      nc: bed.nc,
      clock: bed.clock,
      config,
      hostTimeZone: 'UTC',
      schedulerId: 'sched-1',
      partitions: PARTITIONS,
      leaseTtlMs: 1_500,
      heartbeatMs: 250,
    });
    bed.cleanup(() => scheduler.stop());
    await until(() => projector.status() !== undefined && scheduler.status().leader, 20_000, 'leaders');
    return { projector, scheduler };
  };

  const status = async () => {
    const run = await cli(['status', '--json'], { server: bed.url });
    expect(run.code).toBe(ExitCodes.Ok);
    return run.json<StatusV1>();
  };

  it('reports the server, streams, buckets, readers, workers, scheduler, projector, dead letters and sessions', async () => {
    const { scheduler } = await system();
    await sendChat(bed.nc, 'ann', 1);
    await sendChat(bed.nc, 'bob', 2);
    await jetstream(bed.nc).publish(Subjects.inbound('telegram', 'junk'), 'not json');
    await until(async () => (await history(bed.nc, SHARED_KEY)).length === 2, 20_000, 'two records');
    await until(async () => (await deadLetters(bed.nc)).length === 1, 20_000, 'dead letter');
    // Wait until every reader has checkpointed past its stream's head and the timer index is written.
    let s = await status();
    await until(
      async () => {
        s = await status();
        return (
          s.projector.lag === 0 &&
          s.scheduler.indexBehind === 0 &&
          (s.scheduler.pendingTimers ?? 0) > 0 &&
          // A partition's readers checkpoint once they have read something: only partitions with traffic.
          s.readers.some((r) => r.checkpoint.startsWith('route.')) &&
          s.readers.some((r) => r.checkpoint.startsWith('apply.')) &&
          s.privacyWarnings.count === 1
        );
      },
      20_000,
      'everything caught up',
    );
    expect(scheduler.status().leader).toBe(true);

    expect(s.server).toMatchObject({
      url: bed.url,
      jetstream: true,
      version: expect.stringMatching(/^2\.\d+\.\d+/),
    });
    const stream = (name: string) => s.streams.find((x) => x.name === name);
    expect(stream(StreamNames.sessions)).toMatchObject({ present: true, messages: 2, lastSeq: 2 });
    expect(stream(StreamNames.inbound)).toMatchObject({ present: true, messages: 3 });
    expect(stream(StreamNames.deadLetters)).toMatchObject({ present: true, messages: 1 });
    const bucket = (name: string) => s.buckets.find((b) => b.bucket === name);
    expect(bucket(BucketNames.sessionStore)).toMatchObject({ present: true, entries: 1 });
    expect(bucket(BucketNames.workers)).toMatchObject({ present: true, entries: 1 });
    expect(bucket(BucketNames.testClock)).toBeUndefined();

    const reader = (name: string) => s.readers.find((r) => r.checkpoint === name);
    expect(reader('projector')).toEqual({
      checkpoint: 'projector',
      value: 2,
      stream: StreamNames.sessions,
      streamLastSeq: 2,
      behind: 0,
      partitioned: false,
    });
    const routes = s.readers.filter((r) => r.checkpoint.startsWith('route.'));
    for (const r of routes) {
      expect(r.checkpoint).toMatch(/^route\.[0-3]$/);
      expect(r).toMatchObject({ stream: StreamNames.inbound, streamLastSeq: 3, partitioned: true });
      expect(r.behind).toBe(3 - r.value);
    }
    // Every routed message and record is behind some apply checkpoint (written every 250 ms).
    for (const r of s.readers.filter((x) => x.checkpoint.startsWith('apply.')))
      expect(r).toMatchObject({ stream: StreamNames.keyed, partitioned: true });
    expect(reader('scheduler.index')).toMatchObject({ value: 2, stream: StreamNames.sessions, behind: 0 });
    expect(reader('scheduler.fired-through')).toMatchObject({ stream: null, behind: null });

    expect(s.workers).toEqual({
      partitions: PARTITIONS,
      live: [expect.objectContaining({ id: 'w1', pid: process.pid, leases: [0, 1, 2, 3] })],
      unleased: [],
    });
    expect(s.scheduler).toMatchObject({
      replicas: [expect.objectContaining({ id: 'sched-1' })],
      leader: 'sched-1',
      indexCheckpoint: 2,
      indexBehind: 0,
    });
    const minute = Math.floor(bed.clock.now() / 60_000) * 60_000;
    expect(s.scheduler.firedBefore).toBeGreaterThanOrEqual(minute - 60_000);
    expect(s.scheduler.firedBefore).toBeLessThanOrEqual(minute + 60_000);
    expect(s.projector).toEqual({
      replicas: [expect.objectContaining({ id: 'proj-1' })],
      leader: 'proj-1',
      checkpoint: 2,
      sessionsLastSeq: 2,
      lag: 0,
    });
    expect(s.deadLetters).toBe(1);
    expect(s.sessions).toBe(1);
    expect(s.privacyWarnings).toEqual({ count: 1, keys: [SHARED_KEY] });
    expect(s.recentSessions).toEqual([
      expect.objectContaining({ key: SHARED_KEY, agentId: 'main', state: 'active', messageCount: 2 }),
    ]);

    const text = await cli(['status'], { server: bed.url, now: bed.clock.now() + 90_000 });
    expect(text.code).toBe(ExitCodes.Ok);
    expect(text.out[0]).toMatch(
      new RegExp(`^server\\s+${bed.url.replace(/[.]/g, '\\.')}\\s+nats-server 2\\.`),
    );
    expect(text.text).toMatch(/ {2}THREADLINE_SESSIONS\s+2\s+[\d.]+ (B|KiB)\s+2/);
    expect(text.text).toMatch(/ {2}route\.[0-3]\s+\d+\s+THREADLINE_INBOUND\s+3\s+behind head by at most \d+/);
    expect(text.text).toMatch(/ {2}projector\s+2\s+THREADLINE_SESSIONS\s+2\s+behind head by 0/);
    expect(text.text).toContain('  w1  ');
    expect(text.text).toContain('partitions 0,1,2,3');
    expect(text.text).toContain('unleased partitions: none');
    expect(text.text).toMatch(/scheduler\s+1 replica\(s\), leader sched-1/);
    expect(text.text).toMatch(/pending timers [1-9]/);
    expect(text.text).toMatch(/projector\s+1 replica\(s\), leader proj-1; checkpoint 2 of 2 \(lag 0\)/);
    expect(text.text).toContain('dead letters 1');
    expect(text.text).toContain(`privacy warnings 1: ${SHARED_KEY}`);
    expect(text.text).toMatch(
      new RegExp(`recently updated sessions\\n.*\\n {2}${SHARED_KEY}\\s+active\\s+direct\\s+2\\s+1m`),
    );
  });

  it('reports streams and buckets nobody created yet as absent, not as errors', async () => {
    const s = await status();
    expect(s.streams.filter((x) => x.present)).toEqual([]);
    expect(s.streams.map((x) => x.name)).toEqual(expect.arrayContaining(Object.values(StreamNames)));
    expect(s.buckets.every((b) => !b.present)).toBe(true);
    expect(s).toMatchObject({
      readers: [],
      workers: { partitions: null, live: [], unleased: [] },
      scheduler: { leader: null, pendingTimers: null, firedBefore: null },
      projector: { leader: null, checkpoint: null, lag: null },
      deadLetters: null,
      sessions: null,
      privacyWarnings: { count: 0, keys: [] },
      recentSessions: [],
    });
    const text = await cli(['status'], { server: bed.url });
    expect(text.code).toBe(ExitCodes.Ok);
    expect(text.text).toMatch(/THREADLINE_SESSIONS\s+absent/);
    expect(text.text).toContain('no checkpoints yet');
  });

  it('exits 3 naming the URL when the server cannot be reached', async () => {
    const run = await cli(['status'], { server: UNREACHABLE });
    expect(run.code).toBe(ExitCodes.Unreachable);
    expect(run.err).toContain(`cannot reach the NATS server at ${UNREACHABLE}`);
    const json = await cli(['status', '--json'], { server: UNREACHABLE });
    expect(json.code).toBe(ExitCodes.Unreachable);
    expect(json.json()).toEqual({
      error: expect.objectContaining({ exitCode: 3, message: expect.stringContaining(UNREACHABLE) }),
    });
  });
});
