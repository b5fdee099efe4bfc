/**
 * `threadline forget`'s part in the worker's data (ADR 0016): the snapshots of erased keys. Every
 * revision of each key's entry in the snapshot bucket is purged (no history, no marker left).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { purgeKvEntries } from '@threadline/event-log';
import { SNAPSHOT_BUCKET, snapshotEntryName } from './snapshotStore.js';

/** Purges (or with `dryRun` counts) the stored snapshots of `sessionKeys`: the stored messages found. */
export async function forgetSnapshots(
  nc: NatsConnection,
  sessionKeys: readonly string[],
  options: { dryRun?: boolean; bucket?: string } = {},
): Promise<number> {
  return purgeKvEntries(
    await jetstreamManager(nc),
    options.bucket ?? SNAPSHOT_BUCKET,
    sessionKeys.map(snapshotEntryName),
    options,
  );
}
