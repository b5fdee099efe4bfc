import { createHash } from 'node:crypto';
import { canonicalJson } from '@threadline/protocol';

/** The `prevHash` of a key's first record: 64 zeros, a value no SHA-256 hex digest is expected to take. */
export const GENESIS_HASH = '0'.repeat(64);

// Canonical JSON is defined once, in the pure protocol package; re-exported here for the log's API.
export { canonicalJson };

/** Lower-case hex SHA-256 of the UTF-8 bytes of `text`. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The fields of a record its hash covers: everything but the position (`seq`), which the store assigns. */
export interface HashedFields {
  readonly sessionKey: string;
  readonly id: string;
  readonly at: number;
  readonly schemaVersion: number;
  readonly correlationId?: string | undefined;
  readonly causationId?: string | undefined;
  readonly body: unknown;
  readonly prevHash: string;
}

/**
 * `sha256hex(prevHash + '\n' + canonicalJson({ sessionKey, id, at, schemaVersion, correlationId,
 * causationId, body }))`. The stream sequence is deliberately not hashed: it is assigned by the store
 * after the hash is computed, and order is already fixed by the `prevHash` links.
 *
 * Throws `TypeError` when the body has no JSON form (see {@link canonicalJson}).
 */
export function recordHash(fields: HashedFields): string {
  const { sessionKey, id, at, schemaVersion, correlationId, causationId, body, prevHash } = fields;
  const content = canonicalJson({ sessionKey, id, at, schemaVersion, correlationId, causationId, body });
  return sha256Hex(`${prevHash}\n${content}`);
}

/**
 * {@link recordHash} of a record whose body is given as stored — its canonical JSON text — without parsing
 * and re-serialising it: equal to `recordHash({ ...fields, body: JSON.parse(bodyJson) })` whenever
 * `bodyJson` is in canonical form, which is how both logs store every body they append. A text in any
 * other form (other key order, spacing, not JSON at all) gives another hash, so a reader checking a stored
 * hash with this must fall back to {@link recordHash} on a mismatch before calling the record edited.
 */
export function recordHashOfBodyJson(fields: Omit<HashedFields, 'body'>, bodyJson: string): string {
  const { sessionKey, id, at, schemaVersion, correlationId, causationId, prevHash } = fields;
  // The content object of `recordHash`, written out in canonical key order with the body spliced in.
  let content = `{"at":${canonicalJson(at)},"body":${bodyJson}`;
  if (causationId !== undefined) content += `,"causationId":${canonicalJson(causationId)}`;
  if (correlationId !== undefined) content += `,"correlationId":${canonicalJson(correlationId)}`;
  content += `,"id":${canonicalJson(id)},"schemaVersion":${canonicalJson(schemaVersion)},"sessionKey":${canonicalJson(sessionKey)}}`;
  return sha256Hex(`${prevHash}\n${content}`);
}
