import type { NatsConnection } from '@nats-io/transport-node';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectService } from './connection.js';
import { streamMessageCount } from './sampled.js';

describe('streamMessageCount (real nats-server)', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectService({ natsUrl: server.url, service: 'test', instanceId: 'sampled' });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  it('given no stream, then 0; given a stream, then the messages it holds', async () => {
    expect(await streamMessageCount(nc, 'COUNTED')).toBe(0);
    const created = (
      await nc.request(
        '$JS.API.STREAM.CREATE.COUNTED',
        JSON.stringify({ name: 'COUNTED', subjects: ['counted.>'], storage: 'memory' }),
      )
    ).json<{ error?: unknown }>();
    expect(created.error).toBeUndefined();
    for (let i = 0; i < 3; i++) await nc.request(`counted.${i}`, 'x'); // JetStream acknowledges each
    expect(await streamMessageCount(nc, 'COUNTED')).toBe(3);
  });
});
