import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BucketNames } from '@threadline/protocol';
import { SimulatedClock } from './clock.js';

/** The KV bucket and key the shared test clock lives in. */
export const SHARED_CLOCK_BUCKET = BucketNames.testClock;
export const SHARED_CLOCK_KEY = 'now';

export interface SharedClockOptions {
  bucket?: string;
  key?: string;
  /** The time to start from if no process has set the shared clock yet. */
  start: number;
  /**
   * Replicas of the bucket when this process creates it (default 1). In a cluster give it the streams'
   * replica count, or the clock stops for everyone while the one node holding it is down.
   */
  replicas?: number;
}

async function openBucket(nc: NatsConnection, bucket: string, replicas = 1): Promise<KV> {
  return new Kvm(nc).create(bucket, { history: 1, replicas });
}

/**
 * A {@link SimulatedClock} that follows the shared test clock in NATS: every process of a test run (worker,
 * scheduler, projector) sees the same simulated time, and the test drives it with
 * {@link driveSharedClock}. The follower never moves time itself. Call `stop()` to end the watch.
 */
export async function followSharedClock(
  nc: NatsConnection,
  options: SharedClockOptions,
): Promise<{ clock: SimulatedClock; stop: () => Promise<void> }> {
  const kv = await openBucket(nc, options.bucket ?? SHARED_CLOCK_BUCKET, options.replicas);
  const key = options.key ?? SHARED_CLOCK_KEY;
  const current = await kv.get(key);
  const clock = new SimulatedClock(current?.value.length ? Number(current.string()) : options.start);
  const watch = await kv.watch({ key });
  const done = (async () => {
    for await (const entry of watch) {
      if (entry.operation !== 'PUT') continue;
      const at = Number(entry.string());
      if (Number.isFinite(at) && at > clock.now()) clock.set(at);
    }
  })();
  return {
    clock,
    stop: async () => {
      watch.stop();
      await done;
    },
  };
}

/** The test's handle on the shared clock: set or advance the simulated time for every follower. */
export async function driveSharedClock(
  nc: NatsConnection,
  options: SharedClockOptions,
): Promise<{
  now: () => Promise<number>;
  set: (at: number) => Promise<void>;
  advance: (ms: number) => Promise<void>;
}> {
  const kv = await openBucket(nc, options.bucket ?? SHARED_CLOCK_BUCKET, options.replicas);
  const key = options.key ?? SHARED_CLOCK_KEY;
  if (!(await kv.get(key))?.value.length) await kv.put(key, String(options.start));
  const now = async () => Number((await kv.get(key))?.string() ?? options.start);
  const set = async (at: number) => {
    const current = await now();
    if (at < current) throw new RangeError(`shared clock cannot go back from ${current} to ${at}`);
    await kv.put(key, String(at));
  };
  return { now, set, advance: async (ms: number) => set((await now()) + ms) };
}
