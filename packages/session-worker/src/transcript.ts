/**
 * A session's conversation as its agent sees it, rebuilt from the key's transition records: the turns
 * of the current session in the order the session recorded them, with the latest compaction's summary
 * in place of everything it covered. Pure: a fold over records.
 *
 * The texts come from the recorded inputs, the order from the recorded facts (`MessageRecorded`,
 * `ReplyRecorded`): a turn queued while the session was compacting is recorded — and so placed — when it
 * is applied, not when it arrived. System turns (heartbeats, cron and exec events) are recorded in the
 * history but are not conversation, so they are not turns here.
 */
import type { TranscriptTurn } from '@threadline/compaction';
import type { SessionFact, SessionInput } from '@threadline/session-core';
import type { TransitionRecordV1 } from './records.js';

export interface Transcript {
  /** The session the turns belong to (the key's latest); null before the first. */
  sessionId: string | null;
  turns: TranscriptTurn[];
}

/** What a turn is made of before it is recorded: the text and the people from the input. */
export type TurnSource = Omit<TranscriptTurn, 'at' | 'tokens'>;

/** Finds a turn's source by `m:<messageId>`, `r:<replyId>` or (an imported turn) `i:<turnId>`. */
export type TurnSources = (key: string) => TurnSource | undefined;

export const EMPTY_TRANSCRIPT: Transcript = { sessionId: null, turns: [] };

/** Folds the key's records, oldest first, into the current session's transcript. */
export function transcriptOf(records: Iterable<Pick<TransitionRecordV1, 'input' | 'facts'>>): Transcript {
  const sources = new Map<string, TurnSource>();
  let transcript = EMPTY_TRANSCRIPT;
  for (const record of records) {
    remember(sources, record.input);
    transcript = transcriptStep(transcript, record, (key) => sources.get(key));
  }
  return transcript;
}

/**
 * One record's change to a transcript. A turn's text comes from `sources`: the record's own input, or —
 * for a turn queued while compacting and recorded later — the input that brought it, which a caller
 * folding one record at a time finds among the session's pending inputs ({@link turnSourcesOf}).
 */
export function transcriptStep(
  transcript: Transcript,
  record: Pick<TransitionRecordV1, 'facts'>,
  sources: TurnSources,
): Transcript {
  let { turns, sessionId } = transcript;
  for (const fact of record.facts) {
    const next = apply(turns, sessionId, fact, sources);
    turns = next.turns;
    sessionId = next.sessionId;
  }
  return turns === transcript.turns && sessionId === transcript.sessionId ? transcript : { sessionId, turns };
}

/** The turn sources of some inputs (a record's input and the inputs queued before it). */
export function turnSourcesOf(inputs: Iterable<SessionInput>): TurnSources {
  const sources = new Map<string, TurnSource>();
  for (const input of inputs) remember(sources, input);
  return (key) => sources.get(key);
}

function remember(sources: Map<string, TurnSource>, input: SessionInput): void {
  if (input.type === 'message.inbound') {
    // A reset's rest text is what the new session records under the same message id.
    const text = input.command?.kind === 'reset' ? input.command.rest : input.text;
    sources.set(`m:${input.messageId}`, {
      id: input.messageId,
      role: 'user',
      senderId: input.sender.id,
      ...(input.sender.displayName === undefined ? {} : { senderName: input.sender.displayName }),
      text,
    });
  } else if (input.type === 'session.imported') {
    for (const turn of input.turns) {
      sources.set(`i:${turn.id}`, {
        id: turn.id,
        role: turn.role,
        text: turn.text,
        ...(turn.senderId === undefined ? {} : { senderId: turn.senderId }),
        ...(turn.senderName === undefined ? {} : { senderName: turn.senderName }),
      });
    }
  } else if (input.type === 'reply.outbound') {
    sources.set(`r:${input.replyId}`, {
      id: input.replyId,
      role: 'assistant',
      text: input.text,
      ...(input.toolCallIds === undefined ? {} : { toolCallIds: input.toolCallIds }),
      ...(input.toolResultOf === undefined ? {} : { toolResultOf: input.toolResultOf }),
    });
  }
}

function apply(
  turns: TranscriptTurn[],
  sessionId: string | null,
  fact: SessionFact,
  sources: TurnSources,
): { turns: TranscriptTurn[]; sessionId: string | null } {
  switch (fact.type) {
    case 'SessionStarted':
      return { turns: [], sessionId: fact.sessionId };
    case 'SessionImported':
      // The imported conversation is the new session's: its order and times from the fact, texts from the input.
      return {
        sessionId: fact.sessionId,
        turns: fact.turns.map((turn) => ({
          ...(sources(`i:${turn.id}`) ?? { id: turn.id, role: turn.role, text: '' }),
          tokens: turn.tokens,
          at: turn.at,
        })),
      };
    case 'MessageRecorded':
    case 'ReplyRecorded': {
      // Only turns of the running session; a late reply recorded after its session ended is history, not context.
      if (fact.system || fact.sessionId !== sessionId) return { turns, sessionId };
      const key = fact.type === 'MessageRecorded' ? `m:${fact.messageId}` : `r:${fact.replyId}`;
      const source = sources(key);
      const id = fact.type === 'MessageRecorded' ? fact.messageId : fact.replyId;
      const turn: TranscriptTurn = {
        ...(source ?? { id, role: fact.type === 'MessageRecorded' ? 'user' : 'assistant', text: '' }),
        tokens: fact.tokens ?? 0,
        at: fact.at,
      };
      return { turns: [...turns, turn], sessionId };
    }
    case 'CompactionCompleted': {
      if (fact.sessionId !== sessionId) return { turns, sessionId };
      const kept = new Set(fact.keptIds);
      const keep = turns.filter((t) => t.role !== 'summary' && kept.has(t.id));
      const keptTokens = keep.reduce((sum, t) => sum + t.tokens, 0);
      const summary: TranscriptTurn = {
        id: fact.compactionId,
        role: 'summary',
        text: fact.summary,
        tokens: Math.max(0, fact.tokensAfter - keptTokens),
        at: fact.at,
      };
      return { turns: [summary, ...keep], sessionId };
    }
    default:
      return { turns, sessionId };
  }
}
