/**
 * Steady load for the chaos suite: several producers, each on its own connection to every node of the
 * cluster, publishing chat events as an adapter would — one JetStream-acknowledged publish at a time per
 * producer, with the event id as `Nats-Msg-Id`, and the same event (same id) published again after a
 * failure until it is acknowledged or the retry budget runs out. Every id is remembered as sent the moment
 * it is first published and as acknowledged once the server acks it: the invariant checker's input.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { Subjects } from '@threadline/protocol';

export interface LoadOptions {
  readonly servers: string[];
  /** The NATS user the producers publish as (the publisher role, on a server with identities). */
  readonly credentials?: { readonly user: string; readonly pass: string };
  readonly producers: number;
  /** Peers (one Telegram DM each) the producers talk as. */
  readonly peers: number;
  /** Messages per second per producer (a target; a failing publish slows its producer down). */
  readonly ratePerProducer: number;
  /** Give up on one event after this long (must stay inside the streams' 2-minute duplicate window). */
  readonly retryForMs?: number;
  /** Deterministic choice of peers: the seed of a small PRNG. */
  readonly seed?: number;
}

export interface LoadFigures {
  sent: number;
  acked: number;
  /** Publish attempts that failed (timeouts, no responders, connection loss) and were retried. */
  failedAttempts: number;
  /** Events never acknowledged within the retry budget (may or may not be stored). */
  abandoned: number;
  /** The longest a single event took from first attempt to acknowledgement (ms). */
  longestAckMs: number;
}

export interface RunningLoad {
  readonly sent: ReadonlySet<string>;
  readonly acked: ReadonlySet<string>;
  figures(): LoadFigures;
  /** Stops publishing; resolves when every producer has finished its event in flight. */
  stop(): Promise<void>;
}

/** mulberry32: a tiny seeded PRNG, so a run's traffic pattern can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startLoad(options: LoadOptions): Promise<RunningLoad> {
  const sent = new Set<string>();
  const acked = new Set<string>();
  const figures = { failedAttempts: 0, abandoned: 0, longestAckMs: 0 };
  const retryForMs = options.retryForMs ?? 60_000;
  let stopping = false;
  const connections: NatsConnection[] = [];
  for (let p = 0; p < options.producers; p++)
    connections.push(
      await connectToNats({
        servers: options.servers,
        ...options.credentials,
        name: `chaos-producer-${p}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
      }),
    );

  const producer = async (p: number, nc: NatsConnection) => {
    const js = jetstream(nc, { timeout: 5_000 });
    const random = prng((options.seed ?? 1) * 1000 + p);
    const interval = 1000 / options.ratePerProducer;
    for (let n = 1; !stopping; n++) {
      const started = Date.now();
      // Skewed towards the low peers: some conversations are busy, the rest go quiet long enough for
      // their idle timers to fire.
      const peer = String(1000 + Math.floor(random() ** 2 * options.peers));
      const id = `chaos:${p}:${n}`;
      const text = random() < 0.05 ? '/new' : `message ${n} from producer ${p}`;
      const event = {
        v: 1,
        type: 'chat.message',
        id,
        channel: 'telegram',
        chatType: 'direct',
        peer: { kind: 'direct', id: peer },
        sender: { id: peer, isAuthorized: true },
        text,
        at: started,
      };
      sent.add(id);
      const body = JSON.stringify(event);
      while (true) {
        try {
          await js.publish(Subjects.inbound('telegram', peer), body, { msgID: id });
          acked.add(id);
          figures.longestAckMs = Math.max(figures.longestAckMs, Date.now() - started);
          break;
        } catch {
          figures.failedAttempts += 1;
          if (Date.now() - started > retryForMs) {
            figures.abandoned += 1;
            break;
          }
          await sleep(200);
        }
      }
      const wait = interval - (Date.now() - started);
      if (wait > 0) await sleep(wait);
    }
  };
  const running = connections.map((nc, p) => producer(p, nc));

  return {
    sent,
    acked,
    figures: () => ({ sent: sent.size, acked: acked.size, ...figures }),
    async stop() {
      stopping = true;
      await Promise.all(running);
      await Promise.all(connections.map((nc) => nc.close()));
    },
  };
}
