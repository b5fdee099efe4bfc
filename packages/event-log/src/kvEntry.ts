/**
 * Reading one KV entry without opening (or creating) its bucket: a read-only tool (the CLI, an audit)
 * must not leave a bucket behind where nothing had made one. The stream leader answers (`STREAM.MSG.GET`
 * `last_by_subj`), so the value is never a lagging replica's.
 */
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';

/** One KV entry's current value as text; undefined when the bucket or the entry is absent or deleted. */
export async function readKvEntry(
  jsm: JetStreamManager,
  bucket: string,
  name: string,
): Promise<{ text: string; seq: number } | undefined> {
  let message: Awaited<ReturnType<JetStreamManager['streams']['getMessage']>>;
  try {
    message = await jsm.streams.getMessage(`KV_${bucket}`, { last_by_subj: `$KV.${bucket}.${name}` });
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)
      return undefined;
    throw error;
  }
  if (!message) return undefined;
  const operation = message.header?.get('KV-Operation');
  if (operation === 'DEL' || operation === 'PURGE') return undefined;
  return { text: message.string(), seq: message.seq };
}
