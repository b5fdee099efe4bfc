/**
 * Numbers a service reads from NATS for its metrics — how many dead letters are stored, how many timers
 * are pending — refreshed on a timer, so a scrape only reads the last value: it never waits on the server
 * and never costs it a request (a slow or unreachable server makes the value stale, never the scrape
 * slow). Each value is one small request (`STREAM.INFO`), never a scan.
 */
import type { NatsConnection } from '@nats-io/transport-node';

/** How often sampled values are refreshed by default (ms). */
export const SAMPLE_INTERVAL_MS = 15_000;

export interface Sampled {
  /** The last value read; undefined before the first read succeeds. */
  value(): number | undefined;
  /** Reads now (and resolves when done; a failure keeps the last value and goes to `onError`). */
  refresh(): Promise<void>;
  /** Stops the timer; a read in flight is ignored when it lands. */
  stop(): void;
}

/**
 * `read`, called at once and then every `intervalMs` (the timer never keeps the process alive); reads
 * never overlap. A failed read keeps the previous value.
 */
export function sampleEvery(
  read: () => Promise<number>,
  options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
): Sampled {
  let value: number | undefined;
  let stopped = false;
  let inFlight: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    inFlight ??= read()
      .then(
        (v) => {
          if (!stopped) value = v;
        },
        (error: unknown) => {
          if (!stopped) options.onError?.(error);
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  const timer = setInterval(() => void refresh(), options.intervalMs ?? SAMPLE_INTERVAL_MS);
  timer.unref();
  void refresh();
  return {
    value: () => value,
    refresh,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/**
 * The number of messages `stream` holds now (`$JS.API.STREAM.INFO`, `state.messages`); 0 when there is
 * no such stream yet. For a KV bucket, the stream is `KV_<bucket>`. Throws on any other API error.
 */
export async function streamMessageCount(nc: NatsConnection, stream: string): Promise<number> {
  const reply = await nc.request(`$JS.API.STREAM.INFO.${stream}`, '', { timeout: 5_000 });
  const info = reply.json<{ state?: { messages?: number }; error?: { code: number; description: string } }>();
  if (info.error) {
    if (info.error.code === 404) return 0;
    throw new Error(`stream info ${stream}: ${info.error.description}`);
  }
  return info.state?.messages ?? 0;
}
