/**
 * 7. Failover: two workers share the partitions; one is killed with SIGKILL under traffic, and the clock
 *    runs from the kill until every conversation — those of the dead worker's partitions included — is
 *    served again (a probe event to each is visible in the session store). The baseline is the lease TTL:
 *    a lapsed lease is the earliest moment another worker may take a partition, so the ratio says how much
 *    the takeover adds to that floor. The same probe round with nothing killed is reported beside it.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { BucketNames } from '@threadline/protocol';
import { againstBaseline, percentile } from '../figures.js';
import { inFlightWindow } from '../raw.js';
import { startBenchStack } from '../stack.js';
import { chatEvent, openWhenThere, peerOf, publisher, sessionKeyOf, watchProjection } from '../traffic.js';
import { defineBenchmark, type Figure } from '../types.js';

/** Partition → owning worker id, from the lease bucket. */
async function owners(nc: NatsConnection): Promise<Map<number, string>> {
  const kv = await openWhenThere(nc, BucketNames.leases, 30_000);
  const out = new Map<number, string>();
  for await (const key of await kv.keys()) {
    const entry = await kv.get(key);
    if (entry?.operation !== 'PUT' || entry.value.length === 0) continue;
    const lease = entry.json<{ workerId: string; partition: number }>();
    out.set(lease.partition, lease.workerId);
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const failover = defineBenchmark({
  id: 'failover',
  title: '7. Failover (kill -9 of a worker → its partitions served again)',
  sizes: {
    quick: { rounds: 1, conversations: 64, partitions: 8, leaseTtlMs: 2_000 },
    full: { rounds: 5, conversations: 256, partitions: 16, leaseTtlMs: 10_000 },
  },
  async run(context, sizes) {
    const { rounds, conversations, partitions, leaseTtlMs } = sizes;
    const stack = await startBenchStack({
      natsBin: context.natsBin,
      workDir: context.workDir,
      env: { THREADLINE_PARTITIONS: String(partitions), THREADLINE_LEASE_TTL_MS: String(leaseTtlMs) },
    });
    try {
      const w1 = await stack.add('worker');
      const w2 = await stack.add('worker');
      await w1.start();
      await w2.start();
      await (await stack.add('projector')).start();
      const publish = publisher(stack.nc);
      const watch = await watchProjection(stack.nc);
      const expected = new Map<string, number>();
      /** One probe to every conversation; resolves with the ms until the last one was visible. */
      const probeRound = async (tag: string, from: number) => {
        const visible: Promise<number>[] = [];
        await inFlightWindow(conversations, 64, async (c) => {
          const peer = peerOf(c);
          const key = sessionKeyOf(peer);
          const n = (expected.get(key) ?? watch.count(key)) + 1;
          expected.set(key, n);
          visible.push(watch.keyAtLeast(key, n));
          await publish(peer, `${tag}-${c}`, chatEvent(peer, `${tag}-${c}`, Date.now(), 300));
        });
        const times = await Promise.race([
          Promise.all(visible),
          sleep(leaseTtlMs * 10 + 60_000).then(() => {
            throw new Error(
              `${tag}: not every conversation was served within ${leaseTtlMs * 10 + 60_000} ms`,
            );
          }),
        ]);
        return Math.max(...times) - from;
      };
      /** Waits until the leases name both workers and cover every partition. */
      const balanced = async () => {
        const deadline = Date.now() + leaseTtlMs * 10 + 30_000;
        while (Date.now() < deadline) {
          const held = await owners(stack.nc);
          if (held.size === partitions && new Set(held.values()).size === 2) return held;
          await sleep(200);
        }
        throw new Error('the two workers did not share the partitions');
      };

      // Warm-up round: every session exists, both workers hold partitions.
      await balanced();
      await probeRound('warm', performance.now());
      const healthy: number[] = [];
      const failovers: number[] = [];
      const moved: number[] = [];
      for (let round = 1; round <= rounds; round++) {
        const held = await balanced();
        healthy.push(await probeRound(`healthy-${round}`, performance.now()));
        const victim = [...held.values()].filter((id) => id === 'bench-worker-2').length;
        const killedAt = performance.now();
        await w2.kill();
        failovers.push(await probeRound(`failover-${round}`, killedAt));
        moved.push(victim);
        context.log(
          `round ${round}: ${victim} partitions moved; all served ${failovers.at(-1)?.toFixed(0)} ms after the kill`,
        );
        await w2.start();
      }
      await watch.stop();
      const sortedFailovers = [...failovers].sort((a, b) => a - b);
      const sortedHealthy = [...healthy].sort((a, b) => a - b);
      const median = (xs: number[]) => percentile(xs, 50);
      const figures: Figure[] = [
        againstBaseline(
          {
            id: 'failover.median',
            label: `Failover: kill -9 → every partition served (median of ${rounds})`,
            value: median(sortedFailovers),
            unit: 'ms',
          },
          { label: 'lease TTL', value: leaseTtlMs, unit: 'ms' },
        ),
        againstBaseline(
          {
            id: 'failover.max',
            label: `Failover: kill -9 → every partition served (worst of ${rounds})`,
            value: sortedFailovers.at(-1) ?? Number.NaN,
            unit: 'ms',
          },
          { label: 'lease TTL', value: leaseTtlMs, unit: 'ms' },
        ),
        {
          id: 'failover.healthy',
          label: 'The same probe round with nothing killed (median)',
          value: median(sortedHealthy),
          unit: 'ms',
        },
      ];
      return {
        sizes,
        figures,
        notes: [
          `Two workers, ${partitions} partitions, lease TTL ${leaseTtlMs} ms (the registry's TTL follows it); a round probes all ${conversations} conversations and waits until each probe is visible in the session store.`,
          `Partitions the killed worker held, per round: ${moved.join(', ')}. It is restarted after each round and the partitions spread again before the next.`,
        ],
      };
    } finally {
      await stack.stop();
    }
  },
});
