/**
 * Asking a real nats-server what one NATS user may do: a publish or request refused by the server's
 * permissions comes back as `Permissions Violation for Publish to "<subject>"`, a refused subscription
 * is closed with `Permissions Violation for Subscription to "<subject>"`. Anything else (an answer, a
 * stream's acknowledgement, "no responders", a timeout) means the server let it through.
 */
import type { NatsConnection } from '@nats-io/transport-node';

const REFUSED = /Permissions Violation for (Publish|Subscription) to/;

/** The message of an error and of the errors it was caused by. */
function messages(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    parts.push(e instanceof Error ? e.message : String(e));
    if (!(e instanceof Error)) break;
  }
  return parts.join(' / ');
}

/** What the server did with a request on `subject`: `refused` by permissions, or `passed` (with why). */
export async function requestOutcome(
  nc: NatsConnection,
  subject: string,
  data = '',
): Promise<{ refused: boolean; detail: string }> {
  try {
    const reply = await nc.request(subject, data, { timeout: 2_000 });
    return { refused: false, detail: `answered: ${reply.string().slice(0, 200)}` };
  } catch (error) {
    const detail = messages(error);
    return { refused: REFUSED.test(detail), detail };
  }
}

/** Whether the server closed a subscription to `subject` for permissions. */
export async function subscriptionRefused(nc: NatsConnection, subject: string): Promise<boolean> {
  const sub = nc.subscribe(subject);
  let reason = '';
  void sub.closed.then((error) => {
    if (error) reason = messages(error);
  });
  // The server answers SUB before the PONG of a flush: a refusal has arrived once the flush returns.
  await nc.flush();
  await new Promise((resolve) => setTimeout(resolve, 50));
  if (!sub.isClosed()) sub.unsubscribe();
  return REFUSED.test(reason);
}

/** Whether `work` failed because the server's permissions refused something it sent. */
export async function refusedByPermissions(work: () => Promise<unknown>): Promise<boolean> {
  try {
    await work();
    return false;
  } catch (error) {
    return REFUSED.test(messages(error));
  }
}
