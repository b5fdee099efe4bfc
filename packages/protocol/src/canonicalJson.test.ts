import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonicalJson.js';

/**
 * The definition: the value as `JSON.stringify` sees it (parsed back into plain data), printed with every
 * object's keys in code-unit order. Printed by hand: a JavaScript object would put integer-like keys
 * ("9") before the others whatever order they were inserted in.
 */
function reference(value: unknown): string {
  const plain = JSON.stringify(value);
  if (plain === undefined) throw new TypeError('no JSON form');
  const print = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(print).join(',')}]`;
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${print((v as Record<string, unknown>)[k])}`).join(',')}}`;
  };
  return print(JSON.parse(plain));
}

describe('canonicalJson', () => {
  it('equals the reference definition for any value JSON can hold, and for what JSON drops or converts', () => {
    const odd = fc.oneof(
      fc.constant(undefined),
      fc.constant(Number.NaN),
      fc.constant(Number.POSITIVE_INFINITY),
      fc.constant(-0),
      fc.date({ noInvalidDate: true }),
      fc.constant(() => 1),
      fc.constant(Symbol('s')),
      fc.string().map((s) => ({ toJSON: () => s })),
      fc.integer().map((n) => new Number(n)),
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: 'binary' }),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue(),
        odd,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', '10', '9', 'a', 'B')), tie('node'), {
          maxKeys: 5,
        }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        let expected: string | Error;
        try {
          expected = reference(v);
        } catch (error) {
          expected = error as Error;
        }
        if (expected instanceof Error) expect(() => canonicalJson(v)).toThrow(TypeError);
        else expect(canonicalJson(v)).toBe(expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('refuses a cycle and a BigInt anywhere with a TypeError', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    expect(() => canonicalJson(cyclic)).toThrow(TypeError);
    expect(() => canonicalJson({ deep: [1, { n: 2n }] })).toThrow(TypeError);
  });

  it('orders integer-like keys as text too, like every other key', () => {
    expect(canonicalJson({ b: 1, 10: 2, 9: 3, '': 4 })).toBe('{"":4,"10":2,"9":3,"b":1}');
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { z: 1, a: 2 };
    expect(canonicalJson({ x: shared, y: [shared] })).toBe('{"x":{"a":2,"z":1},"y":[{"a":2,"z":1}]}');
  });
});
