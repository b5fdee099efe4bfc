/**
 * Erasing stored messages for good (`threadline forget`, ADR 0016): the two JetStream operations that
 * remove a message, wrapped so that a message or bucket already gone is not an error.
 *
 * - {@link eraseMessages}: one message at a time by sequence with `erase: true` — the server overwrites
 *   the message's bytes in its store, not only its index. For the streams Threadline defines (all allow
 *   deletes).
 * - {@link purgeKvEntries}: every revision of some KV entries, by subject filter on the bucket's stream
 *   (`$KV.<bucket>.<name>`). KV streams deny single-message deletes (`deny_delete`), so purge is the only
 *   removal they allow; unlike a KV `delete`/`purge` it leaves no marker and no old value behind.
 */
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { inWindows } from './inWindows.js';

const isGone = (error: unknown) =>
  error instanceof JetStreamApiError &&
  (error.code === JetStreamApiCodes.StreamNotFound || error.code === JetStreamApiCodes.NoMessageFound);

/**
 * Erases the messages `seqs` of `stream` (securely: `deleteMessage(…, erase = true)`), at most `window`
 * requests in flight. Returns how many were erased; a message already gone is skipped, any other failure
 * is thrown once all requests settled.
 */
export async function eraseMessages(
  jsm: JetStreamManager,
  stream: string,
  seqs: readonly number[],
  window = 64,
): Promise<number> {
  let erased = 0;
  await inWindows(
    seqs.map((seq) => async () => {
      try {
        if (await jsm.streams.deleteMessage(stream, seq, true)) erased += 1;
      } catch (error) {
        if (!isGone(error)) throw error;
      }
    }),
    window,
  );
  return erased;
}

/**
 * Purges every revision of the KV entries `filters` select in `bucket` (each a name or a name pattern
 * with `*`/`>` wildcards, relative to the bucket). With `dryRun` only counts them. Returns the number of
 * stored messages (revisions and markers) found; 0 when the bucket does not exist.
 */
export async function purgeKvEntries(
  jsm: JetStreamManager,
  bucket: string,
  filters: readonly string[],
  options: { dryRun?: boolean } = {},
): Promise<number> {
  const stream = `KV_${bucket}`;
  let found = 0;
  for (const filter of filters) {
    const subject = `$KV.${bucket}.${filter}`;
    try {
      const info = await jsm.streams.info(stream, { subjects_filter: subject });
      const counts = Object.values(info.state.subjects ?? {});
      const here = counts.reduce((sum, n) => sum + n, 0);
      if (here === 0) continue;
      found += options.dryRun ? here : (await jsm.streams.purge(stream, { filter: subject })).purged;
    } catch (error) {
      if (isGone(error)) return found;
      throw error;
    }
  }
  return found;
}
