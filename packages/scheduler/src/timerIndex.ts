/**
 * The durable-timer index, as names and pure steps.
 *
 * Every transition record carries the timers its decision armed and dropped (`timers.schedule`,
 * `timers.cancel`, each with its due time). The scheduler folds them into a KV bucket whose entry names
 * are ordered by due time — `d.<day>.<hour>.<minute>.<key hash>.<kind>` — so the timers due in any
 * minute, hour or day are one subject-filtered read away, and nothing but the minute being fired has to
 * be in memory, however many timers are pending. A key has at most one timer of each kind, so an entry
 * name per (minute, key, kind) is enough: re-arming in the same minute overwrites.
 */
import { createHash } from 'node:crypto';
import type { TimerKind, TimerSchedule } from '@threadline/session-core';
import type { TransitionRecordV1 } from '@threadline/session-worker';

export const MINUTE_MS = 60_000;
const MINUTES_PER_DAY = 1440;

/** One pending timer, as stored. */
export interface TimerEntry {
  v: 1;
  sessionKey: string;
  timerId: string;
  kind: TimerKind;
  dueAt: number;
}

export const minuteOf = (at: number): number => Math.floor(at / MINUTE_MS);

const pad = (n: number) => String(n).padStart(2, '0');

/** The name prefix of one day's, hour's or minute's entries (UTC). */
export function dayPrefix(minute: number): string {
  return `d.${Math.floor(minute / MINUTES_PER_DAY)}`;
}
export function hourPrefix(minute: number): string {
  return `${dayPrefix(minute)}.${pad(Math.floor((minute % MINUTES_PER_DAY) / 60))}`;
}
export function minutePrefix(minute: number): string {
  return `${hourPrefix(minute)}.${pad(minute % 60)}`;
}

/** A key's hash in entry names (keys hold characters a KV name cannot). */
export function keyHash(sessionKey: string): string {
  return createHash('sha256').update(sessionKey).digest('hex').slice(0, 32);
}

/** The entry name of a key's timer of `kind`, filed under `minute`. */
export function entryName(minute: number, sessionKey: string, kind: TimerKind): string {
  return `${minutePrefix(minute)}.${keyHash(sessionKey)}.${kind}`;
}

/** The first minute of the next hour and of the next day after `minute`'s. */
export const nextHour = (minute: number): number => (Math.floor(minute / 60) + 1) * 60;
export const nextDay = (minute: number): number =>
  (Math.floor(minute / MINUTES_PER_DAY) + 1) * MINUTES_PER_DAY;

export type TimerChange =
  | { op: 'arm'; entry: TimerEntry }
  /** `dueAt` is absent in records written before cancels named it: such a drop cannot be located. */
  | { op: 'drop'; sessionKey: string; timerId: string; kind: TimerKind; dueAt?: number };

/** What one record does to the index: its drops first, then its arms (the order the decision made them). */
export function timerChangesOf(sessionKey: string, body: Pick<TransitionRecordV1, 'timers'>): TimerChange[] {
  const changes: TimerChange[] = [];
  for (const cancel of body.timers?.cancel ?? []) {
    const { timerId, kind } = cancel;
    const dueAt = (cancel as Partial<TimerSchedule>).dueAt;
    changes.push({ op: 'drop', sessionKey, timerId, kind, ...(typeof dueAt === 'number' ? { dueAt } : {}) });
  }
  for (const { timerId, kind, dueAt } of body.timers?.schedule ?? []) {
    changes.push({ op: 'arm', entry: { v: 1, sessionKey, timerId, kind, dueAt } });
  }
  return changes;
}

/**
 * The id of the control event that fires a timer: the same for every firing of that timer, by any
 * scheduler replica at any time, so the keyed stream's dedupe and the key's recent input ids drop a
 * second firing. The key's hash is part of it because timer ids are unique per key, not across keys.
 */
export function firingId(sessionKey: string, timerId: string): string {
  return `timer:${keyHash(sessionKey)}:${timerId}`;
}

/**
 * Nets a batch of changes: per (key, kind, due minute), the last change wins, and a timer armed and
 * dropped within the batch (never written) disappears. Returns the changes to apply, in order.
 */
export class ChangeBatch {
  readonly #slots = new Map<string, { change: TimerChange; fresh: boolean }>();

  get size(): number {
    return this.#slots.size;
  }

  add(change: TimerChange): void {
    if (change.op === 'drop' && change.dueAt === undefined) return; // cannot be located; firing it is harmless
    const dueAt = change.op === 'arm' ? change.entry.dueAt : (change.dueAt as number);
    const sessionKey = change.op === 'arm' ? change.entry.sessionKey : change.sessionKey;
    const kind = change.op === 'arm' ? change.entry.kind : change.kind;
    const slot = `${minuteOf(dueAt)}\u0000${sessionKey}\u0000${kind}`;
    const before = this.#slots.get(slot);
    if (change.op === 'drop' && before?.fresh && before.change.op === 'arm') {
      this.#slots.delete(slot); // armed in this batch, never written: nothing to undo
      return;
    }
    this.#slots.set(slot, { change, fresh: before ? before.fresh : change.op === 'arm' });
  }

  /** Removes every change of `sessionKeys` (erased keys, ADR 0016); returns how many there were. */
  dropKeys(sessionKeys: ReadonlySet<string>): number {
    let dropped = 0;
    for (const [slot, { change }] of this.#slots) {
      const key = change.op === 'arm' ? change.entry.sessionKey : change.sessionKey;
      if (sessionKeys.has(key)) {
        this.#slots.delete(slot);
        dropped += 1;
      }
    }
    return dropped;
  }

  /** Takes the netted changes and empties the batch. */
  take(): TimerChange[] {
    const changes = [...this.#slots.values()].map((s) => s.change);
    this.#slots.clear();
    return changes;
  }
}
