import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planCompaction } from './plan.js';
import type { CompactionPlan, TranscriptTurn } from './types.js';

let clock = 0;
function turn(id: string, role: TranscriptTurn['role'], extra: Partial<TranscriptTurn> = {}): TranscriptTurn {
  return { id, role, text: `text of ${id}`, tokens: 10, at: ++clock, ...extra };
}

const ids = (turns: readonly TranscriptTurn[]) => turns.map((t) => t.id);

type Op =
  | { kind: 'user' | 'assistant' | 'summary' }
  | { kind: 'call'; count: number }
  | { kind: 'result'; pick: number; alsoCalls: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'user' as const }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'assistant' as const }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'summary' as const }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant('call' as const), count: fc.integer({ min: 1, max: 3 }) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('result' as const), pick: fc.nat(), alsoCalls: fc.boolean() }),
    weight: 4,
  },
);

/**
 * Random transcripts with tool calls whose results arrive later, sometimes after unrelated turns,
 * sometimes never; a result turn may itself issue a call (a chain). Usually led by a previous summary,
 * occasionally with one further in.
 */
const transcriptArb: fc.Arbitrary<TranscriptTurn[]> = fc
  .record({ leadingSummary: fc.boolean(), ops: fc.array(opArb, { maxLength: 40 }) })
  .map(({ leadingSummary, ops }) => {
    const turns: TranscriptTurn[] = [];
    const pending: string[] = [];
    let calls = 0;
    const newCalls = (count: number) =>
      Array.from({ length: count }, () => {
        const callId = `call-${++calls}`;
        pending.push(callId);
        return callId;
      });
    if (leadingSummary) turns.push(turn('s0', 'summary'));
    ops.forEach((op, i) => {
      const id = `t${i}`;
      if (op.kind === 'call') turns.push(turn(id, 'assistant', { toolCallIds: newCalls(op.count) }));
      else if (op.kind === 'result' && pending.length > 0) {
        const [resultOf] = pending.splice(op.pick % pending.length, 1);
        turns.push(
          op.alsoCalls
            ? turn(id, 'assistant', { toolResultOf: resultOf, toolCallIds: newCalls(1) })
            : turn(id, 'user', { toolResultOf: resultOf }),
        );
      } else turns.push(turn(id, op.kind === 'result' ? 'user' : op.kind));
    });
    return turns;
  });

/** Index pairs (call turn, result turn) of the non-summary turns. */
function toolPairs(turns: readonly TranscriptTurn[]): [number, number][] {
  const pairs: [number, number][] = [];
  turns.forEach((call, i) => {
    if (call.role === 'summary') return;
    turns.forEach((result, j) => {
      if (
        result.role !== 'summary' &&
        result.toolResultOf !== undefined &&
        call.toolCallIds?.includes(result.toolResultOf)
      )
        pairs.push([i, j]);
    });
  });
  return pairs;
}

/** The spec, by brute force: the latest cut at or before the first of the last N non-summary turns that splits no pair. */
function expectedPlan(turns: readonly TranscriptTurn[], keepRecentTurns: number): CompactionPlan {
  const nonSummary = turns.flatMap((t, i) => (t.role === 'summary' ? [] : [i]));
  let cut =
    keepRecentTurns === 0
      ? turns.length
      : keepRecentTurns > nonSummary.length
        ? 0
        : (nonSummary[nonSummary.length - keepRecentTurns] ?? 0);
  const pairs = toolPairs(turns);
  while (pairs.some(([a, b]) => Math.min(a, b) < cut && cut <= Math.max(a, b))) cut--;
  const keep = turns.filter((t, i) => i >= cut && t.role !== 'summary');
  const summarise = turns.filter((t) => !keep.includes(t));
  if (summarise.filter((t) => t.role !== 'summary').length < 2) return { summarise: [], keep: [...turns] };
  return { summarise, keep };
}

describe('planCompaction', () => {
  it('given a plain transcript, when keeping 2 recent turns, then the older turns are summarised and the last 2 kept', () => {
    const turns = [
      turn('u1', 'user'),
      turn('a1', 'assistant'),
      turn('u2', 'user'),
      turn('a2', 'assistant'),
      turn('u3', 'user'),
      turn('a3', 'assistant'),
    ];
    const plan = planCompaction(turns, { keepRecentTurns: 2 });
    expect(ids(plan.summarise)).toEqual(['u1', 'a1', 'u2', 'a2']);
    expect(ids(plan.keep)).toEqual(['u3', 'a3']);
  });

  it('given a previous summary within the recent turns, when planning, then it is summarised again and not counted as kept', () => {
    const turns = [turn('s1', 'summary'), turn('u1', 'user'), turn('a1', 'assistant'), turn('u2', 'user')];
    const plan = planCompaction(turns, { keepRecentTurns: 1 });
    expect(ids(plan.summarise)).toEqual(['s1', 'u1', 'a1']);
    expect(ids(plan.keep)).toEqual(['u2']);
  });

  it('given a kept tool result whose call is older, when planning, then the cut moves back to keep the call with it', () => {
    const turns = [
      turn('u1', 'user'),
      turn('a1', 'assistant'),
      turn('u2', 'user'),
      turn('call', 'assistant', { toolCallIds: ['c1', 'c2'] }),
      turn('r1', 'user', { toolResultOf: 'c1' }),
      turn('u3', 'user'),
      turn('r2', 'user', { toolResultOf: 'c2' }),
    ];
    const plan = planCompaction(turns, { keepRecentTurns: 2 });
    expect(ids(plan.summarise)).toEqual(['u1', 'a1', 'u2']);
    expect(ids(plan.keep)).toEqual(['call', 'r1', 'u3', 'r2']);
  });

  it('given a summarised call whose result would be kept, when planning, then both stay on the kept side', () => {
    const turns = [
      turn('u1', 'user'),
      turn('a1', 'assistant'),
      turn('u2', 'user'),
      turn('call', 'assistant', { toolCallIds: ['c1'] }),
      turn('r1', 'user', { toolResultOf: 'c1' }),
    ];
    const plan = planCompaction(turns, { keepRecentTurns: 1 });
    expect(ids(plan.keep)).toEqual(['call', 'r1']);
    expect(ids(plan.summarise)).toEqual(['u1', 'a1', 'u2']);
  });

  it('given a chain of calls, when the last result is kept, then the cut follows the chain back to its first call', () => {
    const turns = [
      turn('u1', 'user'),
      turn('a1', 'assistant'),
      turn('u2', 'user'),
      turn('callA', 'assistant', { toolCallIds: ['cA'] }),
      turn('u3', 'user'),
      turn('resultA-callB', 'assistant', { toolResultOf: 'cA', toolCallIds: ['cB'] }),
      turn('u4', 'user'),
      turn('resultB', 'user', { toolResultOf: 'cB' }),
    ];
    const plan = planCompaction(turns, { keepRecentTurns: 1 });
    expect(ids(plan.summarise)).toEqual(['u1', 'a1', 'u2']);
    expect(ids(plan.keep)).toEqual(['callA', 'u3', 'resultA-callB', 'u4', 'resultB']);
  });

  it('given keepRecentTurns 0, when planning, then every turn is summarised', () => {
    const turns = [turn('s1', 'summary'), turn('u1', 'user'), turn('a1', 'assistant')];
    expect(planCompaction(turns, { keepRecentTurns: 0 })).toEqual({ summarise: turns, keep: [] });
  });

  it('given fewer than 2 non-summary turns to summarise, when planning, then nothing is compacted', () => {
    const turns = [turn('s1', 'summary'), turn('u1', 'user'), turn('a1', 'assistant'), turn('u2', 'user')];
    expect(planCompaction(turns, { keepRecentTurns: 2 })).toEqual({ summarise: [], keep: turns });
    expect(planCompaction(turns, { keepRecentTurns: 3 })).toEqual({ summarise: [], keep: turns });
    expect(planCompaction(turns, { keepRecentTurns: 10 })).toEqual({ summarise: [], keep: turns });
    expect(planCompaction([], { keepRecentTurns: 0 })).toEqual({ summarise: [], keep: [] });
  });

  it('given a tool pair that would leave only one turn to summarise, when planning, then nothing is compacted', () => {
    const turns = [
      turn('u1', 'user'),
      turn('call', 'assistant', { toolCallIds: ['c1'] }),
      turn('r1', 'user', { toolResultOf: 'c1' }),
      turn('a1', 'assistant'),
    ];
    expect(planCompaction(turns, { keepRecentTurns: 2 })).toEqual({ summarise: [], keep: turns });
  });

  it('given keepRecentTurns that is not a non-negative integer, when planning, then it throws a RangeError', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => planCompaction([], { keepRecentTurns: bad })).toThrow(
        /keepRecentTurns must be a non-negative integer/,
      );
    expect(() => planCompaction([], { keepRecentTurns: -1 })).toThrow(RangeError);
  });

  describe('properties', () => {
    const inputArb = fc.record({ turns: transcriptArb, keepRecentTurns: fc.integer({ min: 0, max: 45 }) });

    it('given any transcript, when planning, then every turn is in exactly one part, in transcript order', () => {
      fc.assert(
        fc.property(inputArb, ({ turns, keepRecentTurns }) => {
          const { summarise, keep } = planCompaction(turns, { keepRecentTurns });
          const positions = (part: TranscriptTurn[]) => part.map((t) => turns.indexOf(t));
          const [s, k] = [positions(summarise), positions(keep)];
          expect(s).not.toContain(-1);
          expect(k).not.toContain(-1);
          expect(s).toEqual([...s].sort((a, b) => a - b));
          expect(k).toEqual([...k].sort((a, b) => a - b));
          expect([...s, ...k].sort((a, b) => a - b)).toEqual(turns.map((_, i) => i));
        }),
        { numRuns: 500 },
      );
    });

    it('given any transcript, when planning, then no tool call is separated from its result', () => {
      fc.assert(
        fc.property(inputArb, ({ turns, keepRecentTurns }) => {
          const { keep } = planCompaction(turns, { keepRecentTurns });
          for (const [call, result] of toolPairs(turns)) {
            const [callTurn, resultTurn] = [turns[call], turns[result]];
            expect(resultTurn && keep.includes(resultTurn), `${callTurn?.id} → ${resultTurn?.id}`).toBe(
              callTurn && keep.includes(callTurn),
            );
          }
        }),
        { numRuns: 500 },
      );
    });

    it('given any transcript, when planning, then the last keepRecentTurns non-summary turns are kept', () => {
      fc.assert(
        fc.property(inputArb, ({ turns, keepRecentTurns }) => {
          const { keep } = planCompaction(turns, { keepRecentTurns });
          const nonSummary = turns.filter((t) => t.role !== 'summary');
          const recent = keepRecentTurns === 0 ? [] : nonSummary.slice(-keepRecentTurns);
          for (const t of recent) expect(keep).toContain(t);
        }),
        { numRuns: 500 },
      );
    });

    it('given any transcript, when something is summarised, then no summary turn is kept and at least 2 real turns are folded', () => {
      fc.assert(
        fc.property(inputArb, ({ turns, keepRecentTurns }) => {
          const { summarise, keep } = planCompaction(turns, { keepRecentTurns });
          if (summarise.length === 0) {
            expect(keep).toEqual(turns);
            return;
          }
          expect(keep.filter((t) => t.role === 'summary')).toEqual([]);
          expect(summarise.filter((t) => t.role !== 'summary').length).toBeGreaterThanOrEqual(2);
        }),
        { numRuns: 500 },
      );
    });

    it('given any transcript, when planning, then the kept part is no larger than the rules require', () => {
      fc.assert(
        fc.property(inputArb, ({ turns, keepRecentTurns }) => {
          expect(ids(planCompaction(turns, { keepRecentTurns }).keep)).toEqual(
            ids(expectedPlan(turns, keepRecentTurns).keep),
          );
        }),
        { numRuns: 500 },
      );
    });

    it('given the same transcript twice, when planning, then the plans are equal and the input is untouched', () => {
      fc.assert(
        fc.property(inputArb, ({ turns, keepRecentTurns }) => {
          const before = structuredClone(turns);
          expect(planCompaction(turns, { keepRecentTurns })).toEqual(
            planCompaction(turns, { keepRecentTurns }),
          );
          expect(turns).toEqual(before);
        }),
        { numRuns: 200 },
      );
    });
  });
});
