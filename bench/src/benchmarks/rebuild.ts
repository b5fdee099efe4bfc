/**
 * 6. Rebuild: the projector folding the whole session stream from zero into fresh buckets — what
 * `threadline rebuild` (and `threadline-projector rebuild`) does before comparing with the live projection
 * ({@link rebuildProjection}) — in records per second, against an ordered consumer reading the same stream
 * raw, in the same run. Target: ratio ≥ 0.5.
 *
 * The stream is seeded with valid transition records (`seed.ts`) over many keys of 5–20 records each; the
 * rebuild must fold every one of them with no problem (no divergence, no chain break, nothing unreadable)
 * and project every key, or the benchmark fails.
 */
import { ensureThreadlineStreams } from '@threadline/event-log';
import { type ProjectionBuckets, readBucket, rebuildProjection } from '@threadline/projector';
import { StreamNames } from '@threadline/protocol';
import { againstBaseline, perSecond, withTarget } from '../figures.js';
import { rawOrderedRead } from '../raw.js';
import { sessionSeeder } from '../seed.js';
import { startBenchStack } from '../stack.js';
import { defineBenchmark } from '../types.js';

export const rebuild = defineBenchmark({
  id: 'rebuild',
  title: '6. Rebuild (projector from zero)',
  sizes: {
    quick: { records: 5_000, minPerKey: 5, maxPerKey: 20, window: 500 },
    full: { records: 1_000_000, minPerKey: 5, maxPerKey: 20, window: 1000 },
  },
  async run(context, sizes) {
    const { records, minPerKey, maxPerKey, window } = sizes;
    const stack = await startBenchStack({ natsBin: context.natsBin, workDir: context.workDir });
    try {
      const { nc } = stack;
      await ensureThreadlineStreams(nc);
      const seeder = sessionSeeder(nc, { window, minPerKey, maxPerKey });
      const batch = await seeder.seed(records, (done) =>
        context.log(`seeding: ${done.toLocaleString('en-US')} of ${records.toLocaleString('en-US')}`),
      );
      context.log(
        `seeded ${batch.records} records over ${batch.counts.length} keys in ${(batch.elapsedMs / 1000).toFixed(1)} s (${batch.rate.toFixed(0)} appends/s)`,
      );

      const rawBefore = await rawOrderedRead(nc, StreamNames.sessions);
      context.log(`raw ordered read: ${rawBefore.rate.toFixed(0)} msg/s`);
      const into: ProjectionBuckets = {
        sessions: 'bench-rebuild-sessions',
        transcripts: 'bench-rebuild-transcripts',
      };
      const t0 = performance.now();
      const report = await rebuildProjection({ nc, into, timeoutMs: Math.max(600_000, records) });
      const rebuildMs = performance.now() - t0;
      const rate = perSecond(report.applied, rebuildMs);
      context.log(
        `rebuild: ${report.applied} records folded in ${(rebuildMs / 1000).toFixed(1)} s (${rate.toFixed(0)}/s)`,
      );
      const rawAfter = await rawOrderedRead(nc, StreamNames.sessions);
      context.log(`raw ordered read, again: ${rawAfter.rate.toFixed(0)} msg/s`);

      // The rebuild must have projected the seeded log, all of it, cleanly.
      if (report.problems.length > 0) {
        const first = report.problems
          .slice(0, 3)
          .map((p) => `${p.kind} ${p.sessionKey} #${p.seq}: ${p.detail}`);
        throw new Error(`the rebuild reported ${report.problems.length} problem(s): ${first.join('; ')}`);
      }
      if (report.applied !== seeder.records)
        throw new Error(`the rebuild folded ${report.applied} records, ${seeder.records} were seeded`);
      const projected = await readBucket<{
        sessionKey: string;
        seq: number;
        entry: { messageCount: number };
      }>(nc, into.sessions);
      if (projected.size !== seeder.keys)
        throw new Error(`the rebuild projected ${projected.size} keys, ${seeder.keys} were seeded`);
      const transcripts = await readBucket(nc, into.transcripts);
      if (transcripts.size !== seeder.keys)
        throw new Error(
          `the rebuild wrote ${transcripts.size} transcript views, ${seeder.keys} keys were seeded`,
        );
      // Each key's entry counts its messages and replies: one per record of a seeded key.
      const expected = new Map(batch.counts.map((n, k) => [seeder.sessionKeyOf(batch.firstKey + k), n]));
      for (const value of projected.values())
        if (value.entry.messageCount !== expected.get(value.sessionKey))
          throw new Error(
            `the rebuild counts ${value.entry.messageCount} messages for ${value.sessionKey}, which has ${expected.get(value.sessionKey)} records`,
          );
      if (rawBefore.count !== seeder.records || rawAfter.count !== seeder.records)
        throw new Error(
          `the raw reads saw ${rawBefore.count} and ${rawAfter.count} messages, ${seeder.records} were seeded`,
        );

      const rawRate = Math.max(rawBefore.rate, rawAfter.rate);
      return {
        sizes,
        figures: [
          withTarget(
            againstBaseline(
              {
                id: 'rebuild.rate',
                label: `Projector rebuild from zero (${report.applied.toLocaleString('en-US')} records, ${seeder.keys.toLocaleString('en-US')} keys)`,
                value: rate,
                unit: 'records/s',
              },
              { label: 'raw ordered consumer, whole stream', value: rawRate, unit: 'msg/s' },
            ),
            { of: 'ratio', atLeast: 0.5, text: 'ratio ≥ 0.5' },
          ),
        ],
        notes: [
          `The session stream was seeded with ${seeder.records.toLocaleString('en-US')} valid transition records over ${seeder.keys.toLocaleString('en-US')} keys (${minPerKey}–${maxPerKey} each, chat messages and agent replies, ${window} keys interleaved), written straight into the stream in the worker's format (every 1000th key decided by the session core and written by NatsSessionLog.append, the others from a template checked against them) at ${batch.rate.toFixed(0)} appends/s.`,
          'The rebuild is `rebuildProjection` (what `threadline rebuild` runs before comparing): it folds every record with the session machine, writes both fresh buckets and checkpoints; timed from the call to its return. It folded every record with no divergence, chain break or unreadable record, and projected every seeded key with its message count.',
          `The baseline is the faster of two raw reads of the stream (before: ${rawBefore.rate.toFixed(0)}, after: ${rawAfter.rate.toFixed(0)} msg/s).`,
        ],
      };
    } finally {
      await stack.stop();
    }
  },
});
