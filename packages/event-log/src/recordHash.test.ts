import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, GENESIS_HASH, recordHash, sha256Hex } from './recordHash.js';

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
