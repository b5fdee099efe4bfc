import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { freePorts, type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import type { PingResponse } from '@threadline/ops';
import { opsRequest } from '@threadline/ops/testing';
import { OpsService } from '@threadline/protocol';
import type { LogLine } from '@threadline/service-runtime';
import { httpGet as get, until } from '@threadline/service-runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPS_METRICS } from './metrics.js';
import { runOps } from './run.js';
import { readSettings } from './settings.js';

describe('runOps', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  let dir = '';
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectToNats({ servers: server.url });
    dir = await mkdtemp(join(tmpdir(), 'threadline-ops-'));
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const pings = async (): Promise<PingResponse[]> => {
    const out: PingResponse[] = [];
    try {
      for await (const m of await nc.requestMany(`$SRV.PING.${OpsService.name}`, '', { maxWait: 500 }))
        out.push(m.json<PingResponse>());
    } catch (error) {
      // Nobody subscribed: no replica runs (any other failure fails the test).
      if (!/no responders/i.test((error as Error).message)) throw error;
    }
    return out;
  };

  it('given an invalid config file, when starting, then it refuses before connecting', async () => {
    const file = join(dir, 'bad.json5');
    await writeFile(file, '{ session: { dmScope: "everyone" } }');
    const settings = readSettings({ THREADLINE_CONFIG: file, THREADLINE_NATS_URL: 'nats://127.0.0.1:1' });
    await expect(runOps(settings, () => {})).rejects.toThrow(/session\.dmScope/);
  });

  it('given two replicas with metrics ports, when asked, then $SRV finds both, /metrics counts requests and errors, and each stops cleanly', async () => {
    const [firstPort, secondPort] = await freePorts(2);
    const lines: LogLine[] = [];
    const env = (id: string, port: number | undefined) =>
      readSettings({
        THREADLINE_NATS_URL: server.url,
        THREADLINE_OPS_ID: id,
        THREADLINE_METRICS_PORT: String(port),
        THREADLINE_LOG_LEVEL: 'debug',
      });
    const first = await runOps(env('ops-a', firstPort), (line) => lines.push(line), { statusIntervalMs: 50 });
    const second = await runOps(env('ops-b', secondPort), () => {});
    const url = `http://127.0.0.1:${firstPort}`;
    try {
      expect(lines[0]).toEqual({
        msg: 'ops started',
        opsId: 'ops-a',
        partitions: 16,
        metrics: `${url}/metrics`,
      });
      const found = await pings();
      expect(found.map((p) => p.metadata.instance).sort()).toEqual(['ops-a', 'ops-b']);
      expect(found.map((p) => p.id).sort()).toEqual([first.service.id, second.service.id].sort());

      // A fresh server: no streams yet, still an answer; an unknown key is a 404.
      const status = await opsRequest(nc, OpsService.status);
      expect(status.ok && status.json).toMatchObject({ v: 1, server: { url: server.url }, sessions: null });
      for (let i = 0; i < 5; i++) {
        const shown = await opsRequest(nc, OpsService.sessionsShow, { sessionKey: 'agent:main:nobody' });
        expect(shown.ok ? 0 : shown.code).toBe(404);
      }
      for (const port of [firstPort, secondPort])
        expect(await get(`http://127.0.0.1:${port}/readyz`)).toEqual({ status: 200, body: 'ready\n' });
      const pages = [
        (await get(`${url}/metrics`)).body,
        (await get(`http://127.0.0.1:${secondPort}/metrics`)).body,
      ];
      for (const name of Object.values(OPS_METRICS)) expect(pages[0]).toContain(`# TYPE ${name} counter`);
      const count = (metric: string, endpoint: string) =>
        pages
          .map((page) =>
            Number(new RegExp(`^${metric}\\{endpoint="${endpoint}"\\} (\\S+)$`, 'm').exec(page)?.[1]),
          )
          .reduce((a, b) => a + b, 0);
      // The queue group: every request answered once, by one replica or the other.
      expect(count(OPS_METRICS.requests, 'status')).toBe(1);
      expect(count(OPS_METRICS.requests, 'sessions-show')).toBe(5);
      expect(count(OPS_METRICS.errors, 'sessions-show')).toBe(5);
      expect(count(OPS_METRICS.errors, 'status')).toBe(0);
      expect(count(OPS_METRICS.processing, 'sessions-show')).toBeGreaterThan(0);

      await until(() => lines.some((l) => l.msg === 'ops status'));
      expect(lines.find((l) => l.msg === 'ops status')).toMatchObject({
        opsId: 'ops-a',
        serviceId: first.service.id,
        endpoints: { status: expect.any(Object), 'sessions-list': { requests: 0, errors: 0 } },
      });
      if (lines.some((l) => l.msg === 'request refused'))
        expect(lines.find((l) => l.msg === 'request refused')).toMatchObject({
          level: 'debug',
          endpoint: 'sessions-show',
          code: 404,
        });
    } finally {
      await second.stop();
      await first.stop();
    }
    expect(lines.at(-1)).toEqual({ msg: 'ops stopped', opsId: 'ops-a' });
    expect(await pings()).toEqual([]);
    await expect(get(`${url}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
  });
});
