import { createServer } from 'node:net';
import { freePorts, type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { Subjects } from '@threadline/protocol';
import { connectService, type LogLine } from '@threadline/service-runtime';
import { httpGet as get, until } from '@threadline/service-runtime/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_METRICS } from './metrics.js';
import { runWorker } from './run.js';
import { readSettings } from './settings.js';

/** The value of one series on a metrics page (`name` with its labels, as written). */
const seriesValue = (page: string, series: string) =>
  Number(
    page
      .split('\n')
      .find((line) => line.startsWith(`${series} `))
      ?.slice(series.length + 1),
  );

describe('runWorker (ops server)', () => {
  let server: RunningNatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('given a metrics port, when started, then /metrics counts what it applies and /readyz is 200 until it stops', async () => {
    const [port] = await freePorts(1);
    const lines: LogLine[] = [];
    const settings = readSettings({
      THREADLINE_NATS_URL: server.url,
      THREADLINE_WORKER_ID: 'worker-ops',
      THREADLINE_PARTITIONS: '2',
      THREADLINE_LEASE_TTL_MS: '1000',
      THREADLINE_METRICS_PORT: String(port),
    });
    const running = await runWorker(settings, (line) => lines.push(line), { sampleIntervalMs: 100 });
    const url = `http://127.0.0.1:${port}`;
    expect(running.ops?.url).toBe(url);
    expect(lines[0]).toEqual({
      msg: 'worker started',
      workerId: 'worker-ops',
      partitions: 2,
      metrics: `${url}/metrics`,
    });
    expect(await get(`${url}/readyz`)).toEqual({ status: 200, body: 'ready\n' });
    expect((await get(`${url}/healthz`)).status).toBe(200);

    await until(
      async () => seriesValue((await get(`${url}/metrics`)).body, 'threadline_worker_partitions_owned') === 2,
    );
    const page = (await get(`${url}/metrics`)).body;
    for (const name of Object.values(WORKER_METRICS)) expect(page).toContain(`# TYPE ${name} `);
    for (const reader of ['route', 'apply'])
      for (const partition of ['0', '1'])
        expect(
          seriesValue(
            page,
            `threadline_worker_consumer_lag_messages{reader="${reader}",partition="${partition}"}`,
          ),
        ).toBe(0);
    expect(seriesValue(page, 'threadline_dead_letters_stored')).toBe(0);
    expect(page).toContain('# TYPE threadline_worker_events_applied_total counter');
    expect(page).toContain('threadline_worker_dead_letters_total{code="too_large"} 0');
    expect(page).toContain('threadline_worker_resident_sessions_limit 10000');
    expect(page).toContain('threadline_service_info{service="worker",instance_id="worker-ops"} 1');

    // One chat event: routed, applied, and its session resident; and one refused, stored as a dead letter.
    const nc = await connectService({ natsUrl: server.url, service: 'test', instanceId: 'producer' });
    const event = {
      v: 1,
      type: 'chat.message',
      id: 'telegram:7:1',
      channel: 'telegram',
      chatType: 'direct',
      peer: { kind: 'direct', id: 7 },
      sender: { id: '7' },
      text: 'hello',
      at: Date.now(),
    };
    nc.publish(Subjects.inbound('telegram', '7'), JSON.stringify(event));
    nc.publish(Subjects.inbound('telegram', '7'), '{not json');
    await nc.flush();
    await nc.close();
    let after = '';
    await until(async () => {
      after = (await get(`${url}/metrics`)).body;
      return seriesValue(after, 'threadline_worker_events_applied_total') === 1;
    });
    expect(seriesValue(after, 'threadline_worker_events_routed_total')).toBe(1);
    expect(seriesValue(after, 'threadline_worker_inputs_total{outcome="recorded"}')).toBe(1);
    expect(seriesValue(after, 'threadline_worker_resident_sessions')).toBe(1);
    await until(async () => {
      const page = (await get(`${url}/metrics`)).body;
      return (
        seriesValue(page, 'threadline_dead_letters_stored') === 1 &&
        seriesValue(page, 'threadline_worker_dead_letters_total{code="invalid_json"}') === 1
      );
    });

    await running.stop();
    expect(lines.at(-1)).toEqual({ msg: 'worker stopped', workerId: 'worker-ops' });
    await expect(get(`${url}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('given no metrics port, when started, then there is no ops server', async () => {
    const running = await runWorker(
      readSettings({
        THREADLINE_NATS_URL: server.url,
        THREADLINE_WORKER_ID: 'worker-quiet',
        THREADLINE_PARTITIONS: '2',
        THREADLINE_LEASE_TTL_MS: '1000',
      }),
      () => {},
    );
    expect(running.ops).toBeUndefined();
    await running.stop();
  });

  it('given a metrics port in use, when starting, then it refuses before connecting', async () => {
    const [port] = await freePorts(1);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const settings = readSettings({
        THREADLINE_NATS_URL: 'nats://127.0.0.1:1', // never reached
        THREADLINE_METRICS_PORT: String(port),
      });
      await expect(runWorker(settings, () => {})).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
