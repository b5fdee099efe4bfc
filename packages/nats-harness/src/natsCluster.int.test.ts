import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from './freePorts.js';
import { type RunningNatsCluster, startNatsCluster } from './natsCluster.js';

describe('startNatsCluster', () => {
  let cluster: RunningNatsCluster;
  beforeAll(async () => {
    cluster = await startNatsCluster({ size: 3 });
  }, 90_000);
  afterAll(async () => {
    await cluster?.dispose();
  });

  it('forms a 3-node JetStream cluster on loopback', async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(new Set(cluster.urls).size).toBe(3);
    const nc = await connect({ servers: cluster.urls });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.add({ name: 'R3', subjects: ['r3.>'], num_replicas: 3 });
    expect(info.config.num_replicas).toBe(3);
    expect(info.cluster?.replicas?.length).toBe(2);
    await nc.close();
  });

  it('keeps accepting writes to a replicated stream with one node killed, and heals on restart', async () => {
    const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await jsm.streams.add({ name: 'SURVIVE', subjects: ['survive.>'], num_replicas: 3 });
    for (let i = 0; i < 10; i++) await js.publish('survive.before', `${i}`);

    // Kill the stream leader's node, the harshest single failure for this stream.
    const leader = (await jsm.streams.info('SURVIVE')).cluster?.leader;
    const victim = Math.max(
      0,
      cluster.nodes.findIndex((n) => n.serverName === leader),
    );
    const killedPid = cluster.node(victim).pid as number;
    await cluster.kill(victim);
    expect(cluster.node(victim).running).toBe(false);
    expect(() => process.kill(killedPid, 0)).toThrow();

    // Writes go on: a new leader is elected among the two survivors (quorum 2 of 3).
    let accepted = 0;
    const deadline = Date.now() + 30_000;
    while (accepted < 20 && Date.now() < deadline) {
      try {
        await js.publish('survive.during', `${accepted}`, { timeout: 2_000 });
        accepted++;
      } catch {
        await new Promise((r) => setTimeout(r, 200)); // election in progress
      }
    }
    expect(accepted).toBe(20);
    const during = await jsm.streams.info('SURVIVE');
    expect(during.state.messages).toBe(30);
    expect(during.cluster?.leader).not.toBe(leader);

    await cluster.restart(victim);
    expect(cluster.node(victim).running).toBe(true);
    // The restarted node catches up: all three replicas current again.
    const healDeadline = Date.now() + 30_000;
    let replicas: { current?: boolean }[] = [];
    while (Date.now() < healDeadline) {
      replicas = (await jsm.streams.info('SURVIVE')).cluster?.replicas ?? [];
      if (replicas.length === 2 && replicas.every((r) => r.current)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(replicas.every((r) => r.current)).toBe(true);
    await nc.close();
  });
});

describe('startNatsCluster with fixed ports, store folders and log files', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('listens where told, keeps its stores across dispose, and a cluster started again on them has its streams back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'threadline-cluster-'));
    dirs.push(dir);
    const [p1, p2, p3, h1] = await freePorts(4);
    const options = {
      name: 'fixed',
      ports: [p1 as number, p2 as number, p3 as number],
      httpPorts: [h1 as number], // the others: free ports
      storeDir: (i: number) => join(dir, 'nats', `n${i + 1}`),
      logFile: (i: number) => join(dir, 'logs', `nats-n${i + 1}.log`),
    };
    const first = await startNatsCluster(options);
    try {
      expect(first.urls).toEqual([p1, p2, p3].map((p) => `nats://127.0.0.1:${p}`));
      expect(first.nodes.map((n) => n.serverName)).toEqual(['fixed-n1', 'fixed-n2', 'fixed-n3']);
      expect(first.node(0).httpPort).toBe(h1);
      expect(first.node(1).httpPort).not.toBe(0);
      expect(first.nodes.map((n) => n.storeDir)).toEqual([1, 2, 3].map((i) => join(dir, 'nats', `n${i}`)));
      for (const [i, node] of first.nodes.entries()) {
        expect(node.logFile).toBe(join(dir, 'logs', `nats-n${i + 1}.log`));
        expect(await readFile(node.logFile, 'utf8')).toContain('Server is ready');
      }
      const nc = await connect({ servers: first.urls });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'KEPT', subjects: ['kept.>'], num_replicas: 3 });
      await jetstream(nc).publish('kept.one', 'x');
      await nc.close();

      // A fixed port in use is refused before any node starts.
      await expect(startNatsCluster({ ports: [p1 as number] })).rejects.toThrow(
        new RegExp(`127\\.0\\.0\\.1:${p1} \\(client port of node 1\\) is taken`),
      );
    } finally {
      await first.dispose();
    }
    for (const i of [1, 2, 3]) expect(existsSync(join(dir, 'nats', `n${i}`, 'jetstream'))).toBe(true);

    const second = await startNatsCluster(options);
    try {
      const nc = await connect({ servers: second.urls });
      const jsm = await jetstreamManager(nc);
      let messages = -1;
      const deadline = Date.now() + 30_000;
      while (messages !== 1 && Date.now() < deadline) {
        messages = await jsm.streams
          .info('KEPT')
          .then((info) => info.state.messages)
          .catch(() => -1); // the stream's group elects its leader again after the restart
        if (messages !== 1) await new Promise((r) => setTimeout(r, 200));
      }
      expect(messages).toBe(1);
      await nc.close();
    } finally {
      await second.dispose();
    }
  });

  it('refuses more ports than nodes', async () => {
    await expect(startNatsCluster({ size: 3, ports: [0, 0, 0, 0] })).rejects.toThrow(
      /ports names 4 ports for 3 nodes/,
    );
    // (a listener on a fixed port is named in the refusal; see above)
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startNatsCluster({ httpPorts: [0, port] })).rejects.toThrow(
        /monitoring port of node 2\) is taken \(address already in use\)/,
      );
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });
});
