import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, GENESIS_HASH, recordHash, recordHashOfBodyJson, sha256Hex } from './recordHash.js';

describe('canonicalJson', () => {
  it('sorts object keys at every depth and drops undefined properties, like JSON.stringify otherwise', () => {
    expect(canonicalJson({ b: [{ z: 1, y: undefined, x: 2 }], a: null, c: Number.NaN })).toBe(
      '{"a":null,"b":[{"x":2,"z":1}],"c":null}',
    );
  });

  it('keeps a __proto__ key as data', () => {
    expect(canonicalJson(JSON.parse('{"__proto__":{"polluted":true},"a":1}'))).toBe(
      '{"__proto__":{"polluted":true},"a":1}',
    );
  });

  it('gives the same string whatever the key order, and is stable through a parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const once = canonicalJson(value);
        expect(canonicalJson(JSON.parse(once))).toBe(once);
        expect(canonicalJson(JSON.parse(JSON.stringify(value)))).toBe(once);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.integer()), (dict) => {
        const reversed = Object.fromEntries(Object.entries(dict).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(dict));
      }),
    );
  });

  it.each([
    ['undefined', undefined],
    ['a function', () => 1],
    ['a BigInt', { n: 1n }],
  ])('refuses %s with a TypeError', (_, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });
});

describe('recordHash', () => {
  // The stored format: every chain ever written depends on these exact bytes. Changing the hash input is
  // a breaking change to stored histories, and this vector is what says so.
  it('hashes prevHash, a newline and the canonical JSON of the record fields, seq excluded', () => {
    const fields = {
      sessionKey: 'agent:main:main',
      id: 'rec-1',
      at: 1_767_225_600_000,
      schemaVersion: 1,
      correlationId: 'c-1',
      causationId: undefined,
      body: { type: 'MessageRecorded', data: { text: 'hi' } },
      prevHash: GENESIS_HASH,
    };
    expect(recordHash(fields)).toBe('aee927fe6cc1b23fcbd66dac7b4a5e09536e491b3dade7fc49c5b6504092c7d9');
    expect(recordHash({ ...fields, seq: 99 } as typeof fields)).toBe(recordHash(fields));
    expect(recordHash({ ...fields, prevHash: 'a'.repeat(64) })).not.toBe(recordHash(fields));
    expect(recordHash({ ...fields, body: { ...fields.body, data: { text: 'hi!' } } })).not.toBe(
      recordHash(fields),
    );
  });

  it('is a 64-digit lower-case hex digest; the genesis hash is 64 zeros', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(GENESIS_HASH).toMatch(/^0{64}$/);
  });
});

describe('recordHashOfBodyJson', () => {
  const fieldsArb = fc.record({
    sessionKey: fc.string({ minLength: 1 }),
    id: fc.string({ minLength: 1 }),
    at: fc.integer({ min: 0, max: 2 ** 42 }),
    schemaVersion: fc.integer({ min: 1, max: 9 }),
    correlationId: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
    causationId: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
    prevHash: fc.constantFrom(GENESIS_HASH, 'ab'.repeat(32)),
  });

  it('hashes a canonical body text as recordHash hashes the parsed body', () => {
    fc.assert(
      fc.property(fieldsArb, fc.jsonValue(), (fields, body) => {
        expect(recordHashOfBodyJson(fields, canonicalJson(body))).toBe(recordHash({ ...fields, body }));
      }),
      { numRuns: 500 },
    );
  });

  it('gives another hash for a body text that is not in canonical form', () => {
    const fields = { sessionKey: 'k', id: 'r', at: 1, schemaVersion: 1, prevHash: GENESIS_HASH };
    const body = { b: 1, a: [1, 2] };
    expect(recordHashOfBodyJson(fields, '{"b":1,"a":[1,2]}')).not.toBe(recordHash({ ...fields, body }));
    expect(recordHashOfBodyJson(fields, '{"a": [1, 2], "b": 1}')).not.toBe(recordHash({ ...fields, body }));
    expect(recordHashOfBodyJson(fields, '{"a":[1,2],"b":1}')).toBe(recordHash({ ...fields, body }));
  });
});
