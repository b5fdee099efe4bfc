// @threadline/tokens — token counting with a real BPE tokenizer (never characters divided by four).
export { TOKENIZERS, type TokenCounter, type TokenizerName, tokenCounter } from './tokenCounter.js';
