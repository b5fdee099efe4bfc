import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { entryName, minuteOf, TIMER_BUCKET } from '@threadline/scheduler';
import { connectService, type LogLine } from '@threadline/service-runtime';
import { httpGet as get, leaderAndStandbyPages, until } from '@threadline/service-runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEDULER_METRICS } from './metrics.js';
import { runScheduler } from './run.js';
import { readSettings } from './settings.js';

describe('runScheduler', () => {
  let server: RunningNatsServer;
  let dir = '';
  beforeAll(async () => {
    server = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'threadline-scheduler-'));
  });
  afterAll(async () => {
    await server?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('given an invalid config file, when starting, then it refuses before connecting', async () => {
    const file = join(dir, 'bad.json5');
    await writeFile(file, '{ session: { dmScope: "everyone" } }');
    const settings = readSettings({ THREADLINE_CONFIG: file, THREADLINE_NATS_URL: 'nats://127.0.0.1:1' });
    await expect(runScheduler(settings, () => {})).rejects.toThrow(/session\.dmScope/);
  });

  it('given a server, when started, then it leads, logs its status, and stops cleanly (short lease included)', async () => {
    const file = join(dir, 'test-clock.json5');
    await writeFile(file, "{ clock: { mode: 'test' } }");
    const lines: LogLine[] = [];
    const settings = readSettings({
      THREADLINE_NATS_URL: server.url,
      THREADLINE_SCHEDULER_ID: 'scheduler-test',
      THREADLINE_PARTITIONS: '2',
      THREADLINE_LEASE_TTL_MS: '1000',
      THREADLINE_CONFIG: file,
    });
    const running = await runScheduler(settings, (line) => lines.push(line), {
      statusIntervalMs: 50,
      hostTimeZone: 'Europe/Berlin',
    });
    expect(lines[0]).toEqual({ msg: 'scheduler started', schedulerId: 'scheduler-test', partitions: 2 });
    await until(() => lines.some((l) => l.msg === 'leading'));
    await until(() => lines.some((l) => l.msg === 'scheduler status' && l.leader === true));
    expect(lines.find((l) => l.msg === 'scheduler status' && l.leader)).toMatchObject({
      schedulerId: 'scheduler-test',
      firedThrough: expect.any(Number),
      ticks: [{ timeZone: 'Europe/Berlin', atHour: 4, lastAt: expect.any(Number) }],
    });
    await running.stop();
    expect(lines.at(-1)).toEqual({ msg: 'scheduler stopped', schedulerId: 'scheduler-test' });
    expect(lines.some((l) => l.msg === 'standing-by' && l.why === 'stopping')).toBe(true);
    const count = lines.length;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(lines).toHaveLength(count);
    expect(lines.filter((l) => /error/.test(l.msg))).toEqual([]);
  });

  it('given metrics ports, when two replicas run, then both are ready (the standby too) and /metrics says who fires', async () => {
    const file = join(dir, 'test-clock-ops.json5');
    await writeFile(file, "{ clock: { mode: 'test' } }");
    const [firstPort, secondPort] = await freePorts(2);
    const env = (id: string, port: number | undefined) =>
      readSettings({
        THREADLINE_NATS_URL: server.url,
        THREADLINE_SCHEDULER_ID: id,
        THREADLINE_PARTITIONS: '2',
        THREADLINE_LEASE_TTL_MS: '1000',
        THREADLINE_CONFIG: file,
        THREADLINE_METRICS_PORT: String(port),
      });
    const lines: LogLine[] = [];
    const first = await runScheduler(env('scheduler-a', firstPort), (line) => lines.push(line), {
      hostTimeZone: 'Europe/Berlin',
      sampleIntervalMs: 100,
    });
    const url = `http://127.0.0.1:${firstPort}`;
    expect(lines[0]).toMatchObject({ msg: 'scheduler started', metrics: `${url}/metrics` });
    await until(() => lines.some((l) => l.msg === 'leading'));
    const second = await runScheduler(env('scheduler-b', secondPort), () => {}, {
      hostTimeZone: 'Europe/Berlin',
      sampleIntervalMs: 100,
    });
    try {
      for (const port of [firstPort, secondPort])
        expect(await get(`http://127.0.0.1:${port}/readyz`)).toEqual({ status: 200, body: 'ready\n' });
      // Joining, the second replica may win the lease (rendezvous hashing): wait for one leader, whichever.
      const [page, standbyPage] = await leaderAndStandbyPages('threadline_scheduler_leader', [
        firstPort,
        secondPort,
      ]);
      // Every metric but the sampled one, which shows once its first sample has landed (waited for below).
      const { pending: _sampled, ...always } = SCHEDULER_METRICS;
      for (const name of Object.values(always)) expect(page).toContain(`# TYPE ${name} `);
      expect(page).toContain('threadline_scheduler_leader 1\n');
      expect(page).toMatch(/^threadline_scheduler_timers_fired_total \d+$/m);
      expect(page).toMatch(
        /^threadline_scheduler_tick_last_timestamp_seconds\{time_zone="Europe\/Berlin",at_hour="4"\} /m,
      );
      expect(standbyPage).toContain('threadline_scheduler_leader 0\n');
      expect(standbyPage).toContain('threadline_scheduler_due_backlog 0\n');
      expect(standbyPage).not.toContain('threadline_scheduler_timers_pending');

      // Two timers filed far in the future (as the index files them): both pending, counted by the leader.
      const nc = await connectService({ natsUrl: server.url, service: 'test', instanceId: 'timers' });
      try {
        const dueAt = Date.UTC(2099, 0, 1, 4);
        for (const sessionKey of ['agent:main:a', 'agent:main:b']) {
          const entry = { v: 1, sessionKey, timerId: `expiry:${sessionKey}`, kind: 'expiry', dueAt };
          await nc.request(
            `$KV.${TIMER_BUCKET}.${entryName(minuteOf(dueAt), sessionKey, 'expiry')}`,
            JSON.stringify(entry),
          );
        }
      } finally {
        await nc.close();
      }
      await until(async () => {
        const pages = await Promise.all(
          [firstPort, secondPort].map(async (port) => (await get(`http://127.0.0.1:${port}/metrics`)).body),
        );
        return pages.filter((p) => p.includes('threadline_scheduler_timers_pending 2\n')).length === 1;
      });
    } finally {
      await second.stop();
      await first.stop();
    }
    await expect(get(`${url}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
  });
});
