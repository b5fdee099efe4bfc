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
