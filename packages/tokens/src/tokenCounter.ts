/**
 * Token counts for context usage and the compaction threshold, with OpenAI's byte-level BPE encodings
 * (js-tiktoken, pure JavaScript, the ranks ship in the npm package: nothing is downloaded at run time).
 * `o200k_base` is the default (GPT-4o and later); `cl100k_base` is the GPT-4 / GPT-3.5 one. Other
 * providers' tokenizers are not public; these are the usual approximation for them.
 *
 * Counting treats text as text: a string that looks like a special token (`<|endoftext|>`) is counted as
 * the ordinary characters it is, never refused — chat messages are untrusted input.
 *
 * Counting takes time linear in the text. js-tiktoken's own byte-pair merge rescans and re-joins the whole
 * piece on every merge, which is cubic in the length of one pre-tokenizer piece (a run of letters or
 * symbols with no break): 16 000 × `a` took 50 s, and one chat message of 65 536 emoji or unbroken CJK
 * blocked a worker for many minutes (issue #9, hostile input). So the pieces are merged here, with the
 * same ranks and the same rule (lowest rank first, leftmost on a tie) but each pair's rank computed once;
 * a piece longer than {@link MAX_PIECE_BYTES} — only hostile or very unusual text has one — is counted in
 * chunks of at most that many bytes: an estimate, close to the exact count.
 */
import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';

export const TOKENIZERS = ['o200k_base', 'cl100k_base'] as const;
export type TokenizerName = (typeof TOKENIZERS)[number];

export interface TokenCounter {
  readonly name: TokenizerName;
  /**
   * The number of tokens `text` encodes to (0 for the empty string), in time linear in its length: exact
   * whenever no pre-tokenizer piece is longer than {@link MAX_PIECE_BYTES}, an estimate otherwise.
   */
  count(text: string): number;
}

const RANKS = { o200k_base: o200k, cl100k_base: cl100k } as const;
const counters = new Map<TokenizerName, TokenCounter>();

/** Pieces up to this many UTF-8 bytes are counted exactly; longer ones in chunks of at most this size. */
export const MAX_PIECE_BYTES = 256;

const utf8 = new TextEncoder();

/**
 * Tokens of one piece (at most {@link MAX_PIECE_BYTES} bytes) by byte-pair merging: js-tiktoken's rule,
 * quadratic in the piece's bytes instead of cubic. `ranks` maps comma-joined bytes to a token's rank.
 */
function mergeCount(bytes: Uint8Array, ranks: ReadonlyMap<string, number>): number {
  const n = bytes.length;
  if (n <= 1 || ranks.has(bytes.join(','))) return Math.min(n, 1);
  // starts[k]: where part k begins (the last entry is the end); pair[k]: the rank of parts k and k + 1 joined.
  const starts = Array.from({ length: n + 1 }, (_, i) => i);
  const rankOf = (k: number) =>
    k + 2 < starts.length
      ? (ranks.get(bytes.subarray(starts[k] as number, starts[k + 2] as number).join(',')) ??
        Number.POSITIVE_INFINITY)
      : Number.POSITIVE_INFINITY;
  const pair = Array.from({ length: n - 1 }, (_, k) => rankOf(k));
  for (;;) {
    let at = -1;
    let lowest = Number.POSITIVE_INFINITY;
    for (let k = 0; k < pair.length; k++)
      if ((pair[k] as number) < lowest) {
        lowest = pair[k] as number;
        at = k;
      }
    if (at < 0) return starts.length - 1; // every part is a token: every byte is one, and every merge made one
    starts.splice(at + 1, 1);
    pair.splice(at, 1);
    if (at < pair.length) pair[at] = rankOf(at);
    if (at > 0) pair[at - 1] = rankOf(at - 1);
  }
}

/** Tokens of one pre-tokenizer piece: exact up to {@link MAX_PIECE_BYTES}, else by chunks that size. */
function pieceCount(piece: string, count: (bytes: Uint8Array) => number): number {
  const bytes = utf8.encode(piece);
  if (bytes.length <= MAX_PIECE_BYTES) return count(bytes);
  let total = 0;
  for (let start = 0; start < bytes.length; ) {
    let end = Math.min(start + MAX_PIECE_BYTES, bytes.length);
    while (end < bytes.length && ((bytes[end] as number) & 0xc0) === 0x80) end--; // never split a character
    total += count(bytes.subarray(start, end));
    start = end;
  }
  return total;
}

/**
 * The counter for `name`, built on first use (parsing the ranks takes a moment) and shared afterwards.
 * Throws `RangeError` for a name that is not one of {@link TOKENIZERS}.
 */
export function tokenCounter(name: TokenizerName = 'o200k_base'): TokenCounter {
  const known = counters.get(name);
  if (known) return known;
  if (!Object.hasOwn(RANKS, name))
    throw new RangeError(`unknown tokenizer ${JSON.stringify(name)}; one of ${TOKENIZERS.join(', ')}`);
  const encoder = new Tiktoken(RANKS[name]);
  // The same pre-tokenizer pieces js-tiktoken splits into (special tokens are ordinary text here), merged
  // with its own rank table. Should a js-tiktoken version hide the table, each bounded chunk is encoded by
  // js-tiktoken itself: slower, still linear.
  const pieces = new RegExp(RANKS[name].pat_str, 'gu');
  const table = (encoder as unknown as { rankMap?: unknown }).rankMap;
  const count =
    table instanceof Map
      ? (bytes: Uint8Array) => mergeCount(bytes, table as ReadonlyMap<string, number>)
      : (bytes: Uint8Array) => encoder.encode(new TextDecoder().decode(bytes), [], []).length;
  const counter: TokenCounter = {
    name,
    count: (text) => {
      let total = 0;
      for (const match of text.matchAll(pieces)) total += pieceCount(match[0], count);
      return total;
    },
  };
  counters.set(name, counter);
  return counter;
}
