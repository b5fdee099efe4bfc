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

type TurnSource = Omit<TranscriptTurn, 'at' | 'tokens'>;

/** Folds the key's records, oldest first, into the current session's transcript. */
export function transcriptOf(records: Iterable<Pick<TransitionRecordV1, 'input' | 'facts'>>): Transcript {
  const sources = new Map<string, TurnSource>();
  let sessionId: string | null = null;
  let turns: TranscriptTurn[] = [];
  for (const { input, facts } of records) {
    remember(sources, input);
    for (const fact of facts) {
      const next = apply(turns, sessionId, fact, sources);
      turns = next.turns;
      sessionId = next.sessionId;
    }
  }
  return { sessionId, turns };
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
  sources: Map<string, TurnSource>,
): { turns: TranscriptTurn[]; sessionId: string | null } {
  switch (fact.type) {
    case 'SessionStarted':
      return { turns: [], sessionId: fact.sessionId };
    case 'MessageRecorded':
    case 'ReplyRecorded': {
      // Only turns of the running session; a late reply recorded after its session ended is history, not context.
      if (fact.system || fact.sessionId !== sessionId) return { turns, sessionId };
      const key = fact.type === 'MessageRecorded' ? `m:${fact.messageId}` : `r:${fact.replyId}`;
      const source = sources.get(key);
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
