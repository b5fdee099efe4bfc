import { createHash } from 'node:crypto';

/** The `prevHash` of a key's first record: 64 zeros, a value no SHA-256 hex digest is expected to take. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Canonical JSON: what `JSON.stringify` makes of the value (so `toJSON`, dropped `undefined` properties,
 * `NaN` → `null` all apply), with object keys sorted by UTF-16 code unit at every depth and no whitespace.
 * Equal JSON values give equal strings, and `canonicalJson(JSON.parse(canonicalJson(v)))` is
 * `canonicalJson(v)` — which is why a body read back from the store hashes the same as when it was
 * appended.
 *
 * Throws `TypeError` when the value has no JSON form (`undefined`, a function or symbol at the top, a
 * `BigInt`, a cycle).
 */
export function canonicalJson(value: unknown): string {
  const plain = JSON.stringify(value);
  if (plain === undefined) throw new TypeError(`${typeof value} has no JSON form`);
  return JSON.stringify(sortKeys(JSON.parse(plain)));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  // fromEntries defines own properties, so a `__proto__` key stays data instead of becoming a prototype.
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

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
