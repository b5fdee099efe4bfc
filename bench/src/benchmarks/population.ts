/**
 * One population of N sessions, built once through the real pipeline, measured three ways:
 *
 * 3. Memory: one worker that knows N sessions of which R are resident (`THREADLINE_MAX_RESIDENT=R`):
 *    its RSS, against the same worker process's RSS before the population; bytes per resident session.
 * 8. Cold start: a fresh worker process after a clean stop and after a kill -9, with N sessions on record,
 *    timed from the spawn until a probe chat event published just before it is visible in the session
 *    store; against the same two cold starts on an empty store, measured at the start of the run.
 * 4. Daily reset at scale: every session's durable expiry timer is due at the same 04:00 UTC boundary;
 *    the shared test clock jumps onto it and the time runs until the session store shows every session
 *    expired; against raw acknowledged JetStream publishes with the scheduler's window, same server.
 *
 * The run is on the shared test clock (`clock: { mode: 'test' }`): simulated time stands still at 03:57
 * UTC while the population is built and the cold starts are measured — so no session goes quiet (idle
 * after 5 simulated minutes) and gets passivated, and every session stays `active` with its expiry timer
 * due at 04:00 and its quiet timer at 04:02 — and then it is set to 04:00:00.000 exactly, when only the
 * expiry timers are due.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, KvWatchInclude } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BucketNames, StreamNames } from '@threadline/protocol';
import { dailyBoundaryAfter } from '@threadline/session-core';
import { againstBaseline, perSecond, withTarget } from '../figures.js';
import { inFlightWindow, rawPublishRate } from '../raw.js';
import { type BenchService, type BenchStack, startBenchStack } from '../stack.js';
import { chatEvent, peerOf, publisher, sessionKeyOf } from '../traffic.js';
import { type BenchContext, defineBenchmark, type Figure } from '../types.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const MiB = 2 ** 20;
/** The scheduler's default firing window (`fireWindow`): the raw baseline of the reset uses the same. */
const SCHEDULER_FIRE_WINDOW = 256;

/** Daily reset at 04:00 UTC, no idle limit; the shared test clock (`threadline-test-clock`). */
const POPULATION_CONFIG = `{
  clock: { mode: 'test' },
  session: { dmScope: 'per-channel-peer', reset: { mode: 'daily', atHour: 4, timeZone: 'UTC' } },
}
`;

export const population = defineBenchmark({
  id: 'population',
  title: '3, 8, 4. Memory, cold start and daily reset with a population of sessions',
  sizes: {
    // Quick (CI, proves the harness): no kill -9 cold starts, each of which waits out the 10 s lease TTL.
    quick: {
      sessions: 500,
      resident: 100,
      window: 200,
      bodyBytes: 300,
      baselineEvents: 2000,
      settleMs: 500,
      crash: 0,
    },
    full: {
      sessions: 1_000_000,
      resident: 100_000,
      window: 500,
      bodyBytes: 300,
      baselineEvents: 100_000,
      settleMs: 5000,
      /** 1: also measure the cold start after kill -9 (with its own empty-store baseline); 0: skip it. */
      crash: 1,
    },
  },
  async run(context, sizes) {
    const { sessions, resident, window, bodyBytes, baselineEvents, settleMs } = sizes;
    const crash = sizes.crash > 0;
    // The boundary the population expires at, a day or two ahead; simulated time starts 3 minutes before.
    const boundary = dailyBoundaryAfter(Date.now() + DAY, 4, 'UTC');
    const clockStart = boundary - 3 * MINUTE;
    const stack = await startBenchStack({
      natsBin: context.natsBin,
      workDir: context.workDir,
      config: POPULATION_CONFIG,
      // Profiling hook (unset by default): NODE_OPTIONS for the service processes, e.g. an `--import` of
      // a preload that starts the V8 profiler (`--cpu-prof` itself is refused in NODE_OPTIONS).
      ...(process.env.THREADLINE_BENCH_SERVICE_NODE_OPTIONS
        ? { env: { NODE_OPTIONS: process.env.THREADLINE_BENCH_SERVICE_NODE_OPTIONS } }
        : {}),
    });
    let store: StoreWatch | undefined;
    try {
      // The shared clock exists before any service starts, so every one of them follows it from 03:57.
      const clock = await sharedTestClock(stack.nc, clockStart);
      const projector = await stack.add('projector');
      const scheduler = await stack.add('scheduler');
      const worker = await stack.add('worker', { THREADLINE_MAX_RESIDENT: String(resident) });
      await projector.start();
      await scheduler.start();
      await worker.start();
      store = await watchStore(stack.nc);
      const watch = store;
      const publish = publisher(stack.nc);
      const send = (peer: string, id: string) =>
        publish(peer, id, chatEvent(peer, id, Date.now(), bodyBytes));
      const cpu = cpuMeter(stack);

      /**
       * Cold start: stop (clean) or kill -9 the worker, publish the probe (acknowledged), spawn a fresh
       * process; ms from the spawn until the probe's session shows `messageCount` ≥ `count` in the store.
       */
      const coldStart = async (how: 'clean' | 'crash', peer: string, count: number) => {
        const stopStarted = performance.now();
        if (how === 'clean') await worker.stop();
        else await worker.kill();
        const stopMs = performance.now() - stopStarted;
        // devstack sends SIGKILL after 15 s of a stop: then this was a crash, not a clean stop.
        if (how === 'clean' && stopMs > 14_500)
          context.log(
            `warning: the clean stop took ${(stopMs / 1000).toFixed(1)} s and may have ended in SIGKILL`,
          );
        const visible = watch.keyAtLeast(sessionKeyOf(peer), count);
        await send(peer, `probe-${how}-${peer}-${count}`);
        const spawned = performance.now();
        await worker.start();
        const readyMs = performance.now() - spawned;
        const servedMs =
          (await withTimeout(visible, 120_000, `the ${how} cold start's probe (${peer})`)) - spawned;
        context.log(
          `cold start after ${how === 'clean' ? 'a clean stop' : 'kill -9'}: ${servedMs.toFixed(0)} ms until the probe was visible (process ready after ${readyMs.toFixed(0)} ms; the stop took ${stopMs.toFixed(0)} ms)`,
        );
        return { servedMs, readyMs, stopMs };
      };

      // ── Baselines on the empty store: the same two cold starts, each probe a new session. ──
      const cleanEmpty = await coldStart('clean', 'probe-clean-empty', 1);
      const crashEmpty = crash ? await coldStart('crash', 'probe-crash-empty', 1) : undefined;
      await sleep(settleMs);
      const before = await rssAndResident(worker);
      context.log(
        `worker before the population: RSS ${(before.rss / MiB).toFixed(1)} MiB, ${before.resident} resident`,
      );

      // ── Build: one chat event per session, through the whole pipeline, until the store shows all. ──
      const knownBefore = watch.keys;
      context.log(`building ${sessions} sessions (one chat event each, ${window} publishes in flight)`);
      const cpuBuild = await cpu.start();
      const buildStarted = performance.now();
      const building = progress(
        context,
        'build',
        async () =>
          `${watch.keys - knownBefore}/${sessions} sessions in the store; ${await pipelineState(worker, projector, scheduler)}`,
      );
      let buildAckedMs = 0;
      try {
        await inFlightWindow(sessions, window, (i) => send(peerOf(i), `population-${i}`));
        buildAckedMs = performance.now() - buildStarted;
        await watch.keysAtLeast(knownBefore + sessions, 120_000 + sessions * 20);
      } finally {
        building.stop();
      }
      const buildMs = performance.now() - buildStarted;
      const buildCpu = await cpuBuild.stop();
      const buildRate = perSecond(sessions, buildMs);
      context.log(
        `built ${sessions} sessions in ${(buildMs / 1000).toFixed(1)} s: ${buildRate.toFixed(0)} sessions/s (publishes acked after ${(buildAckedMs / 1000).toFixed(1)} s); CPU ${buildCpu.text}`,
      );

      // ── Memory: the worker settled (its readers caught up), RSS and the resident count it reports. ──
      await waitFor(async () => (await workerLag(worker)) === 0, 60_000, 'the worker to catch up');
      await sleep(settleMs);
      const after = await rssAndResident(worker);
      const residentAdded = after.resident - before.resident;
      const bytesPerResident = (after.rss - before.rss) / residentAdded;
      context.log(
        `worker with ${sessions} known sessions: RSS ${(after.rss / MiB).toFixed(1)} MiB, ${after.resident} resident (limit ${resident}); ${bytesPerResident.toFixed(0)} bytes per resident session`,
      );
      if (after.resident < Math.min(resident, sessions))
        context.log(`note: only ${after.resident} sessions resident, fewer than the limit ${resident}`);

      // ── Cold starts with the population on record; each probe is a session of the population. ──
      const cleanFull = await coldStart('clean', peerOf(0), 2);
      const crashFull = crash ? await coldStart('crash', peerOf(sessions - 1), 2) : undefined;

      // ── Daily reset: the scheduler's index has every expiry timer; then the clock jumps to 04:00. ──
      await schedulerCaughtUp(stack.nc, scheduler, 120_000 + sessions * 2);
      const expectedKeys = watch.keys;
      const expiredBefore = watch.expired;
      const payloads = Array.from({ length: 16 }, (_, i) =>
        timerFiredLike(sessionKeyOf(peerOf(i)), boundary),
      );
      const sample = payloads[0]?.length ?? 0;
      const raw = await rawPublishRate(stack.nc, {
        count: baselineEvents,
        window: SCHEDULER_FIRE_WINDOW,
        payloads,
      });
      context.log(
        `raw JetStream: ${raw.rate.toFixed(0)} acked publishes/s (window ${SCHEDULER_FIRE_WINDOW})`,
      );
      context.log(
        `daily reset: ${expectedKeys} sessions in the store (${expiredBefore} expired); clock → ${new Date(boundary).toISOString()}`,
      );
      // Long past the 60 s target a slower reset is still measured; past this it is given up.
      const resetMaxMs = 120_000 + Math.max(600_000, sessions * 2);
      const firedBefore = metricSum(await scheduler.metrics(), 'threadline_scheduler_timers_fired_total');
      const duplicatesBefore = await duplicateInputs(worker);
      const termsBefore = await leaderTerms(context.workDir);
      const cpuReset = await cpu.start();
      const resetStarted = performance.now();
      await clock.set(boundary);
      const resetting = progress(
        context,
        'reset',
        async () =>
          `${watch.expired}/${expectedKeys} expired in the store; ${await pipelineState(worker, projector, scheduler)}`,
      );
      let reset: ExpiryOutcome;
      try {
        reset = await untilAllExpired(watch, expectedKeys, {
          stallMs: RESET_STALL_MS,
          maxMs: resetMaxMs,
        });
      } finally {
        resetting.stop();
      }
      const resetMs = reset.at - resetStarted;
      const resetCpu = await cpuReset.stop();
      const fired =
        metricSum(await scheduler.metrics(), 'threadline_scheduler_timers_fired_total') - firedBefore;
      const duplicates = (await duplicateInputs(worker)) - duplicatesBefore;
      const terms = (await leaderTerms(context.workDir)) - termsBefore;
      const resetRate = perSecond(reset.expired - expiredBefore, resetMs);
      const resetStory = reset.done
        ? `all ${expectedKeys} sessions expired ${(resetMs / 1000).toFixed(1)} s after the boundary: ${resetRate.toFixed(0)} sessions/s`
        : `did not finish: ${reset.expired} of ${expectedKeys} sessions expired, the last ${(resetMs / 1000).toFixed(1)} s after the boundary (${resetRate.toFixed(0)} sessions/s), then none for ${reset.why}`;
      const resetDetail = `${fired} timers fired (re-fires included), ${duplicates} inputs the worker recognised as duplicates, ${terms} new scheduler leadership term(s)`;
      context.log(`${resetStory}; ${resetDetail}; CPU ${resetCpu.text}`);

      // Verified against the store itself, not the watch: every entry, and each one expired.
      const scan = await scanStore(stack.nc);
      if (reset.done && (scan.entries !== expectedKeys || scan.expired !== scan.entries))
        throw new Error(
          `the session store holds ${scan.entries} entries (expected ${expectedKeys}), ${scan.expired} of them expired`,
        );
      context.log(`the store holds ${scan.entries} entries, ${scan.expired} of them expired`);

      const figures: Figure[] = [
        withTarget(
          againstBaseline(
            {
              id: 'population.rss',
              label: `Memory: worker RSS with ${sessions.toLocaleString('en-US')} known / ${after.resident.toLocaleString('en-US')} resident sessions`,
              value: after.rss / MiB,
              unit: 'MiB',
            },
            { label: 'the same worker process before the population', value: before.rss / MiB, unit: 'MiB' },
          ),
          { of: 'value', atMost: 1024, text: 'RSS < 1 GiB' },
        ),
        {
          id: 'population.bytesPerResident',
          label: 'Memory: bytes per resident session ((RSS − RSS before) ÷ resident added)',
          value: bytesPerResident,
          unit: 'B',
        },
        againstBaseline(
          {
            id: 'population.coldStartClean',
            label: `Cold start after a clean stop with ${sessions.toLocaleString('en-US')} sessions on record (spawn → probe visible)`,
            value: cleanFull.servedMs,
            unit: 'ms',
          },
          { label: 'the same on an empty store', value: cleanEmpty.servedMs, unit: 'ms' },
        ),
        ...(crashFull && crashEmpty
          ? [
              againstBaseline(
                {
                  id: 'population.coldStartCrash',
                  label: `Cold start after kill -9 with ${sessions.toLocaleString('en-US')} sessions on record (spawn → probe visible)`,
                  value: crashFull.servedMs,
                  unit: 'ms',
                },
                { label: 'the same on an empty store', value: crashEmpty.servedMs, unit: 'ms' },
              ),
            ]
          : []),
        againstBaseline(
          {
            id: 'population.resetRate',
            label: reset.done
              ? `Daily reset: sessions expired per second (${expectedKeys.toLocaleString('en-US')} past 04:00 → all expired in the store)`
              : `Daily reset: sessions expired per second until it stalled (${reset.expired.toLocaleString('en-US')} of ${expectedKeys.toLocaleString('en-US')} expired; did not finish)`,
            value: resetRate,
            unit: 'sessions/s',
          },
          {
            label: `raw JetStream acked publishes/s (window ${SCHEDULER_FIRE_WINDOW})`,
            value: raw.rate,
            unit: 'msg/s',
          },
        ),
        withTarget(
          {
            id: 'population.resetSeconds',
            label: reset.done
              ? `Daily reset: seconds until all ${expectedKeys.toLocaleString('en-US')} sessions expired`
              : `Daily reset: seconds until all ${expectedKeys.toLocaleString('en-US')} sessions expired (did not finish: ${reset.expired.toLocaleString('en-US')} after ${(resetMs / 1000).toFixed(0)} s, then none for ${reset.why})`,
            value: reset.done ? resetMs / 1000 : Number.NaN,
            unit: 's',
          },
          { of: 'value', atMost: 60, text: 'all within 60 s' },
        ),
      ];
      return {
        sizes,
        figures,
        notes: [
          `One worker (THREADLINE_MAX_RESIDENT=${resident}, every other setting at its default: 16 partitions, 10 s lease TTL), the projector and the scheduler as processes on one nats-server (file storage, default fsync). Config: per-channel-peer DMs, daily reset at 04:00 UTC, no idle limit, the default 5-minute quiet period; the shared test clock stands at 03:57 UTC until the reset, so every session stays active (resident unless the LRU evicts it) with its expiry timer due at 04:00 and its quiet timer at 04:02.`,
          `Build: one ${bodyBytes}-byte chat event per session, ${window} publishes in flight, through the whole pipeline (inbound → route → keyed → session log → projection): ${sessions.toLocaleString('en-US')} sessions in ${(buildMs / 1000).toFixed(1)} s, ${buildRate.toFixed(0)} sessions/s (all publishes acknowledged after ${(buildAckedMs / 1000).toFixed(1)} s). Sessions the LRU evicted are on record as the worker writes them: their log records and snapshots. CPU during the build (seconds ÷ wall seconds): ${buildCpu.text}.`,
          `Memory: RSS from /proc of the worker process that built the population, ${settleMs / 1000} s after its readers caught up; the baseline is the same process before the population (it held ${before.resident} probe session(s)). The resident count is the worker's own gauge (threadline_worker_resident_sessions): ${after.resident}. Bytes per resident session attributes all growth to the resident sessions (the known-but-passivated ones cost the worker no memory of their own; its key→partition map holds up to 4× the limit). RSS is what the operating system charges, including the heap V8 has grown to and not given back (garbage not collected yet): the figure is an upper bound on what a resident session holds, not its live size.`,
          `Cold start: the probe is published (and acknowledged) just before the fresh process is spawned; the time runs from the spawn until the session store shows it. With the population the clean-stop probe goes to a session the LRU had passivated (loaded from its snapshot)${crash ? ' and the kill -9 probe to another session of the population' : ''}; on the empty store each probe starts a new session. The fresh process logged "worker started" ${cleanFull.readyMs.toFixed(0)} ms after the spawn (clean, with the population; ${cleanEmpty.readyMs.toFixed(0)} ms on the empty store); the clean stop with ${after.resident} resident sessions took ${(cleanFull.stopMs / 1000).toFixed(1)} s (every resident session's snapshot is written).${crashFull && crashEmpty ? ` After kill -9 the fresh process waits for the dead one's partition leases to lapse (10 s TTL, renewed every 3.3 s), so that figure is mostly the lease TTL; it logged "worker started" after ${crashFull.readyMs.toFixed(0)} ms (${crashEmpty.readyMs.toFixed(0)} ms on the empty store).` : ' The kill -9 cold start was not measured in this run (size crash=0).'}`,
          `Daily reset: timed from setting the shared clock to 04:00:00.000 UTC until the session store (watched) showed all ${expectedKeys.toLocaleString('en-US')} sessions expired (the population plus the empty-store probes' sessions), then checked by reading every entry of the store: ${scan.entries.toLocaleString('en-US')} entries, ${scan.expired.toLocaleString('en-US')} expired. A reset that goes ${RESET_STALL_MS / 1000} s without one more expiry, or is not done after ${(resetMaxMs / 1000).toFixed(0)} s, is given up and reported as not finished. Each expiry is a fired-timer publish, a session load from its snapshot, a record append, a snapshot write, the quiet timer's removal from the scheduler's timer index and a store update. During the reset: ${resetDetail}; CPU ${resetCpu.text}. Baseline: ${baselineEvents.toLocaleString('en-US')} raw acknowledged publishes of ${sample}-byte bodies (a timer.fired event's size), ${SCHEDULER_FIRE_WINDOW} in flight (the scheduler's firing window), just before the boundary.`,
        ],
      };
    } finally {
      await store?.stop().catch(() => undefined);
      await stack.stop();
    }
  },
});

// ───────────────────────────── the shared test clock ─────────────────────────────

/**
 * The shared test clock, as `driveSharedClock` (@threadline/clock) drives it: key `now` of the bucket
 * `threadline-test-clock`, created as the services' `followSharedClock` creates it (history 1, 1 replica).
 */
async function sharedTestClock(nc: NatsConnection, start: number) {
  const kv = await new Kvm(nc).create(BucketNames.testClock, { history: 1, replicas: 1 });
  await kv.put('now', String(start));
  let now = start;
  return {
    async set(at: number) {
      if (at < now) throw new RangeError(`the shared clock cannot go back from ${now} to ${at}`);
      now = at;
      await kv.put('now', String(at));
    },
  };
}

/** A body the size of the scheduler's `timer.fired` control event (its id holds the key's SHA-256). */
function timerFiredLike(sessionKey: string, at: number): Uint8Array {
  const timerId = 'expiry-1';
  const id = `timer:${'0'.repeat(64)}:${timerId}`;
  return new TextEncoder().encode(JSON.stringify({ v: 1, type: 'timer.fired', id, sessionKey, timerId, at }));
}

// ───────────────────────────── the session store, watched ─────────────────────────────

interface StoreWatch {
  /** Distinct session-store entries (one per session key) seen since the watch started. */
  readonly keys: number;
  /** Entries whose latest value is an expired session. */
  readonly expired: number;
  /** Resolves (ms clock) once `keys` reaches `n`. */
  keysAtLeast(n: number, timeoutMs: number): Promise<number>;
  /** Resolves (ms clock) once `expired` reaches `n`. */
  expiredAtLeast(n: number, timeoutMs: number): Promise<number>;
  /** Resolves (ms clock) once the session's `messageCount` in the store reaches `count`. */
  keyAtLeast(sessionKey: string, count: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Watches every update of the session store (the projector's bucket) from now on. Cheap per update, so
 * that a million of them do not steal much of the machine from the system under test: an entry counts as
 * expired when its value holds `"state":"expired"` (the entry's and its snapshot's lifecycle state; no
 * other field has that form); only values naming a watched probe key are parsed. The end of the run checks
 * the store itself with a full parse ({@link scanStore}).
 */
async function watchStore(nc: NatsConnection): Promise<StoreWatch> {
  const kv = await new Kvm(nc).open(BucketNames.sessionStore);
  const seen = new Set<string>();
  const expired = new Set<string>();
  const countWaiters = new Set<{ of: 'keys' | 'expired'; n: number; resolve: (at: number) => void }>();
  const keyWaiters = new Set<{ needle: string; count: number; resolve: (at: number) => void }>();
  const iter = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
  const loop = (async () => {
    for await (const e of iter) {
      if (e.operation !== 'PUT' || e.value.length === 0) continue;
      const text = e.string();
      seen.add(e.key);
      if (text.includes('"state":"expired"')) expired.add(e.key);
      else expired.delete(e.key);
      const now = performance.now();
      for (const w of countWaiters)
        if ((w.of === 'keys' ? seen.size : expired.size) >= w.n) {
          countWaiters.delete(w);
          w.resolve(now);
        }
      for (const w of keyWaiters)
        if (text.includes(w.needle) && JSON.parse(text).entry.messageCount >= w.count) {
          keyWaiters.delete(w);
          w.resolve(now);
        }
    }
  })();
  const countAtLeast = (of: 'keys' | 'expired', n: number, timeoutMs: number) => {
    const current = () => (of === 'keys' ? seen.size : expired.size);
    if (current() >= n) return Promise.resolve(performance.now());
    let waiter: { of: 'keys' | 'expired'; n: number; resolve: (at: number) => void } | undefined;
    const reached = new Promise<number>((resolve) => {
      waiter = { of, n, resolve };
      countWaiters.add(waiter);
    });
    return withTimeout(
      reached,
      timeoutMs,
      () => `${n} ${of === 'keys' ? 'sessions' : 'expired sessions'} in the store (saw ${current()})`,
    ).finally(() => waiter && countWaiters.delete(waiter));
  };
  return {
    get keys() {
      return seen.size;
    },
    get expired() {
      return expired.size;
    },
    keysAtLeast: (n, timeoutMs) => countAtLeast('keys', n, timeoutMs),
    expiredAtLeast: (n, timeoutMs) => countAtLeast('expired', n, timeoutMs),
    keyAtLeast: (sessionKey, count) =>
      new Promise((resolve) =>
        keyWaiters.add({ needle: `"sessionKey":${JSON.stringify(sessionKey)}`, count, resolve }),
      ),
    async stop() {
      iter.stop();
      await loop;
    },
  };
}

/** Reads the latest value of every session-store entry (ordered consumer, last per subject) and parses it. */
async function scanStore(nc: NatsConnection): Promise<{ entries: number; expired: number }> {
  const bucket = BucketNames.sessionStore;
  const consumer = await jetstream(nc).consumers.get(`KV_${bucket}`, {
    filter_subjects: [`$KV.${bucket}.>`],
    deliver_policy: DeliverPolicy.LastPerSubject,
  });
  const { num_pending: total } = await consumer.info(true);
  let entries = 0;
  let expired = 0;
  let read = 0;
  if (total > 0) {
    const messages = await consumer.consume();
    for await (const m of messages) {
      read += 1;
      const operation = m.headers?.get('KV-Operation');
      if (operation !== 'DEL' && operation !== 'PURGE' && m.data.length > 0) {
        entries += 1;
        if (m.json<{ entry: { state: string } }>().entry.state === 'expired') expired += 1;
      }
      if (read >= total) break;
    }
  }
  return { entries, expired };
}

// ───────────────────────────── the processes ─────────────────────────────

/** Sums every sample of a metric (all label sets). */
function metricSum(metrics: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [key, value] of metrics) if (key === name || key.startsWith(`${name}{`)) sum += value;
  return sum;
}

/** The worker's RSS (median of five readings, 200 ms apart) and its resident-session gauge. */
async function rssAndResident(worker: BenchService): Promise<{ rss: number; resident: number }> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) await sleep(200);
    readings.push(await worker.rss());
  }
  readings.sort((a, b) => a - b);
  const resident = metricSum(await worker.metrics(), 'threadline_worker_resident_sessions');
  return { rss: readings[2] as number, resident };
}

/** The worker's readers' lag, all partitions and both readers. */
async function workerLag(worker: BenchService): Promise<number> {
  return metricSum(await worker.metrics(), 'threadline_worker_consumer_lag_messages');
}

/**
 * Waits until the scheduler's timer index has read the whole session stream and the timer bucket has
 * stopped changing (the index writes a batch before each checkpoint): every expiry timer is filed.
 */
async function schedulerCaughtUp(
  nc: NatsConnection,
  scheduler: BenchService,
  timeoutMs: number,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const lastSeq = (await jsm.streams.info(StreamNames.sessions)).state.last_seq;
  await waitFor(
    async () => metricSum(await scheduler.metrics(), 'threadline_scheduler_indexed_sequence') >= lastSeq,
    timeoutMs,
    `the scheduler to index the session stream up to ${lastSeq}`,
  );
  let previous = -1;
  await waitFor(
    async () => {
      const messages = (await jsm.streams.info(`KV_${BucketNames.timers}`)).state.messages;
      const stable = messages === previous;
      previous = messages;
      return stable;
    },
    timeoutMs,
    'the timer bucket to settle',
    1000,
  );
}

/** CPU seconds of a process from /proc (utime + stime, at the usual 100 ticks per second). */
async function cpuSecondsOf(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU use of the services, the server and this process over a phase, as cores busy (seconds ÷ wall seconds). */
function cpuMeter(stack: BenchStack) {
  const read = async () => {
    const out: Record<string, number> = {};
    for (const s of stack.services) out[s.kind] = await cpuSecondsOf(s.pid);
    out['nats-server'] = await cpuSecondsOf(stack.nats.pid);
    const own = process.cpuUsage();
    out.bench = (own.user + own.system) / 1e6;
    return out;
  };
  return {
    async start() {
      const t0 = performance.now();
      const c0 = await read();
      return {
        async stop() {
          const seconds = (performance.now() - t0) / 1000;
          const c1 = await read();
          const busy = Object.fromEntries(
            Object.keys(c1).map((k) => [k, ((c1[k] as number) - (c0[k] as number)) / seconds]),
          );
          const text = Object.entries(busy)
            .map(([k, v]) => `${k} ${Number.isFinite(v) ? v.toFixed(2) : 'n/a'}`)
            .join(', ');
          return { busy, text };
        },
      };
    },
  };
}

/** The worker's inputs recognised as already applied (a timer fired again, an event redelivered). */
async function duplicateInputs(worker: BenchService): Promise<number> {
  return metricSum(await worker.metrics(), 'threadline_worker_inputs_total{outcome="duplicate"}');
}

/** How many leadership terms the scheduler began so far (its `leading` log lines). */
async function leaderTerms(workDir: string): Promise<number> {
  const log = await readFile(join(workDir, 'scheduler-1.log'), 'utf8').catch(() => '');
  return log.split('"msg":"leading"').length - 1;
}

// ───────────────────────────── waiting ─────────────────────────────

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 200) {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const text = typeof what === 'string' ? what : what();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${text}`));
    }, timeoutMs);
    timer.unref(); // a wait given up on elsewhere does not hold the process open
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A reset is given up when this long passes without one more session expiring. */
const RESET_STALL_MS = 120_000;

interface ExpiryOutcome {
  /** Every session expired. */
  readonly done: boolean;
  /** Expired sessions seen in the store (all of them when done). */
  readonly expired: number;
  /** When the last of them was seen (ms clock). */
  readonly at: number;
  /** Why it was given up (when not done). */
  readonly why: string;
}

/** Waits until `n` sessions are expired in the store, or gives up after a stall or at `maxMs`. */
async function untilAllExpired(
  watch: StoreWatch,
  n: number,
  options: { stallMs: number; maxMs: number },
): Promise<ExpiryOutcome> {
  const started = performance.now();
  let reached: number | undefined;
  const all = watch.expiredAtLeast(n, options.maxMs + options.stallMs).then(
    (at) => {
      reached = at;
    },
    () => undefined,
  );
  let count = watch.expired;
  let changedAt = started;
  for (;;) {
    await Promise.race([all, sleep(1000)]);
    if (reached !== undefined) return { done: true, expired: n, at: reached, why: '' };
    const now = performance.now();
    if (watch.expired !== count) {
      count = watch.expired;
      changedAt = now;
    }
    if (now - changedAt > options.stallMs)
      return { done: false, expired: count, at: changedAt, why: `${(options.stallMs / 1000).toFixed(0)} s` };
    if (now - started > options.maxMs)
      return {
        done: false,
        expired: count,
        at: changedAt,
        why: `the rest of the ${(options.maxMs / 1000).toFixed(0)} s allowed`,
      };
  }
}

/** Logs `describe()` every 30 s while a long phase runs. */
function progress(context: BenchContext, phase: string, describe: () => Promise<string>) {
  const started = performance.now();
  const timer = setInterval(() => {
    const at = ((performance.now() - started) / 1000).toFixed(0);
    describe().then(
      (text) => context.log(`${phase}: ${at} s, ${text}`),
      (error) =>
        context.log(`${phase}: ${at} s, (${error instanceof Error ? error.message : String(error)})`),
    );
  }, 30_000);
  return { stop: () => clearInterval(timer) };
}

/** Where each stage of the pipeline is, from the services' own metrics (for the progress lines). */
async function pipelineState(worker: BenchService, projector: BenchService, scheduler: BenchService) {
  const [w, p, s] = await Promise.all([worker.metrics(), projector.metrics(), scheduler.metrics()]);
  const m = (metrics: Map<string, number>, name: string) => metricSum(metrics, name);
  return [
    `worker applied ${m(w, 'threadline_worker_events_applied_total')} (lag ${m(w, 'threadline_worker_consumer_lag_messages')}, resident ${m(w, 'threadline_worker_resident_sessions')})`,
    `projector applied ${m(p, 'threadline_projector_records_applied_total')} (lag ${m(p, 'threadline_projector_lag_records')})`,
    `scheduler armed ${m(s, 'threadline_scheduler_timers_armed_total')}, fired ${m(s, 'threadline_scheduler_timers_fired_total')}, dropped ${m(s, 'threadline_scheduler_timers_dropped_total')} (index lag ${m(s, 'threadline_scheduler_index_lag_records')}, due backlog ${m(s, 'threadline_scheduler_due_backlog')})`,
  ].join('; ');
}
