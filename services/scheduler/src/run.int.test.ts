import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import type { LogLine } from '@threadline/service-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScheduler } from './run.js';
import { readSettings } from './settings.js';

async function until(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

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
});
