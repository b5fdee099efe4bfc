import { createServer } from 'node:net';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliContext } from './context.js';
import { CliError, ExitCodes } from './errors.js';

const io = { out: () => {}, err: () => {}, isTTY: false, env: {} };

/** A loopback port nothing listens on (reserved, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('CliContext.connect with a list of servers', () => {
  let server: RunningNatsServer;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('given a list whose other server is down, when connecting, then it connects to the one that is up', async () => {
    const ctx = new CliContext(io, false, `nats://127.0.0.1:${await deadPort()}, ${server.url},`);
    try {
      const nc = await ctx.connect();
      expect(nc.info?.server_name).toBe(server.serverName);
    } finally {
      await ctx.close();
    }
  });

  it('given a list naming no server, when connecting, then it is a usage error', async () => {
    const ctx = new CliContext(io, false, ' , ');
    const error = await ctx.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCodes.Usage);
  });

  it('given a list where no server is up, when connecting, then it exits 3 naming the list', async () => {
    const list = `nats://127.0.0.1:${await deadPort()},nats://127.0.0.1:${await deadPort()}`;
    const error = await new CliContext(io, false, list).connect().catch((e: unknown) => e);
    expect((error as CliError).exitCode).toBe(ExitCodes.Unreachable);
    expect((error as CliError).message).toContain(`cannot reach the NATS server at ${list}`);
  });
});
