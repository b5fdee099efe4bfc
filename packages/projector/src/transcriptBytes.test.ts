import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type TranscriptView, transcriptBytes } from './projection.js';

const turn = fc.record({
  id: fc.string(),
  role: fc.constantFrom('user', 'assistant', 'summary'),
  text: fc.string({ unit: 'binary' }),
  at: fc.integer({ min: 0 }),
  tokens: fc.integer({ min: 0, max: 1_000_000 }),
});

const view = fc.record({
  v: fc.constant(1 as const),
  sessionKey: fc.string({ unit: 'binary' }),
  sessionId: fc.option(fc.uuid(), { nil: null }),
  seq: fc.nat(),
  turns: fc.array(turn, { maxLength: 40 }),
  omitted: fc.nat(),
}) as fc.Arbitrary<TranscriptView>;

describe('transcriptBytes', () => {
  it('equals the byte length of the view serialized whole, for any view (odd Unicode included)', () => {
    fc.assert(
      fc.property(view, (v) => {
        expect(transcriptBytes(v)).toBe(Buffer.byteLength(JSON.stringify(v)));
      }),
    );
  });

  it('stays exact when a fold keeps the earlier turns and adds one', () => {
    fc.assert(
      fc.property(view, turn, (v, next) => {
        transcriptBytes(v); // caches the turns' sizes
        const folded = { ...v, seq: v.seq + 1, turns: [...v.turns, next] } as TranscriptView;
        expect(transcriptBytes(folded)).toBe(Buffer.byteLength(JSON.stringify(folded)));
      }),
    );
  });
});
