import { existsSync } from 'node:fs';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { livePids } from './childProcesses.js';
import { type RunningNatsServer, startNatsServer } from './natsServer.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('startNatsServer', () => {
  let server: RunningNatsServer | undefined;
  afterEach(async () => {
    await server?.dispose();
    server = undefined;
  });

  it('starts a JetStream server on an ephemeral loopback port, never 4222', async () => {
    server = await startNatsServer();
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.port).not.toBe(4222);
    expect(server.version).toMatch(/^2\.(1\d|[2-9]\d)\.\d+$/);

    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'PROBE', subjects: ['probe.>'] });
    const ack = await jetstream(nc).publish('probe.one', 'hello');
    expect(ack.seq).toBe(1);
    await nc.close();
  });

  it('keeps its port and store across a crash and restart', async () => {
    server = await startNatsServer();
    const { port, storeDir } = server;
    let nc = await connect({ servers: server.url });
    await (await jetstreamManager(nc)).streams.add({ name: 'KEEP', subjects: ['keep.>'] });
    await jetstream(nc).publish('keep.a', 'x');
    await nc.close();

    const pid = server.pid as number;
    await server.kill();
    expect(server.running).toBe(false);
    expect(alive(pid)).toBe(false);

    await server.restart();
    expect(server.port).toBe(port);
    expect(server.storeDir).toBe(storeDir);
    nc = await connect({ servers: server.url });
    const info = await (await jetstreamManager(nc)).streams.info('KEEP');
    expect(info.state.messages).toBe(1);
    await nc.close();
  });

  it('dispose stops the process and removes its temporary folders', async () => {
    const s = await startNatsServer();
    const pid = s.pid as number;
    expect(livePids()).toContain(pid);
    await s.dispose();
    expect(alive(pid)).toBe(false);
    expect(livePids()).not.toContain(pid);
    expect(existsSync(s.workDir)).toBe(false);
  });

  it("puts jetstreamConfig inside the jetstream block and env in the server's environment, each replaceable on restart", async () => {
    const maxMemory = async () => {
      const varz = (await (await fetch(`${server?.monitorUrl}/varz`)).json()) as {
        jetstream: { config: { max_memory: number; store_dir: string } };
      };
      return varz.jetstream.config;
    };
    server = await startNatsServer({
      jetstreamConfig: 'max_memory_store: $TL_HARNESS_MEM',
      env: { TL_HARNESS_MEM: '2MB' },
    });
    expect(await maxMemory()).toMatchObject({
      max_memory: 2 * 1024 ** 2,
      store_dir: expect.stringContaining(server.storeDir),
    });
    await server.restart({ env: { TL_HARNESS_MEM: '3MB' } });
    expect((await maxMemory()).max_memory).toBe(3 * 1024 ** 2);
    await server.restart({ jetstreamConfig: 'max_memory_store: 4MB', env: {} });
    expect((await maxMemory()).max_memory).toBe(4 * 1024 ** 2);
  });

  it('reports a server that cannot start with its log, instead of hanging', async () => {
    const first = await startNatsServer({ jetstream: false });
    try {
      await expect(startNatsServer({ port: first.port, jetstream: false })).rejects.toThrow(
        /exited during start/,
      );
    } finally {
      await first.dispose();
    }
  });
});
