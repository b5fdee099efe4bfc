import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driveSharedClock, followSharedClock } from './sharedClock.js';

describe('the shared simulated clock (real nats-server)', () => {
  let server: RunningNatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('lets a test move time for components in other connections, waking their sleepers', async () => {
    const start = Date.UTC(2026, 0, 1, 3, 0);
    const componentConn = await connectToNats({ servers: server.url });
    const testConn = await connectToNats({ servers: server.url });
    const driver = await driveSharedClock(testConn, { start, bucket: 'clock-a' });
    const { clock, stop } = await followSharedClock(componentConn, { start: 0, bucket: 'clock-a' });
    expect(clock.now()).toBe(start); // picks up the shared time, not its own default

    const fourAm = Date.UTC(2026, 0, 1, 4, 0);
    const woke = clock.sleepUntil(fourAm).then(() => clock.now());
    await driver.advance(30 * 60_000);
    await expect.poll(() => clock.now()).toBe(start + 30 * 60_000);
    expect(clock.pendingSleepers).toBe(1);
    await driver.set(fourAm + 5);
    expect(await woke).toBe(fourAm + 5);

    await expect(driver.set(start)).rejects.toThrow(/cannot go back/);
    await stop();
    await componentConn.close();
    await testConn.close();
  });
});
