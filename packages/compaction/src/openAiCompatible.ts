import {
  abortedError,
  type Summariser,
  SummariserError,
  SummariserErrorCodes,
  type TranscriptTurn,
} from './types.js';

export interface OpenAiCompatibleSummariserOptions {
  /** The API base, e.g. `http://localhost:11434/v1`; `/chat/completions` is appended (a trailing slash is fine). */
  url: string;
  model: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given; never logged or put in an error message. */
  apiKey?: string;
  /** The fetch to use; the global one by default. */
  fetch?: typeof fetch;
  /** Sent as `max_tokens`, capping the summary's length (a positive integer). */
  maxTokens?: number;
}

/** How much of an error response's body an error message quotes. */
const BODY_EXCERPT_CHARS = 200;

/**
 * A summariser backed by any OpenAI-compatible chat completions endpoint (OpenAI, vLLM, llama.cpp,
 * Ollama, LiteLLM…). It sends one request — a system prompt asking for a concise summary that keeps facts,
 * decisions, open questions and names (plus the user's instructions), and the turns as `[id] who: text`
 * lines — at temperature 0, so that the same transcript gives as stable a summary as the model allows.
 *
 * Every failure becomes a {@link SummariserError}: 'HTTP_STATUS' (non-2xx, quoting the start of the body),
 * 'BAD_RESPONSE' (not JSON, or no text in `choices[0].message.content`), 'ABORTED' (the signal fired, also
 * while the body was being read) and 'NETWORK' (the request never got an answer). The API key is
 * removed from anything quoted back, since error messages end up in chat.
 *
 * Throws `RangeError` for a `url` that is not http(s), an empty `model` or a bad `maxTokens`.
 */
export function openAiCompatibleSummariser(options: OpenAiCompatibleSummariserOptions): Summariser {
  const { model, apiKey, maxTokens } = options;
  const endpoint = chatCompletionsUrl(options.url);
  if (model.trim() === '') throw new RangeError('model must not be empty');
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1))
    throw new RangeError(`maxTokens must be a positive integer, got ${String(maxTokens)}`);
  const doFetch = options.fetch ?? fetch;
  const redact = (text: string) => (apiKey ? text.replaceAll(apiKey, '[redacted]') : text);

  return {
    name: `openai-compatible:${model}`,
    summarise: async (request, signal) => {
      if (signal.aborted) throw abortedError(signal);
      const body = {
        model,
        messages: [
          { role: 'system', content: systemPrompt(request.instructions) },
          { role: 'user', content: renderTurns(request.turns) },
        ],
        temperature: 0,
        ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
      };
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json',
      };
      if (apiKey) headers.authorization = `Bearer ${apiKey}`;

      let response: Response;
      try {
        response = await doFetch(endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal });
      } catch (error) {
        if (signal.aborted) throw abortedError(signal);
        throw new SummariserError(
          SummariserErrorCodes.Network,
          redact(`could not reach the summariser at ${endpoint.host}: ${networkReason(error)}`),
          { cause: error },
        );
      }

      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        if (signal.aborted) throw abortedError(signal);
        throw new SummariserError(
          SummariserErrorCodes.Network,
          redact(`the summariser's answer was cut off: ${networkReason(error)}`),
          { cause: error },
        );
      }

      if (!response.ok) {
        const excerpt = redact(text.replace(/\s+/g, ' ').trim()).slice(0, BODY_EXCERPT_CHARS);
        throw new SummariserError(
          SummariserErrorCodes.HttpStatus,
          `summariser returned HTTP ${response.status}${excerpt ? `: ${excerpt}` : ''}`,
        );
      }
      return summaryFrom(text);
    },
  };
}

function chatCompletionsUrl(base: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch (error) {
    throw new RangeError(`url must be an absolute http(s) URL like http://host:port/v1`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RangeError(`url must be http(s), got ${url.protocol}`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/chat/completions`;
  return url;
}

function systemPrompt(instructions: string | undefined): string {
  const focus = instructions?.trim();
  return [
    'You summarise the earlier part of a chat conversation so that an AI assistant can continue it without',
    'the original messages. Write a concise summary that preserves the facts stated, the decisions made,',
    'the open questions and pending tasks, and the names of the people, places and things involved, with',
    'who said what where it matters. If the conversation starts with an earlier summary, fold it in: keep',
    'what still holds. Answer with the summary text only, without a preamble.',
    ...(focus ? ['', `The user asked the summary to focus on: ${focus}`] : []),
  ].join('\n');
}

/** The turns as `[id] who: text` lines, a previous summary first, then the rest in order. */
function renderTurns(turns: readonly TranscriptTurn[]): string {
  const ordered = [
    ...turns.filter((t) => t.role === 'summary'),
    ...turns.filter((t) => t.role !== 'summary'),
  ];
  return ordered.map((t) => `[${t.id}] ${t.senderName ?? t.senderId ?? t.role}: ${t.text}`).join('\n');
}

function summaryFrom(text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SummariserError(
      SummariserErrorCodes.BadResponse,
      'summariser returned a response that is not JSON',
      {
        cause: error,
      },
    );
  }
  const content = field(field(firstOf(field(json, 'choices')), 'message'), 'content');
  if (typeof content !== 'string' || content.trim() === '')
    throw new SummariserError(SummariserErrorCodes.BadResponse, 'summariser returned no summary text');
  return content.trim();
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function firstOf(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : undefined;
}

/** Node's fetch rejects with "fetch failed" and puts the useful part (ECONNREFUSED…) in `cause`. */
function networkReason(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  const code = field(cause, 'code');
  if (typeof code === 'string') return code;
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
