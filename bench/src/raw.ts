/**
 * The raw JetStream baselines every figure is compared with: what the same server does with no Threadline
 * in between, measured in the same run, with the same payload size and in-flight window.
 */
import { readFile } from 'node:fs/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { percentile, perSecond } from './figures.js';

const RAW_STREAM = 'BENCH_RAW';
const RAW_SUBJECT = 'bench.raw';

/** Runs `task(i)` for i in [0, count) with at most `window` in flight; resolves when all have settled. */
export async function inFlightWindow(
  count: number,
  window: number,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  let failure: unknown;
  const lane = async () => {
    while (failure === undefined && next < count) {
      const i = next++;
      try {
        await task(i);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
  if (failure !== undefined) throw failure;
}

/** A file-backed, single-replica scratch stream like the session streams; removed by the returned function. */
async function scratchStream(nc: NatsConnection, name = RAW_STREAM, subject = RAW_SUBJECT) {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(name).catch(() => undefined);
  await jsm.streams.add({ name, subjects: [`${subject}.>`], storage: 'file' as never, num_replicas: 1 });
  return async () => {
    await jsm.streams.delete(name).catch(() => undefined);
  };
}

export interface RawPublishResult {
  readonly count: number;
  /** Messages the scratch stream stored (read before it is removed). */
  readonly stored: number;
  readonly elapsedMs: number;
  readonly rate: number;
}

/**
 * Acknowledged publishes of `payloads` (cycled) to a scratch stream, `window` in flight, each with a
 * `Nats-Msg-Id` as Threadline's producers send: messages per second from the first publish to the last ack.
 */
export async function rawPublishRate(
  nc: NatsConnection,
  options: { count: number; window: number; payloads: readonly Uint8Array[]; subjects?: number },
): Promise<RawPublishResult> {
  const remove = await scratchStream(nc);
  try {
    const js = jetstream(nc, { timeout: 30_000 });
    const subjects = options.subjects ?? 1000;
    const started = performance.now();
    await inFlightWindow(options.count, options.window, (i) =>
      js.publish(`${RAW_SUBJECT}.${i % subjects}`, options.payloads[i % options.payloads.length], {
        msgID: `raw-${i}`,
      }),
    );
    const elapsedMs = performance.now() - started;
    const stored = (await jetstreamManager(nc).then((jsm) => jsm.streams.info(RAW_STREAM))).state.last_seq;
    return { count: options.count, elapsedMs, rate: perSecond(options.count, elapsedMs), stored };
  } finally {
    await remove();
  }
}

export interface LatencyResult {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** Sorted latencies (ms) summarised. */
export function latencySummary(latencies: number[]): LatencyResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/**
 * Raw publish-to-consume latency at a fixed rate: each message is published (acknowledged) to a scratch
 * stream and read back by an ordered push consumer; the latency runs from the publish call to the
 * consumer's receipt.
 */
export async function rawLatency(
  nc: NatsConnection,
  options: { count: number; ratePerSecond: number; payloads: readonly Uint8Array[] },
): Promise<LatencyResult> {
  const remove = await scratchStream(nc);
  try {
    const js = jetstream(nc, { timeout: 30_000 });
    const consumer = await js.consumers.get(RAW_STREAM);
    const sentAt = new Array<number>(options.count);
    const latencies: number[] = [];
    const messages = await consumer.consume();
    const reading = (async () => {
      for await (const m of messages) {
        const i = Number(m.subject.slice(RAW_SUBJECT.length + 1));
        latencies.push(performance.now() - (sentAt[i] as number));
        if (latencies.length >= options.count) break;
      }
    })();
    await paced(options.count, options.ratePerSecond, (i) => {
      sentAt[i] = performance.now();
      return js.publish(`${RAW_SUBJECT}.${i}`, options.payloads[i % options.payloads.length]);
    });
    await reading;
    return latencySummary(latencies);
  } finally {
    await remove();
  }
}

/**
 * Starts `task(i)` at `ratePerSecond`, on schedule (a late start does not push the later ones back: an
 * open-loop load, so latency is not hidden by the sender slowing down), and waits for all of them.
 */
export async function paced(
  count: number,
  ratePerSecond: number,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  const interval = 1000 / ratePerSecond;
  const started = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(task(i));
  }
  await Promise.all(pending);
}

export interface RawReadResult {
  readonly count: number;
  readonly elapsedMs: number;
  readonly rate: number;
}

/**
 * Reads a whole stream (or the subjects of `filter`) once with the client's ordered consumer, decoding
 * nothing: the fastest any replay of that stream could go. Messages per second.
 */
export async function rawOrderedRead(
  nc: NatsConnection,
  stream: string,
  options: { filter?: string } = {},
): Promise<RawReadResult> {
  const js = jetstream(nc);
  const started = performance.now();
  const consumer = await js.consumers.get(
    stream,
    options.filter ? { filter_subjects: [options.filter] } : {},
  );
  const { num_pending: total } = await consumer.info(true);
  let count = 0;
  if (total > 0) {
    const messages = await consumer.consume();
    for await (const _ of messages) {
      if (++count >= total) break;
    }
  }
  const elapsedMs = performance.now() - started;
  return { count, elapsedMs, rate: perSecond(count, elapsedMs) };
}

/** Resident set size of a process in bytes (Linux `/proc/<pid>/status`). */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * Messages ever stored in each stream of the server (KV buckets included), by stream: the streams' last
 * sequences. The difference over a run is how many writes it cost the server, deletions and purges
 * notwithstanding.
 */
export async function storedWrites(nc: NatsConnection): Promise<Map<string, number>> {
  const jsm = await jetstreamManager(nc);
  const out = new Map<string, number>();
  for await (const info of jsm.streams.list()) out.set(info.config.name, info.state.last_seq);
  return out;
}

/** Writes per stream between two {@link storedWrites} readings, largest first, with the total. */
export function writesBetween(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): { total: number; byStream: [string, number][] } {
  const byStream: [string, number][] = [];
  for (const [name, seq] of after) {
    const delta = seq - (before.get(name) ?? 0);
    if (delta > 0) byStream.push([name, delta]);
  }
  byStream.sort((a, b) => b[1] - a[1]);
  return { total: byStream.reduce((sum, [, n]) => sum + n, 0), byStream };
}
