/**
 * 1. Ingest: chat events per second through the whole pipeline — acknowledged publish → router → session
 *    history → projection visible in the session store — against raw acknowledged JetStream publishes of
 *    the same bodies with the same in-flight window, on the same server.
 * 2. Latency: publish → visible in the session store, p50/p99/p99.9, at half the rate the pipeline just
 *    sustained, against raw publish → consume at the same rate.
 */
import { againstBaseline, perSecond, withTarget } from '../figures.js';
import {
  inFlightWindow,
  latencySummary,
  paced,
  rawLatency,
  rawPublishRate,
  storedWrites,
  writesBetween,
} from '../raw.js';
import { startBenchStack } from '../stack.js';
import { chatEvent, peerOf, publisher, sessionKeyOf, watchProjection } from '../traffic.js';
import { defineBenchmark, type Figure } from '../types.js';

export const ingest = defineBenchmark({
  id: 'ingest',
  title: '1–2. Ingest and latency (publish → session history → projection)',
  sizes: {
    quick: { events: 1500, conversations: 150, window: 200, bodyBytes: 300, latencyEvents: 300 },
    full: { events: 60_000, conversations: 6000, window: 500, bodyBytes: 300, latencyEvents: 15_000 },
  },
  async run(context, sizes) {
    const { events, conversations, window, bodyBytes, latencyEvents } = sizes;
    const stack = await startBenchStack({ natsBin: context.natsBin, workDir: context.workDir });
    try {
      for (const kind of ['worker', 'projector', 'scheduler'] as const) await (await stack.add(kind)).start();
      const publish = publisher(stack.nc);
      const watch = await watchProjection(stack.nc);
      const now = Date.now();
      const bodies = Array.from({ length: 16 }, (_, i) =>
        chatEvent(peerOf(i), `sample-${i}`, now, bodyBytes),
      );

      // Warm-up: every conversation's session exists and the processes are past their JIT warm-up.
      context.log(`warm-up: one message to each of ${conversations} conversations`);
      await inFlightWindow(conversations, window, (c) =>
        publish(peerOf(c), `warm-${c}`, chatEvent(peerOf(c), `warm-${c}`, Date.now(), bodyBytes)),
      );
      await watch.totalAtLeast(conversations, 120_000);

      // Baseline: raw acknowledged publishes, same body size and window, on the idle system's server.
      const raw = await rawPublishRate(stack.nc, { count: events, window, payloads: bodies });
      context.log(`raw JetStream: ${raw.rate.toFixed(0)} acked publishes/s`);

      // Threadline: the same number of events, same window; done when the projection shows every one.
      const writesBefore = await storedWrites(stack.nc);
      const t0 = performance.now();
      let acked = 0;
      const publishing = inFlightWindow(events, window, async (i) => {
        const peer = peerOf(i % conversations);
        await publish(peer, `ingest-${i}`, chatEvent(peer, `ingest-${i}`, Date.now(), bodyBytes));
        acked++;
      });
      await publishing;
      const ackedMs = performance.now() - t0;
      await watch.totalAtLeast(conversations + events, Math.max(120_000, events * 10));
      const ingestMs = performance.now() - t0;
      const rate = perSecond(events, ingestMs);
      // Let the scheduler's timer index and the checkpoints catch up before counting what it all wrote.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const writes = writesBetween(writesBefore, await storedWrites(stack.nc));
      context.log(
        `pipeline: ${rate.toFixed(0)} events/s visible (publishes acked at ${perSecond(acked, ackedMs).toFixed(0)}/s)`,
      );

      // Latency at half the sustained rate: open-loop, each event timed until its key's count shows it.
      const latencyRate = Math.max(1, rate / 2);
      const expected = new Map<string, number>();
      const latencies: number[] = [];
      await paced(latencyEvents, latencyRate, async (i) => {
        const peer = peerOf(i % conversations);
        const key = sessionKeyOf(peer);
        const n = (expected.get(key) ?? watch.count(key)) + 1;
        expected.set(key, n);
        const sentAt = performance.now();
        const visible = watch.keyAtLeast(key, n);
        await publish(peer, `latency-${i}`, chatEvent(peer, `latency-${i}`, Date.now(), bodyBytes));
        latencies.push((await visible) - sentAt);
      });
      const ours = latencySummary(latencies);
      const rawLat = await rawLatency(stack.nc, {
        count: latencyEvents,
        ratePerSecond: latencyRate,
        payloads: bodies,
      });
      await watch.stop();

      const figures: Figure[] = [
        withTarget(
          againstBaseline(
            {
              id: 'ingest.rate',
              label: 'Ingest: events/s visible in the projection',
              value: rate,
              unit: 'events/s',
            },
            { label: 'raw JetStream acked publishes/s', value: raw.rate, unit: 'msg/s' },
          ),
          { of: 'ratio', atLeast: 0.5, text: 'ratio ≥ 0.5' },
        ),
      ];
      figures.push(
        againstBaseline(
          {
            id: 'ingest.writes',
            label: 'Ingest: messages stored by JetStream per chat event (streams and KV)',
            value: writes.total / events,
            unit: 'writes',
          },
          { label: 'raw publish', value: raw.stored / events, unit: 'writes' },
        ),
      );
      for (const [p, key] of [
        ['p50', 'p50'],
        ['p99', 'p99'],
        ['p99.9', 'p999'],
      ] as const) {
        const figure = againstBaseline(
          {
            id: `latency.${key}`,
            label: `Latency ${p} at ${latencyRate.toFixed(0)} events/s (publish → projection)`,
            value: ours[key],
            unit: 'ms',
          },
          { label: `raw publish → consume ${p}`, value: rawLat[key], unit: 'ms' },
        );
        figures.push(
          p === 'p99' ? withTarget(figure, { of: 'value', atMost: 25, text: 'p99 ≤ 25 ms' }) : figure,
        );
      }
      return {
        sizes,
        figures,
        notes: [
          `One worker, the projector and the scheduler as processes on one nats-server (file storage, default fsync); ${conversations} conversations (one session each), ${bodyBytes}-byte bodies, ${window} publishes in flight for both the pipeline and the baseline.`,
          `The pipeline's publishes were all acknowledged after ${(ackedMs / 1000).toFixed(1)} s (${perSecond(events, ackedMs).toFixed(0)}/s); the rate counts until the last event was visible in the session store.`,
          `JetStream writes per chat event, by stream: ${writes.byStream.map(([name, n]) => `${name} ${(n / events).toFixed(2)}`).join(', ')}.`,
          'Latency ratios are ours ÷ raw (lower is better for the baseline); the latency run is open-loop at half the ingest rate just measured.',
        ],
      };
    } finally {
      await stack.stop();
    }
  },
});
