/**
 * Reads what a fresh consumer has pending — and no more — with fetches sized to what is left.
 *
 * A `consume()` keeps a pull for more messages open after the last one a filter matches; nats-server 2.10
 * answers it by scanning the rest of the stream for matches, and deleting the consumer waits for that
 * scan. Reading one session's 20 records among 1 000 000 took 0.5–1.3 s that way, growing with the
 * stream; sized fetches end the moment the last pending message is delivered (docs/performance.md).
 */
import type { Consumer, JsMsg } from '@nats-io/jetstream';

/** Largest batch one fetch asks for. */
const BATCH = 1024;
/** What ends a fetch without the read being wrong: it is asked again. */
const RETRYABLE = /heartbeats missed|no responders/i;
/** Fetches in a row that may deliver nothing (each waits up to 2 s) before the read gives up. */
const MAX_EMPTY_FETCHES = 30;

/**
 * The consumer's next `pending` messages (its `num_pending` when created), in order. Stops early once a
 * message says nothing is left (`info.pending` 0: some were removed meanwhile). A fetch lost to a
 * cluster race (its heartbeats missed, or no responders yet) is repeated; after {@link MAX_EMPTY_FETCHES} fetches in a row
 * deliver nothing it throws rather than wait forever.
 */
export async function* fetchPending(consumer: Consumer, pending: number): AsyncGenerator<JsMsg> {
  let remaining = pending;
  let empty = 0;
  while (remaining > 0) {
    // Short heartbeats: in a cluster the first pull can reach a node before the new consumer's interest
    // has (route pooling does not order the two), and is dropped; two missed heartbeats end the fetch
    // after 1 s and it is asked again, instead of waiting out the expiry.
    const batch = await consumer.fetch({
      max_messages: Math.min(remaining, BATCH),
      expires: 2_000,
      idle_heartbeat: 500,
    });
    let delivered = 0;
    try {
      for await (const m of batch) {
        delivered += 1;
        remaining -= 1;
        yield m;
        if (m.info.pending === 0) remaining = 0;
        if (remaining === 0) break;
      }
    } catch (error) {
      // In a cluster a pull can also meet no responders while the new consumer is being placed: ask again.
      if (!RETRYABLE.test((error as Error).message)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (delivered > 0) empty = 0;
    else if (++empty >= MAX_EMPTY_FETCHES)
      throw new Error(
        `no message delivered by ${MAX_EMPTY_FETCHES} fetches in a row with ${remaining} still pending`,
      );
  }
}
