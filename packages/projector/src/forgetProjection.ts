/**
 * `threadline forget`'s part in the session store (ADR 0016): the entries and transcript views of erased
 * keys, every revision purged (no history, no marker left).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { purgeKvEntries } from '@threadline/event-log';
import { snapshotEntryName } from '@threadline/session-worker';
import { LIVE_PROJECTION, type ProjectionBuckets } from './projector.js';

/** Purges (or with `dryRun` counts) the projection of `sessionKeys`: stored messages found per bucket. */
export async function forgetProjection(
  nc: NatsConnection,
  sessionKeys: readonly string[],
  options: { dryRun?: boolean; buckets?: ProjectionBuckets } = {},
): Promise<{ sessions: number; transcripts: number }> {
  const jsm = await jetstreamManager(nc);
  const buckets = options.buckets ?? LIVE_PROJECTION;
  const names = sessionKeys.map(snapshotEntryName);
  return {
    sessions: await purgeKvEntries(jsm, buckets.sessions, names, options),
    transcripts: await purgeKvEntries(jsm, buckets.transcripts, names, options),
  };
}
