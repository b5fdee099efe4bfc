/**
 * Partition ownership through leases in NATS KV.
 *
 * Sessions are split into N partitions. Every running worker heartbeats its id into a registry bucket
 * (entries expire by the bucket's TTL, so the live workers are the keys present). Each worker computes
 * the desired owner of every partition with rendezvous hashing over the live ids, claims the ones it
 * should own by CREATING the lease key `p<partition>` in the lease bucket (create fails while a live
 * entry exists), renews them with a revision-checked update, and voluntarily releases the ones it should
 * no longer own (a worker joined): `onRelease` is awaited first, then the lease is deleted, so the
 * successor never overlaps with the old owner. A lease that fails to renew (revision moved, key gone, or
 * no successful renew for a whole TTL) is lost and reported through `onRelease(p, 'lost')` at once.
 *
 * Leases keep work from being wasted and order from being shuffled; they are not the hard guarantee
 * (clocks and networks can still conspire): the per-session append fence is.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { JetStreamApiCodes, StorageType } from '@nats-io/jetstream';
import { type KV, type KvEntry, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { type Clock, SystemClock } from '@threadline/clock';
import { BucketNames } from '@threadline/protocol';
import { rendezvousOwner } from './rendezvous.js';

/** Default name of the lease bucket (one key `p<partition>` per partition). */
export const LEASE_BUCKET = BucketNames.leases;
/** Default name of the worker registry bucket (one key per live worker id). */
export const REGISTRY_BUCKET = BucketNames.workers;

/** Why a partition stopped being served. */
export type ReleaseReason = 'rebalanced' | 'lost' | 'stopping';

export interface PartitionOwnershipOptions {
  /** The connection every KV operation goes through. If it closes, every lease is reported lost. */
  readonly nc: NatsConnection;
  /**
   * This worker's id, unique among running workers (e.g. host name plus pid). Used as a KV key, so it
   * may only contain `A-Z a-z 0-9 - _ = / .` and must not start or end with `.`.
   */
  readonly workerId: string;
  /** The number of partitions N; partitions are `0 … N-1`. */
  readonly partitions: number;
  /** The lease bucket's TTL: a lease not renewed for this long expires. Default 10 000 ms. */
  readonly leaseTtlMs?: number;
  /** How often held leases are renewed. Default `leaseTtlMs / 3`; must be below `leaseTtlMs`. */
  readonly renewMs?: number;
  /** The registry bucket's TTL: a worker not heard from for this long is gone. Default 10 000 ms. */
  readonly registryTtlMs?: number;
  /** How often this worker re-puts its registry entry. Default 2 000 ms; must be below `registryTtlMs`. */
  readonly heartbeatMs?: number;
  /**
   * How often membership is re-read (`keys()` on the registry: expiries send no watch event) and the
   * desired partitions are claimed or released. Joins, graceful leaves and released leases are also
   * noticed at once through watches. Default `heartbeatMs`.
   */
  readonly rebalanceMs?: number;
  /** Default {@link LEASE_BUCKET}. */
  readonly leaseBucket?: string;
  /** Default {@link REGISTRY_BUCKET}. */
  readonly registryBucket?: string;
  /** Replicas of both buckets when this worker creates them (1 for a single server, 3 in a cluster). Default 1. */
  readonly replicas?: number;
  /**
   * For tests and operations: try to own exactly these partitions, whatever the hashing says, and never
   * release them for rebalancing. The leases still guarantee at most one owner per partition.
   */
  readonly forcePartitions?: readonly number[];
  /**
   * Keep a held lease until it is lost or this worker stops, even when another worker joins and becomes
   * the partition's desired owner (that one claims it once it is free). For a single leader, where a
   * hand-over costs a restart of the leader's work and buys no balance. Default false.
   */
  readonly sticky?: boolean;
  /** Source of the timestamps written into registry and lease values. Lease timing always uses real time. */
  readonly clock?: Clock;
  /**
   * Start serving `partition`. Called once per acquisition, after the lease was created. If it throws,
   * the error goes to `onError`, the lease is deleted without `onRelease`, and a later rebalance retries.
   */
  readonly onAcquire: (partition: number) => void | Promise<void>;
  /**
   * Stop serving `partition`. Called once per successful `onAcquire`, never before it has settled. On a
   * voluntary release (`'rebalanced'`, `'stopping'`) it is awaited before the lease is deleted (the lease
   * keeps being renewed meanwhile), so the successor never overlaps; on `'lost'` it is called as soon as
   * the loss is noticed — someone else may already own the partition.
   */
  readonly onRelease: (partition: number, why: ReleaseReason) => void | Promise<void>;
  /** Errors that do not stop the worker (transient NATS failures, callback failures). Default: console.error. */
  readonly onError?: (error: unknown) => void;
}

export interface PartitionOwnership {
  /**
   * The partitions this worker currently owns: from the successful claim until the loss is noticed or,
   * on a voluntary release, until `onRelease` has returned.
   */
  owned(): ReadonlySet<number>;
  /** The live worker ids as last seen in the registry (this worker included while running), sorted. */
  liveWorkers(): readonly string[];
  /**
   * Leaves: removes the registry entry, then for every owned partition awaits `onRelease(p, 'stopping')`
   * and deletes the lease (if still held). Idempotent; every call returns the same promise.
   */
  stop(): Promise<void>;
}

/** The registry value of one worker. */
export interface WorkerRecord {
  readonly workerId: string;
  readonly startedAt: number;
  readonly host: string;
  readonly pid: number;
}

/** The lease value of one partition. `token` is unique per claim. */
export interface LeaseRecord {
  readonly workerId: string;
  readonly partition: number;
  readonly token: string;
  readonly claimedAt: number;
}

export const PartitionsErrorCodes = {
  InvalidOptions: 'INVALID_OPTIONS',
  BucketTtlMismatch: 'BUCKET_TTL_MISMATCH',
  ClaimFailed: 'CLAIM_FAILED',
  RenewFailed: 'RENEW_FAILED',
  ReleaseFailed: 'RELEASE_FAILED',
  HeartbeatFailed: 'HEARTBEAT_FAILED',
  RegistryReadFailed: 'REGISTRY_READ_FAILED',
  WatchFailed: 'WATCH_FAILED',
  CallbackFailed: 'CALLBACK_FAILED',
  ConnectionClosed: 'CONNECTION_CLOSED',
} as const;
export type PartitionsErrorCode = (typeof PartitionsErrorCodes)[keyof typeof PartitionsErrorCodes];

export class PartitionsError extends Error {
  override readonly name = 'PartitionsError';
  constructor(
    readonly code: PartitionsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The lease key of a partition: `p<partition>`. */
export function leaseKey(partition: number): string {
  return `p${partition}`;
}

/**
 * Joins the worker group: opens (or creates) both buckets, registers this worker, and claims its desired
 * partitions before resolving (their `onAcquire` calls may still be running). Rejects with a
 * {@link PartitionsError} `BUCKET_TTL_MISMATCH` if a bucket exists with another TTL.
 */
export async function startPartitionOwnership(
  options: PartitionOwnershipOptions,
): Promise<PartitionOwnership> {
  const settings = settle(options);
  const kvm = new Kvm(options.nc);
  const registry = await openBucket(kvm, settings.registryBucket, settings.registryTtlMs, settings.replicas);
  const leases = await openBucket(kvm, settings.leaseBucket, settings.leaseTtlMs, settings.replicas);
  const worker = new Worker(options, settings, registry, leases);
  await worker.start();
  return {
    owned: () => worker.owned(),
    liveWorkers: () => worker.liveWorkers(),
    stop: () => worker.stop(),
  };
}

interface Settings {
  readonly partitions: number;
  readonly leaseTtlMs: number;
  readonly renewMs: number;
  readonly registryTtlMs: number;
  readonly heartbeatMs: number;
  readonly rebalanceMs: number;
  readonly leaseBucket: string;
  readonly registryBucket: string;
  readonly replicas: number;
  readonly forced: ReadonlySet<number> | undefined;
}

const KEY_PATTERN = /^[-/_=.a-zA-Z0-9]+$/;

function settle(options: PartitionOwnershipOptions): Settings {
  const invalid = (message: string) => new PartitionsError(PartitionsErrorCodes.InvalidOptions, message);
  const positive = (name: string, value: number) => {
    if (!Number.isFinite(value) || value <= 0)
      throw invalid(`${name} must be a positive number, got ${value}`);
    return value;
  };
  const { workerId, partitions } = options;
  if (!KEY_PATTERN.test(workerId) || workerId.startsWith('.') || workerId.endsWith('.')) {
    throw invalid(
      `workerId "${workerId}" is not a valid KV key (A-Z a-z 0-9 - _ = / ., not starting or ending with ".")`,
    );
  }
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw invalid(`partitions must be a positive integer, got ${partitions}`);
  }
  const leaseTtlMs = positive('leaseTtlMs', options.leaseTtlMs ?? 10_000);
  const renewMs = positive('renewMs', options.renewMs ?? leaseTtlMs / 3);
  const registryTtlMs = positive('registryTtlMs', options.registryTtlMs ?? 10_000);
  const heartbeatMs = positive('heartbeatMs', options.heartbeatMs ?? 2_000);
  const rebalanceMs = positive('rebalanceMs', options.rebalanceMs ?? heartbeatMs);
  if (renewMs >= leaseTtlMs) throw invalid(`renewMs (${renewMs}) must be below leaseTtlMs (${leaseTtlMs})`);
  if (heartbeatMs >= registryTtlMs) {
    throw invalid(`heartbeatMs (${heartbeatMs}) must be below registryTtlMs (${registryTtlMs})`);
  }
  const forced = options.forcePartitions === undefined ? undefined : new Set(options.forcePartitions);
  for (const p of forced ?? []) {
    if (!Number.isSafeInteger(p) || p < 0 || p >= partitions) {
      throw invalid(`forcePartitions contains ${p}, outside 0…${partitions - 1}`);
    }
  }
  const replicas = options.replicas ?? 1;
  if (!Number.isSafeInteger(replicas) || replicas < 1)
    throw invalid(`replicas must be a positive integer, got ${replicas}`);
  return {
    partitions,
    leaseTtlMs,
    renewMs,
    registryTtlMs,
    heartbeatMs,
    rebalanceMs,
    leaseBucket: options.leaseBucket ?? LEASE_BUCKET,
    registryBucket: options.registryBucket ?? REGISTRY_BUCKET,
    replicas,
    forced,
  };
}

/**
 * Create-or-open with file storage, one value per key and the bucket TTL. `Kvm.create` silently opens an
 * existing bucket whatever its settings, so the TTL is checked here: two workers disagreeing on it would
 * disagree on when a lease is lost.
 */
async function openBucket(kvm: Kvm, bucket: string, ttlMs: number, replicas: number): Promise<KV> {
  const kv = await kvm.create(bucket, { history: 1, ttl: ttlMs, replicas, storage: StorageType.File });
  const { ttl } = await kv.status();
  if (ttl !== ttlMs) {
    throw new PartitionsError(
      PartitionsErrorCodes.BucketTtlMismatch,
      `KV bucket "${bucket}" exists with TTL ${ttl} ms, but this worker is configured with ${ttlMs} ms; ` +
        'every worker must use the same TTL (change the configuration, or recreate the bucket)',
    );
  }
  return kv;
}

function isWrongLastSequence(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    code === JetStreamApiCodes.StreamWrongLastSequence ||
    code === JetStreamApiCodes.StreamWrongLastSequenceUnknown
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const encoder = new TextEncoder();

type Phase = 'acquiring' | 'held' | 'releasing' | 'deleting' | 'gone';

interface Lease {
  readonly partition: number;
  readonly key: string;
  readonly token: string;
  readonly value: Uint8Array;
  revision: number;
  phase: Phase;
  /** Set once onAcquire resolved: only then is onRelease owed. */
  acquired: boolean;
  /** Monotonic time at which the last successful write was SENT (a lower bound for the server's stamp). */
  okAt: number;
  deadline: NodeJS.Timeout | undefined;
  renewing: boolean;
  /** Serializes this lease's KV writes (renew, delete) so each uses the latest revision. */
  writes: Promise<unknown>;
  /** Serializes onAcquire → onRelease. */
  callbacks: Promise<void>;
}

const monotonic = () => performance.now();

class Worker {
  readonly #o: PartitionOwnershipOptions;
  readonly #s: Settings;
  readonly #registry: KV;
  readonly #leases: KV;
  readonly #clock: Clock;
  readonly #report: (error: unknown) => void;
  readonly #held = new Map<number, Lease>();
  /**
   * Per partition, the token of a write of ours whose outcome is unknown (a create whose reply was lost, a
   * lease given up by its deadline while a renewal was in flight): if the entry turns out to carry it, it
   * is ours and is taken over instead of waited out.
   */
  readonly #uncertain = new Map<number, string>();
  #heartbeat: Promise<unknown> = Promise.resolve();
  /** Registry events seen while a `keys()` snapshot is being read, replayed onto the snapshot. */
  #registryEventsDuringRead: Map<string, boolean> | undefined;
  #live = new Set<string>();
  #halted = false;
  #stopping: Promise<void> | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  #renewTimer: NodeJS.Timeout | undefined;
  readonly #watches: { stop(): void; done: Promise<void> }[] = [];
  #rebalancing: Promise<void> | undefined;
  #again = false;
  #refresh = false;

  constructor(options: PartitionOwnershipOptions, settings: Settings, registry: KV, leases: KV) {
    this.#o = options;
    this.#s = settings;
    this.#registry = registry;
    this.#leases = leases;
    this.#clock = options.clock ?? new SystemClock();
    this.#report = (error) => {
      try {
        (options.onError ?? ((e: unknown) => console.error('[partitions]', e)))(error);
      } catch {
        // An error reporter that throws must not take the worker down.
      }
    };
  }

  async start(): Promise<void> {
    try {
      await this.#start();
    } catch (error) {
      await this.stop().catch(() => undefined);
      throw error;
    }
  }

  async #start(): Promise<void> {
    const { nc, workerId } = this.#o;
    const record: WorkerRecord = {
      workerId,
      startedAt: this.#clock.now(),
      host: hostname(),
      pid: process.pid,
    };
    const recordBytes = encoder.encode(JSON.stringify(record));
    await this.#registry.put(workerId, recordBytes);
    await this.#watch(this.#registry, (entry) => this.#onRegistryEvent(entry));
    await this.#watch(this.#leases, (entry) => this.#onLeaseEvent(entry));
    this.#live = await this.#readRegistry();
    this.#timers.push(
      setInterval(() => {
        if (this.#halted) return;
        this.#heartbeat = this.#registry.put(workerId, recordBytes).catch((error) => {
          if (!this.#halted)
            this.#fail(PartitionsErrorCodes.HeartbeatFailed, 'registry heartbeat failed', error);
        });
      }, this.#s.heartbeatMs),
      setInterval(() => void this.#rebalance(true), this.#s.rebalanceMs),
    );
    this.#renewTimer = setInterval(() => {
      for (const lease of this.#held.values()) void this.#renew(lease);
    }, this.#s.renewMs);
    void nc.closed().then(() => this.#onConnectionClosed());
    await this.#rebalance(false);
  }

  owned(): ReadonlySet<number> {
    const out = new Set<number>();
    for (const lease of this.#held.values()) {
      if (lease.phase === 'acquiring' || lease.phase === 'held' || lease.phase === 'releasing') {
        out.add(lease.partition);
      }
    }
    return out;
  }

  liveWorkers(): readonly string[] {
    const ids = new Set(this.#live);
    if (!this.#halted) ids.add(this.#o.workerId);
    return [...ids].sort();
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#halted = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#rebalancing;
    await this.#heartbeat; // so that a heartbeat in flight cannot re-add the entry after the delete
    if (!this.#o.nc.isClosed()) {
      // Leave the registry first: peers recompute their desired partitions now and pick ours up as soon as
      // each lease is deleted (they see the delete through their watch).
      await this.#registry.delete(this.#o.workerId).catch((error) => {
        this.#fail(PartitionsErrorCodes.HeartbeatFailed, 'removing the registry entry failed', error);
      });
    }
    await Promise.all([...this.#held.values()].map((lease) => this.#release(lease, 'stopping')));
    clearInterval(this.#renewTimer);
    for (const watch of this.#watches) watch.stop();
    await Promise.all(this.#watches.map((w) => w.done));
  }

  #onConnectionClosed(): void {
    if (this.#stopping && this.#held.size === 0) return;
    this.#halted = true;
    for (const timer of this.#timers) clearInterval(timer);
    clearInterval(this.#renewTimer);
    if (this.#held.size > 0) {
      this.#fail(
        PartitionsErrorCodes.ConnectionClosed,
        `NATS connection closed while owning partitions ${[...this.#held.keys()].join(', ')}: all leases lost`,
      );
    }
    for (const lease of [...this.#held.values()]) this.#lose(lease);
    for (const watch of this.#watches) watch.stop();
  }

  #fail(code: PartitionsErrorCode, message: string, cause?: unknown): void {
    const suffix = cause === undefined ? '' : `: ${messageOf(cause)}`;
    this.#report(new PartitionsError(code, `${this.#o.workerId}: ${message}${suffix}`, { cause }));
  }

  async #watch(kv: KV, onEntry: (entry: KvEntry) => void): Promise<void> {
    const iterator = await kv.watch({ include: 'updates' });
    const done = (async () => {
      for await (const entry of iterator) onEntry(entry);
    })().catch((error) => {
      if (!this.#halted) this.#fail(PartitionsErrorCodes.WatchFailed, 'KV watch ended', error);
    });
    this.#watches.push({ stop: () => iterator.stop(), done });
  }

  async #readRegistry(): Promise<Set<string>> {
    const events = new Map<string, boolean>();
    this.#registryEventsDuringRead = events;
    try {
      const ids = new Set<string>();
      const keys = await this.#registry.keys();
      // keys() ends on its own once caught up; should it ever stall (connection trouble mid-read), give up
      // rather than block every later rebalance. A partial list would be wrong, so a timeout is an error.
      let timedOut = false;
      const timer = setTimeout(
        () => {
          timedOut = true;
          keys.stop();
        },
        Math.max(this.#s.rebalanceMs, 5_000),
      );
      try {
        for await (const key of keys) ids.add(key);
      } finally {
        clearTimeout(timer);
      }
      if (timedOut) throw new Error('listing the registry keys timed out');
      for (const [id, present] of events) {
        if (present) ids.add(id);
        else ids.delete(id);
      }
      return ids;
    } finally {
      this.#registryEventsDuringRead = undefined;
    }
  }

  #onRegistryEvent(entry: KvEntry): void {
    if (this.#halted || entry.key === this.#o.workerId) return;
    this.#registryEventsDuringRead?.set(entry.key, entry.operation === 'PUT');
    if (entry.operation === 'PUT') {
      if (this.#live.has(entry.key)) return;
      this.#live.add(entry.key);
    } else if (!this.#live.delete(entry.key)) {
      return;
    }
    void this.#rebalance(false);
  }

  #onLeaseEvent(entry: KvEntry): void {
    if (this.#halted) return;
    const partition = Number(entry.key.slice(1));
    const lease = this.#held.get(partition);
    if (lease) {
      // Someone else wrote our key (or we are about to learn our own write): check it now instead of at
      // the next renewal.
      if (entry.revision > lease.revision && !lease.renewing) void this.#renew(lease);
    } else if (entry.operation !== 'PUT') {
      void this.#rebalance(false); // A lease became free: claim it now if it is ours to claim.
    }
  }

  /** Coalescing: at most one rebalance runs; requests during it cause one more pass. */
  #rebalance(refresh: boolean): Promise<void> {
    if (this.#halted) return this.#rebalancing ?? Promise.resolve();
    this.#refresh ||= refresh;
    if (this.#rebalancing) {
      this.#again = true;
      return this.#rebalancing;
    }
    this.#rebalancing = (async () => {
      do {
        this.#again = false;
        const refreshNow = this.#refresh;
        this.#refresh = false;
        try {
          await this.#rebalanceOnce(refreshNow);
        } catch (error) {
          this.#fail(PartitionsErrorCodes.ClaimFailed, 'rebalance failed', error);
        }
      } while (this.#again && !this.#halted);
    })().finally(() => {
      this.#rebalancing = undefined;
    });
    return this.#rebalancing;
  }

  #desired(): Set<number> {
    if (this.#s.forced) return new Set(this.#s.forced);
    const workers = this.liveWorkers();
    const desired = new Set<number>();
    for (let p = 0; p < this.#s.partitions; p++) {
      if (rendezvousOwner(p, workers) === this.#o.workerId) desired.add(p);
    }
    return desired;
  }

  async #rebalanceOnce(refresh: boolean): Promise<void> {
    if (refresh) {
      try {
        this.#live = await this.#readRegistry();
      } catch (error) {
        this.#fail(PartitionsErrorCodes.RegistryReadFailed, 'reading the worker registry failed', error);
      }
    }
    if (this.#halted) return;
    const desired = this.#desired();
    if (!this.#o.sticky) {
      for (const lease of this.#held.values()) {
        if (lease.phase === 'held' && !desired.has(lease.partition)) void this.#release(lease, 'rebalanced');
      }
    }
    const free = [...desired].filter((p) => !this.#held.has(p));
    await Promise.all(free.map((p) => this.#claim(p)));
  }

  async #claim(partition: number): Promise<void> {
    const { workerId } = this.#o;
    const key = leaseKey(partition);
    const token = randomUUID();
    const record: LeaseRecord = { workerId, partition, token, claimedAt: this.#clock.now() };
    const value = encoder.encode(JSON.stringify(record));
    let sentAt = monotonic();
    let revision: number;
    try {
      revision = await this.#leases.create(key, value);
      this.#uncertain.delete(partition);
    } catch (error) {
      if (!isWrongLastSequence(error)) {
        // Timeout or disconnect: the create may still have landed.
        this.#uncertain.set(partition, token);
        if (!this.#halted) this.#fail(PartitionsErrorCodes.ClaimFailed, `claiming ${key} failed`, error);
        return;
      }
      // Held: usually by another worker. If it carries the token of an earlier write of ours whose outcome
      // was unknown, it is ours: take it over (re-stamped with the new token) instead of waiting it out.
      const uncertain = this.#uncertain.get(partition);
      if (uncertain === undefined || this.#halted) return;
      const current = await this.#leases.get(key).catch(() => null);
      if (current?.operation !== 'PUT' || parseLease(current)?.token !== uncertain) return;
      sentAt = monotonic();
      try {
        revision = await this.#leases.update(key, value, current.revision);
        this.#uncertain.delete(partition);
      } catch {
        return;
      }
    }
    const lease: Lease = {
      partition,
      key,
      token,
      value,
      revision,
      phase: 'acquiring',
      acquired: false,
      okAt: sentAt,
      deadline: undefined,
      renewing: false,
      writes: Promise.resolve(),
      callbacks: Promise.resolve(),
    };
    this.#held.set(partition, lease);
    this.#armDeadline(lease);
    if (this.#halted) {
      // stop() began while the create was in flight: give the lease straight back.
      lease.phase = 'deleting';
      await this.#delete(lease);
      return;
    }
    lease.callbacks = (async () => {
      try {
        await this.#o.onAcquire(partition);
        lease.acquired = true;
        if (lease.phase === 'acquiring') lease.phase = 'held';
      } catch (error) {
        this.#fail(PartitionsErrorCodes.CallbackFailed, `onAcquire(${partition}) failed`, error);
        if (lease.phase === 'acquiring') {
          lease.phase = 'deleting';
          void this.#delete(lease);
        }
      }
    })();
  }

  #armDeadline(lease: Lease): void {
    clearTimeout(lease.deadline);
    const wait = Math.max(0, lease.okAt + this.#s.leaseTtlMs - monotonic());
    lease.deadline = setTimeout(() => {
      if (lease.phase === 'gone') return;
      this.#fail(
        PartitionsErrorCodes.RenewFailed,
        `lease ${lease.key} not renewed for ${this.#s.leaseTtlMs} ms: treating it as lost`,
      );
      this.#uncertain.set(lease.partition, lease.token);
      this.#lose(lease);
    }, wait);
  }

  /** Serializes writes on one lease. */
  #write<T>(lease: Lease, write: () => Promise<T>): Promise<T> {
    const run = lease.writes.then(write);
    lease.writes = run.catch(() => undefined);
    return run;
  }

  async #renew(lease: Lease): Promise<void> {
    if (lease.renewing) return;
    lease.renewing = true;
    try {
      await this.#write(lease, async () => {
        if (lease.phase !== 'acquiring' && lease.phase !== 'held' && lease.phase !== 'releasing') return;
        const sentAt = monotonic();
        try {
          lease.revision = await this.#leases.update(lease.key, lease.value, lease.revision, this.#s.renewMs);
          lease.okAt = sentAt;
          this.#armDeadline(lease);
          return;
        } catch (error) {
          if (!isWrongLastSequence(error)) {
            // Transient (timeout, disconnect): keep the lease; the deadline declares it lost if this persists.
            if (!this.#o.nc.isClosed()) {
              this.#fail(PartitionsErrorCodes.RenewFailed, `renewing ${lease.key} failed`, error);
            }
            return;
          }
        }
        // The revision moved. If the entry is still ours (an earlier renewal landed but its reply was lost),
        // adopt its revision; otherwise the key expired, was deleted or was taken: the lease is lost.
        let current: KvEntry | null;
        try {
          current = await this.#leases.get(lease.key);
        } catch (error) {
          this.#fail(
            PartitionsErrorCodes.RenewFailed,
            `reading ${lease.key} after a failed renewal failed`,
            error,
          );
          return;
        }
        if (current?.operation === 'PUT' && parseLease(current)?.token === lease.token) {
          lease.revision = current.revision;
          return;
        }
        this.#lose(lease);
      });
    } finally {
      lease.renewing = false;
    }
  }

  /** The lease is no longer ours: forget it and tell the owner at once (after onAcquire settled). */
  #lose(lease: Lease): void {
    const previous = lease.phase;
    if (previous === 'gone') return;
    lease.phase = 'gone';
    clearTimeout(lease.deadline);
    if (this.#held.get(lease.partition) === lease) this.#held.delete(lease.partition);
    if (previous === 'acquiring' || previous === 'held') {
      lease.callbacks = lease.callbacks.then(async () => {
        if (!lease.acquired) return;
        try {
          await this.#o.onRelease(lease.partition, 'lost');
        } catch (error) {
          this.#fail(
            PartitionsErrorCodes.CallbackFailed,
            `onRelease(${lease.partition}, 'lost') failed`,
            error,
          );
        }
      });
    }
    void this.#rebalance(false);
  }

  /** Voluntary release: await onRelease (the lease is renewed meanwhile), then delete the lease. */
  async #release(lease: Lease, why: 'rebalanced' | 'stopping'): Promise<void> {
    if (lease.phase === 'acquiring' || lease.phase === 'held') {
      lease.phase = 'releasing';
      lease.callbacks = lease.callbacks.then(async () => {
        if (!lease.acquired) return;
        try {
          await this.#o.onRelease(lease.partition, why);
        } catch (error) {
          this.#fail(
            PartitionsErrorCodes.CallbackFailed,
            `onRelease(${lease.partition}, '${why}') failed`,
            error,
          );
        }
      });
      await lease.callbacks;
      if (lease.phase !== 'releasing') return; // lost meanwhile: nothing left to delete
      lease.phase = 'deleting';
      await this.#delete(lease);
    } else {
      // Already releasing or deleting: wait for that to finish.
      await lease.callbacks;
      await lease.writes;
    }
  }

  /** Deletes the lease if it still holds our revision (otherwise it is not ours to delete). */
  async #delete(lease: Lease): Promise<void> {
    try {
      await this.#write(lease, () => this.#leases.delete(lease.key, { previousSeq: lease.revision }));
    } catch (error) {
      if (!isWrongLastSequence(error) && !this.#o.nc.isClosed()) {
        this.#fail(
          PartitionsErrorCodes.ReleaseFailed,
          `deleting ${lease.key} failed (it will expire)`,
          error,
        );
      }
    } finally {
      lease.phase = 'gone';
      clearTimeout(lease.deadline);
      if (this.#held.get(lease.partition) === lease) this.#held.delete(lease.partition);
    }
  }
}

function parseLease(entry: KvEntry): LeaseRecord | undefined {
  try {
    const value = entry.json<Partial<LeaseRecord>>();
    return typeof value?.workerId === 'string' && typeof value.token === 'string'
      ? (value as LeaseRecord)
      : undefined;
  } catch {
    return undefined;
  }
}
