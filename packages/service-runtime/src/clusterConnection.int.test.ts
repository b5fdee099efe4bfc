import type { NatsConnection } from '@nats-io/transport-node';
import { type RunningNatsCluster, startNatsCluster } from '@threadline/nats-harness';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectService } from './connection.js';
import { readCommonSettings, SettingsReader } from './settings.js';

// THREADLINE_NATS_URL as a cluster's list, against a real 3-node JetStream cluster: a service given every
// node connects to one of them and survives that node's crash.
describe('connectService with a cluster list', () => {
  let cluster: RunningNatsCluster;
  const connections: NatsConnection[] = [];
  beforeAll(async () => {
    cluster = await startNatsCluster({ size: 3 });
  }, 90_000);
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((nc) => nc.close()));
  });
  afterAll(async () => {
    await cluster?.dispose();
  });

  /** The service's URL as an operator writes it: every node, comma-separated, with spaces. */
  const natsUrlOf = (urls: readonly string[]) => {
    const reader = new SettingsReader({ THREADLINE_NATS_URL: `${urls.join(', ')},` });
    const settings = readCommonSettings(reader, { idVariable: 'THREADLINE_THING_ID' });
    reader.done('thing');
    return settings.natsUrl;
  };
  const connect = async (instanceId: string) => {
    const nc = await connectService({ natsUrl: natsUrlOf(cluster.urls), service: 'thing', instanceId });
    connections.push(nc);
    return nc;
  };
  const indexOf = (nc: NatsConnection) =>
    cluster.nodes.findIndex((n) => n.serverName === nc.info?.server_name);

  /** Retries `op` while the cluster elects (a killed node's streams and the meta group). */
  const eventually = async <T>(op: () => Promise<T>, ms = 30_000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        return await op();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };

  it('given every node, when the node it is connected to is killed, then it carries on through another', async () => {
    const nc = await connect('a');
    const before = indexOf(nc);
    expect(before).toBeGreaterThanOrEqual(0);
    // JetStream through the raw API (core requests): a replicated stream, one message in.
    const api = async <T>(subject: string, body: unknown = '') => {
      const reply = (
        await nc.request(subject, typeof body === 'string' ? body : JSON.stringify(body), {
          timeout: 2_000,
        })
      ).json<T & { error?: { description: string } }>();
      if (reply.error) throw new Error(`${subject}: ${reply.error.description}`);
      return reply;
    };
    const created = await api<{ config: { num_replicas: number } }>('$JS.API.STREAM.CREATE.CLUSTER_CONN', {
      name: 'CLUSTER_CONN',
      subjects: ['cluster-conn.>'],
      num_replicas: 3,
    });
    expect(created.config.num_replicas).toBe(3);
    await api<{ seq: number }>('cluster-conn.before', '1');

    const statuses: string[] = [];
    void (async () => {
      for await (const s of nc.status()) statuses.push(s.type);
    })();
    await cluster.kill(before);
    try {
      await eventually(() => api<{ seq: number }>('cluster-conn.after', '2'));
      const after = indexOf(nc);
      expect(after).toBeGreaterThanOrEqual(0);
      expect(after).not.toBe(before);
      expect(nc.isClosed()).toBe(false);
      expect(statuses).toContain('reconnect');
      const info = await eventually(() =>
        api<{ state: { messages: number } }>('$JS.API.STREAM.INFO.CLUSTER_CONN'),
      );
      // (a publish retried after a timeout during the election may be stored twice: no message id here)
      expect(info.state.messages).toBeGreaterThanOrEqual(2);
      // Core request/reply works too (the connection itself is back, not only JetStream).
      const sub = nc.subscribe('echo.cluster-conn', {
        callback: (_e, m) => {
          m.respond(m.data);
        },
      });
      expect((await nc.request('echo.cluster-conn', 'ping', { timeout: 5_000 })).string()).toBe('ping');
      sub.unsubscribe();
    } finally {
      await cluster.restart(before);
    }
  });

  it('given every node, when one is down at start, then it connects to another', async () => {
    await cluster.stop(0);
    try {
      // Whichever order the client tries them in, the stopped node is passed over.
      for (const id of ['b', 'c', 'd']) {
        const nc = await connect(id);
        expect(indexOf(nc)).toBeGreaterThan(0);
      }
    } finally {
      await cluster.restart(0);
    }
  });
});
