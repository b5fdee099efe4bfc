import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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
  /**
   * How many session worker processes to run (default 1). They need the built worker
   * (`services/worker/dist`); `npm start` builds it. 0 runs the event-log server alone.
   */
  readonly workers?: number;
  /** Extra environment for the services (e.g. `THREADLINE_CONFIG`). */
  readonly serviceEnv?: Record<string, string>;
}

export interface LocalStack {
  readonly nats: RunningNatsServer;
  readonly dataDir: string;
  readonly logDir: string;
  /** Pids of the running worker processes. */
  readonly workerPids: readonly number[];
  /** What runs, one line each, for the banner. */
  describe(): string[];
  stop(): Promise<void>;
}

/** The worker's entry point, from this file's place in the repository (src/ or dist/ alike). */
const WORKER_MAIN = fileURLToPath(new URL('../../../services/worker/dist/main.js', import.meta.url));
const WORKER_READY = /"msg":"worker started"/;
const WORKER_START_TIMEOUT_MS = 30_000;
const WORKER_STOP_TIMEOUT_MS = 15_000;

interface RunningService {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  stop(): Promise<void>;
}

function exitOf(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((done) => child.once('exit', () => done()));
}

/** Starts one worker process, its output appended to `logFile`; resolves once it reports itself started. */
async function startWorker(name: string, env: NodeJS.ProcessEnv, logFile: string): Promise<RunningService> {
  const child = spawn(process.execPath, [WORKER_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  let seen = '';
  const ready = new Promise<void>((ok, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`${name} did not start within ${WORKER_START_TIMEOUT_MS} ms; see ${logFile}`)),
      WORKER_START_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      if (seen.length < 65_536) seen += chunk.toString('utf8');
      if (WORKER_READY.test(seen)) {
        clearTimeout(timer);
        ok();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited during start (${signal ?? `code ${code}`}):\n${seen.trim()}`));
    });
  });
  const service: RunningService = {
    name,
    child,
    logFile,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), WORKER_STOP_TIMEOUT_MS);
        await exitOf(child);
        clearTimeout(killer);
      }
      log.end();
    },
  };
  try {
    await ready;
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}

/**
 * Starts the whole system locally: the embedded nats-server (JetStream, file storage under
 * `<dataDir>/nats`) and Threadline's services as processes (so far: the session worker). Checks the
 * server version through the same connection path every component uses before starting the services.
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
  const services: RunningService[] = [];
  const stop = async () => {
    await Promise.all(services.map((s) => s.stop()));
    await nats.dispose();
  };
  try {
    const nc = await connectToNats({ servers: nats.url, name: 'threadline-devstack' });
    await nc.close();
    const workers = options.workers ?? 1;
    for (let i = 1; i <= workers; i++) {
      const name = `worker-${i}`;
      services.push(
        await startWorker(
          name,
          {
            ...process.env,
            ...options.serviceEnv,
            THREADLINE_NATS_URL: nats.url,
            THREADLINE_WORKER_ID: `local-${name}`,
          },
          join(logDir, `${name}.log`),
        ),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nats,
    dataDir,
    logDir,
    workerPids: services.map((s) => s.child.pid as number),
    describe: () => [
      `NATS           ${nats.url}  (nats-server ${nats.version}, JetStream on)`,
      `Monitoring     ${nats.monitorUrl}/  (varz, jsz, healthz)`,
      ...services.map((s) => `Session worker ${s.name} (pid ${s.child.pid}), log ${s.logFile}`),
      `JetStream data ${nats.storeDir}`,
      `Logs           ${logDir}`,
    ],
    stop,
  };
}
