/**
 * Fuzzing the token counter (issue #9, hostile input): it counts exactly what js-tiktoken counts, and a
 * hostile text — one unbroken run of letters, emoji or CJK — is counted in time linear in its length,
 * instead of cubic (one chat message of 64 Ki such characters blocked the worker's event loop for minutes). `FC_NUM_RUNS` runs the property longer (docs/fuzzing.md).
 */
import fc from 'fast-check';
import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';
import { describe, expect, it } from 'vitest';
import { MAX_PIECE_BYTES, type TokenizerName, tokenCounter } from './tokenCounter.js';

const override = Number(process.env.FC_NUM_RUNS);
const runs = (ci: number) => (Number.isInteger(override) && override > 0 ? override : ci);
const TIMEOUT = Number.isInteger(override) && override > 0 ? 24 * 3_600_000 : 60_000;

const reference: Record<TokenizerName, Tiktoken> = {
  o200k_base: new Tiktoken(o200k),
  cl100k_base: new Tiktoken(cl100k),
};

describe('tokenCounter under fuzzing', () => {
  it(
    'counts exactly what js-tiktoken counts for any text whose pieces fit MAX_PIECE_BYTES (special-token look-alikes, odd Unicode and unpaired surrogates included)',
    () => {
      // At most 60 code points: at most 240 bytes, so no piece is long enough to be estimated.
      const unit = fc.constantFrom(
        'a',
        'B',
        ' ',
        '  ',
        '\n',
        '\t',
        '1',
        '!',
        '.',
        "'s",
        'é',
        '€',
        '😀',
        '中',
        '\u0301',
        '\u200b',
        '\ud800',
        '<|endoftext|>',
      );
      const text = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.string({ unit: 'grapheme-composite', maxLength: 30 }).filter((t) => [...t].length <= 60),
        fc
          .array(unit, { maxLength: 60 })
          .map((u) => u.join(''))
          .filter((t) => [...t].length <= 60),
      );
      fc.assert(
        fc.property(text, fc.constantFrom<TokenizerName>('o200k_base', 'cl100k_base'), (t, name) => {
          expect(tokenCounter(name).count(t)).toBe(reference[name].encode(t, [], []).length);
        }),
        { numRuns: runs(400) },
      );
    },
    TIMEOUT,
  );

  // js-tiktoken alone: 8 000 × `a` took 14 s, 4 000 emoji 12 s, and it grows with the cube of the run, so
  // one message of 64 Ki such characters blocked a worker for many minutes. Now linear: milliseconds.
  const unbroken = [
    ['one letter', 'a'],
    ['two letters', 'ab'],
    ['emoji', '😀'],
    ['CJK', '中'],
    ['symbols', '!$'],
    ['random CJK', ''],
  ] as const;
  it.each(unbroken)('counts 8 Ki code points of unbroken %s in bounded time, about right', (what, unit) => {
    const text =
      what === 'random CJK'
        ? Array.from({ length: 8192 }, (_, i) => String.fromCharCode(0x4e00 + ((i * 7919) % 20_000))).join('')
        : unit.repeat(8192 / [...unit].length);
    const started = performance.now();
    const n = tokenCounter().count(text);
    expect(performance.now() - started).toBeLessThan(2_000); // about 30 ms on a quiet machine
    // An estimate over chunks of MAX_PIECE_BYTES: never more tokens than bytes, never fewer than chunks.
    const bytes = new TextEncoder().encode(text).length;
    expect(n).toBeLessThanOrEqual(bytes);
    expect(n).toBeGreaterThanOrEqual(Math.floor(bytes / MAX_PIECE_BYTES));
  });
});
