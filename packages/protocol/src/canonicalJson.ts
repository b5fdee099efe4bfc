/**
 * Canonical JSON: the value's JSON form with every object's keys sorted by UTF-16 code units (as RFC 8785
 * orders them; integer-like keys such as "10" and "9" are ordered as text too). Equal JSON values give equal
 * strings, and `canonicalJson(JSON.parse(canonicalJson(v)))` is `canonicalJson(v)` — what session
 * snapshots are compared by, and what the event log's hash chain hashes (so a record read back from the
 * store hashes as it did when it was appended). `undefined` properties are dropped, as JSON drops them.
 *
 * Written out directly (one pass, no intermediate copies): it runs several times per session transition.
 * It follows `JSON.stringify` exactly — `toJSON`, boxed primitives, `null` for non-finite numbers and for
 * unrepresentable array items, omitted unrepresentable properties — which a property test checks against
 * the definition: `JSON.parse(JSON.stringify(v))` printed with sorted keys.
 *
 * Throws `TypeError` when the value has no JSON form (`undefined`, a function or symbol at the top, a
 * `BigInt`, a cycle).
 */
export function canonicalJson(value: unknown): string {
  const out = write(prepare(value, ''), new Set());
  if (out === undefined) throw new TypeError(`${typeof value} has no JSON form`);
  return out;
}

/** What `JSON.stringify` serialises in place of `value`: `toJSON()`'s result, or a boxed primitive's value. */
function prepare(value: unknown, key: string): unknown {
  if (value !== null && typeof value === 'object') {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return toJSON.call(value, key);
    if (value instanceof Number || value instanceof String || value instanceof Boolean)
      return value.valueOf();
  } else if (typeof value === 'bigint') {
    const toJSON = (Object(value) as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return toJSON.call(value, key);
  }
  return value;
}

/** The JSON text of an already prepared value, or undefined where JSON has no value (omitted/`null`). */
function write(value: unknown, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('a BigInt has no JSON form');
    case 'object':
      break;
    default:
      return undefined; // undefined, function, symbol
  }
  if (value === null) return 'null';
  if (seen.has(value)) throw new TypeError('a cyclic structure has no JSON form');
  seen.add(value);
  let text: string;
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) parts.push(write(prepare(value[i], String(i)), seen) ?? 'null');
    text = `[${parts.join(',')}]`;
  } else {
    const record = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const item = write(prepare(record[key], key), seen);
      if (item !== undefined) parts.push(`${JSON.stringify(key)}:${item}`);
    }
    text = `{${parts.join(',')}}`;
  }
  seen.delete(value);
  return text;
}
