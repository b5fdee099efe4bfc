/**
 * The "forgotten" broadcast (ADR 0016): after `threadline forget` erased some session keys from the
 * streams and buckets, it tells every running service to drop those keys from memory — the worker's
 * resident actors, the projector's cache, the scheduler's held timers — so that nothing they hold is
 * written back. Core NATS request/reply to many: each service answers once it has dropped the keys (and
 * waited for its own writes of them in flight), so forget knows who confirmed and erases once more after.
 *
 * Not a JetStream subject: nothing about a forgotten key may be stored, not even the request.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { Subjects } from '@threadline/protocol';

/** Where forget announces erased keys: `tl.ops.v1.forgotten` (core NATS only). */
export const FORGOTTEN_SUBJECT = Subjects.forgotten;

export interface ForgottenV1 {
  v: 1;
  type: 'keys.forgotten';
  sessionKeys: string[];
}

/** A service's answer: who it is and how many of the keys it held in memory. */
export interface ForgottenAckV1 {
  v: 1;
  /** `worker:<id>`, `projector`, `scheduler:<id>`. */
  service: string;
  dropped: number;
}

export interface ForgottenListener {
  stop(): Promise<void>;
}

/**
 * Listens for forgotten keys on `nc`: `drop` removes them from the service's memory (resolving once any
 * write of them in flight has settled) and returns how many it held; the answer goes back to forget. A
 * malformed request is ignored; a failing `drop` is answered with no ack, so forget reports the service
 * as unconfirmed.
 */
export function listenForgotten(
  nc: NatsConnection,
  service: string,
  drop: (sessionKeys: readonly string[]) => number | Promise<number>,
  onError?: (error: unknown) => void,
): ForgottenListener {
  const sub = nc.subscribe(FORGOTTEN_SUBJECT, {
    callback: (error, msg) => {
      if (error) return onError?.(error);
      let request: ForgottenV1;
      try {
        request = msg.json<ForgottenV1>();
      } catch {
        return;
      }
      if (request?.type !== 'keys.forgotten' || !Array.isArray(request.sessionKeys)) return;
      const keys = request.sessionKeys.filter((k): k is string => typeof k === 'string');
      Promise.resolve()
        .then(() => drop(keys))
        .then(
          (dropped) => {
            const ack: ForgottenAckV1 = { v: 1, service, dropped };
            msg.respond(JSON.stringify(ack));
          },
          (failure) => onError?.(failure),
        );
    },
  });
  return {
    async stop() {
      sub.unsubscribe();
    },
  };
}

/**
 * Announces `sessionKeys` as forgotten and collects the services' answers for up to `waitMs` (default
 * 2 s), or until `expect` answers arrived. No listener at all is not an error: the answer is empty.
 */
export async function announceForgotten(
  nc: NatsConnection,
  sessionKeys: readonly string[],
  options: { waitMs?: number; expect?: number } = {},
): Promise<ForgottenAckV1[]> {
  const request: ForgottenV1 = { v: 1, type: 'keys.forgotten', sessionKeys: [...sessionKeys] };
  const acks: ForgottenAckV1[] = [];
  const waitMs = options.waitMs ?? 2_000;
  try {
    const replies = await nc.requestMany(FORGOTTEN_SUBJECT, JSON.stringify(request), {
      maxWait: waitMs,
      ...(options.expect && options.expect > 0
        ? { strategy: 'count' as const, maxMessages: options.expect }
        : { strategy: 'timer' as const }),
    });
    for await (const reply of replies) {
      try {
        const ack = reply.json<ForgottenAckV1>();
        if (ack?.v === 1 && typeof ack.service === 'string') acks.push(ack);
      } catch {
        // not an ack (a stray responder): ignored
      }
    }
  } catch (error) {
    // No responders: nobody is running, so nobody holds the keys in memory.
    if (!(error instanceof Error && /no responders|503/i.test(`${error.message} ${error.name}`))) throw error;
  }
  return acks;
}
