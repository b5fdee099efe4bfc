/**
 * The session machine as a decider: `decide(snapshot, input) → { snapshot, facts, timers, … }`.
 *
 * This is the only way the rest of Threadline drives a session: load a snapshot (or replay the log),
 * decide, append the facts, arm/cancel the timers, run the requested compaction, answer the commands.
 * It wraps XState's pure `transition` and executes nothing itself. Snapshots are plain JSON stamped
 * with {@link SESSION_MACHINE_VERSION}; the same inputs in the same order give the same snapshot, byte for
 * byte, in {@link serializeSnapshot}'s canonical form.
 */
import { canonicalJson } from '@threadline/protocol';
import { initialTransition, transition } from 'xstate';
import {
  type CommandAnswer,
  type CompactionRequest,
  SESSION_MACHINE_VERSION,
  type SessionContext,
  type SessionFact,
  type SessionInput,
  sessionMachine,
  type TimerKind,
} from './sessionMachine.js';

export type SessionState = 'new' | 'active' | 'idle' | 'expired' | 'compacting';

/** A session actor's persisted form: small, plain JSON, independent of XState's internal snapshot shape. */
export interface SessionSnapshot {
  machineVersion: number;
  state: SessionState;
  context: SessionContext;
}

export interface TimerSchedule {
  timerId: string;
  kind: TimerKind;
  dueAt: number;
}

export interface Decision {
  snapshot: SessionSnapshot;
  /** Domain events to append, in order, as one atomic write. */
  facts: SessionFact[];
  /**
   * Net timer changes of this decision: arm `schedule`, drop `cancel`. A cancel names the due time the
   * timer was armed for, so a time-indexed timer store finds it without a second index.
   */
  timers: { schedule: TimerSchedule[]; cancel: TimerSchedule[] };
  compactions: CompactionRequest[];
  answers: { sessionId: string | null; inReplyTo: string | null; answer: CommandAnswer }[];
}

export class SnapshotVersionError extends Error {
  override readonly name = 'SnapshotVersionError';
  readonly code = 'SNAPSHOT_VERSION_MISMATCH';
  constructor(readonly found: unknown) {
    super(
      `session snapshot has machine version ${JSON.stringify(found)}, this build runs ${SESSION_MACHINE_VERSION}; ` +
        'rebuild the session by replaying its log',
    );
  }
}

type MachineSnapshot = ReturnType<typeof initialTransition<typeof sessionMachine>>[0];

function toSnapshot(machineSnapshot: MachineSnapshot): SessionSnapshot {
  return {
    machineVersion: SESSION_MACHINE_VERSION,
    state: machineSnapshot.value as SessionState,
    context: machineSnapshot.context,
  };
}

function toMachine(snapshot: SessionSnapshot): MachineSnapshot {
  if (
    snapshot.machineVersion !== SESSION_MACHINE_VERSION ||
    snapshot.context.machineVersion !== SESSION_MACHINE_VERSION
  ) {
    throw new SnapshotVersionError(snapshot.machineVersion);
  }
  return sessionMachine.resolveState({ value: snapshot.state, context: snapshot.context });
}

/** The snapshot of a key that has never seen an event. */
export function initialSessionSnapshot(): SessionSnapshot {
  const [snapshot] = initialTransition(sessionMachine, {});
  return toSnapshot(snapshot);
}

/**
 * Applies one input. Pure: the result depends only on the snapshot and the input. Throws
 * {@link SnapshotVersionError} for a snapshot written by another machine version (replay instead).
 */
export function decide(snapshot: SessionSnapshot | undefined, input: SessionInput): Decision {
  const current = toMachine(snapshot ?? initialSessionSnapshot());
  const [next, actions] = transition(sessionMachine, current, input);
  const facts: SessionFact[] = [];
  const compactions: CompactionRequest[] = [];
  const answers: Decision['answers'] = [];
  const scheduled = new Map<string, TimerSchedule>();
  const cancelled = new Map<string, TimerSchedule>();
  for (const action of actions) {
    const params = action.params as never;
    switch (action.type) {
      case 'fact':
        facts.push(params);
        break;
      case 'runCompaction':
        compactions.push(params);
        break;
      case 'answer':
        answers.push(params);
        break;
      case 'scheduleTimer': {
        const timer = params as TimerSchedule;
        scheduled.set(timer.timerId, timer);
        break;
      }
      case 'cancelTimer': {
        const timer = params as TimerSchedule;
        // Armed and dropped within this one decision: the host never needs to hear of it.
        if (scheduled.has(timer.timerId)) scheduled.delete(timer.timerId);
        else cancelled.set(timer.timerId, timer);
        break;
      }
      default:
        break; // xstate.raise and other internals
    }
  }
  return {
    snapshot: toSnapshot(next),
    facts,
    timers: { schedule: [...scheduled.values()], cancel: [...cancelled.values()] },
    compactions,
    answers,
  };
}

/** Folds inputs into a snapshot (rehydration from the log). */
export function replay(inputs: Iterable<SessionInput>, from?: SessionSnapshot): SessionSnapshot {
  let snapshot = from ?? initialSessionSnapshot();
  for (const input of inputs) snapshot = decide(snapshot, input).snapshot;
  return snapshot;
}

/** Canonical JSON (object keys sorted, `undefined` dropped): equal snapshots give equal strings. */
export function serializeSnapshot(snapshot: SessionSnapshot): string {
  return canonicalJson(snapshot);
}

/** Parses {@link serializeSnapshot}'s output, refusing another machine version. */
export function parseSnapshot(json: string): SessionSnapshot {
  const value = JSON.parse(json) as SessionSnapshot;
  if (value?.machineVersion !== SESSION_MACHINE_VERSION)
    throw new SnapshotVersionError(value?.machineVersion);
  return value;
}
