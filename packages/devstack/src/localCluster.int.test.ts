import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectToNats } from '@threadline/nats';
import { BucketNames, StreamNames, Subjects } from '@threadline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServices } from './buildServices.js';
import { type LocalCluster, startLocalCluster } from './localCluster.js';

/** The buckets the services create as they start (the test clock's only in test mode). */
const STARTUP_BUCKETS = [
  BucketNames.snapshots,
  BucketNames.checkpoints,
  BucketNames.leases,
  BucketNames.workers,
  BucketNames.sessionStore,
  BucketNames.transcripts,
  BucketNames.timers,
  BucketNames.schedulers,
  BucketNames.schedulerLease,
  BucketNames.projectors,
  BucketNames.projectorLease,
];
const wantedCount = Object.values(StreamNames).length + STARTUP_BUCKETS.length;

const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Retries `check` until it returns a value (not undefined) or the time is up. */
async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not reached in ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
}

describe('startLocalCluster (the services built first)', () => {
  let dataDir = '';
  let local: LocalCluster | undefined;
  beforeAll(() => {
    buildServices();
  }, 240_000);
  afterAll(async () => {
    await local?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('runs 3 nodes, 2 workers, the projector and 2 schedulers on R3 streams and buckets; a chat message is recorded; a killed worker comes back; stop leaves no process', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'threadline-cluster-'));
    local = await startLocalCluster({ dataDir, natsPort: 0, httpPort: 0 });
    const { cluster } = local;

    // Three nodes, one meta leader they all agree on, stores and logs in the data folder.
    expect(cluster.nodes).toHaveLength(3);
    expect(local.natsUrl).toBe(cluster.urls.join(','));
    const leaders = await Promise.all(
      cluster.nodes.map(async (node) => {
        const jsz = (await (await fetch(`${node.monitorUrl}/jsz`)).json()) as {
          meta_cluster?: { leader?: string; cluster_size?: number };
        };
        expect(jsz.meta_cluster?.cluster_size).toBe(3);
        return jsz.meta_cluster?.leader;
      }),
    );
    expect(leaders[0]).toBeTruthy();
    expect(new Set(leaders).size).toBe(1);
    for (const [i, node] of cluster.nodes.entries()) {
      expect(node.storeDir).toBe(join(dataDir, 'nats', `n${i + 1}`));
      expect(node.logFile).toBe(join(dataDir, 'logs', `nats-n${i + 1}.log`));
    }

    // The services, each its own process.
    expect(local.workers.map((s) => s.name)).toEqual(['worker-1', 'worker-2']);
    expect(local.projectors.map((s) => s.name)).toEqual(['projector-1']);
    expect(local.schedulers.map((s) => s.name)).toEqual(['scheduler-1', 'scheduler-2']);
    expect(local.opsServices.map((s) => s.name)).toEqual(['ops-1']);
    const pids = local.services.map((s) => s.pid);
    expect(new Set(pids).size).toBe(6);
    for (const s of local.services) {
      expect(s.running).toBe(true);
      expect(alive(s.pid)).toBe(true);
      expect(s.current.child.spawnargs.join(' ')).toContain(s.service.main);
    }
    const banner = local.describe().join('\n');
    expect(banner).toContain(`Client URL     ${local.natsUrl}`);
    expect(banner).toMatch(/Session worker worker-2 \(pid \d+\), log .*worker-2\.log/);
    expect(banner).toMatch(/Scheduler scheduler-2 \(pid \d+\)/);

    const nc = await connectToNats(local.connectOptions());
    try {
      const jsm = await jetstreamManager(nc);
      // Every Threadline stream and every bucket the services created (whichever exist: all of them are
      // checked, not only the ones named here) at 3 replicas.
      const names = await eventually('every stream and bucket', async () => {
        const found: string[] = [];
        for await (const info of jsm.streams.list()) found.push(info.config.name);
        const wanted = [...Object.values(StreamNames), ...STARTUP_BUCKETS.map((b) => `KV_${b}`)];
        return wanted.every((n) => found.includes(n)) ? found : undefined;
      });
      const threadline = names.filter((n) => n.startsWith('THREADLINE_') || n.startsWith('KV_threadline-'));
      expect(threadline.length).toBeGreaterThanOrEqual(wantedCount);
      for (const name of threadline) {
        const info = await eventually(`${name} with its replicas`, async () => {
          const i = await jsm.streams.info(name);
          return i.cluster?.replicas?.length === 2 ? i : undefined;
        });
        expect(info.config.num_replicas, name).toBe(3);
        expect(info.cluster?.replicas, name).toHaveLength(2);
      }

      // A chat message, published as an adapter would, becomes a record in its session's history.
      const event = {
        v: 1,
        type: 'chat.message',
        id: 'telegram:42:1',
        channel: 'telegram',
        chatType: 'direct',
        peer: { kind: 'direct', id: '42' },
        sender: { id: '42' },
        text: 'hello, cluster',
        at: Date.now(),
      };
      await jetstream(nc).publish(Subjects.inbound('telegram', '42'), JSON.stringify(event), {
        msgID: event.id,
      });
      const record = await eventually(
        'the session record',
        async () =>
          (await jsm.streams.getMessage(StreamNames.sessions, {
            last_by_subj: Subjects.session('agent:main:main'),
          })) ?? undefined,
      );
      expect(record.header.get('Nats-Msg-Id')).toBe('chat:telegram:42:1');
      const facts = record.json<{ facts: { type: string }[] }>().facts.map((f) => f.type);
      expect(facts).toEqual(['SessionStarted', 'MessageRecorded']);
    } finally {
      await nc.close();
    }

    // A worker killed with SIGKILL comes back: a new process, the same name, id and log.
    const worker = local.service('worker-1');
    const before = worker.pid;
    await worker.restart();
    expect(alive(before)).toBe(false);
    expect(worker.running).toBe(true);
    expect(worker.pid).not.toBe(before);
    expect(worker.instanceId).toBe('local-worker-1');

    // Stopping leaves nothing behind; the stores stay.
    const everything = [...local.services.map((s) => s.pid), ...cluster.nodes.map((n) => n.pid)] as number[];
    expect(everything.every(alive)).toBe(true);
    const stopping = local;
    local = undefined;
    await stopping.stop();
    expect(everything.filter(alive)).toEqual([]);
    expect(stopping.services.every((s) => !s.running)).toBe(true);
    for (const n of [1, 2, 3]) expect(existsSync(join(dataDir, 'nats', `n${n}`, 'jetstream'))).toBe(true);
  });
});
