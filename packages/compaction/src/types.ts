/**
 * The vocabulary of compaction: the transcript turns the agent sees, the plan that splits them into the
 * part folded into a summary and the part kept verbatim, and the summariser port that writes the summary.
 * The session engine owns when to compact; this package only answers what to fold and how to word it.
 */

/** One entry of a session's conversation as the agent sees it. */
export interface TranscriptTurn {
  /** The message id (user), reply id (assistant), or the compaction id (summary). */
  id: string;
  role: 'user' | 'assistant' | 'summary';
  senderId?: string;
  senderName?: string;
  text: string;
  /** Tokens this turn occupies in the context (0 when unknown). */
  tokens: number;
  at: number;
  /** Tool calls this assistant turn issued. */
  toolCallIds?: string[];
  /** This turn carries the result of that tool call. */
  toolResultOf?: string;
}

/**
 * How a transcript is compacted: `summarise` is folded into one summary, `keep` stays verbatim after it.
 * Together they hold every turn of the transcript exactly once, each list in transcript order.
 */
export interface CompactionPlan {
  summarise: TranscriptTurn[];
  keep: TranscriptTurn[];
}

export interface SummariseRequest {
  sessionKey: string;
  sessionId: string;
  /** What the user asked the summary to focus on (`/compact <instructions>`), if anything. */
  instructions?: string;
  /** The turns to fold into one summary, oldest first; a previous summary, if any, is the first (role 'summary'). */
  turns: readonly TranscriptTurn[];
}

/** The summariser port. Implementations must honour `signal` (reject promptly when aborted). */
export interface Summariser {
  /** A short label for logs and status output; never a secret. */
  readonly name: string;
  /**
   * The summary text of `request.turns`. Rejects with a {@link SummariserError} — the caller shows its
   * message in chat, so an implementation must turn every failure of its own into one.
   */
  summarise(request: SummariseRequest, signal: AbortSignal): Promise<string>;
}

export const SummariserErrorCodes = {
  /** The summarisation service answered with a non-2xx status. */
  HttpStatus: 'HTTP_STATUS',
  /** The service answered 2xx, but not with a usable summary (not JSON, wrong shape, empty text). */
  BadResponse: 'BAD_RESPONSE',
  /** The caller's signal aborted the work: a timeout or a cancellation. */
  Aborted: 'ABORTED',
  /** The service could not be reached at all (refused, DNS, reset before an answer). */
  Network: 'NETWORK',
} as const;
export type SummariserErrorCode = (typeof SummariserErrorCodes)[keyof typeof SummariserErrorCodes];

/**
 * Why a summary could not be written. The `message` is shown to the user as
 * "Compaction failed: <message>", so it is short, human-readable and never contains a credential;
 * details for operators belong in `cause`.
 */
export class SummariserError extends Error {
  override readonly name = 'SummariserError';
  constructor(
    readonly code: SummariserErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The error every summariser rejects with when its signal aborts, so the chat wording is the same for all. */
export function abortedError(signal: AbortSignal): SummariserError {
  return new SummariserError(SummariserErrorCodes.Aborted, 'summariser timed out or was cancelled', {
    cause: signal.reason,
  });
}
