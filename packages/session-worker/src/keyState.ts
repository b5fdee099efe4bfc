/**
 * One session key's state as the worker holds it — the actor's snapshot plus what the worker needs to
 * append safely and exactly once — and the two pure steps that change it: deciding a new input, and
 * folding a stored record (rehydration). Rehydration IS replay: a key rebuilt from a snapshot plus the
 * records after it equals the key rebuilt from all its records, because both fold the same inputs.
 */
import { canonicalJson, GENESIS_HASH, type LogHead, type SessionRecord } from '@threadline/event-log';
import {
  decide,
  initialSessionSnapshot,
  SESSION_MACHINE_VERSION,
  type SessionSnapshot,
} from '@threadline/session-core';
import type { WorkItem } from './inputs.js';
import type { RecordSource, TransitionRecordV1 } from './records.js';

/** How many recent input ids a key remembers, to drop a producer's duplicate that outlived the dedupe windows. */
export const RECENT_INPUT_IDS = 256;

export interface KeyState {
  readonly sessionKey: string;
  readonly snapshot: SessionSnapshot;
  /** The key's last record in the log (what the next append is fenced on and chained to). */
  readonly head: LogHead;
  /** The highest keyed-stream sequence recorded for this key: inputs at or below it were applied. */
  readonly appliedSeq: number;
  /** The last {@link RECENT_INPUT_IDS} input ids recorded, oldest first. */
  readonly recentInputIds: readonly string[];
}

export function emptyKeyState(sessionKey: string): KeyState {
  return {
    sessionKey,
    snapshot: initialSessionSnapshot(),
    head: { seq: 0, hash: GENESIS_HASH },
    appliedSeq: 0,
    recentInputIds: [],
  };
}

export type Verdict =
  /** Read again after a restart or a takeover: its sequence is already recorded. */
  | { kind: 'replayed' }
  /** The same input id was recorded before (a producer sent it twice). */
  | { kind: 'duplicate' }
  /** The decision changes nothing (a stale timer, a tick while fresh): nothing to record. */
  | { kind: 'no-op' }
  | { kind: 'record'; body: TransitionRecordV1; next: KeyState };

function remember(ids: readonly string[], id: string): string[] {
  const next = [...ids, id];
  return next.length > RECENT_INPUT_IDS ? next.slice(next.length - RECENT_INPUT_IDS) : next;
}

/** Decides `item` (read at keyed-stream sequence `seq`, null when it came from elsewhere) on `state`. */
export function decideInput(state: KeyState, item: WorkItem, source: RecordSource | null): Verdict {
  if (source !== null && source.seq <= state.appliedSeq) return { kind: 'replayed' };
  if (state.recentInputIds.includes(item.inputId)) return { kind: 'duplicate' };
  const decision = decide(state.snapshot, item.input);
  const unchanged =
    decision.facts.length === 0 &&
    decision.answers.length === 0 &&
    decision.compactions.length === 0 &&
    decision.timers.schedule.length === 0 &&
    decision.timers.cancel.length === 0 &&
    canonicalJson(decision.snapshot) === canonicalJson(state.snapshot);
  if (unchanged) return { kind: 'no-op' };
  const body: TransitionRecordV1 = {
    v: 1,
    inputId: item.inputId,
    source,
    input: item.input,
    facts: decision.facts,
    timers: decision.timers,
    answers: decision.answers,
    compactions: decision.compactions,
    machineVersion: SESSION_MACHINE_VERSION,
  };
  return {
    kind: 'record',
    body,
    next: {
      sessionKey: state.sessionKey,
      snapshot: decision.snapshot,
      head: state.head, // the caller sets the appended record's position
      appliedSeq: source === null ? state.appliedSeq : Math.max(state.appliedSeq, source.seq),
      recentInputIds: remember(state.recentInputIds, item.inputId),
    },
  };
}

/** A recorded transition whose input no longer decides the facts it recorded (another machine build). */
export interface Divergence {
  readonly seq: number;
  readonly inputId: string;
}

/**
 * Folds one stored record into `state`: decides its recorded input again. Calls `onDivergence` when the
 * facts differ from the recorded ones — the record stays the truth of what happened, the snapshot is what
 * this build's machine makes of it.
 */
export function foldRecord(
  state: KeyState,
  record: SessionRecord<TransitionRecordV1>,
  onDivergence?: (divergence: Divergence) => void,
): KeyState {
  const body = record.body;
  const decision = decide(state.snapshot, body.input);
  if (onDivergence && canonicalJson(decision.facts) !== canonicalJson(body.facts))
    onDivergence({ seq: record.seq, inputId: body.inputId });
  return {
    sessionKey: state.sessionKey,
    snapshot: decision.snapshot,
    head: { seq: record.seq, hash: record.hash },
    appliedSeq: body.source === null ? state.appliedSeq : Math.max(state.appliedSeq, body.source.seq),
    recentInputIds: remember(state.recentInputIds, body.inputId),
  };
}
