/**
 * The scheduler service's runtime: one leader among any number of replicas (a lease, as partitions are
 * leased to workers) does three things while it leads.
 *
 * 1. **Index.** A checkpointed reader of the session stream folds each record's timer changes into the
 *    timer bucket (see timerIndex.ts), netted per batch and written before each checkpoint.
 * 2. **Fire.** A loop walks the due minutes in order. Entering a minute it lists that minute's entries
 *    (skipping empty days and hours with one probe each) and publishes `timer.fired` to each key's
 *    control subject once its due time has come, at most `fireWindow` publishes in flight — so a million
 *    sessions stale at one daily boundary expire in bounded batches, not one burst. When a minute is over
 *    and all its timers fired, it is purged and `firedThrough` (a checkpoint) moves past it.
 * 3. **Tick.** At every daily boundary the configuration implies it publishes a tick (`tl.tick.v1.…`).
 *
 * Exactly once in the session histories, at least once on the wire: a timer's control event has one id
 * whoever fires it and whenever (`firingId`), so the keyed stream's dedupe and the key's recent input ids
 * drop a repeat, and the session machine ignores a timer that is no longer current. After downtime the
 * leader starts from `firedThrough`: every overdue minute is listed and fired, every overdue tick
 * published. A timer armed for a minute already passed is filed under the first minute not yet fired, so
 * no timer can land behind the walk.
 */
import { hostname } from 'node:os';
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type MsgRequest,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Clock } from '@threadline/clock';
import {
  type CheckpointedReader,
  type CheckpointStore,
  CorruptRecordError,
  decodeStoredRecord,
  ensureThreadlineStreams,
  inWindows,
  KvCheckpointStore,
  listenForgotten,
  type SessionRecord,
  startCheckpointedReader,
} from '@threadline/event-log';
import { startLeadership } from '@threadline/partitions';
import { BucketNames, type ControlEventV1, StreamNames, Subjects } from '@threadline/protocol';
import { dailyBoundaryAfter, type ThreadlineConfig } from '@threadline/session-core';
import type { TransitionRecordV1 } from '@threadline/session-worker';
import { type TickV1, tickSchedule, ticksBetween } from './ticks.js';
import {
  ChangeBatch,
  dayPrefix,
  entryName,
  firingId,
  hourPrefix,
  MINUTE_MS,
  minuteOf,
  minutePrefix,
  nextDay,
  nextHour,
  type TimerChange,
  type TimerEntry,
  timerChangesOf,
} from './timerIndex.js';

export const TIMER_BUCKET = BucketNames.timers;
/** Checkpoint names in the checkpoint bucket. */
export const SchedulerCheckpoints = {
  index: 'scheduler.index',
  /** The last minute whose timers have all fired (a minute number, not a sequence). */
  firedThrough: 'scheduler.fired-through',
  tick: (atHour: number) => `scheduler.tick.${atHour}`,
} as const;

export interface SchedulerOptions {
  nc: NatsConnection;
  clock: Clock;
  config: ThreadlineConfig;
  /** The host's IANA zone, for ticks when the configuration names none (the worker records the same). */
  hostTimeZone: string;
  /** Unique among running replicas. Default host name and pid. */
  schedulerId?: string;
  /** The keyed stream's partition count, as the workers have it (streams are created or verified). Default 16. */
  partitions?: number;
  /** Replicas of the buckets the scheduler creates. Default 1. */
  replicas?: number;
  checkpoints?: CheckpointStore;
  /** Control events in flight at once while firing. Default 256. */
  fireWindow?: number;
  /** Leader lease timing (tests shorten it). Defaults as partition leases: 10 s TTL. */
  leaseTtlMs?: number;
  heartbeatMs?: number;
  onEvent?: (event: SchedulerEvent) => void;
  onError?: (error: unknown, where: string) => void;
}

export type SchedulerEvent =
  | { type: 'leading' }
  | { type: 'standing-by'; why: string }
  | { type: 'tick'; tick: TickV1 }
  | { type: 'minute-fired'; minute: number; timers: number };

export interface SchedulerStatus {
  schedulerId: string;
  leader: boolean;
  /** Session-stream sequence the index has read up to, and records not read yet. */
  indexedSeq: number;
  indexPending: number;
  /** Timers armed and dropped in the index, and fired, since this replica started. */
  armed: number;
  dropped: number;
  fired: number;
  /** Timers due (listed, due time passed) and not yet fired: the backlog of a daily boundary's expiries. */
  dueBacklog: number;
  /** Timers held in memory for the minutes being fired. */
  held: number;
  /** Every minute up to this one has fired (a minute number; its start is `firedThrough * 60000`). */
  firedThrough: number;
  ticks: { timeZone: string; atHour: number; lastAt: number }[];
}

export interface Scheduler {
  status(): SchedulerStatus;
  stop(): Promise<void>;
}

const emptyCounts = () => ({ armed: 0, dropped: 0, fired: 0, dueBacklog: 0 });

export async function startScheduler(options: SchedulerOptions): Promise<Scheduler> {
  const { nc } = options;
  const schedulerId = options.schedulerId ?? `${hostname()}-${process.pid}`;
  const replicas = options.replicas ?? 1;
  // The streams it reads and writes, created or verified exactly as the worker does (limits included).
  await ensureThreadlineStreams(nc, {
    replicas,
    ...(options.partitions === undefined ? {} : { partitions: options.partitions }),
    retention: options.config.retention,
  });
  const timers = await new Kvm(nc).create(TIMER_BUCKET, { history: 1, storage: 'file', replicas });
  const checkpoints = options.checkpoints ?? (await KvCheckpointStore.open(nc, { replicas }));
  const jsm = await jetstreamManager(nc);
  const counts = emptyCounts();
  const leadership = await startLeadership({
    nc,
    replicaId: schedulerId,
    registryBucket: BucketNames.schedulers,
    leaseBucket: BucketNames.schedulerLease,
    replicas,
    clock: options.clock,
    ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
    ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    lead: () => Leader.start({ ...options, schedulerId, timers, checkpoints, jsm, counts }),
    onChange: (change) =>
      options.onEvent?.(change.leading ? { type: 'leading' } : { type: 'standing-by', why: change.why }),
    onError: (error) => options.onError?.(error, 'leadership'),
  });

  // `threadline forget` (ADR 0016): the leader drops erased keys' held timers and unwritten index changes.
  const forgotten = listenForgotten(
    nc,
    `scheduler:${schedulerId}`,
    (keys) => leadership.current()?.forget(new Set(keys)) ?? Promise.resolve(0),
  );

  return {
    status: () => {
      const leading = leadership.current();
      return {
        schedulerId,
        leader: leading !== undefined,
        indexedSeq: leading?.indexedSeq ?? 0,
        indexPending: leading?.indexPending ?? 0,
        ...counts,
        held: leading?.held ?? 0,
        firedThrough: leading?.firedThrough ?? 0,
        ticks: leading?.tickStatus() ?? [],
      };
    },
    stop: async () => {
      await leadership.stop();
      await forgotten.stop();
    },
  };
}

interface LeaderOptions extends SchedulerOptions {
  schedulerId: string;
  timers: KV;
  checkpoints: CheckpointStore;
  jsm: JetStreamManager;
  counts: ReturnType<typeof emptyCounts>;
}

/** A timer held in memory for a minute being fired, with the entry name it is stored under. */
interface Held {
  entry: TimerEntry;
  name: string;
}

/** What one leadership term runs; stopped when the lease is lost or given up. */
class Leader {
  readonly #o: LeaderOptions;
  readonly #js: JetStreamClient;
  readonly #kvStream: string;
  readonly #kvSubjectPrefix: string;
  readonly #batch = new ChangeBatch();
  /** Timers of loaded minutes not yet fired, by firing id (timer ids are unique per key only). */
  readonly #held = new Map<string, Held>();
  #firedThrough: number;
  #loadedThrough: number;
  #lastTicks: Map<number, number>;
  #reader: CheckpointedReader | undefined;
  #stopped = false;
  #wake = new AbortController();
  #loop: Promise<void> = Promise.resolve();
  /** Serialises index flushes with the walk's purge-and-advance, so no timer is filed behind the walk. */
  #lock: Promise<void> = Promise.resolve();
  readonly #schedule: { timeZone: string; atHours: number[] };

  private constructor(o: LeaderOptions, firedThrough: number, lastTicks: Map<number, number>) {
    this.#o = o;
    this.#js = jetstream(o.nc);
    this.#kvStream = `KV_${TIMER_BUCKET}`;
    this.#kvSubjectPrefix = `$KV.${TIMER_BUCKET}.`;
    this.#firedThrough = firedThrough;
    this.#loadedThrough = firedThrough;
    this.#lastTicks = lastTicks;
    this.#schedule = tickSchedule(o.config, o.hostTimeZone);
  }

  static async start(o: LeaderOptions): Promise<Leader> {
    const now = o.clock.now();
    // First start ever: nothing has fired, and nothing before this minute needs walking (a timer armed for
    // an earlier minute is filed under the first unfired one).
    let firedThrough = await o.checkpoints.get(SchedulerCheckpoints.firedThrough);
    if (firedThrough === 0) {
      firedThrough = minuteOf(now) - 1;
      await o.checkpoints.set(SchedulerCheckpoints.firedThrough, firedThrough);
    }
    const schedule = tickSchedule(o.config, o.hostTimeZone);
    const lastTicks = new Map<number, number>();
    for (const atHour of schedule.atHours) {
      let last = await o.checkpoints.get(SchedulerCheckpoints.tick(atHour));
      if (last === 0) {
        // No tick of this hour was ever published: start from now (boundaries before the scheduler
        // existed are not replayed; the sessions' own expiry timers cover them).
        last = now;
        await o.checkpoints.set(SchedulerCheckpoints.tick(atHour), last);
      }
      lastTicks.set(atHour, last);
    }
    const leader = new Leader(o, firedThrough, lastTicks);
    leader.#reader = await startCheckpointedReader({
      js: leader.#js,
      stream: StreamNames.sessions,
      checkpoints: o.checkpoints,
      checkpointKey: SchedulerCheckpoints.index,
      checkpointEvery: 500,
      handle: (message) => {
        let record: SessionRecord<TransitionRecordV1>;
        try {
          record = decodeStoredRecord<TransitionRecordV1>(message);
        } catch (error) {
          // Not a record (tampering, a foreign publish): it arms nothing. Retrying it would stop every timer.
          if (!(error instanceof CorruptRecordError)) throw error;
          o.onError?.(error, `index: unreadable record at seq ${message.seq} skipped`);
          return;
        }
        for (const change of timerChangesOf(record.sessionKey, record.body)) leader.#batch.add(change);
      },
      flush: () => leader.#flush(),
      ...(o.onError ? { onError: o.onError } : {}),
    });
    leader.#loop = leader.#run();
    return leader;
  }

  get indexedSeq(): number {
    return this.#reader?.handled ?? 0;
  }
  get indexPending(): number {
    return this.#reader?.pending ?? 0;
  }
  get held(): number {
    return this.#held.size;
  }
  get firedThrough(): number {
    return this.#firedThrough;
  }
  tickStatus() {
    return [...this.#lastTicks].map(([atHour, lastAt]) => ({
      timeZone: this.#schedule.timeZone,
      atHour,
      lastAt,
    }));
  }

  /**
   * Forgets erased keys: their held timers and their index changes not yet written. Waits for an index
   * flush in flight (it takes the lock), so nothing of these keys is written after the answer.
   */
  forget(sessionKeys: ReadonlySet<string>): Promise<number> {
    return this.#locked(async () => {
      let held = this.#batch.dropKeys(sessionKeys);
      for (const [id, { entry }] of this.#held) {
        if (sessionKeys.has(entry.sessionKey)) {
          this.#held.delete(id);
          held += 1;
        }
      }
      return held;
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake.abort();
    await this.#reader?.stop().catch((error) => this.#o.onError?.(error, 'index stop'));
    await this.#loop;
  }

  #locked<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(work);
    this.#lock = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  // ───────────── index ─────────────

  #flush(): Promise<void> {
    return this.#locked(async () => {
      const changes = this.#batch.take();
      try {
        await inWindows(
          changes.map((change) => () => this.#apply(change)),
          64,
        );
      } catch (error) {
        // Re-queue what this flush took; the reader retries the flush before its next checkpoint.
        for (const change of changes) this.#batch.add(change);
        throw error;
      }
    });
  }

  async #apply(change: TimerChange): Promise<void> {
    const { counts } = this.#o;
    if (change.op === 'arm') {
      const { entry } = change;
      // Never behind the walk: a minute already fired is never listed again.
      const minute = Math.max(minuteOf(entry.dueAt), this.#firedThrough + 1);
      const name = entryName(minute, entry.sessionKey, entry.kind);
      await this.#o.timers.put(name, JSON.stringify(entry));
      counts.armed += 1;
      // The walk has already listed this minute: it learns of the timer from here.
      if (minute <= this.#loadedThrough) this.#hold({ entry, name });
      return;
    }
    const id = firingId(change.sessionKey, change.timerId);
    const held = this.#held.get(id);
    const name = held?.name ?? entryName(minuteOf(change.dueAt as number), change.sessionKey, change.kind);
    this.#held.delete(id);
    // A stream purge of the one subject leaves no delete marker behind, so an emptied minute probes empty.
    await this.#o.jsm.streams.purge(this.#kvStream, { filter: `${this.#kvSubjectPrefix}${name}` });
    counts.dropped += 1;
  }

  #hold(held: Held): void {
    this.#held.set(firingId(held.entry.sessionKey, held.entry.timerId), held);
    if (held.entry.dueAt <= this.#o.clock.now() || held.entry.dueAt < this.#sleepingUntil) this.#wake.abort();
  }

  // ───────────── walk ─────────────

  #sleepingUntil = Number.POSITIVE_INFINITY;

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        const now = this.#o.clock.now();
        const current = minuteOf(now);
        await this.#load(current, now);
        await this.#fireDue(now);
        await this.#advance(current - 1);
        await this.#tick(now);
        if (this.#stopped) return;
        await this.#sleep(this.#nextWake(current));
      } catch (error) {
        if (this.#stopped) return;
        this.#o.onError?.(error, 'timer walk');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Lists every minute up to `current` not listed yet, firing what is due and holding the rest. */
  async #load(current: number, now: number): Promise<void> {
    while (this.#loadedThrough < current && !this.#stopped) {
      const next = await this.#nextNonEmptyMinute(this.#loadedThrough + 1, current);
      if (next === undefined) {
        this.#loadedThrough = current;
        return;
      }
      // Set before listing: a timer the index files under this minute from now on is held directly.
      this.#loadedThrough = next;
      await this.#list(next, now);
    }
  }

  /** The first minute in `from … to` with any timer filed, probing whole days and hours first. */
  async #nextNonEmptyMinute(from: number, to: number): Promise<number | undefined> {
    let minute = from;
    while (minute <= to) {
      if (!(await this.#any(dayPrefix(minute)))) {
        minute = nextDay(minute);
        continue;
      }
      if (!(await this.#any(hourPrefix(minute)))) {
        minute = nextHour(minute);
        continue;
      }
      if (await this.#any(minutePrefix(minute))) return minute;
      minute += 1;
    }
    return undefined;
  }

  async #any(prefix: string): Promise<boolean> {
    // The stream leader's STREAM.MSG.GET takes `next_by_subj` with wildcards (measured on 2.10; the
    // client types only allow it for direct gets, which may read a lagging replica and miss a new timer).
    const request = { next_by_subj: `${this.#kvSubjectPrefix}${prefix}.>`, seq: 0 } as unknown as MsgRequest;
    const found = await this.#o.jsm.streams.getMessage(this.#kvStream, request);
    return found !== null && found !== undefined;
  }

  /** Reads one minute's entries: the due ones are fired at once (windowed), the others held. */
  async #list(minute: number, now: number): Promise<void> {
    const consumer = await this.#js.consumers.get(this.#kvStream, {
      filter_subjects: [`${this.#kvSubjectPrefix}${minutePrefix(minute)}.>`],
    });
    const due: Held[] = [];
    let listed = 0;
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 1024, expires: 1_000 });
      let last = -1;
      for await (const m of batch) {
        last = m.info.pending;
        const operation = m.headers?.get('KV-Operation');
        if (operation === 'DEL' || operation === 'PURGE') continue;
        const entry = m.json<TimerEntry>();
        const held = { entry, name: m.subject.slice(this.#kvSubjectPrefix.length) };
        listed += 1;
        if (entry.dueAt <= now) {
          due.push(held);
          if (due.length >= (this.#o.fireWindow ?? 256) * 4) await this.#fire(due.splice(0));
        } else this.#held.set(firingId(entry.sessionKey, entry.timerId), held);
        if (last === 0) break;
      }
      if (last <= 0) break;
    }
    await this.#fire(due);
    this.#o.onEvent?.({ type: 'minute-fired', minute, timers: listed });
  }

  async #fireDue(now: number): Promise<void> {
    const due = [...this.#held.values()].filter((h) => h.entry.dueAt <= now);
    for (const held of due) this.#held.delete(firingId(held.entry.sessionKey, held.entry.timerId));
    await this.#fire(due.sort((a, b) => a.entry.dueAt - b.entry.dueAt));
  }

  /** Publishes each timer's `timer.fired`, at most `fireWindow` in flight. */
  async #fire(due: Held[]): Promise<void> {
    if (due.length === 0) return;
    const { counts, clock } = this.#o;
    counts.dueBacklog += due.length;
    const window = this.#o.fireWindow ?? 256;
    try {
      await inWindows(
        due.map(({ entry }) => async () => {
          const id = firingId(entry.sessionKey, entry.timerId);
          const event: ControlEventV1 = {
            v: 1,
            type: 'timer.fired',
            id,
            sessionKey: entry.sessionKey,
            timerId: entry.timerId,
            at: Math.max(entry.dueAt, clock.now()),
          };
          await this.#js.publish(Subjects.control(entry.sessionKey), JSON.stringify(event), { msgID: id });
          counts.fired += 1;
          counts.dueBacklog -= 1;
        }),
        window,
      );
    } catch (error) {
      // Not all were published: hold the unpublished ones again (a repeat of a published one is dropped by id).
      for (const held of due) this.#held.set(firingId(held.entry.sessionKey, held.entry.timerId), held);
      counts.dueBacklog = 0;
      throw error;
    }
  }

  /** Moves `firedThrough` to `through` once no held timer is filed at or before it, purging those minutes. */
  async #advance(through: number): Promise<void> {
    if (through <= this.#firedThrough) return;
    await this.#locked(async () => {
      for (const held of this.#held.values()) {
        if (minuteOfName(held.name) <= through) return; // not all fired yet (a publish failed): next round
      }
      for (
        let minute = await this.#nextNonEmptyMinute(this.#firedThrough + 1, through);
        minute !== undefined;
        minute = await this.#nextNonEmptyMinute(minute + 1, through)
      ) {
        await this.#o.jsm.streams.purge(this.#kvStream, {
          filter: `${this.#kvSubjectPrefix}${minutePrefix(minute)}.>`,
        });
      }
      this.#firedThrough = through;
      await this.#o.checkpoints.set(SchedulerCheckpoints.firedThrough, through);
    });
  }

  async #tick(now: number): Promise<void> {
    const { timeZone } = this.#schedule;
    for (const [atHour, last] of this.#lastTicks) {
      for (const tick of ticksBetween(last, now, atHour, timeZone)) {
        await this.#js.publish(Subjects.tick(timeZone, atHour), JSON.stringify(tick), { msgID: tick.id });
        await this.#o.checkpoints.set(SchedulerCheckpoints.tick(atHour), tick.at);
        this.#lastTicks.set(atHour, tick.at);
        this.#o.onEvent?.({ type: 'tick', tick });
      }
    }
  }

  #nextWake(current: number): number {
    let at = (current + 1) * MINUTE_MS;
    for (const held of this.#held.values()) at = Math.min(at, held.entry.dueAt);
    const { timeZone } = this.#schedule;
    for (const [atHour, last] of this.#lastTicks)
      at = Math.min(at, dailyBoundaryAfter(last, atHour, timeZone));
    return at;
  }

  async #sleep(until: number): Promise<void> {
    if (this.#wake.signal.aborted) this.#wake = new AbortController();
    this.#sleepingUntil = until;
    try {
      await this.#o.clock.sleepUntil(until, this.#wake.signal);
    } catch {
      // Woken early: a timer was filed under a listed minute, or the leader is stopping.
    } finally {
      this.#sleepingUntil = Number.POSITIVE_INFINITY;
    }
  }
}

/** The minute an entry name is filed under (`d.<day>.<hh>.<mm>.…`). */
function minuteOfName(name: string): number {
  const [, day, hour, minute] = name.split('.');
  return Number(day) * 1440 + Number(hour) * 60 + Number(minute);
}
