/**
 * Token counts for context usage and the compaction threshold, with OpenAI's byte-level BPE encodings
 * (js-tiktoken, pure JavaScript, the ranks ship in the npm package: nothing is downloaded at run time).
 * `o200k_base` is the default (GPT-4o and later); `cl100k_base` is the GPT-4 / GPT-3.5 one. Other
 * providers' tokenizers are not public; these are the usual approximation for them.
 *
 * Counting treats text as text: a string that looks like a special token (`<|endoftext|>`) is counted as
 * the ordinary characters it is, never refused — chat messages are untrusted input.
 */
import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';

export const TOKENIZERS = ['o200k_base', 'cl100k_base'] as const;
export type TokenizerName = (typeof TOKENIZERS)[number];

export interface TokenCounter {
  readonly name: TokenizerName;
  /** The number of tokens `text` encodes to (0 for the empty string). */
  count(text: string): number;
}

const RANKS = { o200k_base: o200k, cl100k_base: cl100k } as const;
const counters = new Map<TokenizerName, TokenCounter>();

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
  const counter: TokenCounter = {
    name,
    count: (text) => (text.length === 0 ? 0 : encoder.encode(text, [], []).length),
  };
  counters.set(name, counter);
  return counter;
}
