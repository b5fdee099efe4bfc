import type { CompactionPlan, TranscriptTurn } from './types.js';

export interface PlanCompactionOptions {
  /** How many of the most recent non-summary turns stay verbatim (a non-negative integer). */
  keepRecentTurns: number;
}

/**
 * Splits a transcript into the older turns to fold into a summary and the recent turns kept verbatim.
 * Pure: the same transcript and options always give the same plan.
 *
 * - The last `keepRecentTurns` non-summary turns are kept. A role 'summary' turn is never kept: the
 *   previous summary is always summarised again, so the context never holds two summaries.
 * - The cut then moves earlier, never later, until no tool call is separated from its result: a model
 *   provider rejects a tool result whose call it cannot see, and a call left without its result reads as
 *   an unfinished action. Tool fields on a summary turn are ignored (a summary issues no calls).
 * - Every turn is in exactly one list, each in transcript order. In a transcript the engine builds the
 *   previous summary is the first turn, so `summarise` is a prefix and `keep` the rest; should a summary
 *   turn sit among the recent turns, it still goes to `summarise`, in its place in the order.
 * - Nothing worth compacting: when fewer than 2 non-summary turns would be summarised, the plan is
 *   `{ summarise: [], keep: turns }` (every turn kept as is, a summary turn included). Folding a single
 *   turn, or only re-summarising the previous summary, would cost a summariser call to save next to no
 *   context while losing detail.
 *
 * Throws `RangeError` when `keepRecentTurns` is not a non-negative integer.
 */
export function planCompaction(
  turns: readonly TranscriptTurn[],
  { keepRecentTurns }: PlanCompactionOptions,
): CompactionPlan {
  if (!Number.isInteger(keepRecentTurns) || keepRecentTurns < 0)
    throw new RangeError(`keepRecentTurns must be a non-negative integer, got ${String(keepRecentTurns)}`);

  let cut = initialCut(turns, keepRecentTurns);
  const earliestPartner = earliestToolPartners(turns);
  // Every non-summary turn at or after the cut is kept; a kept turn whose tool partner lies before the
  // cut pulls the cut back to that partner, which in turn brings more turns into the kept part. Walking
  // down from the end while the cut moves ahead of us visits each of those newly kept turns once.
  for (let i = turns.length - 1; i >= cut; i--) cut = Math.min(cut, earliestPartner[i] ?? cut);

  const summarise: TranscriptTurn[] = [];
  const keep: TranscriptTurn[] = [];
  turns.forEach((turn, i) => {
    (i < cut || turn.role === 'summary' ? summarise : keep).push(turn);
  });
  if (summarise.filter((turn) => turn.role !== 'summary').length < 2)
    return { summarise: [], keep: [...turns] };
  return { summarise, keep };
}

/** The index of the `keep`-th non-summary turn from the end (0 when there are fewer; the length for 0). */
function initialCut(turns: readonly TranscriptTurn[], keep: number): number {
  let cut = turns.length;
  let kept = 0;
  while (kept < keep && cut > 0) {
    cut--;
    if (turns[cut]?.role !== 'summary') kept++;
  }
  return kept < keep ? 0 : cut;
}

/**
 * For each turn, the smallest index of a turn it shares a tool call with (its call, or its results),
 * undefined when it has none. Summary turns take part in no pair.
 */
function earliestToolPartners(turns: readonly TranscriptTurn[]): (number | undefined)[] {
  const callers = new Map<string, number[]>();
  const results = new Map<string, number[]>();
  const add = (map: Map<string, number[]>, id: string, index: number) => {
    const list = map.get(id);
    if (list) list.push(index);
    else map.set(id, [index]);
  };
  turns.forEach((turn, i) => {
    if (turn.role === 'summary') return;
    for (const callId of turn.toolCallIds ?? []) add(callers, callId, i);
    if (turn.toolResultOf !== undefined) add(results, turn.toolResultOf, i);
  });

  return turns.map((turn, i) => {
    if (turn.role === 'summary') return undefined;
    let earliest: number | undefined;
    const consider = (indices: number[] | undefined) => {
      for (const j of indices ?? []) if (j !== i && (earliest === undefined || j < earliest)) earliest = j;
    };
    for (const callId of turn.toolCallIds ?? []) consider(results.get(callId));
    if (turn.toolResultOf !== undefined) consider(callers.get(turn.toolResultOf));
    return earliest;
  });
}
