import { createServer, type Server } from 'node:net';
import { resolveLegacyNatsServer, startNatsServer } from '@threadline/nats-harness';
import { afterEach, describe, expect, it } from 'vitest';
import { connectToNats, NatsErrorCodes, NatsServerVersionError } from './connectToNats.js';

const legacy = await resolveLegacyNatsServer().catch((error: Error) => error);

describe('connectToNats', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
  });

  it('connects to a server at or above the floor', async () => {
    const server = await startNatsServer();
    cleanup.push(() => server.dispose());
    const nc = await connectToNats({ servers: server.url });
    expect(nc.info?.version).toBe(server.version);
    await nc.close();
  });

  // A real 2.9.10 (Debian bookworm's package) — the exact server the floor exists to keep out.
  it.skipIf(legacy instanceof Error)('refuses a real nats-server 2.9.x and says why', async () => {
    if (legacy instanceof Error) return;
    const server = await startNatsServer({ bin: legacy.path, jetstream: true });
    cleanup.push(() => server.dispose());
    expect(server.version).toMatch(/^2\.9\./);
    const attempt = connectToNats({ servers: server.url });
    await expect(attempt).rejects.toBeInstanceOf(NatsServerVersionError);
    const error = (await attempt.catch((e: unknown) => e)) as NatsServerVersionError;
    expect(error.code).toBe(NatsErrorCodes.ServerTooOld);
    expect(error.version).toBe(server.version);
    expect(error.message).toContain(`refusing NATS server at 127.0.0.1:${server.port}`);
    expect(error.message).toContain(`nats-server ${server.version} is older than 2.10.0`);
    expect(error.message).toMatch(/two writers can both pass the same optimistic-concurrency check/);
  });

  // Any 2.9.x, including the releases after the #4320 fix, is below the floor. The server below speaks
  // only the protocol's opening INFO/CONNECT/PING exchange, reporting version 2.9.25.
  it('refuses a server that reports 2.9.25', async () => {
    const fake = await infoOnlyServer('2.9.25');
    cleanup.push(() => new Promise((r) => fake.server.close(() => r())));
    await expect(connectToNats({ servers: `127.0.0.1:${fake.port}`, reconnect: false })).rejects.toThrow(
      /nats-server 2\.9\.25 is older than 2\.10\.0/,
    );
  });
});

async function infoOnlyServer(version: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    const info = {
      server_id: 'FAKE',
      server_name: 'fake',
      version,
      proto: 1,
      max_payload: 1048576,
      headers: true,
    };
    socket.write(`INFO ${JSON.stringify(info)}\r\n`);
    socket.on('data', (data) => {
      if (data.toString().includes('PING')) socket.write('PONG\r\n');
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}
