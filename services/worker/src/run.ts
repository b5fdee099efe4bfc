/**
 * Composition root of the worker process: settings → config → NATS connection → clock → session worker.
 * Logs are JSON lines on stdout (one object per event) until the observability issue brings pino.
 */
import { readFile } from 'node:fs/promises';
import { type Clock, chooseClock, followSharedClock } from '@threadline/clock';
import { connectToNats } from '@threadline/nats';
import { parseConfig, parseConfigText, type ThreadlineConfig } from '@threadline/session-core';
import { type SessionWorker, startSessionWorker } from '@threadline/session-worker';
import type { WorkerSettings } from './settings.js';

export interface RunningWorker {
  readonly worker: SessionWorker;
  stop(): Promise<void>;
}

export type LogLine = Record<string, unknown> & { msg: string };

async function loadConfig(path: string | undefined): Promise<ThreadlineConfig> {
  if (path === undefined) return parseConfig({}).config;
  return parseConfigText(await readFile(path, 'utf8'), path).config;
}

export async function runWorker(
  settings: WorkerSettings,
  log: (line: LogLine) => void = (line) => console.log(JSON.stringify(line)),
): Promise<RunningWorker> {
  const config = await loadConfig(settings.configPath);
  if (settings.killAfterAppend !== undefined && config.production)
    throw new Error('THREADLINE_FAULT is a test hook and is refused by a production config');
  const nc = await connectToNats({
    servers: settings.natsUrl,
    name: `threadline-worker-${settings.workerId}`,
  });
  let stopClock: (() => Promise<void>) | undefined;
  let clock: Clock;
  if (config.clock.mode === 'test' && !config.production) {
    const shared = await followSharedClock(nc, { start: Date.now() });
    clock = shared.clock;
    stopClock = shared.stop;
  } else {
    clock = chooseClock(config, () => {
      throw new Error('unreachable: the test clock is chosen above');
    });
  }
  let appends = 0;
  const worker = await startSessionWorker({
    nc,
    config,
    clock,
    workerId: settings.workerId,
    partitions: settings.partitions,
    replicas: settings.replicas,
    maxResident: settings.maxResident,
    maxInboundBytes: settings.maxInboundBytes,
    leaseTtlMs: settings.leaseTtlMs,
    ...(settings.killAfterAppend === undefined
      ? {}
      : {
          afterAppend: (sessionKey: string, seq: number) => {
            appends += 1;
            if (appends >= (settings.killAfterAppend as number)) {
              log({ msg: 'fault: SIGKILL after append', sessionKey, seq });
              process.kill(process.pid, 'SIGKILL');
            }
          },
        }),
    onEvent: (event) => log({ msg: event.type, ...event }),
  });
  log({ msg: 'worker started', workerId: settings.workerId, partitions: settings.partitions });
  return {
    worker,
    async stop() {
      await worker.stop();
      await stopClock?.();
      await nc.drain();
      log({ msg: 'worker stopped', workerId: settings.workerId });
    },
  };
}
