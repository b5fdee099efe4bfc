import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { counter, gauge, type MetricSample } from './metrics.js';
import {
  type OpsServer,
  type Readiness,
  serviceReadiness,
  startOpsServer,
  startServiceOps,
} from './opsServer.js';

/** One request with node:http (fetch keeps connections alive in the background, node:http answers plainly). */
function call(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('startOpsServer', () => {
  const servers: OpsServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  const start = async (
    metrics: () => MetricSample[] | Promise<MetricSample[]>,
    ready: () => Readiness | Promise<Readiness>,
  ) => {
    const server = await startOpsServer({ port: 0, metrics, ready });
    servers.push(server);
    return server;
  };

  it('given an ephemeral port, when scraped, then /metrics serves the text format with its content type', async () => {
    let applied = 0;
    const server = await start(
      () => [
        counter('threadline_test_applied_total', 'Applied.', applied),
        gauge('threadline_test_lag', 'Lag.', 2, { partition: '1' }),
      ],
      () => true,
    );
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    applied = 5;
    const response = await call(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.body).toBe(
      [
        '# HELP threadline_test_applied_total Applied.',
        '# TYPE threadline_test_applied_total counter',
        'threadline_test_applied_total 5',
        '# HELP threadline_test_lag Lag.',
        '# TYPE threadline_test_lag gauge',
        'threadline_test_lag{partition="1"} 2',
        '',
      ].join('\n'),
    );
  });

  it('given readiness that changes, when probed, then /readyz follows it and /healthz stays 200', async () => {
    let state: Readiness = { ready: false, reason: 'starting' };
    const server = await start(
      () => [],
      () => state,
    );
    expect(await call(`${server.url}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await call(`${server.url}/readyz`)).toMatchObject({ status: 503, body: 'not ready: starting\n' });
    state = true;
    expect(await call(`${server.url}/readyz`)).toMatchObject({ status: 200, body: 'ready\n' });
    state = false;
    expect(await call(`${server.url}/readyz`)).toMatchObject({ status: 503, body: 'not ready: not ready\n' });
    state = { ready: true };
    expect((await call(`${server.url}/readyz?verbose=1`)).status).toBe(200);
    expect(await call(`${server.url}/healthz`)).toMatchObject({ status: 200 });
  });

  it('given a readiness check that throws or a metrics source that fails, then 503 and 500 say why', async () => {
    const server = await start(
      () => Promise.reject(new Error('status unavailable')),
      async () => {
        throw new Error('NATS connection closed');
      },
    );
    expect(await call(`${server.url}/readyz`)).toMatchObject({
      status: 503,
      body: 'not ready: NATS connection closed\n',
    });
    expect(await call(`${server.url}/metrics`)).toMatchObject({
      status: 500,
      body: 'metrics failed: status unavailable\n',
    });
  });

  it('given other paths and methods, then 404 and 405; HEAD answers without a body', async () => {
    const server = await start(
      () => [gauge('g', 'G.', 1)],
      () => true,
    );
    expect((await call(`${server.url}/`)).status).toBe(404);
    expect((await call(`${server.url}/metricsx`)).status).toBe(404);
    expect((await call(`${server.url}/metrics`, 'POST')).status).toBe(405);
    expect(await call(`${server.url}/metrics`, 'HEAD')).toMatchObject({ status: 200, body: '' });
  });

  it('given a stopped server, then it no longer answers and stopping again is harmless', async () => {
    const server = await start(
      () => [],
      () => true,
    );
    expect((await call(`${server.url}/healthz`)).status).toBe(200);
    await server.stop();
    await server.stop();
    await expect(call(`${server.url}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('given a port in use, when starting, then it rejects', async () => {
    const first = await start(
      () => [],
      () => true,
    );
    await expect(startOpsServer({ port: first.port, metrics: () => [], ready: () => true })).rejects.toThrow(
      /EADDRINUSE/,
    );
  });
});

describe('startServiceOps', () => {
  it('given metrics port 0, then there is no server', async () => {
    expect(
      await startServiceOps(
        { metricsPort: 0, metricsHost: '127.0.0.1' },
        { service: 'thing', instanceId: 'a' },
        { metrics: () => [], ready: () => true },
      ),
    ).toBeUndefined();
  });

  it('given a port, then /metrics has the service samples and the process ones', async () => {
    const probe = await startOpsServer({ port: 0, metrics: () => [], ready: () => true });
    const port = probe.port;
    await probe.stop();
    const server = await startServiceOps(
      { metricsPort: port, metricsHost: '127.0.0.1' },
      { service: 'thing', instanceId: 'thing-1' },
      { metrics: () => [gauge('threadline_thing_depth', 'Depth.', 3)], ready: () => true },
    );
    try {
      expect(server?.port).toBe(port);
      const { body } = await call(`http://127.0.0.1:${port}/metrics`);
      expect(body).toContain('threadline_thing_depth 3\n');
      expect(body).toContain('threadline_service_info{service="thing",instance_id="thing-1"} 1\n');
      expect(body).toMatch(/^process_resident_memory_bytes \d+$/m);
      expect(body).toMatch(/^process_start_time_seconds \d+$/m);
      expect(body).toMatch(/# TYPE process_cpu_seconds_total counter/);
    } finally {
      await server?.stop();
    }
  });
});

describe('serviceReadiness', () => {
  const nc = (closed: boolean, draining = false) => ({ isClosed: () => closed, isDraining: () => draining });
  it('is ready only while running with an open connection', () => {
    expect(serviceReadiness('running', nc(false))).toBe(true);
    expect(serviceReadiness('starting', nc(false))).toEqual({ ready: false, reason: 'starting' });
    expect(serviceReadiness('stopping', nc(false))).toEqual({ ready: false, reason: 'stopping' });
    expect(serviceReadiness('running', nc(true))).toEqual({ ready: false, reason: 'NATS connection closed' });
    expect(serviceReadiness('running', undefined)).toEqual({
      ready: false,
      reason: 'NATS connection closed',
    });
    expect(serviceReadiness('running', nc(false, true))).toEqual({
      ready: false,
      reason: 'NATS connection draining',
    });
  });
});
