/**
 * The session actors of one worker: a bounded cache of {@link KeyState}s in front of the session log and
 * the snapshot store, and the one path by which an input becomes a record.
 *
 * Per input: load the key (cache, else snapshot + the records after it, else all records), decide, and
 * append one record fenced on the key's head. A writer that lost a race (ConcurrencyError) drops its copy,
 * reloads and decides again — the other writer's record is now part of the state, and if it already holds
 * this very input the input is recognised as applied. So two workers that both believe they own a key
 * never fork its history.
 *
 * Memory stays bounded: at most `maxResident` keys are held; the least recently used is passivated
 * (its state written to the snapshot store, then dropped), and so is a key the moment its session goes
 * quiet (`idle`) or ends (`expired`).
 */
import { ConcurrencyError, type RecordTrace, type SessionLog } from '@threadline/event-log';
import type { SessionSnapshot } from '@threadline/session-core';
import type { RecordedDelivery } from './deliveries.js';
import type { WorkItem } from './inputs.js';
import {
  type Divergence,
  decideInput,
  emptyKeyState,
  foldRecord,
  type KeyState,
  type Verdict,
} from './keyState.js';
import { type RecordSource, TRANSITION_RECORD_SCHEMA_VERSION, type TransitionRecordV1 } from './records.js';
import type { SnapshotStore } from './snapshotStore.js';

export interface SessionActorsOptions {
  log: SessionLog;
  snapshots: SnapshotStore;
  /** The most keys held in memory at once. */
  maxResident: number;
  /** How often a lost race is retried before the error is handed to the caller. Default 8. */
  maxConflictRetries?: number;
  onDivergence?: (sessionKey: string, divergence: Divergence) => void;
  /** Test hook: runs after a record is appended and before anything else (e.g. a crash injection). */
  afterAppend?: (sessionKey: string, seq: number) => void;
  /**
   * What a transition sends to the chat, computed before it is stored so that the record holds it (see
   * deliveries.ts). `after` is the snapshot the transition produced. Absent: records carry no deliveries.
   */
  deliveries?: (
    sessionKey: string,
    body: TransitionRecordV1,
    after: SessionSnapshot,
  ) => Promise<RecordedDelivery[]>;
}

export type ApplyOutcome = Exclude<Verdict['kind'], 'record'> | 'recorded';

export interface ApplyResult {
  outcome: ApplyOutcome;
  /** The key's state after the input (for `recorded`, including the new record's head). */
  state: KeyState;
  /** The stored record, for `recorded`. */
  record?: { seq: number; hash: string; body: TransitionRecordV1 };
  /** Lost races retried for this input. */
  conflicts: number;
}

export interface SessionActorsMetrics {
  recorded: number;
  replayed: number;
  duplicates: number;
  noOps: number;
  conflicts: number;
  loads: number;
  recordsFolded: number;
  passivations: number;
  divergences: number;
  /** Snapshot writes that failed (the key is then rehydrated from an older snapshot plus the log). */
  snapshotFailures: number;
  /** The most keys ever resident at once. */
  maxResidentSeen: number;
  /** Replies held back by the send policy, and shared-DM privacy warnings, in the records written. */
  deliveriesBlocked: number;
  privacyWarnings: number;
}

export class SessionActors {
  readonly #resident = new Map<string, KeyState>();
  /** Keys evicted whose snapshot write has not landed yet. */
  readonly #passivating = new Map<string, { state: KeyState; dirty: boolean; write?: Promise<void> }>();
  /** Keys whose resident state differs from the stored snapshot. */
  readonly #dirty = new Set<string>();
  readonly #options: SessionActorsOptions;
  readonly metrics: SessionActorsMetrics = {
    recorded: 0,
    replayed: 0,
    duplicates: 0,
    noOps: 0,
    conflicts: 0,
    loads: 0,
    recordsFolded: 0,
    passivations: 0,
    divergences: 0,
    snapshotFailures: 0,
    maxResidentSeen: 0,
    deliveriesBlocked: 0,
    privacyWarnings: 0,
  };

  constructor(options: SessionActorsOptions) {
    if (!Number.isInteger(options.maxResident) || options.maxResident < 1)
      throw new RangeError(`maxResident must be a positive integer, got ${options.maxResident}`);
    this.#options = options;
  }

  get residentCount(): number {
    return this.#resident.size;
  }

  isResident(sessionKey: string): boolean {
    return this.#resident.has(sessionKey);
  }

  /**
   * Applies one input to `sessionKey`. `build` makes the work item from the key's current snapshot (an
   * operator reset keeps the session's rules); it is called again after a lost race. `source` is the
   * keyed-stream position the input was read at (null for inputs from elsewhere). `trace`, when given, is
   * stored with the record as headers, outside its hash (the W3C trace context it was written in).
   */
  async apply(
    sessionKey: string,
    source: RecordSource | null,
    build: (snapshot: SessionSnapshot) => WorkItem,
    trace?: RecordTrace,
  ): Promise<ApplyResult> {
    const retries = this.#options.maxConflictRetries ?? 8;
    let conflicts = 0;
    for (;;) {
      // After a lost race, read the key from its log alone: a snapshot can be ahead of the log when the
      // key was erased (`threadline forget`, ADR 0016) and then passivated by a worker that missed it.
      const state = await this.load(sessionKey, conflicts > 0);
      const item = build(state.snapshot);
      const verdict = decideInput(state, item, source);
      if (verdict.kind !== 'record') {
        this.#count(verdict.kind);
        return { outcome: verdict.kind, state, conflicts };
      }
      const deliveries = await this.#options.deliveries?.(sessionKey, verdict.body, verdict.next.snapshot);
      if (deliveries !== undefined && deliveries.length > 0) verdict.body.deliveries = deliveries;
      try {
        const appended = await this.#options.log.append({
          sessionKey,
          expectedLastSeq: state.head.seq,
          id: item.inputId,
          body: verdict.body,
          at: item.input.at,
          correlationId: item.correlationId,
          causationId: item.causationId,
          prevHash: state.head.hash,
          schemaVersion: TRANSITION_RECORD_SCHEMA_VERSION,
          ...(trace === undefined ? {} : { trace }),
        });
        if (appended.duplicate) {
          // The log already holds this input (another writer, or our own earlier attempt): our copy of
          // the key is stale. Reload so the next input decides on what the log says.
          this.#forget(sessionKey);
          this.metrics.duplicates += 1;
          return { outcome: 'duplicate', state: await this.load(sessionKey), conflicts };
        }
        this.#options.afterAppend?.(sessionKey, appended.seq);
        const next: KeyState = { ...verdict.next, head: { seq: appended.seq, hash: appended.hash } };
        this.metrics.recorded += 1;
        for (const fact of verdict.body.facts) {
          if (fact.type === 'DeliveryBlocked') this.metrics.deliveriesBlocked += 1;
          else if (fact.type === 'PrivacyWarning') this.metrics.privacyWarnings += 1;
        }
        await this.#keep(next);
        return {
          outcome: 'recorded',
          state: next,
          record: { seq: appended.seq, hash: appended.hash, body: verdict.body },
          conflicts,
        };
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || conflicts >= retries) throw error;
        conflicts += 1;
        this.metrics.conflicts += 1;
        this.#forget(sessionKey);
      }
    }
  }

  /**
   * The key's current state: resident, else rehydrated (snapshot + later records), else replayed;
   * `fromLog`: never from the snapshot.
   */
  async load(sessionKey: string, fromLog = false): Promise<KeyState> {
    const resident = this.#resident.get(sessionKey);
    if (resident) {
      // Most recently used last.
      this.#resident.delete(sessionKey);
      this.#resident.set(sessionKey, resident);
      return resident;
    }
    // Being written to the snapshot store right now: the state in hand is the newest there is.
    const leaving = this.#passivating.get(sessionKey);
    if (leaving) {
      await this.#keep(leaving.state, leaving.dirty);
      return leaving.state;
    }
    this.metrics.loads += 1;
    const stored = fromLog ? undefined : await this.#options.snapshots.get(sessionKey);
    let state = stored ?? emptyKeyState(sessionKey);
    let folded = 0;
    for await (const record of this.#options.log.read<TransitionRecordV1>(sessionKey, {
      afterSeq: state.head.seq,
    })) {
      state = foldRecord(state, record, (divergence) => {
        this.metrics.divergences += 1;
        this.#options.onDivergence?.(sessionKey, divergence);
      });
      folded += 1;
    }
    this.metrics.recordsFolded += folded;
    if (state.head.seq === 0) return state; // a key with no history is not worth holding
    await this.#keep(state, folded > 0);
    return state;
  }

  /**
   * The record that holds the input read at `source` (an input recognised as `replayed`), so that its
   * effects — deliveries, a compaction to run — can be carried out again after a crash. Reads the key's
   * log from the start; replays are rare (only the inputs after a checkpoint, after a crash or takeover).
   */
  async findRecord(
    sessionKey: string,
    source: RecordSource,
  ): Promise<{ seq: number; body: TransitionRecordV1 } | undefined> {
    for await (const record of this.#options.log.read<TransitionRecordV1>(sessionKey)) {
      const from = record.body.source;
      if (from !== null && from.stream === source.stream && from.seq === source.seq)
        return { seq: record.seq, body: record.body };
    }
    return undefined;
  }

  /**
   * Drops erased keys from memory without writing their snapshots (`threadline forget`, ADR 0016), after
   * any snapshot write of them already in flight has settled — so the caller can erase once more and be
   * sure nothing of these keys is written back by this worker. Returns how many of them were held.
   */
  async drop(sessionKeys: readonly string[]): Promise<number> {
    let held = 0;
    const writes: Promise<void>[] = [];
    for (const key of sessionKeys) {
      const leaving = this.#passivating.get(key);
      if (this.#resident.has(key) || leaving) held += 1;
      if (leaving?.write) writes.push(leaving.write);
      this.#forget(key);
    }
    await Promise.all(writes);
    return held;
  }

  /** Writes every resident key's state to the snapshot store and empties the cache (graceful stop, hand-over). */
  async passivateAll(): Promise<void> {
    await Promise.all([...this.#resident.keys()].map((key) => this.#evict(key)));
  }

  /** Passivates the resident keys `predicate` selects (a partition was released). */
  async passivateWhere(predicate: (sessionKey: string) => boolean): Promise<void> {
    await Promise.all([...this.#resident.keys()].filter(predicate).map((key) => this.#evict(key)));
  }

  /**
   * Makes `state` the key's resident state. The cache never holds more than `maxResident` keys, not even
   * for a moment while several partitions insert at once: room is made (synchronously) before a new key
   * goes in, and the snapshot writes of what was evicted are awaited afterwards.
   */
  async #keep(state: KeyState, dirty = true): Promise<void> {
    const key = state.sessionKey;
    const writes: Promise<void>[] = [];
    if (this.#resident.has(key)) this.#resident.delete(key);
    else {
      while (this.#resident.size >= this.#options.maxResident) {
        writes.push(this.#evict(this.#resident.keys().next().value as string));
      }
    }
    this.#resident.set(key, state);
    if (dirty) this.#dirty.add(key);
    this.metrics.maxResidentSeen = Math.max(this.metrics.maxResidentSeen, this.#resident.size);
    // Only an active (or compacting) session stays resident; a quiet or ended one waits in the store.
    if (state.snapshot.state === 'idle' || state.snapshot.state === 'expired') writes.push(this.#evict(key));
    await Promise.all(writes);
  }

  /**
   * Drops the key from memory now and writes its state to the snapshot store if it changed since it was
   * loaded. Until the write lands the state stays reachable (a load meanwhile takes it back). A failed
   * write is counted, not thrown: the snapshot is a shortcut, and the log still holds everything.
   */
  #evict(sessionKey: string): Promise<void> {
    const state = this.#resident.get(sessionKey);
    if (!state) return Promise.resolve();
    this.#resident.delete(sessionKey);
    this.metrics.passivations += 1;
    if (!this.#dirty.delete(sessionKey)) return Promise.resolve();
    const entry: { state: KeyState; dirty: boolean; write?: Promise<void> } = { state, dirty: true };
    this.#passivating.set(sessionKey, entry);
    entry.write = this.#options.snapshots.put(state).then(
      () => {
        if (this.#passivating.get(sessionKey) === entry) this.#passivating.delete(sessionKey);
      },
      () => {
        this.metrics.snapshotFailures += 1;
        if (this.#passivating.get(sessionKey) === entry) this.#passivating.delete(sessionKey);
      },
    );
    return entry.write;
  }

  #forget(sessionKey: string): void {
    this.#resident.delete(sessionKey);
    this.#dirty.delete(sessionKey);
    this.#passivating.delete(sessionKey);
  }

  #count(kind: Exclude<Verdict['kind'], 'record'>): void {
    if (kind === 'replayed') this.metrics.replayed += 1;
    else if (kind === 'duplicate') this.metrics.duplicates += 1;
    else this.metrics.noOps += 1;
  }
}
