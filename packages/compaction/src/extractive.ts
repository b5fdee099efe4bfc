import { abortedError, type SummariseRequest, type Summariser, type TranscriptTurn } from './types.js';

export interface ExtractiveSummariserOptions {
  /** How many characters of a turn's first sentence a summary line keeps (a positive integer; 200). */
  maxCharsPerTurn?: number;
}

/** A focused turn keeps its whole text, up to this many times `maxCharsPerTurn`. */
const FOCUS_FACTOR = 4;

/** The first line of an extractive summary; recognised again when that summary is itself summarised. */
const HEADER = /^Summary of (\d+) earlier turns?(?: — focus: .*)?$/;

/**
 * Common words of four letters or more that would make almost every turn match an instruction
 * ("focus on what they decided about the budget" is about the budget, not about "what" or "about").
 */
const STOP_WORDS = new Set([
  'about',
  'after',
  'also',
  'been',
  'before',
  'could',
  'does',
  'focus',
  'from',
  'have',
  'into',
  'just',
  'keep',
  'more',
  'only',
  'other',
  'over',
  'please',
  'should',
  'some',
  'than',
  'that',
  'their',
  'them',
  'then',
  'there',
  'these',
  'they',
  'this',
  'those',
  'very',
  'were',
  'what',
  'when',
  'where',
  'which',
  'will',
  'with',
  'would',
  'your',
]);

/**
 * The built-in summariser: deterministic, offline, free. It does not paraphrase; it lists each turn with
 * its first sentence, which keeps who said what and every turn id findable, and it is what compaction
 * falls back on when no model is configured (and what tests can predict exactly).
 *
 * The summary reads:
 * ```
 * Summary of N earlier turns — focus: <instructions>      (the focus part only with instructions)
 * <the lines of a previous summary, carried over verbatim, without its own header line>
 * - [<id>] <senderName ?? senderId ?? role>: <first sentence, or "(no text)">
 * ```
 * (a blank sender name or id counts as absent, and one with line breaks is collapsed to one line).
 * N counts the turns the summary covers: the non-summary turns of the request plus the N a carried
 * extractive summary states in its header (a summary by another summariser has no such count, and adds
 * none). A previous summary's first line is dropped only when it is such a header.
 *
 * Text is whitespace-collapsed; an extract longer than `maxCharsPerTurn` characters (code points) is cut
 * there and ends with "…". With instructions, a turn whose text contains any instruction word (letters or
 * digits, four or more, case-insensitive, common words like "about" or "focus" left out) keeps its full
 * text, cut at four times `maxCharsPerTurn`, since that is what the user wants preserved.
 *
 * Pure: no clock, no randomness, no I/O. A signal already aborted rejects with code 'ABORTED'.
 * Throws `RangeError` when `maxCharsPerTurn` is not a positive integer.
 */
export function extractiveSummariser({
  maxCharsPerTurn = 200,
}: ExtractiveSummariserOptions = {}): Summariser {
  if (!Number.isInteger(maxCharsPerTurn) || maxCharsPerTurn < 1)
    throw new RangeError(`maxCharsPerTurn must be a positive integer, got ${String(maxCharsPerTurn)}`);

  return {
    name: 'extractive',
    summarise: async (request, signal) => {
      if (signal.aborted) throw abortedError(signal);
      return extractiveSummary(request, maxCharsPerTurn);
    },
  };
}

function extractiveSummary({ turns, instructions }: SummariseRequest, maxChars: number): string {
  const focus = collapse(instructions ?? '');
  const focusWords = instructionWords(focus);
  let covered = 0;
  const body: string[] = [];
  for (const turn of turns) {
    if (turn.role === 'summary') {
      const carried = carriedSummary(turn.text);
      covered += carried.covered;
      body.push(...carried.lines);
    } else {
      covered++;
      body.push(`- [${turn.id}] ${who(turn)}: ${extract(turn.text, focusWords, maxChars)}`);
    }
  }
  const header = `Summary of ${covered} earlier ${covered === 1 ? 'turn' : 'turns'}${focus ? ` — focus: ${focus}` : ''}`;
  return [header, ...body].join('\n');
}

/** A previous summary's non-blank lines, without its header, and how many turns that header says it covers. */
function carriedSummary(text: string): { lines: string[]; covered: number } {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  const header = lines[0]?.match(HEADER);
  if (!header) return { lines, covered: 0 };
  return { lines: lines.slice(1), covered: Number(header[1]) };
}

/** The first non-blank of senderName, senderId and role, on one line: display names are user input. */
function who(turn: TranscriptTurn): string {
  return [turn.senderName, turn.senderId].map((name) => collapse(name ?? '')).find(Boolean) ?? turn.role;
}

function extract(text: string, focusWords: readonly string[], maxChars: number): string {
  const collapsed = collapse(text);
  if (collapsed === '') return '(no text)';
  const lower = collapsed.toLowerCase();
  if (focusWords.some((word) => lower.includes(word))) return cut(collapsed, FOCUS_FACTOR * maxChars);
  return cut(firstSentence(collapsed), maxChars);
}

/**
 * Up to the first sentence end: ".", "!" or "?" followed by a space or the end (so "v1.2" and "e.g" in
 * a word do not end it), or a CJK full stop, which needs no space after it.
 */
function firstSentence(collapsed: string): string {
  return collapsed.match(/^.*?(?:[.!?](?=\s|$)|[。！？])/u)?.[0] ?? collapsed;
}

function cut(text: string, maxChars: number): string {
  const chars = Array.from(text); // code points, so a cut never splits a surrogate pair
  return chars.length <= maxChars ? text : `${chars.slice(0, maxChars).join('').trimEnd()}…`;
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function instructionWords(instructions: string): string[] {
  const words = instructions.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
  return [...new Set(words.filter((word) => Array.from(word).length >= 4 && !STOP_WORDS.has(word)))];
}
