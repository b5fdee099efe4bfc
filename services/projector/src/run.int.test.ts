import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePorts, type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { StreamNames } from '@threadline/protocol';
import { connectService, type LogLine } from '@threadline/service-runtime';
import { httpGet as get, leaderAndStandbyPages, until } from '@threadline/service-runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECTOR_METRICS } from './metrics.js';
import { runProjector } from './run.js';
import { readSettings } from './settings.js';

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

  it('given a config file with retention, when it starts leading, then the streams get those limits, and a changed file updates them', async () => {
    const own = await startNatsServer();
    const file = join(dir, 'retention.json5');
    const settings = readSettings({
      THREADLINE_CONFIG: file,
      THREADLINE_NATS_URL: own.url,
      THREADLINE_PROJECTOR_ID: 'projector-retention',
      THREADLINE_LEASE_TTL_MS: '1000',
    });
    const nc = await connectService({ natsUrl: own.url, service: 'test', instanceId: 'retention' });
    try {
      const jsm = await jetstreamManager(nc);
      const limits = async (name: string) => {
        const { config } = await jsm.streams.info(name);
        return [config.max_age / 86_400e9, config.max_bytes];
      };
      for (const [text, sessions, inbound] of [
        [
          '{ retention: { sessions: { maxAge: "400d" }, inbound: { maxBytes: "1GB" } } }',
          [400, -1],
          [7, 1024 ** 3],
        ],
        ['{ retention: { sessions: { maxAge: "30d", maxBytes: "2GB" } } }', [30, 2 * 1024 ** 3], [7, -1]],
      ] as const) {
        await writeFile(file, text);
        const lines: LogLine[] = [];
        const running = await runProjector(settings, (line) => lines.push(line));
        await until(() => lines.some((l) => l.msg === 'projecting'));
        expect(await limits(StreamNames.sessions)).toEqual(sessions);
        expect(await limits(StreamNames.inbound)).toEqual(inbound);
        await running.stop();
      }
    } finally {
      await nc.close();
      await own.dispose();
    }
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

  it('given metrics ports, when two replicas run, then both are ready (the standby too) and /metrics says who projects', async () => {
    const [firstPort, secondPort] = await freePorts(2);
    const env = (id: string, port: number | undefined) =>
      readSettings({
        THREADLINE_NATS_URL: server.url,
        THREADLINE_PROJECTOR_ID: id,
        THREADLINE_PARTITIONS: '2',
        THREADLINE_LEASE_TTL_MS: '1000',
        THREADLINE_METRICS_PORT: String(port),
      });
    const lines: LogLine[] = [];
    const first = await runProjector(env('projector-a', firstPort), (line) => lines.push(line));
    const url = `http://127.0.0.1:${firstPort}`;
    expect(lines[0]).toMatchObject({ msg: 'projector started', metrics: `${url}/metrics` });
    await until(() => lines.some((l) => l.msg === 'projecting'));
    const second = await runProjector(env('projector-b', secondPort), () => {});
    try {
      for (const port of [firstPort, secondPort])
        expect(await get(`http://127.0.0.1:${port}/readyz`)).toEqual({ status: 200, body: 'ready\n' });
      // Joining, the second replica may win the lease (rendezvous hashing): wait for one leader, whichever.
      const [page, standbyPage] = await leaderAndStandbyPages('threadline_projector_leader', [
        firstPort,
        secondPort,
      ]);
      for (const name of Object.values(PROJECTOR_METRICS)) expect(page).toContain(`# TYPE ${name} `);
      expect(page).toContain('threadline_projector_leader 1\n');
      expect(page).toMatch(/^threadline_projector_lag_records \d+$/m);
      expect(page).toContain('threadline_projector_problems_total{kind="chain-break"} 0\n');
      expect(standbyPage).toContain('threadline_projector_leader 0\n');
      expect(standbyPage).not.toContain('threadline_projector_lag_records');
    } finally {
      await second.stop();
      await first.stop();
    }
    await expect(get(`${url}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
  });
});
