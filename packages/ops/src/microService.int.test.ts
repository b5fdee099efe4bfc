/**
 * The services protocol against a real nats-server: discovery at every subject level, INFO and STATS
 * documents, the queue group shared by replicas, error headers and counts, processing time of async
 * handlers — and the official `@nats-io/services` client (the NATS tooling's view) finding it all.
 */
import { Svcm } from '@nats-io/services';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  controlSubjects,
  type InfoResponse,
  type MicroService,
  type PingResponse,
  ServiceError,
  ServiceErrorHeaders,
  type StatsResponse,
  startMicroService,
} from './microService.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HANDLER_MS = 20;

describe('startMicroService (real nats-server)', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  const running: MicroService[] = [];
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: false });
    nc = await connectToNats({ servers: server.url });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  /** A replica of `demo`: `demo.echo` answers its body after a short wait; "bad" is a 400, "boom" throws. */
  const replica = (answered: string[] = []) => {
    const service = startMicroService(nc, {
      name: 'demo',
      version: '1.2.3',
      description: 'a demo',
      metadata: { instance: `r${running.length + 1}` },
      endpoints: [
        {
          name: 'echo',
          subject: 'demo.echo',
          async handle(request: Msg) {
            await sleep(HANDLER_MS);
            const text = request.string();
            if (text === 'bad') throw new ServiceError(400, 'bad input: "bad"', '{"error":"bad"}');
            if (text === 'boom') throw new Error('it broke\nbadly');
            answered.push(text);
            return `echo ${text}`;
          },
        },
      ],
    });
    running.push(service);
    return service;
  };

  const collect = async <T>(subject: string, expected: number): Promise<T[]> => {
    const replies: T[] = [];
    try {
      for await (const m of await nc.requestMany(subject, '', { maxWait: 500, maxMessages: expected }))
        replies.push(m.json<T>());
    } catch (error) {
      // Nobody subscribed: no replies (any other failure fails the test).
      if (!/no responders/i.test((error as Error).message)) throw error;
    }
    return replies;
  };

  it('given two replicas, when pinged at each subject level, then each level finds whom it should', async () => {
    const [a, b] = [replica(), replica()];
    const ids = [a.id, b.id].sort();
    for (const subject of [`$SRV.PING`, `$SRV.PING.demo`]) {
      const pongs = await collect<PingResponse>(subject, 2);
      expect(pongs.map((p) => p.id).sort(), subject).toEqual(ids);
      expect(pongs[0]).toMatchObject({
        type: 'io.nats.micro.v1.ping_response',
        name: 'demo',
        version: '1.2.3',
      });
    }
    const one = await collect<PingResponse>(`$SRV.PING.demo.${a.id}`, 2);
    expect(one.map((p) => [p.id, p.metadata])).toEqual([[a.id, { instance: 'r1' }]]);
    expect(await collect(`$SRV.PING.other`, 1)).toEqual([]);
    expect(controlSubjects('STATS', 'demo', a.id)).toEqual([
      '$SRV.STATS',
      '$SRV.STATS.demo',
      `$SRV.STATS.demo.${a.id}`,
    ]);

    const [info] = await collect<InfoResponse>(`$SRV.INFO.demo.${b.id}`, 1);
    expect(info).toEqual({
      type: 'io.nats.micro.v1.info_response',
      name: 'demo',
      id: b.id,
      version: '1.2.3',
      metadata: { instance: 'r2' },
      description: 'a demo',
      endpoints: [{ name: 'echo', subject: 'demo.echo', queue_group: 'q', metadata: {} }],
    });
  });

  it('given requests to two replicas, when answered, then each request is answered once and STATS counts requests, errors and time', async () => {
    const answered: string[] = [];
    const [a, b] = [replica(answered), replica(answered)];
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) => nc.request('demo.echo', `m${i}`, { timeout: 5_000 })),
    );
    expect(replies.map((r) => r.string())).toEqual(Array.from({ length: 10 }, (_, i) => `echo m${i}`));
    expect(answered.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());

    const bad = await nc.request('demo.echo', 'bad', { timeout: 5_000 });
    expect(bad.headers?.get(ServiceErrorHeaders.code)).toBe('400');
    expect(bad.headers?.get(ServiceErrorHeaders.message)).toBe('bad input: "bad"');
    expect(bad.string()).toBe('{"error":"bad"}');
    const boom = await nc.request('demo.echo', 'boom', { timeout: 5_000 });
    expect(boom.headers?.get(ServiceErrorHeaders.code)).toBe('500');
    expect(boom.headers?.get(ServiceErrorHeaders.message)).toBe('it broke badly');
    // Still serving after both.
    expect((await nc.request('demo.echo', 'after', { timeout: 5_000 })).string()).toBe('echo after');

    const stats = await collect<StatsResponse>('$SRV.STATS.demo', 2);
    expect(stats.map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
    const endpoints = stats.map((s) => s.endpoints[0]);
    const sum = (f: (e: StatsResponse['endpoints'][number]) => number) =>
      endpoints.reduce((total, e) => total + (e ? f(e) : 0), 0);
    expect(sum((e) => e.num_requests)).toBe(13);
    expect(sum((e) => e.num_errors)).toBe(2);
    // The replica that answered "boom" (the later error) holds it as its last error.
    expect(endpoints.map((e) => e?.last_error)).toContain('500 it broke badly');
    // Every request waited HANDLER_MS before it was answered: the time is the async handler's, not ~0.
    expect(sum((e) => e.processing_time)).toBeGreaterThanOrEqual(13 * (HANDLER_MS - 2) * 1e6);
    for (const e of endpoints)
      if (e && e.num_requests > 0)
        expect(e.average_processing_time).toBe(Math.trunc(e.processing_time / e.num_requests));
    expect(stats[0]).toMatchObject({
      type: 'io.nats.micro.v1.stats_response',
      name: 'demo',
      version: '1.2.3',
      started: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it('given the official @nats-io/services client, when it pings, asks for info and stats, then it finds the service', async () => {
    const service = replica();
    await nc.request('demo.echo', 'x', { timeout: 5_000 });
    // The client is built for its own @nats-io/nats-core (3.0.0-50); the connection object is the same shape.
    const client = new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]).client();
    const pings = [];
    for await (const p of await client.ping('demo')) pings.push(p);
    expect(pings.map((p) => p.id)).toEqual([service.id]);
    const infos = [];
    for await (const i of await client.info('demo', service.id)) infos.push(i);
    expect(infos[0]?.endpoints.map((e) => e.subject)).toEqual(['demo.echo']);
    const stats = [];
    for await (const s of await client.stats('demo')) stats.push(s);
    expect(stats[0]?.endpoints?.[0]).toMatchObject({ name: 'echo', num_requests: 1, num_errors: 0 });
  });

  it('given a stopped replica, when asked, then nobody answers and requests being answered were finished first', async () => {
    const answered: string[] = [];
    const service = replica(answered);
    const pending = nc.request('demo.echo', 'last', { timeout: 5_000 });
    await sleep(5);
    await service.stop();
    expect((await pending).string()).toBe('echo last');
    await expect(nc.request('demo.echo', 'late', { timeout: 1_000 })).rejects.toThrow(/no responders/i);
    expect(await collect(`$SRV.PING.demo.${service.id}`, 1)).toEqual([]);
  });

  it('refuses a name, version or endpoint name the protocol does not allow', () => {
    const endpoints = [{ name: 'e', subject: 'e', handle: async () => '' }];
    expect(() => startMicroService(nc, { name: 'a.b', version: '1.0.0', endpoints })).toThrow(/service name/);
    expect(() => startMicroService(nc, { name: 'a', version: '1.0', endpoints })).toThrow(/SemVer/);
    expect(() =>
      startMicroService(nc, {
        name: 'a',
        version: '1.0.0',
        endpoints: [{ ...endpoints[0], name: 'x y' }] as never,
      }),
    ).toThrow(/endpoint name/);
  });
});
