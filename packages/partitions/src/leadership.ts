/**
 * One leader among replicas: partition ownership with a single, sticky partition. The replica holding the
 * lease runs the work (`lead`), the others stand by — a replica that joins does not take the lead over —
 * and when the leader leaves or its lease lapses one of them takes over. The projector and the scheduler run this way; each role has its own registry and lease
 * bucket, so their leases never meet the workers' partition leases.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Clock } from '@threadline/clock';
import { type PartitionOwnershipOptions, type ReleaseReason, startPartitionOwnership } from './ownership.js';

export interface LeadershipOptions<T extends { stop(): Promise<void> }> {
  readonly nc: NatsConnection;
  /** This replica's id, unique in its role (a KV key, as a worker id). */
  readonly replicaId: string;
  readonly registryBucket: string;
  readonly leaseBucket: string;
  /** Replicas of both buckets when this replica creates them. Default 1. */
  readonly replicas?: number;
  /** The lease's and the registry's TTL: how long a dead leader keeps the others waiting. Default 10 000 ms. */
  readonly leaseTtlMs?: number;
  /** The registry heartbeat; it must stay below the TTL. Default: a third of the TTL, at most 2 000 ms. */
  readonly heartbeatMs?: number;
  readonly clock?: Clock;
  /** Starts the leader's work once the lease is held; its `stop` is awaited before the lease is given up. */
  readonly lead: () => Promise<T>;
  readonly onChange?: (event: { leading: true } | { leading: false; why: ReleaseReason }) => void;
  readonly onError?: (error: unknown) => void;
}

export interface Leadership<T> {
  /** The running work while this replica leads; undefined while it stands by. */
  current(): T | undefined;
  /** Leaves: stops the work if leading, gives up the lease, drops out of the registry. */
  stop(): Promise<void>;
}

export async function startLeadership<T extends { stop(): Promise<void> }>(
  options: LeadershipOptions<T>,
): Promise<Leadership<T>> {
  let work: T | undefined;
  let starting: Promise<void> | undefined;
  const ownership = await startPartitionOwnership({
    nc: options.nc,
    workerId: options.replicaId,
    partitions: 1,
    // A replica that joins does not take the lead from a healthy leader: it waits for the lease to lapse.
    sticky: true,
    registryBucket: options.registryBucket,
    leaseBucket: options.leaseBucket,
    replicas: options.replicas ?? 1,
    ...leaseTimings(options.leaseTtlMs, options.heartbeatMs),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    onAcquire: async () => {
      starting = (async () => {
        work = await options.lead();
        options.onChange?.({ leading: true });
      })();
      await starting;
    },
    onRelease: async (_partition, why) => {
      await starting?.catch(() => {});
      const was = work;
      work = undefined;
      await was?.stop();
      options.onChange?.({ leading: false, why });
    },
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
  return { current: () => work, stop: () => ownership.stop() };
}

/**
 * Ownership timings from a lease TTL: the registry lives as long as a lease — so a member killed with
 * SIGKILL drops out of the desired owners when its leases lapse, and its partitions move within the lease
 * time — and the heartbeat is {@link defaultHeartbeatMs} unless given. Nothing given: the defaults.
 */
export function leaseTimings(
  leaseTtlMs: number | undefined,
  heartbeatMs?: number,
): Pick<PartitionOwnershipOptions, 'leaseTtlMs' | 'registryTtlMs' | 'heartbeatMs'> {
  return {
    ...(leaseTtlMs === undefined ? {} : { leaseTtlMs, registryTtlMs: leaseTtlMs }),
    ...(heartbeatMs !== undefined
      ? { heartbeatMs }
      : leaseTtlMs !== undefined
        ? { heartbeatMs: defaultHeartbeatMs(leaseTtlMs) }
        : {}),
  };
}

/**
 * The registry heartbeat for a lease TTL: a third of it, never more than the registry's default (2 s),
 * so that a short TTL (tests, fast failover) does not meet a heartbeat as long as itself.
 */
export function defaultHeartbeatMs(leaseTtlMs: number): number {
  return Math.max(1, Math.min(2_000, Math.floor(leaseTtlMs / 3)));
}
