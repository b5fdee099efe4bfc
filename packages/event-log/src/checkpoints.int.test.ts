import type { NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvCheckpointStore } from './checkpoints.js';

describe('KvCheckpointStore (real nats-server)', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectToNats({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  it('starts at 0, keeps what is set, and survives a new process', async () => {
    const store = await KvCheckpointStore.open(nc, { bucket: 'cp-basic' });
    expect(await store.get('apply.3')).toBe(0);
    await store.set('apply.3', 10);
    await store.set('apply.3', 25);
    const reopened = await KvCheckpointStore.open(nc, { bucket: 'cp-basic' });
    expect(await reopened.get('apply.3')).toBe(25);
  });

  it('never moves backwards, even when two writers race (a hand-over overlapping for a moment)', async () => {
    const a = await KvCheckpointStore.open(nc, { bucket: 'cp-race' });
    const b = await KvCheckpointStore.open(nc, { bucket: 'cp-race' });
    await a.set('route.0', 5);
    await b.set('route.0', 7); // b wrote behind a's back: a's remembered revision is stale
    await a.set('route.0', 6); // older than what is stored: ignored
    expect(await b.get('route.0')).toBe(7);
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).set('route.0', 100 + i)));
    expect(await a.get('route.0')).toBe(119);
  });
});
