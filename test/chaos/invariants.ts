/**
 * The chaos suite's invariant checker. After a run it reads the streams — never the services' own
 * reports — and checks what a run under faults must still guarantee:
 *
 * 1. every acknowledged inbound message is in exactly one session history, exactly once, and nothing the
 *    producers did not send is there;
 * 2. no session history forks: each key's records form one hash chain (the audit of the whole stream);
 * 3. every due timer fired exactly once: a timer armed and not cancelled before it fired, due by the end
 *    of the run, has exactly one `timer.fired` record — and no timer has two;
 * 4. the projection equals a rebuild from the log;
 * 5. nothing the producers sent was dead-lettered (they send only valid events).
 *
 * {@link checkHistories} is the pure part (1 and 3) over records already read, so that its rules are
 * unit-tested with histories built to break them; {@link checkCluster} reads the streams and adds 2, 4
 * and 5.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { auditLog, decodeStoredRecord, type SessionRecord, scanStream } from '@threadline/event-log';
import { auditProjection } from '@threadline/projector';
import { StreamNames } from '@threadline/protocol';

/** The parts of a transition record the checker reads (the worker's `TransitionRecordV1`). */
export interface CheckedBody {
  inputId: string;
  input: { type: string; timerId?: string };
  timers?: {
    schedule: readonly { timerId: string; kind: string; dueAt: number }[];
    cancel: readonly { timerId: string }[];
  };
}

export type ViolationKind =
  | 'acked-message-missing'
  | 'message-recorded-twice'
  | 'message-in-two-sessions'
  | 'unknown-message-recorded'
  | 'timer-fired-twice'
  | 'due-timer-not-fired'
  | 'timer-fired-unarmed'
  | 'history-forked'
  | 'projection-differs'
  | 'projection-behind'
  | 'dead-lettered'
  /** A service process exited without being killed (reported by the chaos run, not read from streams). */
  | 'process-exited'
  /** A killed leader's standby did not take the lead while it was down (reported by the chaos run). */
  | 'no-failover';

export interface Violation {
  readonly kind: ViolationKind;
  readonly detail: string;
}

export interface HistoryFigures {
  keys: number;
  records: number;
  chatRecords: number;
  timersArmed: number;
  timersDue: number;
  timersFired: number;
}

export interface HistoryCheckInput {
  /** Every record of the session stream (any order across keys; per key in stream order). */
  readonly records: Iterable<SessionRecord<CheckedBody>>;
  /** Chat event ids whose publish was acknowledged by JetStream. */
  readonly acked: ReadonlySet<string>;
  /** Chat event ids the producers published at least once (acknowledged or not). */
  readonly sent: ReadonlySet<string>;
  /** The shared clock at the end of the run: a timer due at or before it must have fired. */
  readonly dueBy: number;
}

interface TimerState {
  dueAt: number;
  fires: number;
  /** Cancelled while it had not fired: it must not fire any more (a late firing is a no-op, unrecorded). */
  cancelledUnfired: boolean;
}

/** Invariants 1 and 3 over records already read. */
export function checkHistories(input: HistoryCheckInput): {
  violations: Violation[];
  figures: HistoryFigures;
} {
  const violations: Violation[] = [];
  const figures: HistoryFigures = {
    keys: 0,
    records: 0,
    chatRecords: 0,
    timersArmed: 0,
    timersDue: 0,
    timersFired: 0,
  };
  /** Chat id → the keys (one entry per record) it was recorded under. */
  const chats = new Map<string, string[]>();
  /** Key → timer id → state. Timer ids are unique per key only. */
  const timers = new Map<string, Map<string, TimerState>>();
  const keys = new Set<string>();

  for (const record of input.records) {
    figures.records += 1;
    keys.add(record.sessionKey);
    const body = record.body;
    if (body.inputId.startsWith('chat:')) {
      figures.chatRecords += 1;
      const id = body.inputId.slice('chat:'.length);
      const under = chats.get(id) ?? [];
      under.push(record.sessionKey);
      chats.set(id, under);
    }
    let keyTimers = timers.get(record.sessionKey);
    if (!keyTimers) {
      keyTimers = new Map();
      timers.set(record.sessionKey, keyTimers);
    }
    if (body.input.type === 'timer.fired' && body.input.timerId !== undefined) {
      const timer = keyTimers.get(body.input.timerId);
      if (!timer)
        violations.push({
          kind: 'timer-fired-unarmed',
          detail: `${record.sessionKey}: timer ${body.input.timerId} fired at seq ${record.seq} but was never armed`,
        });
      else timer.fires += 1;
    }
    for (const cancel of body.timers?.cancel ?? []) {
      const timer = keyTimers.get(cancel.timerId);
      if (timer && timer.fires === 0) timer.cancelledUnfired = true;
    }
    for (const armed of body.timers?.schedule ?? []) {
      figures.timersArmed += 1;
      keyTimers.set(armed.timerId, { dueAt: armed.dueAt, fires: 0, cancelledUnfired: false });
    }
  }
  figures.keys = keys.size;

  for (const [id, under] of chats) {
    if (!input.sent.has(id))
      violations.push({ kind: 'unknown-message-recorded', detail: `${id} recorded but never sent` });
    if (new Set(under).size > 1)
      violations.push({
        kind: 'message-in-two-sessions',
        detail: `${id} recorded under ${[...new Set(under)].join(' and ')}`,
      });
    else if (under.length > 1)
      violations.push({
        kind: 'message-recorded-twice',
        detail: `${id} recorded ${under.length} times under ${under[0]}`,
      });
  }
  for (const id of input.acked)
    if (!chats.has(id))
      violations.push({
        kind: 'acked-message-missing',
        detail: `${id} was acknowledged but is in no history`,
      });

  for (const [key, keyTimers] of timers)
    for (const [timerId, timer] of keyTimers) {
      figures.timersFired += Math.min(timer.fires, 1);
      if (timer.fires > 1)
        violations.push({
          kind: 'timer-fired-twice',
          detail: `${key}: timer ${timerId} fired ${timer.fires} times`,
        });
      if (timer.cancelledUnfired || timer.dueAt > input.dueBy) continue;
      figures.timersDue += 1;
      if (timer.fires === 0)
        violations.push({
          kind: 'due-timer-not-fired',
          detail: `${key}: timer ${timerId} due at ${new Date(timer.dueAt).toISOString()} never fired`,
        });
    }
  return { violations, figures };
}

/** Every record of the session stream, as stored now. */
export async function readAllRecords(nc: NatsConnection): Promise<SessionRecord<CheckedBody>[]> {
  const out: SessionRecord<CheckedBody>[] = [];
  for await (const message of scanStream(nc, { stream: StreamNames.sessions }))
    out.push(decodeStoredRecord<CheckedBody>(message));
  return out;
}

export interface ClusterFigures extends HistoryFigures {
  deadLetters: number;
  projectionKeys: number;
}

/** All five invariants, read from the cluster's streams. */
export async function checkCluster(
  nc: NatsConnection,
  run: Omit<HistoryCheckInput, 'records'>,
): Promise<{ violations: Violation[]; figures: ClusterFigures }> {
  const records = await readAllRecords(nc);
  const { violations, figures } = checkHistories({ ...run, records });

  const audit = await auditLog(nc);
  for (const problem of audit.problems)
    violations.push({
      kind: 'history-forked',
      detail: `${problem.sessionKey} seq ${problem.seq}: ${problem.kind} (${problem.detail})`,
    });

  let projectionKeys = 0;
  const projection = await auditProjection(nc, { waitMs: 60_000 });
  if (projection.outcome === 'live-behind')
    violations.push({
      kind: 'projection-behind',
      detail: `the live projection is at ${projection.liveSeq}, the log at ${projection.untilSeq}`,
    });
  else {
    const report = projection.report;
    projectionKeys = report.keys;
    const differences = [
      ...report.onlyLive.map((key) => `${key}: only in the live store`),
      ...report.onlyRebuilt.map((key) => `${key}: only in the rebuild`),
      ...report.different.map((d) => `${d.sessionKey}: ${JSON.stringify(d).slice(0, 300)}`),
      ...report.problems.map((p) => `fold problem: ${JSON.stringify(p).slice(0, 300)}`),
    ];
    for (const detail of differences) violations.push({ kind: 'projection-differs', detail });
  }

  const jsm = await jetstreamManager(nc);
  const deadLetters = (await jsm.streams.info(StreamNames.deadLetters)).state.messages;
  if (deadLetters > 0)
    violations.push({
      kind: 'dead-lettered',
      detail: `${deadLetters} dead letters (the producers sent only valid events)`,
    });

  return { violations, figures: { ...figures, deadLetters, projectionKeys } };
}
