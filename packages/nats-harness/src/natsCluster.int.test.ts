import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
