import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import type { LogLine } from '@threadline/service-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProjector } from './run.js';
import { readSettings } from './settings.js';

async function until(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('runProjector', () => {
  let server: RunningNatsServer;
  let dir = '';
  beforeAll(async () => {
    server = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'threadline-projector-'));
  });
  afterAll(async () => {
    await server?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('given an invalid config file, when starting, then it refuses before connecting', async () => {
    const file = join(dir, 'bad.json5');
    await writeFile(file, '{ session: { dmScope: "everyone" } }');
    const settings = readSettings({ THREADLINE_CONFIG: file, THREADLINE_NATS_URL: 'nats://127.0.0.1:1' });
    await expect(runProjector(settings, () => {})).rejects.toThrow(/session\.dmScope/);
  });

  it('given a server, when started, then it projects, logs its status, and stops cleanly (short lease included)', async () => {
    const lines: LogLine[] = [];
    const settings = readSettings({
      THREADLINE_NATS_URL: server.url,
      THREADLINE_PROJECTOR_ID: 'projector-test',
      THREADLINE_PARTITIONS: '2',
      THREADLINE_LEASE_TTL_MS: '1000',
    });
    const running = await runProjector(settings, (line) => lines.push(line), { statusIntervalMs: 50 });
    expect(lines[0]).toEqual({ msg: 'projector started', projectorId: 'projector-test', partitions: 2 });
    await until(() => lines.some((l) => l.msg === 'projecting'));
    await until(() => lines.some((l) => l.msg === 'projector status' && l.projecting === true));
    expect(lines.find((l) => l.msg === 'projector status' && l.projecting)).toMatchObject({
      projectorId: 'projector-test',
      handled: expect.any(Number),
      pending: expect.any(Number),
    });
    expect(running.replica.status()).toBeDefined();
    await running.stop();
    expect(lines.at(-1)).toEqual({ msg: 'projector stopped', projectorId: 'projector-test' });
    expect(lines.some((l) => l.msg === 'standing-by' && l.why === 'stopping')).toBe(true);
    const count = lines.length;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(lines).toHaveLength(count); // no status lines after the stop
    expect(lines.filter((l) => /error/.test(l.msg))).toEqual([]);
  });
});
