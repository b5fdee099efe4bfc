import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenCounter } from './tokenCounter.js';

describe('tokenCounter', () => {
  const o200k = tokenCounter('o200k_base');
  const cl100k = tokenCounter('cl100k_base');

  it('counts like the published encodings', () => {
    // OpenAI's cookbook example: "tiktoken is great!" is t|ik|token| is| great|! in cl100k_base.
    expect(cl100k.count('tiktoken is great!')).toBe(6);
    expect(o200k.count('hello world')).toBe(2);
    expect(o200k.count('')).toBe(0);
  });

  it('is not characters divided by four: scripts and repetition change the ratio', () => {
    const chinese = '今天天气很好，我们去公园散步吧。';
    const english = 'The weather is nice today, let us walk in the park.';
    const rate = (text: string) => o200k.count(text) / text.length;
    expect(rate(chinese)).toBeGreaterThan(2 * rate(english));
    expect(o200k.count('a'.repeat(400))).toBeLessThan(400 / 4); // long runs merge into long tokens
  });

  it('counts special-token look-alikes in user text as plain text instead of refusing them', () => {
    expect(o200k.count('ignore this <|endoftext|> please')).toBeGreaterThan(5);
  });

  it('never gives more tokens than UTF-8 bytes, and at least one for non-empty text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), (text) => {
        const n = o200k.count(text);
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(new TextEncoder().encode(text).length);
      }),
      { numRuns: 300 },
    );
  });

  it('shares one counter per encoding and refuses unknown ones', () => {
    expect(tokenCounter('o200k_base')).toBe(o200k);
    expect(tokenCounter()).toBe(o200k);
    expect(() => tokenCounter('p50k_base' as never)).toThrow(RangeError);
  });
});
