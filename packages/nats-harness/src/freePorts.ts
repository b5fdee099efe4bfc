import { createServer, type Server } from 'node:net';

/**
 * Reserves `count` distinct free loopback ports by listening on port 0, then releases them for the caller.
 * Used only where a port must be known before its server starts (cluster routes, the local stack's
 * service metrics ports); anything else lets its server pick its own port, which cannot race.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolve());
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('listen gave no port');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
