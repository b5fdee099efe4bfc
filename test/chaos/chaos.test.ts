import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type LocalCluster, startLocalCluster } from '@threadline/devstack';
import { connectToNats } from '@threadline/nats';
import { BucketNames } from '@threadline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServices } from '../support/services.js';
import { type ChaosCluster, type ChaosOptions, type ChaosProcess, formatReport, runChaos } from './chaos.js';

// `short` (the default) is what CI runs: a minute of faults. The soak runs on demand, as long
// as it is asked to (see test/chaos/README.md):
//   THREADLINE_CHAOS=soak THREADLINE_CHAOS_MINUTES=30 npx pnpm@10 --filter @threadline/system-tests chaos
const MODE = process.env.THREADLINE_CHAOS === 'soak' ? 'soak' : 'short';
const MINUTES = Number(process.env.THREADLINE_CHAOS_MINUTES ?? (MODE === 'soak' ? 30 : 1));
const SEED = Number(process.env.THREADLINE_CHAOS_SEED ?? 1);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Each session idles out after this much shared-clock time. */
const IDLE_MINUTES = 5;

describe(`chaos (${MODE}): kill -9 workers, schedulers, the projector and NATS nodes under load`, () => {
  let dir = '';
  let local: LocalCluster;
  let nc: NatsConnection;
  const clockStart = (Math.floor(Date.now() / DAY) + 2) * DAY + 3 * 60 * MINUTE + 40 * MINUTE;

  beforeAll(async () => {
    buildServices();
    dir = await mkdtemp(join(tmpdir(), 'threadline-chaos-'));
    const config = join(dir, 'threadline.json5');
    // One session per peer; idle after 5 minutes, and the daily reset at 04:00 UTC.
    await writeFile(
      config,
      `{ clock: { mode: 'test' }, session: { dmScope: 'per-channel-peer', reset: { mode: 'daily', atHour: 4, idleMinutes: ${IDLE_MINUTES}, timeZone: 'UTC' } } }\n`,
    );
    // The local cluster of `npm run cluster`: 3 NATS nodes, 2 workers, the projector, 2 schedulers, every
    // stream and bucket at 3 replicas; short leases so a killed owner's work moves on within seconds.
    local = await startLocalCluster({
      dataDir: join(dir, 'data'),
      natsPort: 0,
      httpPort: 0,
      ops: 0,
      serviceEnv: { THREADLINE_CONFIG: config, THREADLINE_PARTITIONS: '8', THREADLINE_LEASE_TTL_MS: '3000' },
    });
    // The checks read everything (and the shared clock is driven) as admin; the load publishes as the
    // publisher and every service runs as its own role (ADR 0022).
    nc = await connectToNats({
      ...local.connectOptions('admin'),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  }, 240_000); // the services' build (turbo, cached after the first) and the cluster's start
  afterAll(async () => {
    await nc?.close();
    await local?.stop();
    if (dir && process.env.THREADLINE_CHAOS_KEEP !== '1') await rm(dir, { recursive: true, force: true });
  });

  it(
    'keeps every invariant: each acknowledged message once, no fork, each due timer fired once, projection = rebuild',
    async () => {
      const processes: ChaosProcess[] = local.services.map((s) => ({
        kind: s.service.kind as ChaosProcess['kind'],
        name: s.name,
        instanceId: s.instanceId,
        get running() {
          return s.running;
        },
        kill: () => s.kill('SIGKILL'),
        start: () => s.start(),
      }));
      const cluster: ChaosCluster = {
        urls: local.cluster.urls,
        publisher: local.connectOptions('publisher'),
        natsNodes: local.cluster.nodes.length,
        processes,
        killNode: (i) => local.cluster.kill(i),
        restartNode: (i) => local.cluster.restart(i),
      };
      // The shared clock starts at 03:40 UTC the day after tomorrow and runs 30× real time: sessions idle
      // out every few seconds of real time, and the 04:00 daily boundary passes about 40 s into the run.
      const options: ChaosOptions = {
        mode: MODE,
        durationMs: MINUTES * MINUTE,
        faultGapMs: 4_000,
        // Past the 3 s lease for a scheduler, so that the standby leads while the leader is down.
        downMs: { worker: 2_000, scheduler: 6_000, projector: 2_000, nats: 3_000 },
        producers: 3,
        ratePerProducer: 8,
        peers: 60,
        clockSpeed: 30,
        clockStart,
        seed: SEED,
        log: (line) => console.log(`[chaos] ${line}`),
      };
      const report = await runChaos(nc, cluster, options);
      console.log(formatReport(report));

      expect(report.violations).toEqual([]);
      for (const kind of ['worker', 'scheduler', 'projector', 'nats'] as const)
        expect(report.faultsByKind[kind], `${kind} faults`).toBeGreaterThanOrEqual(1);
      // The run exercised what it checks: messages flowed, timers fell due and fired, the boundary passed.
      expect(report.load.acked).toBeGreaterThan(200);
      expect(report.histories.timersDue).toBeGreaterThan(10);
      expect(report.clock.end > new Date(clockStart + 20 * MINUTE).toISOString()).toBe(true);
      // The services made the shared clock's bucket at the cluster's replica count: it outlived node kills.
      const clockBucket = await (await jetstreamManager(nc)).streams.info(`KV_${BucketNames.testClock}`);
      expect(clockBucket.config.num_replicas).toBe(3);
    },
    20 * MINUTE,
  );
});
