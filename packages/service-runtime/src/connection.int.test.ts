import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { driveSharedClock, SimulatedClock, SystemClock } from '@threadline/clock';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { ConfigError } from '@threadline/session-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { connectService, serviceClock } from './connection.js';

describe('loadConfig', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  const configFile = async (text: string) => {
    const dir = await mkdtemp(join(tmpdir(), 'threadline-runtime-'));
    dirs.push(dir);
    const file = join(dir, 'threadline.json5');
    await writeFile(file, text);
    return file;
  };

  it('given no path, when loaded, then it is the defaults', async () => {
    expect(await loadConfig(undefined)).toMatchObject({ clock: { mode: 'system' }, production: false });
  });

  it('given a JSON5 file, when loaded, then its values are used', async () => {
    const config = await loadConfig(await configFile("{ clock: { mode: 'test' }, // comment\n}"));
    expect(config.clock.mode).toBe('test');
  });

  it('given an invalid file, when loaded, then the error names the file, the path and the problem', async () => {
    const file = await configFile('{ session: { dmScope: "everyone" } }');
    const error = await loadConfig(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).source).toBe(file);
    expect((error as ConfigError).message).toMatch(/session\.dmScope/);
  });
});

describe('connectService and serviceClock', () => {
  let server: RunningNatsServer;
  const connections: NatsConnection[] = [];
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((nc) => nc.close()));
  });
  afterAll(async () => {
    await server?.dispose();
  });
  const connect = async (instanceId: string) => {
    const nc = await connectService({ natsUrl: server.url, service: 'thing', instanceId });
    connections.push(nc);
    return nc;
  };

  it('given the default config, when the clock is chosen, then it is the system clock', async () => {
    const nc = await connect('a');
    expect(nc.info?.server_name).toBeDefined();
    const chosen = await serviceClock(nc, await loadConfig(undefined));
    expect(chosen.clock).toBeInstanceOf(SystemClock);
    await chosen.stop();
  });

  it('given clock.mode test, when the clock is chosen, then it follows the shared clock the test drives', async () => {
    const nc = await connect('b');
    const config = { ...(await loadConfig(undefined)), clock: { mode: 'test' as const } };
    const start = Date.UTC(2031, 0, 2, 3, 4, 5);
    const drive = await driveSharedClock(nc, { start });
    const chosen = await serviceClock(nc, config);
    expect(chosen.clock).toBeInstanceOf(SimulatedClock);
    expect(chosen.clock.now()).toBe(start);
    await drive.advance(60_000);
    await chosen.clock.sleepUntil(start + 60_000);
    expect(chosen.clock.now()).toBe(start + 60_000);
    await chosen.stop();
  });

  it('given clock.mode test in production, when the clock is chosen, then the test clock is refused', async () => {
    const nc = await connect('c');
    const config = { ...(await loadConfig(undefined)), clock: { mode: 'test' as const }, production: true };
    await expect(serviceClock(nc, config)).rejects.toThrow(/refused in production/);
  });
});
