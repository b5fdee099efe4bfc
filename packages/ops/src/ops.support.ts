/**
 * Shared by the ops tests (here, in the ops service and wherever the endpoints are compared with the
 * CLI; not part of the build): a request to an ops endpoint with its answer or service error read back,
 * and a small history fed through a real worker and projector.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { type Projector, startProjector } from '@threadline/projector';
import { history, sendChat, T0, until, type WorkerTestBed } from '@threadline/session-worker/testing';
import { ServiceErrorHeaders } from './microService.js';

export type OpsAnswer<T> =
  | { ok: true; json: T }
  | {
      ok: false;
      /** `Nats-Service-Error-Code`. */
      code: number;
      /** `Nats-Service-Error`. */
      message: string;
      /** The error payload: `{ error: { code, message, hint?, field? } }`. */
      json: { error: { code: string; message: string; hint?: string; field?: string } };
    };

/** Requests `subject` with `body` (JSON-encoded unless a string) and reads the answer or the service error. */
export async function opsRequest<T = Record<string, unknown>>(
  nc: NatsConnection,
  subject: string,
  body: unknown = '',
): Promise<OpsAnswer<T>> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const reply = await nc.request(subject, payload, { timeout: 10_000 });
  const code = reply.headers?.get(ServiceErrorHeaders.code);
  if (code)
    return {
      ok: false,
      code: Number(code),
      message: reply.headers?.get(ServiceErrorHeaders.message) ?? '',
      json: reply.json(),
    };
  return { ok: true, json: reply.json<T>() };
}

/** Publishes a chat event as an adapter would (the worker test bed's). */
export { sendChat };

export const HOUR_MS = 3_600_000;
/** The session key of a telegram direct chat with `peer` (the bed's config: dmScope per-channel-peer). */
export const directKey = (peer: string, agent = 'main') => `agent:${agent}:telegram:direct:${peer}`;

/**
 * Feeds a worker and a projector (started on `bed`): `old` (one message at T0), then three hours later
 * `opsy` (agent `ops`) and `new` (`count` messages); returns once every record is in the session store.
 * The bed's config must have `dmScope: 'per-channel-peer'`.
 */
export async function seedSessions(
  bed: WorkerTestBed,
  options: { count?: number } = {},
): Promise<{ start: number; now: number; projector: Projector }> {
  const count = options.count ?? 1;
  await bed.start();
  const projector = await startProjector({ nc: bed.nc, partitions: 4 });
  bed.cleanup(() => projector.stop());
  const start = Math.max(bed.clock.now(), T0);
  bed.clock.set(start);
  await sendChat(bed.nc, 'old', 1, { tokens: 11 });
  await until(async () => (await history(bed.nc, directKey('old'))).length === 1, 20_000, 'old recorded');
  bed.clock.set(start + 3 * HOUR_MS);
  await sendChat(bed.nc, 'opsy', 1, { agentId: 'ops', tokens: 5 });
  for (let n = 1; n <= count; n++) await sendChat(bed.nc, 'new', n, { tokens: 7 });
  await until(async () => (await history(bed.nc, directKey('new'))).length === count, 20_000, 'new recorded');
  await until(async () => (await history(bed.nc, directKey('opsy', 'ops'))).length === 1, 20_000, 'ops');
  await until(
    () => projector.status().pending === 0 && projector.status().handled >= 2 + count,
    20_000,
    'projected',
  );
  await projector.waitFor(projector.status().handled);
  return { start, now: start + 3 * HOUR_MS + 2 * 60_000, projector };
}
