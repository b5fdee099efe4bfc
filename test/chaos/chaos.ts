/**
 * The chaos run: a Threadline cluster as real processes (3 NATS nodes, workers, the projector, 2
 * schedulers; streams at 3 replicas) under steady load from several producers, while a fault injector
 * kills one process at a time with SIGKILL — a worker, a scheduler, the projector, a NATS node, round and
 * round — and brings it back. The shared test clock runs fast, so idle timers and a daily boundary fall
 * due during the run. At the end the invariant checker reads the streams (invariants.ts) and the run
 * reports its figures. `short` is what CI runs; `soak` runs for as long as it is asked to.
 */

import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { driveSharedClock } from '@threadline/clock';
import { BucketNames } from '@threadline/protocol';
import {
  type ClusterFigures,
  checkCluster,
  checkHistories,
  readAllRecords,
  type Violation,
} from './invariants.js';
import { type LoadFigures, startLoad } from './load.js';

export type FaultKind = 'worker' | 'scheduler' | 'projector' | 'nats';

/** One process the injector can kill and bring back. */
export interface ChaosProcess {
  readonly kind: Exclude<FaultKind, 'nats'> | 'ops';
  readonly name: string;
  /** Its id among its service's instances (what its leases name). */
  readonly instanceId: string;
  /** False once its process has exited, killed or not. */
  readonly running: boolean;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again (same name and settings); resolves once it says it started. */
  start(): Promise<void>;
}

/** What the run needs of the cluster it runs against. */
export interface ChaosCluster {
  /** Client URLs of every NATS node. */
  readonly urls: string[];
  /** The NATS user the load's producers publish as (the publisher role, on a server with identities). */
  readonly publisher?: { readonly user: string; readonly pass: string };
  readonly processes: readonly ChaosProcess[];
  readonly natsNodes: number;
  /** SIGKILLs NATS node `index`. */
  killNode(index: number): Promise<void>;
  /** Starts node `index` again and waits until the cluster is whole. */
  restartNode(index: number): Promise<void>;
}

export interface ChaosOptions {
  readonly mode: 'short' | 'soak';
  /** How long the load and the faults run. */
  readonly durationMs: number;
  /** Pause between one fault's recovery and the next fault. */
  readonly faultGapMs: number;
  /**
   * How long a killed process (or node) stays down, by kind. A scheduler must stay down longer than its
   * lease, or it comes back before its standby may take over and leads again itself.
   */
  readonly downMs: Readonly<Record<FaultKind, number>>;
  readonly producers: number;
  readonly ratePerProducer: number;
  readonly peers: number;
  /** Shared-clock time that passes per real second. */
  readonly clockSpeed: number;
  /** The shared clock's start (the services must be started following it). */
  readonly clockStart: number;
  readonly seed: number;
  readonly log?: (line: string) => void;
}

export interface FaultRecord {
  kind: FaultKind;
  target: string;
  /** Seconds since the run started. */
  at: number;
  /** Until the target was back (its start resolved; for a node, the cluster whole again), ms. */
  recoveredMs: number;
  /** For a leader killed: who took the lead, and how long after the kill. */
  takeover?: string;
}

export interface ChaosReport {
  mode: ChaosOptions['mode'];
  seed: number;
  durationMs: number;
  load: LoadFigures;
  faults: FaultRecord[];
  faultsByKind: Record<FaultKind, number>;
  /** From the end of the load until every acknowledged message and due timer was in the histories, ms. */
  settledMs: number;
  histories: ClusterFigures;
  clock: { start: string; end: string };
  violations: Violation[];
}

/** The instance id holding a leadership lease (`p0` of `bucket`), if any. */
async function leaderOf(nc: NatsConnection, bucket: string): Promise<string | undefined> {
  try {
    const entry = await (await new Kvm(nc).open(bucket)).get('p0');
    return entry?.operation === 'PUT' ? (entry.json() as { workerId: string }).workerId : undefined;
  } catch {
    return undefined; // a node down mid-read: kill whichever is next instead
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every 100 ms until it returns a value, or `timeoutMs` passes (undefined). */
async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  return undefined;
}

/** The order faults come in: every kind once per round, workers twice (they own the sessions). */
const ROUND: readonly FaultKind[] = ['worker', 'scheduler', 'nats', 'projector', 'worker'];

export async function runChaos(
  nc: NatsConnection,
  cluster: ChaosCluster,
  options: ChaosOptions,
): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const since = () => Math.round((Date.now() - started) / 100) / 10;

  // The shared clock: bucket at 3 replicas (created here, before any service needs it), moved forward on
  // a real-time beat. A put that fails while a node is down is simply tried on the next beat.
  const clock = await driveSharedClock(nc, { start: options.clockStart, replicas: 3 });
  let clockRunning = true;
  const clockLoop = (async () => {
    let last = Date.now();
    while (clockRunning) {
      await sleep(500);
      const now = Date.now();
      await clock.advance((now - last) * options.clockSpeed).then(
        () => {
          last = now;
        },
        () => {},
      );
    }
  })();

  const load = await startLoad({
    servers: cluster.urls,
    ...(cluster.publisher ? { credentials: cluster.publisher } : {}),
    producers: options.producers,
    peers: options.peers,
    ratePerProducer: options.ratePerProducer,
    seed: options.seed,
  });
  log(`load: ${options.producers} producers at ${options.ratePerProducer}/s over ${options.peers} peers`);

  const faults: FaultRecord[] = [];
  /**
   * What the run itself sees go wrong: processes that exited although nobody killed them (a crash is a
   * violation even if nothing was lost), and a killed leader whose standby did not take over.
   */
  const crashes: Violation[] = [];
  const expectAllRunning = () => {
    for (const p of cluster.processes)
      if (!p.running && !crashes.some((c) => c.detail.startsWith(`${p.name} `)))
        crashes.push({ kind: 'process-exited', detail: `${p.name} exited on its own by ${since()} s` });
  };
  const next: Record<FaultKind, number> = { worker: 0, scheduler: 0, projector: 0, nats: 0 };
  const deadline = started + options.durationMs;
  try {
    await sleep(Math.min(options.faultGapMs, 5_000));
    for (let i = 0; Date.now() < deadline; i++) {
      expectAllRunning();
      const kind = ROUND[i % ROUND.length] as FaultKind;
      const at = since();
      const begun = Date.now();
      let target: string;
      let takeover: string | undefined;
      if (kind === 'nats') {
        const index = next.nats++ % cluster.natsNodes;
        target = `nats-n${index + 1}`;
        log(`${at}s  kill -9 ${target}`);
        await cluster.killNode(index);
        await sleep(options.downMs.nats);
        await cluster.restartNode(index);
      } else {
        const candidates = cluster.processes.filter((p) => p.kind === kind);
        // The scheduler that leads, so that the kill makes a standby take over; workers and projectors in turn.
        const leader = kind === 'scheduler' ? await leaderOf(nc, BucketNames.schedulerLease) : undefined;
        const victim = (candidates.find((p) => p.instanceId === leader) ??
          candidates[next[kind]++ % candidates.length]) as ChaosProcess;
        target = victim.name;
        if (victim.instanceId === leader) target += ' (leader)';
        log(`${at}s  kill -9 ${target}`);
        await victim.kill();
        if (victim.instanceId === leader) {
          // The standby takes the lead while the leader is down.
          const taken = await waitFor(async () => {
            const now = await leaderOf(nc, BucketNames.schedulerLease);
            return now !== undefined && now !== leader ? now : undefined;
          }, options.downMs[kind]);
          const by = cluster.processes.find((p) => p.instanceId === taken)?.name;
          takeover = by
            ? `${by} led after ${Date.now() - begun} ms`
            : 'no standby took the lead while it was down';
          if (!by) crashes.push({ kind: 'no-failover', detail: `${target} killed at ${at} s: ${takeover}` });
        }
        await sleep(Math.max(0, begun + options.downMs[kind] - Date.now()));
        await victim.start();
      }
      const recoveredMs = Date.now() - begun - options.downMs[kind];
      faults.push({ kind, target, at, recoveredMs, ...(takeover ? { takeover } : {}) });
      log(
        `${since()}s  ${target} back (${recoveredMs} ms after restart began)${takeover ? `; ${takeover}` : ''}`,
      );
      await sleep(options.faultGapMs);
    }
    expectAllRunning();
  } finally {
    await load.stop();
  }
  const loadFigures = load.figures();
  log(`load stopped: ${JSON.stringify(loadFigures)}`);

  // Let the system catch up: every acknowledged message in a history, every timer due by now fired.
  clockRunning = false;
  await clockLoop;
  const dueBy = await clock.now();
  const settleStarted = Date.now();
  const settleDeadline = settleStarted + 120_000;
  for (;;) {
    const pending = checkHistories({
      records: await readAllRecords(nc),
      acked: load.acked,
      sent: load.sent,
      dueBy,
    }).violations.filter((v) => v.kind === 'acked-message-missing' || v.kind === 'due-timer-not-fired');
    if (pending.length === 0 || Date.now() > settleDeadline) break;
    await sleep(1_000);
  }
  const settledMs = Date.now() - settleStarted;
  log(`settled in ${settledMs} ms; checking the invariants`);

  expectAllRunning();
  const checked = await checkCluster(nc, { acked: load.acked, sent: load.sent, dueBy });
  const violations = [...crashes, ...checked.violations];
  const figures = checked.figures;
  const faultsByKind: Record<FaultKind, number> = { worker: 0, scheduler: 0, projector: 0, nats: 0 };
  for (const fault of faults) faultsByKind[fault.kind] += 1;
  return {
    mode: options.mode,
    seed: options.seed,
    durationMs: options.durationMs,
    load: loadFigures,
    faults,
    faultsByKind,
    settledMs,
    histories: figures,
    clock: { start: new Date(options.clockStart).toISOString(), end: new Date(dueBy).toISOString() },
    violations,
  };
}

/** The report as an operator reads it. */
export function formatReport(report: ChaosReport): string {
  const h = report.histories;
  const l = report.load;
  const kinds = (Object.entries(report.faultsByKind) as [FaultKind, number][])
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  const recovery = (kind: FaultKind) => {
    const times = report.faults.filter((f) => f.kind === kind).map((f) => f.recoveredMs);
    return times.length ? `${kind} ${Math.max(...times)} ms` : `${kind} -`;
  };
  return [
    `chaos ${report.mode} run: ${report.durationMs / 1000} s of load and faults, seed ${report.seed}`,
    `  messages    sent ${l.sent}, acknowledged ${l.acked}, abandoned ${l.abandoned}, failed publish attempts ${l.failedAttempts} (retried), longest to ack ${l.longestAckMs} ms`,
    `  faults      ${report.faults.length} kill -9: ${kinds}`,
    `  recovery    slowest back per kind: ${(['worker', 'scheduler', 'projector', 'nats'] as const).map(recovery).join(', ')}`,
    `  histories   ${h.keys} keys, ${h.records} records, ${h.chatRecords} chat messages; timers armed ${h.timersArmed}, due ${h.timersDue}, fired ${h.timersFired}`,
    `  clock       ${report.clock.start} → ${report.clock.end} (shared test clock)`,
    `  projection  ${h.projectionKeys} keys compared with a rebuild; dead letters ${h.deadLetters}`,
    `  settled     ${report.settledMs} ms after the load stopped`,
    `  violations  ${report.violations.length}`,
    ...report.violations.slice(0, 50).map((v) => `    ${v.kind}: ${v.detail}`),
    ...report.faults.map(
      (f) =>
        `  fault  ${String(f.at).padStart(6)} s  kill -9 ${f.target} (back after ${f.recoveredMs} ms${f.takeover ? `; ${f.takeover}` : ''})`,
    ),
  ].join('\n');
}
