/**
 * Canonical JSON: the value's JSON form with every object's keys sorted. Equal JSON values give equal
 * strings, and `canonicalJson(JSON.parse(canonicalJson(v)))` is `canonicalJson(v)` — what session
 * snapshots are compared by, and what the event log's hash chain hashes (so a record read back from the
 * store hashes as it did when it was appended). `undefined` properties are dropped, as JSON drops them.
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
