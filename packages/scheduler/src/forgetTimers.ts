/**
 * `threadline forget`'s part in the timer index (ADR 0016): every timer entry of erased keys, in any
 * minute, purged (entries are named `d.<day>.<hh>.<mm>.<key hash>.<kind>`, so one filter per key finds
 * them all).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { purgeKvEntries } from '@threadline/event-log';
import { TIMER_BUCKET } from './scheduler.js';
import { keyHash } from './timerIndex.js';

/** Purges (or with `dryRun` counts) the pending timers of `sessionKeys`: the stored messages found. */
export async function forgetTimers(
  nc: NatsConnection,
  sessionKeys: readonly string[],
  options: { dryRun?: boolean } = {},
): Promise<number> {
  return purgeKvEntries(
    await jetstreamManager(nc),
    TIMER_BUCKET,
    sessionKeys.map((key) => `d.*.*.*.${keyHash(key)}.*`),
    options,
  );
}
