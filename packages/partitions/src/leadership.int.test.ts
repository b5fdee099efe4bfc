import type { NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Leadership, startLeadership } from './leadership.js';
import { rendezvousOwner } from './rendezvous.js';

async function until(predicate: () => boolean, ms = 15_000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${what} not reached within ${ms} ms`);
}

describe('startLeadership (real nats-server)', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectToNats({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  it('runs the work on exactly one replica at a time, and hands it over when the leader leaves or dies', async () => {
    /** Which replicas are running their work right now, and the most that ever ran at once. */
    const running = new Set<string>();
    let most = 0;
    const log: string[] = [];
    const errors: string[] = [];
    const connections: NatsConnection[] = [];
    const replica = async (id: string) => {
      const own = await connectToNats({ servers: server.url });
      connections.push(own);
      const leadership = await startLeadership({
        nc: own,
        replicaId: id,
        registryBucket: 'lead-registry',
        leaseBucket: 'lead-lease',
        leaseTtlMs: 1_200,
        heartbeatMs: 200,
        onError: (error) => errors.push(`${id}: ${(error as Error).message}`),
        lead: async () => {
          running.add(id);
          most = Math.max(most, running.size);
          log.push(`${id} leads`);
          return {
            stop: async () => {
              running.delete(id);
              log.push(`${id} stops`);
            },
          };
        },
      });
      return { id, leadership, connection: own };
    };
    const leaderOf = () => replicas.find((r) => r.leadership.current() !== undefined);
    // The first replica leads; the two that join later stand by — they do not take the lead over, although
    // rendezvous hashing prefers r1 among the three (sticky leadership).
    expect(rendezvousOwner(0, ['r1', 'r2', 'r3'])).toBe('r1');
    const replicas = [await replica('r2')];
    await until(() => leaderOf() !== undefined, 15_000, 'r2 leading');
    replicas.push(await replica('r1'), await replica('r3'));
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // several rebalance rounds
    expect(log).toEqual(['r2 leads']);
    const first = leaderOf();
    expect(first?.id).toBe('r2');

    // A graceful leave: its work stops before anyone else's starts.
    await (first as { leadership: Leadership<unknown> }).leadership.stop();
    await until(
      () => running.size === 1 && leaderOf() !== undefined && leaderOf() !== first,
      15_000,
      'a second leader',
    );
    const second = leaderOf();
    // (Leadership may have moved while the replicas joined — rendezvous hashing picks the owner — so look
    // at the last hand-over.)
    expect(log.lastIndexOf(`${first?.id} stops`), log.join(', ')).toBeLessThan(
      log.lastIndexOf(`${second?.id} leads`),
    );

    // A crash: the connection drops, nothing is released; the last one takes over once the lease lapses.
    await second?.connection.close();
    running.delete(second?.id as string); // its process is gone, and its work with it
    const third = replicas.find((r) => r !== first && r !== second);
    await until(() => third?.leadership.current() !== undefined, 15_000, 'the third leader');
    expect(most).toBe(1);
    expect(errors.every((e) => e.startsWith(`${second?.id}:`))).toBe(true); // only the crashed one complains
    await third?.leadership.stop();
    await Promise.all(connections.map((c) => c.close().catch(() => {})));
  });
});
