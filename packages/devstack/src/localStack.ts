import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';

export interface LocalStackOptions {
  /** Where the stack keeps its data (JetStream store) and logs. */
  readonly dataDir: string;
  /** NATS client port; 0 lets the server choose a free one. */
  readonly natsPort: number;
  /** NATS monitoring port; 0 lets the server choose a free one. */
  readonly httpPort: number;
  readonly host?: string;
}

export interface LocalStack {
  readonly nats: RunningNatsServer;
  readonly dataDir: string;
  readonly logDir: string;
  /** What runs, one line each, for the banner. */
  describe(): string[];
  stop(): Promise<void>;
}

/**
 * Starts the whole system locally: the embedded nats-server (JetStream, file storage under
 * `<dataDir>/nats`) and, as they are built, Threadline's services. Checks the server version through the
 * same connection path every component uses before reporting the stack ready.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir);
  const logDir = join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const nats = await startNatsServer({
    host: options.host ?? '127.0.0.1',
    port: options.natsPort,
    httpPort: options.httpPort,
    storeDir: join(dataDir, 'nats'),
    serverName: 'threadline-local',
    logFile: join(logDir, 'nats-server.log'),
  });
  try {
    const nc = await connectToNats({ servers: nats.url, name: 'threadline-devstack' });
    await nc.close();
  } catch (error) {
    await nats.dispose();
    throw error;
  }
  return {
    nats,
    dataDir,
    logDir,
    describe: () => [
      `NATS           ${nats.url}  (nats-server ${nats.version}, JetStream on)`,
      `Monitoring     ${nats.monitorUrl}/  (varz, jsz, healthz)`,
      `JetStream data ${nats.storeDir}`,
      `Logs           ${logDir}`,
    ],
    async stop() {
      await nats.dispose();
    },
  };
}
