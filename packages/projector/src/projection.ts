/**
 * The session store's read model, as a pure fold over one key's records.
 *
 * A key's projection is its session machine run over its recorded inputs — exactly what the worker did
 * when it wrote them — so every field of the entry comes from the same logic that decided the session,
 * never from a second reading of the facts. Refolding also checks the log: a record whose input no longer
 * gives the facts it recorded is counted as a divergence (another machine build), and a record that does
 * not chain to the one before it as a chain break; both are reported, neither stops the projection.
 *
 * Idempotent by stream sequence: a record at or below the key's projected sequence changes nothing.
 */
import type { TranscriptTurn } from '@threadline/compaction';
import { canonicalJson, GENESIS_HASH, type SessionRecord } from '@threadline/event-log';
import {
  decide,
  deriveChatType,
  initialSessionSnapshot,
  type MessageRoute,
  parseSessionKey,
  type SessionSettings,
  type SessionSnapshot,
  type SessionState,
} from '@threadline/session-core';
import {
  type Transcript,
  type TransitionRecordV1,
  transcriptStep,
  turnSourcesOf,
} from '@threadline/session-worker';

/**
 * What inspection shows for one session key (spec §4), with OpenClaw's field names. Times are epoch
 * milliseconds; `null` where the key has not seen the thing yet.
 */
export interface SessionEntry extends SessionSettings {
  sessionKey: string;
  /** The agent the key belongs to (`agent:<id>:…`), `null` for a key outside that form. */
  agentId: string | null;
  sessionId: string | null;
  previousSessionId: string | null;
  /** Lifecycle state: `new`, `active`, `idle`, `expired` or `compacting`. */
  state: SessionState;
  /** Why the last session ended, when it ended by itself or by a reset. */
  endReason: 'daily' | 'idle' | 'reset' | null;
  updatedAt: number | null;
  startedAt: number | null;
  lastActivityAt: number | null;
  chatType: string;
  channel: string | null;
  /** Where the session's first message came from. */
  origin: MessageRoute | null;
  /** The delivery route: where the latest message came from. */
  lastChannel: string | null;
  lastTo: string | null;
  lastAccountId: string | null;
  lastThreadId: string | null;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  contextTokens: number;
  compactionCount: number;
  /** The per-session send override (`/send on|off`); `null` inherits the configured policy. */
  sendPolicy: 'allow' | 'deny' | null;
  messageCount: number;
  /** Beyond (spec §6): set when people shared this session's DM scope. */
  privacyWarning: { at: number; senderIds: string[] } | null;
}

/** One key as the projector stores it: the entry, and what the next fold starts from. */
export interface ProjectedKey {
  v: 1;
  sessionKey: string;
  /** Stream sequence of the last record folded. */
  seq: number;
  /** That record's hash: the next record must chain to it. */
  hash: string;
  entry: SessionEntry;
  snapshot: SessionSnapshot;
}

/** The transcript view of a key: its current session since the last compaction, newest turns kept. */
export interface TranscriptView {
  v: 1;
  sessionKey: string;
  sessionId: string | null;
  /** Stream sequence of the last record that changed the view. */
  seq: number;
  /** Oldest first; a compaction's summary comes first as a turn with role `summary`. */
  turns: TranscriptTurn[];
  /** Turns of this session dropped from the front to keep the view within its byte budget. */
  omitted: number;
}

/** What folding a record found wrong with the log (the fold goes on either way). */
export interface FoldProblem {
  /** `unreadable`: a message on a session subject that is not a record this build can fold (skipped). */
  kind: 'divergence' | 'chain-break' | 'unreadable';
  sessionKey: string;
  seq: number;
  detail: string;
}

export interface FoldResult {
  key: ProjectedKey;
  transcript: TranscriptView;
  /** False when the record was at or below the projected sequence: nothing changed. */
  applied: boolean;
  problems: FoldProblem[];
}

/** The default byte budget of a transcript view (its JSON), far below a KV value's limit. */
export const DEFAULT_TRANSCRIPT_BUDGET_BYTES = 256 * 1024;

export function emptyProjectedKey(sessionKey: string): ProjectedKey {
  const snapshot = initialSessionSnapshot();
  return {
    v: 1,
    sessionKey,
    seq: 0,
    hash: GENESIS_HASH,
    entry: entryOf(sessionKey, snapshot),
    snapshot,
  };
}

export function emptyTranscriptView(sessionKey: string): TranscriptView {
  return { v: 1, sessionKey, sessionId: null, seq: 0, turns: [], omitted: 0 };
}

/** Folds one of the key's records into its projection and transcript view. Pure. */
export function foldIntoProjection(
  key: ProjectedKey,
  transcript: TranscriptView,
  record: SessionRecord<TransitionRecordV1>,
  options: { transcriptBudgetBytes?: number } = {},
): FoldResult {
  if (record.seq <= key.seq) return { key, transcript, applied: false, problems: [] };
  const problems: FoldProblem[] = [];
  const body = record.body;
  if (record.prevHash !== key.hash) {
    problems.push({
      kind: 'chain-break',
      sessionKey: key.sessionKey,
      seq: record.seq,
      detail: `record links to ${record.prevHash.slice(0, 12)}…, the projected head is ${key.hash.slice(0, 12)}…`,
    });
  }
  const decision = decide(key.snapshot, body.input);
  if (canonicalJson(decision.facts) !== canonicalJson(body.facts)) {
    problems.push({
      kind: 'divergence',
      sessionKey: key.sessionKey,
      seq: record.seq,
      detail: `input ${body.inputId} no longer decides the facts it recorded (machine ${body.machineVersion})`,
    });
  }
  // Turn texts: this record's input, or an input queued earlier and recorded now.
  const sources = turnSourcesOf([body.input, ...key.snapshot.context.pending]);
  const before: Transcript = { sessionId: transcript.sessionId, turns: transcript.turns };
  const after = transcriptStep(before, body, sources);
  // A new session starts the view afresh. A compaction does too, except for kept turns the view had
  // already dropped for its budget: those are still part of the conversation and stay counted.
  const newSession = after.sessionId !== before.sessionId;
  const compaction = body.facts.find(
    (fact) => fact.type === 'CompactionCompleted' && fact.sessionId === after.sessionId,
  );
  const restarted = newSession || compaction !== undefined;
  const omitted = newSession
    ? 0
    : compaction?.type === 'CompactionCompleted'
      ? compaction.keptIds.filter((id) => !after.turns.some((turn) => turn.id === id)).length
      : transcript.omitted;
  const view =
    after === before && !restarted
      ? transcript // unchanged: the same object, so the caller knows there is nothing to write
      : boundTranscript(
          {
            v: 1,
            sessionKey: key.sessionKey,
            sessionId: after.sessionId,
            seq: record.seq,
            turns: after.turns,
            omitted,
          },
          options.transcriptBudgetBytes ?? DEFAULT_TRANSCRIPT_BUDGET_BYTES,
        );
  return {
    key: {
      v: 1,
      sessionKey: key.sessionKey,
      seq: record.seq,
      hash: record.hash,
      entry: entryOf(key.sessionKey, decision.snapshot),
      snapshot: decision.snapshot,
    },
    transcript: view,
    applied: true,
    problems,
  };
}

/** Serialized size of each turn seen, by identity: a fold keeps the turns it does not change. */
const turnBytes = new WeakMap<object, number>();

function bytesOfTurn(turn: object): number {
  let bytes = turnBytes.get(turn);
  if (bytes === undefined) {
    bytes = Buffer.byteLength(JSON.stringify(turn));
    turnBytes.set(turn, bytes);
  }
  return bytes;
}

/**
 * `Buffer.byteLength(JSON.stringify(view))` without serializing every turn on every fold: the view with
 * no turns, plus each turn's (cached) size and the commas between them. Serializing the whole transcript
 * per record was the projector's largest cost under load (docs/performance.md).
 */
export function transcriptBytes(view: TranscriptView): number {
  let size = Buffer.byteLength(JSON.stringify({ ...view, turns: [] }));
  for (const turn of view.turns) size += bytesOfTurn(turn);
  return size + Math.max(0, view.turns.length - 1);
}

/** Drops the oldest turns (never the summary) until the view's JSON fits the budget. */
function boundTranscript(view: TranscriptView, budget: number): TranscriptView {
  const sizeOf = transcriptBytes;
  if (sizeOf(view) <= budget) return view;
  const turns = [...view.turns];
  let omitted = view.omitted;
  const first = turns[0]?.role === 'summary' ? 1 : 0;
  // Estimate as turns go (a turn and its comma), then check exactly: `omitted` can gain a digit.
  let size = sizeOf(view);
  for (;;) {
    while (size > budget && turns.length > first) {
      const [dropped] = turns.splice(first, 1);
      size -= (dropped ? bytesOfTurn(dropped) : 0) + 1;
      omitted += 1;
    }
    const bounded = { ...view, turns, omitted };
    size = sizeOf(bounded);
    if (size <= budget || turns.length <= first) return bounded;
  }
}

/** The entry of a key whose session machine is in `snapshot`. */
export function entryOf(sessionKey: string, snapshot: SessionSnapshot): SessionEntry {
  const c = snapshot.context;
  const route = c.lastRoute;
  return {
    ...c.settings,
    sessionKey,
    agentId: parseSessionKey(sessionKey)?.agentId ?? null,
    sessionId: c.sessionId,
    previousSessionId: c.previousSessionId,
    state: snapshot.state,
    endReason: c.endReason,
    updatedAt: c.updatedAt,
    startedAt: c.startedAt,
    lastActivityAt: c.lastActivityAt,
    chatType: route?.chatType ?? c.origin?.chatType ?? deriveChatType(sessionKey),
    channel: c.origin?.channel ?? route?.channel ?? null,
    origin: c.origin,
    lastChannel: route?.channel ?? null,
    lastTo: route?.to ?? null,
    lastAccountId: route?.accountId ?? null,
    lastThreadId: route?.threadId ?? null,
    inputTokens: c.tokens.input,
    outputTokens: c.tokens.output,
    totalTokens: c.tokens.total,
    contextTokens: c.tokens.context,
    compactionCount: c.compactionCount,
    sendPolicy: c.sendOverride,
    messageCount: c.messageCount,
    privacyWarning: c.privacyWarning,
  };
}
