import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type LeaseRecord,
  leaseKey,
  type PartitionOwnership,
  type PartitionOwnershipOptions,
  PartitionsErrorCodes,
  type ReleaseReason,
  startPartitionOwnership,
} from './ownership.js';
import { rendezvousOwner } from './rendezvous.js';

const N = 16;
const ALL = Array.from({ length: N }, (_, p) => p);
const TIMING = { leaseTtlMs: 1500, renewMs: 500, registryTtlMs: 1500, heartbeatMs: 300, rebalanceMs: 300 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(predicate: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await sleep(10);
  }
  throw new Error(`${what} not reached within ${ms} ms`);
}

const sorted = (set: Iterable<number>) => [...set].sort((a, b) => a - b);

/**
 * Records every callback of every worker of one test and checks the invariant the leases exist for: a
 * partition is never being served by two workers (onAcquire of the successor only after onRelease of the
 * predecessor has returned).
 */
class Ledger {
  readonly serving = new Map<number, string>();
  readonly violations: string[] = [];
  readonly acquired: { worker: string; partition: number; at: number }[] = [];
  readonly released: { worker: string; partition: number; why: ReleaseReason; at: number }[] = [];
  readonly errors: { worker: string; error: unknown }[] = [];

  callbacks(worker: string, releaseDelayMs = 0) {
    return {
      onAcquire: (partition: number) => {
        const current = this.serving.get(partition);
        if (current !== undefined)
          this.violations.push(`${worker} acquired ${partition} while ${current} serves it`);
        this.serving.set(partition, worker);
        this.acquired.push({ worker, partition, at: Date.now() });
      },
      onRelease: async (partition: number, why: ReleaseReason) => {
        if (why !== 'lost' && releaseDelayMs > 0) await sleep(releaseDelayMs);
        if (this.serving.get(partition) === worker) this.serving.delete(partition);
        else this.violations.push(`${worker} released ${partition} (${why}) that it was not serving`);
        this.released.push({ worker, partition, why, at: Date.now() });
      },
      onError: (error: unknown) => {
        this.errors.push({ worker, error });
      },
    };
  }

  releasedBy(worker: string, why?: ReleaseReason): number[] {
    return sorted(
      this.released.filter((r) => r.worker === worker && (!why || r.why === why)).map((r) => r.partition),
    );
  }
}

/** Samples the owned() sets of running workers and records any partition owned by two at once. */
function watchOverlap(workers: () => PartitionOwnership[]) {
  const overlaps: string[] = [];
  const timer = setInterval(() => {
    const seen = new Map<number, number>();
    workers().forEach((worker, i) => {
      for (const p of worker.owned()) {
        const other = seen.get(p);
        if (other !== undefined) overlaps.push(`partition ${p} owned by workers #${other} and #${i}`);
        seen.set(p, i);
      }
    });
  }, 2);
  return { overlaps, stop: () => clearInterval(timer) };
}

describe('partition ownership (real nats-server)', () => {
  let server: RunningNatsServer;
  let admin: NatsConnection;
  const connections: NatsConnection[] = [];
  const running: PartitionOwnership[] = [];
  let bucketCounter = 0;

  async function connect(): Promise<NatsConnection> {
    const nc = await connectToNats({ servers: server.url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    connections.push(nc);
    return nc;
  }

  function buckets() {
    bucketCounter += 1;
    return { leaseBucket: `leases-${bucketCounter}`, registryBucket: `workers-${bucketCounter}` };
  }

  async function start(
    options: Omit<PartitionOwnershipOptions, 'nc' | 'onAcquire' | 'onRelease'> &
      Partial<Pick<PartitionOwnershipOptions, 'nc'>> &
      ReturnType<Ledger['callbacks']>,
  ): Promise<PartitionOwnership> {
    const ownership = await startPartitionOwnership({
      ...TIMING,
      ...options,
      nc: options.nc ?? (await connect()),
    });
    running.push(ownership);
    return ownership;
  }

  async function leaseHolders(leaseBucket: string): Promise<Map<number, string>> {
    const kv = await new Kvm(admin).open(leaseBucket);
    const holders = new Map<number, string>();
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      if (entry?.operation === 'PUT') holders.set(Number(key.slice(1)), entry.json<LeaseRecord>().workerId);
    }
    return holders;
  }

  beforeAll(async () => {
    server = await startNatsServer();
    admin = await connectToNats({ servers: server.url });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((o) => o.stop()));
    await Promise.all(connections.splice(0).map((nc) => nc.close()));
  });
  afterAll(async () => {
    await admin?.close();
    await server?.dispose();
  });

  it('one worker claims all; a second joins and they split by rendezvous; a graceful stop hands back well before the TTL', async () => {
    const names = buckets();
    const ledger = new Ledger();
    const a = await start({
      ...names,
      workerId: 'worker-a',
      partitions: N,
      ...ledger.callbacks('worker-a', 100),
    });
    await until(() => a.owned().size === N, 5_000, 'worker-a owning everything');
    expect(sorted(ledger.serving.keys())).toEqual(ALL);

    const workers: PartitionOwnership[] = [a];
    const overlap = watchOverlap(() => workers);
    const joinedAt = Date.now();
    const b = await start({
      ...names,
      workerId: 'worker-b',
      partitions: N,
      ...ledger.callbacks('worker-b', 100),
    });
    workers.push(b);
    const expectedB = ALL.filter((p) => rendezvousOwner(p, ['worker-a', 'worker-b']) === 'worker-b');
    const expectedA = ALL.filter((p) => !expectedB.includes(p));
    expect(expectedA.length).toBeGreaterThan(0);
    expect(expectedB.length).toBeGreaterThan(0);
    await until(
      () => sorted(b.owned()).join() === expectedB.join() && sorted(a.owned()).join() === expectedA.join(),
      5_000,
      'the split',
    );
    const splitMs = Date.now() - joinedAt;
    expect(a.liveWorkers()).toEqual(['worker-a', 'worker-b']);
    expect(b.liveWorkers()).toEqual(['worker-a', 'worker-b']);
    // The lease bucket agrees with the owned() sets.
    await until(async () => (await leaseHolders(names.leaseBucket)).size === N);
    const holders = await leaseHolders(names.leaseBucket);
    for (const p of ALL) expect(holders.get(p)).toBe(expectedB.includes(p) ? 'worker-b' : 'worker-a');
    expect(ledger.releasedBy('worker-a', 'rebalanced')).toEqual(expectedB);

    const stoppedAt = Date.now();
    await b.stop();
    await until(() => a.owned().size === N, 5_000, 'worker-a owning everything again');
    const handBackMs = Date.now() - stoppedAt;
    overlap.stop();

    expect(handBackMs).toBeLessThan(TIMING.leaseTtlMs / 2);
    expect(ledger.releasedBy('worker-b', 'stopping')).toEqual(expectedB);
    expect(ledger.releasedBy('worker-a', 'lost')).toEqual([]);
    expect(a.liveWorkers()).toEqual(['worker-a']);
    expect(sorted(ledger.serving.keys())).toEqual(ALL);
    expect([...ledger.serving.values()].every((w) => w === 'worker-a')).toBe(true);
    expect(overlap.overlaps).toEqual([]);
    expect(ledger.violations).toEqual([]);
    expect(ledger.errors).toEqual([]);
    console.log(`join: split after ${splitMs} ms; graceful leave: all back after ${handBackMs} ms`);
  });

  it('a worker that dies (connection closed, no stop) loses its leases at once, and the survivor takes them over after they expire', async () => {
    const names = buckets();
    const ledger = new Ledger();
    const a = await start({ ...names, workerId: 'worker-a', partitions: N, ...ledger.callbacks('worker-a') });
    const ncB = await connect();
    const b = await start({
      ...names,
      nc: ncB,
      workerId: 'worker-b',
      partitions: N,
      ...ledger.callbacks('worker-b'),
    });
    await until(() => a.owned().size + b.owned().size === N && b.owned().size > 0, 5_000, 'the split');
    const ofB = sorted(b.owned());
    const overlap = watchOverlap(() => [a, b]);

    const diedAt = Date.now();
    await ncB.close();
    await until(() => b.owned().size === 0, 1_000, 'worker-b noticing its death');
    expect(ledger.releasedBy('worker-b', 'lost')).toEqual(ofB);
    await until(() => a.owned().size === N, TIMING.leaseTtlMs + TIMING.rebalanceMs + 2_000, 'the takeover');
    const takeoverMs = Date.now() - diedAt;
    overlap.stop();

    // Not before the dead worker's leases expired (the last renewal was at most renewMs before the death)…
    expect(takeoverMs).toBeGreaterThanOrEqual(TIMING.leaseTtlMs - TIMING.renewMs - 100);
    // …and not much later than the TTL plus one rebalance, plus the server's expiry granularity: nats-server
    // checks max_age expiry at most once a second, so an entry can outlive the bucket TTL by up to ~1 s.
    expect(takeoverMs).toBeLessThan(TIMING.leaseTtlMs + TIMING.rebalanceMs + 1_000 + 500);
    expect(a.liveWorkers()).toEqual(['worker-a']);
    expect(overlap.overlaps).toEqual([]);
    expect(ledger.violations).toEqual([]);
    expect(ledger.errors.filter((e) => e.worker === 'worker-a')).toEqual([]);
    expect(
      ledger.errors.map((e) => (e.error as { code?: string }).code).filter((c) => c !== undefined),
    ).toContain(PartitionsErrorCodes.ConnectionClosed);
    await b.stop(); // stop() after death resolves quietly
    console.log(`death: survivor took over after ${takeoverMs} ms (lease TTL ${TIMING.leaseTtlMs} ms)`);
  });

  it('two workers forced onto the same partition: only one acquires it, a create on the held lease fails, and the other takes over on stop', async () => {
    const names = buckets();
    const ledger = new Ledger();
    const [x, y] = await Promise.all([
      start({
        ...names,
        workerId: 'worker-x',
        partitions: N,
        forcePartitions: [3],
        ...ledger.callbacks('worker-x'),
      }),
      start({
        ...names,
        workerId: 'worker-y',
        partitions: N,
        forcePartitions: [3],
        ...ledger.callbacks('worker-y'),
      }),
    ]);
    await sleep(TIMING.leaseTtlMs); // several renewals and rebalances: still exactly one owner
    expect(ledger.acquired).toHaveLength(1);
    const winner = ledger.acquired[0]?.worker;
    const [holder, other] = winner === 'worker-x' ? [x, y] : [y, x];
    expect(sorted(holder.owned())).toEqual([3]);
    expect(sorted(other.owned())).toEqual([]);

    const kv = await new Kvm(admin).open(names.leaseBucket);
    await expect(kv.create(leaseKey(3), 'intruder')).rejects.toMatchObject({ code: 10071 });
    expect((await kv.get(leaseKey(3)))?.json<LeaseRecord>().workerId).toBe(winner);

    const stoppedAt = Date.now();
    await holder.stop();
    await until(() => other.owned().has(3), 2_000, 'the other worker taking over');
    expect(Date.now() - stoppedAt).toBeLessThan(TIMING.leaseTtlMs / 2);
    expect(ledger.acquired.map((e) => e.worker)).toEqual([
      winner,
      winner === 'worker-x' ? 'worker-y' : 'worker-x',
    ]);
    expect(ledger.violations).toEqual([]);
    expect(ledger.errors).toEqual([]);
  });

  it('a lease stolen externally (deleted and re-created, or overwritten) is reported lost and reclaimed once free', async () => {
    const names = buckets();
    const ledger = new Ledger();
    const a = await start({ ...names, workerId: 'worker-a', partitions: N, ...ledger.callbacks('worker-a') });
    await until(() => a.owned().size === N);
    const kv = await new Kvm(admin).open(names.leaseBucket);
    const thief = JSON.stringify({ workerId: 'thief', partition: 5 });
    const acquisitionsOf5 = () => ledger.acquired.filter((e) => e.partition === 5).length;
    const lossesOf5 = () => ledger.released.filter((e) => e.partition === 5 && e.why === 'lost').length;

    // Delete + create are two steps: worker-a, the desired owner, may legitimately re-create the key in
    // between (then the thief's create fails, and the thief tries again).
    const stolenAt = Date.now();
    let thiefRevision: number | undefined;
    while (thiefRevision === undefined) {
      await kv.delete(leaseKey(5));
      thiefRevision = await kv.create(leaseKey(5), thief).catch(() => undefined);
    }
    await until(() => !a.owned().has(5), TIMING.renewMs + 1_000, 'the loss being noticed');
    const noticedMs = Date.now() - stolenAt;
    await sleep(TIMING.renewMs * 2);
    expect(a.owned().has(5)).toBe(false); // the thief's lease is live: no re-acquire
    expect(lossesOf5()).toBeGreaterThanOrEqual(1);
    expect(acquisitionsOf5()).toBe(lossesOf5()); // every acquisition of p5 so far ended in 'lost'
    expect(ledger.released.every((e) => e.partition === 5 && e.why === 'lost')).toBe(true);

    await kv.delete(leaseKey(5), { previousSeq: thiefRevision });
    await until(() => a.owned().has(5), 2_000, 'the reclaim');
    expect(acquisitionsOf5()).toBe(lossesOf5() + 1);

    // An unconditional overwrite is noticed the same way.
    const losses = lossesOf5();
    const overwrite = await kv.put(leaseKey(5), thief);
    await until(() => !a.owned().has(5), TIMING.renewMs + 1_000, 'the overwrite being noticed');
    expect(lossesOf5()).toBe(losses + 1);
    await sleep(TIMING.renewMs * 2);
    expect(a.owned().has(5)).toBe(false);
    await kv.delete(leaseKey(5), { previousSeq: overwrite });
    await until(() => a.owned().has(5), 2_000, 'the second reclaim');

    expect(sorted(a.owned())).toEqual(ALL);
    expect(ledger.violations).toEqual([]);
    console.log(`steal: loss noticed after ${noticedMs} ms`);
  });

  it('refuses a bucket whose TTL differs, naming the bucket and both values', async () => {
    const names = buckets();
    const ledger = new Ledger();
    await start({ ...names, workerId: 'worker-a', partitions: N, ...ledger.callbacks('worker-a') });
    await expect(
      start({
        ...names,
        workerId: 'worker-b',
        partitions: N,
        leaseTtlMs: 3000,
        ...ledger.callbacks('worker-b'),
      }),
    ).rejects.toThrow(new RegExp(`"${names.leaseBucket}" exists with TTL 1500 ms.*configured with 3000 ms`));
    await expect(
      start({
        ...names,
        workerId: 'worker-b',
        partitions: N,
        registryTtlMs: 4000,
        ...ledger.callbacks('worker-b'),
      }),
    ).rejects.toMatchObject({ code: PartitionsErrorCodes.BucketTtlMismatch });
    await expect(
      start({ ...names, workerId: 'bad id', partitions: N, ...ledger.callbacks('x') }),
    ).rejects.toMatchObject({ code: PartitionsErrorCodes.InvalidOptions });
    await expect(
      start({ ...names, workerId: 'w', partitions: N, renewMs: 1500, ...ledger.callbacks('x') }),
    ).rejects.toMatchObject({ code: PartitionsErrorCodes.InvalidOptions });
  });

  it('stop() is idempotent, awaits onRelease before deleting the leases, and removes the registry entry', async () => {
    const names = buckets();
    const ledger = new Ledger();
    const a = await start({
      ...names,
      workerId: 'worker-a',
      partitions: 4,
      ...ledger.callbacks('worker-a', 2_000),
    });
    await until(() => a.owned().size === 4);
    const first = a.stop();
    const second = a.stop();
    expect(second).toBe(first);
    // onRelease takes 2 s, longer than the 1.5 s lease TTL: the leases are renewed meanwhile.
    await sleep(1_800);
    expect((await leaseHolders(names.leaseBucket)).size).toBe(4);
    await first;
    await a.stop();
    expect(ledger.releasedBy('worker-a', 'stopping')).toEqual([0, 1, 2, 3]);
    expect((await leaseHolders(names.leaseBucket)).size).toBe(0);
    const registry = await new Kvm(admin).open(names.registryBucket);
    const keys: string[] = [];
    for await (const key of await registry.keys()) keys.push(key);
    expect(keys).toEqual([]);
    expect(a.owned().size).toBe(0);
    expect(ledger.errors).toEqual([]);
  });

  it('survives a server outage: renewal errors are reported, leases are lost after the TTL, and reclaimed after the restart', async () => {
    const names = buckets();
    const ledger = new Ledger();
    const a = await start({ ...names, workerId: 'worker-a', partitions: 4, ...ledger.callbacks('worker-a') });
    await until(() => a.owned().size === 4);
    const downAt = Date.now();
    await server.stop();
    await until(() => a.owned().size === 0, TIMING.leaseTtlMs + 1_000, 'the leases being given up');
    const lostMs = Date.now() - downAt;
    expect(lostMs).toBeLessThanOrEqual(TIMING.leaseTtlMs + 100);
    expect(ledger.releasedBy('worker-a', 'lost')).toEqual([0, 1, 2, 3]);
    const codes = new Set(ledger.errors.map((e) => (e.error as { code?: string }).code));
    expect(codes.has(PartitionsErrorCodes.RenewFailed)).toBe(true);
    await server.restart();
    await until(() => a.owned().size === 4, 10_000, 'the reclaim after the restart');
    expect(ledger.acquired).toHaveLength(8);
    expect(ledger.violations).toEqual([]);
    console.log(
      `outage: leases given up after ${lostMs} ms, reclaimed ${Date.now() - downAt} ms after the outage began`,
    );
  });
});
