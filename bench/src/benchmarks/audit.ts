/**
 * 5. Audit replay: how an operator's look at the session log scales with the log.
 *
 * - One session among many: `threadline audit verify <key>` ({@link auditLog} with a key) and
 *   `threadline replay <key>` ({@link replaySession}, what `@threadline/ops` serves) timed on a key of
 *   about twenty records while the stream grows around it (e.g. 100 000 → 1 000 000 → 10 000 000 events).
 *   The requirement: the time must not grow with the stream. Baseline: the client's ordered
 *   consumer reading that key's one subject at the same stream size.
 * - The whole log: `threadline audit verify` ({@link auditLog}, every key's chain) and `threadline replay`
 *   ({@link replayAll}, every record decoded in stream order), records per second against an ordered
 *   consumer reading the whole stream raw, in the same run. Target: ratio ≥ 0.7.
 *
 * The stream is seeded with valid, hash-chained transition records (`seed.ts`), and every audit must find
 * nothing wrong: a benchmark over an invalid log would measure nothing.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type AuditReport,
  auditLog,
  ensureThreadlineStreams,
  replayAll,
  replaySession,
} from '@threadline/event-log';
import { StreamNames, Subjects } from '@threadline/protocol';
import { againstBaseline, percentile, perSecond, withTarget } from '../figures.js';
import { rawOrderedRead } from '../raw.js';
import { sessionSeeder } from '../seed.js';
import { startBenchStack } from '../stack.js';
import { defineBenchmark, type Figure } from '../types.js';

/** `1000000` → `1M`, `20000` → `20k`. */
function short(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}k`;
  return String(n);
}

/** The stream sizes one session is measured at: `first`, ×10 each step, ending at `events`. */
export function stepsOf(first: number, events: number): number[] {
  const steps: number[] = [];
  for (let n = Math.min(first, events); n < events; n *= 10) steps.push(n);
  steps.push(events);
  return steps;
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

function mustBeClean(report: AuditReport, what: string, records: number): void {
  if (!report.ok) {
    const first = report.problems.slice(0, 3).map((p) => `${p.sessionKey} #${p.seq} ${p.kind}: ${p.detail}`);
    throw new Error(`${what}: audit verify found ${report.problems.length} problem(s): ${first.join('; ')}`);
  }
  if (report.records !== records)
    throw new Error(`${what}: audit verify read ${report.records} records, expected ${records}`);
}

interface OneSession {
  readonly events: number;
  /** Medians over every probe and round, ms. */
  readonly verifyMs: number;
  readonly replayMs: number;
  readonly rawMs: number;
}

/**
 * The baseline of a one-session read: the client's ordered consumer on the key's one subject, reading
 * exactly the messages it has (pulls sized to what is pending, no decoding) and deleting its consumer, as
 * a careful reader does. Not `rawOrderedRead`: its open-ended pull keeps the server looking for more
 * matches through the rest of the stream after the last one, which here would both flatter the baseline
 * (it never waits for that) and slow whatever is measured next.
 */
async function rawSubjectRead(
  nc: NatsConnection,
  subject: string,
): Promise<{ count: number; elapsedMs: number }> {
  const started = performance.now();
  const consumer = await jetstream(nc).consumers.get(StreamNames.sessions, { filter_subjects: [subject] });
  const { num_pending: pending } = await consumer.info(true);
  let count = 0;
  try {
    while (count < pending) {
      const before = count;
      const batch = await consumer.fetch({ max_messages: Math.min(256, pending - count), expires: 2_000 });
      for await (const _ of batch) count += 1;
      if (count === before) break; // nothing came: the rest is gone
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return { count, elapsedMs: performance.now() - started };
}

/**
 * Times the one-session reads on each probe key, `rounds` times over, after as many untimed rounds (so that
 * the first size measured is not also the one that pays for the JIT's warm-up).
 */
async function measureOneSession(
  nc: NatsConnection,
  events: number,
  probes: readonly { key: string; records: number }[],
  rounds: number,
): Promise<OneSession> {
  const verify: number[] = [];
  const replay: number[] = [];
  const raw: number[] = [];
  for (let round = -rounds; round < rounds; round++)
    for (const { key, records } of probes) {
      const timed = round >= 0;
      let t0 = performance.now();
      const report = await auditLog(nc, { sessionKey: key });
      if (timed) verify.push(performance.now() - t0);
      mustBeClean(report, `audit verify ${key}`, records);

      t0 = performance.now();
      let replayed = 0;
      for await (const _ of replaySession(nc, key)) replayed += 1;
      if (timed) replay.push(performance.now() - t0);
      if (replayed !== records) throw new Error(`replay ${key}: ${replayed} records, expected ${records}`);

      const read = await rawSubjectRead(nc, Subjects.session(key));
      if (timed) raw.push(read.elapsedMs);
      if (read.count !== records)
        throw new Error(`raw read of ${key}: ${read.count} messages, expected ${records}`);
    }
  return { events, verifyMs: median(verify), replayMs: median(replay), rawMs: median(raw) };
}

export const audit = defineBenchmark({
  id: 'audit',
  title: '5. Audit replay (one session among many; the whole log)',
  sizes: {
    quick: { events: 20_000, firstSize: 2_000, recordsPerKey: 20, window: 500, probes: 4, rounds: 3 },
    full: { events: 10_000_000, firstSize: 100_000, recordsPerKey: 20, window: 1000, probes: 5, rounds: 3 },
  },
  async run(context, sizes) {
    const { events, firstSize, recordsPerKey, window, probes: probeCount, rounds } = sizes;
    const steps = stepsOf(firstSize, events);
    const stack = await startBenchStack({ natsBin: context.natsBin, workDir: context.workDir });
    try {
      const { nc } = stack;
      await ensureThreadlineStreams(nc);
      const seeder = sessionSeeder(nc, { window, minPerKey: recordsPerKey, maxPerKey: recordsPerKey });
      const oneSession: OneSession[] = [];
      const seedRates: string[] = [];
      let probes: { key: string; records: number }[] = [];
      for (const step of steps) {
        const batch = await seeder.seed(step - seeder.records, (done) =>
          context.log(
            `seeding: ${(seeder.records + done).toLocaleString('en-US')} of ${step.toLocaleString('en-US')}`,
          ),
        );
        seedRates.push(
          `${batch.records.toLocaleString('en-US')} records at ${batch.rate.toLocaleString('en-US', { maximumFractionDigits: 0 })} appends/s`,
        );
        context.log(
          `seeded ${batch.records} records over ${batch.counts.length} keys in ${(batch.elapsedMs / 1000).toFixed(1)} s (${batch.rate.toFixed(0)} appends/s; ${batch.verifiedKeys} keys decided for real)`,
        );
        if (probes.length === 0) {
          // Keys spread over the first batch, so their records sit among the others (interleaved), and the
          // later batches grow the stream after them.
          const full = batch.counts.flatMap((n, k) => (n === recordsPerKey ? [k] : []));
          const spread = Array.from(
            { length: probeCount },
            (_, p) => full[Math.floor(((p + 0.5) * full.length) / probeCount)],
          );
          probes = spread
            .filter((k): k is number => k !== undefined)
            .map((k) => ({ key: seeder.sessionKeyOf(batch.firstKey + k), records: recordsPerKey }));
          if (probes.length === 0)
            throw new Error(`no key of ${recordsPerKey} records to probe among ${step} events`);
        }
        const measured = await measureOneSession(nc, step, probes, rounds);
        oneSession.push(measured);
        context.log(
          `one session among ${step} events: audit verify ${measured.verifyMs.toFixed(1)} ms, replay ${measured.replayMs.toFixed(1)} ms, raw ordered read ${measured.rawMs.toFixed(1)} ms`,
        );
      }

      // The whole log: raw before and after the two operator passes; the faster raw read is the baseline.
      const rawBefore = await rawOrderedRead(nc, StreamNames.sessions);
      context.log(`raw ordered read of the whole stream: ${rawBefore.rate.toFixed(0)} msg/s`);
      let t0 = performance.now();
      const report = await auditLog(nc);
      const verifyMs = performance.now() - t0;
      mustBeClean(report, 'audit verify (every key)', seeder.records);
      if (report.keys !== seeder.keys)
        throw new Error(`audit verify saw ${report.keys} keys, ${seeder.keys} were seeded`);
      const verifyRate = perSecond(report.records, verifyMs);
      context.log(`audit verify of every key: ${verifyRate.toFixed(0)} records/s`);
      t0 = performance.now();
      let replayed = 0;
      for await (const _ of replayAll(nc)) replayed += 1;
      const replayMs = performance.now() - t0;
      if (replayed !== seeder.records)
        throw new Error(`replay of every key: ${replayed} records, ${seeder.records} seeded`);
      const replayRate = perSecond(replayed, replayMs);
      context.log(`replay of every key: ${replayRate.toFixed(0)} records/s`);
      const rawAfter = await rawOrderedRead(nc, StreamNames.sessions);
      context.log(`raw ordered read of the whole stream, again: ${rawAfter.rate.toFixed(0)} msg/s`);
      if (rawBefore.count !== seeder.records || rawAfter.count !== seeder.records)
        throw new Error(
          `the raw reads saw ${rawBefore.count} and ${rawAfter.count} messages, ${seeder.records} were seeded`,
        );
      const rawRate = Math.max(rawBefore.rate, rawAfter.rate);

      const figures: Figure[] = [];
      for (const m of oneSession) {
        const among = `among ${short(m.events)} events`;
        const baseline = {
          label: `raw ordered read of its subject (exact pulls), ${among}`,
          value: m.rawMs,
          unit: 'ms',
        };
        figures.push(
          againstBaseline(
            {
              id: `audit.session.verify.${m.events}`,
              label: `One session (${recordsPerKey} records) ${among}: audit verify <key>`,
              value: m.verifyMs,
              unit: 'ms',
            },
            baseline,
          ),
          againstBaseline(
            {
              id: `audit.session.replay.${m.events}`,
              label: `One session (${recordsPerKey} records) ${among}: replay <key>`,
              value: m.replayMs,
              unit: 'ms',
            },
            baseline,
          ),
        );
      }
      const smallest = oneSession[0] as OneSession;
      const largest = oneSession.at(-1) as OneSession;
      const growth = `${short(largest.events)} ÷ ${short(smallest.events)} events`;
      for (const [kind, of] of [
        ['verify', (m: OneSession) => m.verifyMs],
        ['replay', (m: OneSession) => m.replayMs],
      ] as const)
        figures.push(
          withTarget(
            againstBaseline(
              {
                id: `audit.session.${kind}.growth`,
                label: `One session: ${kind === 'verify' ? 'audit verify' : 'replay'} <key> time among ${short(largest.events)} events (ratio: ${growth})`,
                value: of(largest),
                unit: 'ms',
              },
              { label: `the same among ${short(smallest.events)} events`, value: of(smallest), unit: 'ms' },
            ),
            { of: 'ratio', atMost: 2, text: 'flat: ratio ≤ 2' },
          ),
        );
      const rawBaseline = { label: 'raw ordered consumer, whole stream', value: rawRate, unit: 'msg/s' };
      figures.push(
        withTarget(
          againstBaseline(
            {
              id: 'audit.replay.rate',
              label: `Full replay (threadline replay, ${short(replayed)} records)`,
              value: replayRate,
              unit: 'records/s',
            },
            rawBaseline,
          ),
          { of: 'ratio', atLeast: 0.7, text: 'ratio ≥ 0.7' },
        ),
        withTarget(
          againstBaseline(
            {
              id: 'audit.verify.rate',
              label: `Full audit (threadline audit verify, ${short(report.records)} records, ${short(report.keys)} keys)`,
              value: verifyRate,
              unit: 'records/s',
            },
            rawBaseline,
          ),
          { of: 'ratio', atLeast: 0.7, text: 'ratio ≥ 0.7' },
        ),
      );
      return {
        sizes,
        figures,
        notes: [
          `The session stream was seeded with ${seeder.records.toLocaleString('en-US')} valid transition records (${seeder.keys.toLocaleString('en-US')} keys of ${recordsPerKey}, ${window} keys interleaved, chat messages and agent replies) written straight into the stream in the worker's format, not through the pipeline (each batch's first key and every 1000th decided by the session core and written by NatsSessionLog.append, the others from a template checked against them; ${seedRates.join(', ')}); every audit in the run found each chain intact.`,
          `One-session times are medians of ${rounds} rounds (after as many untimed ones) over ${probes.length} keys spread over the first ${short(smallest.events)} events, measured again as the stream grew, consumer deletion included (the operator commands delete theirs before returning); the baseline reads the same subject with pulls sized to what it holds, decodes nothing, and deletes its consumer too. One-session ratios are ours ÷ raw (lower is better).`,
          `Full passes ran once each on a stream of ${seeder.records.toLocaleString('en-US')} records; the baseline is the faster of two raw reads (before: ${rawBefore.rate.toFixed(0)}, after: ${rawAfter.rate.toFixed(0)} msg/s).`,
        ],
      };
    } finally {
      await stack.stop();
    }
  },
});
