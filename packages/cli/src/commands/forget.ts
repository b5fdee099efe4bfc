/**
 * `threadline forget --peer <channel:id> [--dry-run] [--include-shared] [--config <path>]`: erases a person
 * (ADR 0016). Plans first — the person's own session keys, the shared keys they wrote in, every stored
 * message and KV entry that would go — then, unless it is a dry run or shared keys stand in the way,
 * erases all of it: the keys whole (every message of their subjects, their snapshots, session-store
 * entries, transcript views and timers), and every other message that is the person's (inbound events,
 * deliveries, dead letters). Then it tells the running services to drop the keys from memory, and sweeps
 * again until a sweep finds nothing.
 *
 * All or nothing: a shared key (the `dmScope: main` session, a group) holds other people's turns too, so
 * it is erased — whole — only with `--include-shared`; without it forget erases nothing and exits 1
 * listing them.
 */

import type { NatsConnection } from '@nats-io/transport-node';
import { announceForgotten, type ForgottenAckV1 } from '@threadline/event-log';
import { forgetProjection } from '@threadline/projector';
import { BucketNames } from '@threadline/protocol';
import { forgetTimers } from '@threadline/scheduler';
import { forgetSnapshots } from '@threadline/session-worker';
import type { CliContext } from '../context.js';
import { CliError, ExitCodes, notFound, usageError } from '../errors.js';
import type { Command } from './command.js';
import {
  FORGET_STREAMS,
  type ForgetStream,
  keysOf,
  personOf,
  type Sweep,
  sweepStreams,
} from './forgetPlan.js';
import { loadConfig } from './securityAudit.js';
import { manager, readBucketIfPresent } from './shared.js';

/** Verification sweeps before forget gives up on data that keeps coming back. */
const MAX_ROUNDS = 3;

export interface ForgetBucketCountsV1 {
  snapshots: number;
  sessions: number;
  transcripts: number;
  timers: number;
}

export interface ForgetReportV1 {
  peer: string;
  /** Every identity taken as the person (`channel:id`, or a bare id on any channel), from identityLinks. */
  identities: string[];
  canonical: string | null;
  dryRun: boolean;
  includeShared: boolean;
  /** `planned` (dry run), `refused` (shared keys without --include-shared: nothing erased), `erased`. */
  outcome: 'planned' | 'refused' | 'erased';
  keys: {
    /** The person's own keys (direct sessions under any dmScope layout, linked names included). */
    personal: string[];
    /** Keys other people share that the person wrote in (the main session, groups). */
    shared: string[];
    /** What is (or would be) erased whole. */
    erased: string[];
  };
  /** Per stream: stored messages that are (planned) or were (erased) removed. */
  streams: Record<ForgetStream, number>;
  /** Per bucket: stored entries, revisions included. */
  buckets: ForgetBucketCountsV1;
  /** Services that confirmed they dropped the keys from memory, and registered workers that did not. */
  services: { acknowledged: ForgottenAckV1[]; unconfirmed: string[] };
  /** Erase-and-verify rounds run (0 for a plan). */
  rounds: number;
}

export const forgetCommand: Command = {
  path: ['forget'],
  summary: 'erase a person: their sessions, messages, snapshots, store entries and timers (--dry-run plans)',
  usage: '--peer <channel:id> [--dry-run] [--include-shared] [--config <path>]',
  options: {
    peer: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'include-shared': { type: 'boolean' },
    config: { type: 'string' },
  },
  async run(ctx, { positionals, values }) {
    if (positionals.length > 0) throw usageError(`unexpected argument: ${positionals.join(' ')}`);
    const peer = values.peer as string | undefined;
    if (peer === undefined)
      throw usageError(
        'forget needs --peer <channel:id>',
        'e.g. threadline forget --peer telegram:123456789 --dry-run',
      );
    const configPath = (values.config as string | undefined) ?? ctx.io.env.THREADLINE_CONFIG;
    const config = await loadConfig(configPath);
    const person = personOf(peer, config);
    const dryRun = values['dry-run'] === true;
    const includeShared = values['include-shared'] === true;
    const nc = await ctx.connect();
    const jsm = await manager(nc);
    const sweep = (erased: ReadonlySet<string>, erase: boolean, label: string) => {
      const progress = ctx.progress(label);
      return sweepStreams(nc, jsm, {
        person,
        config,
        erased,
        erase,
        onProgress: (done, total) => progress.update(done, total),
      }).finally(() => progress.end());
    };

    const found = keysOf(person, await sweep(new Set(), false, 'planning'));
    if (found.personal.length === 0 && found.shared.length === 0)
      throw notFound(
        `no trace of ${person.peer} (${person.identities.join(', ')}) in the streams`,
        'check the channel and id as adapters send them; identity links come from --config / THREADLINE_CONFIG',
      );
    const refused = found.shared.length > 0 && !includeShared;
    const erasedKeys = new Set([...found.personal, ...(includeShared ? found.shared : [])]);
    const report: ForgetReportV1 = {
      peer: person.peer,
      identities: [...person.identities],
      canonical: person.canonical,
      dryRun,
      includeShared,
      outcome: dryRun ? 'planned' : refused ? 'refused' : 'erased',
      keys: { ...found, erased: [...erasedKeys].sort() },
      streams: emptyStreams(),
      buckets: { snapshots: 0, sessions: 0, transcripts: 0, timers: 0 },
      services: { acknowledged: [], unconfirmed: [] },
      rounds: 0,
    };

    if (dryRun || refused) {
      const plan = await sweep(erasedKeys, false, 'counting');
      addStreams(report, plan);
      addBuckets(report.buckets, await forgetBuckets(nc, [...erasedKeys], true));
      print(ctx, report);
      return refused ? ExitCodes.Findings : ExitCodes.Ok;
    }

    const workers = [...((await readBucketIfPresent<unknown>(nc, BucketNames.workers))?.keys() ?? [])];
    for (;;) {
      report.rounds += 1;
      addStreams(report, await sweep(erasedKeys, true, `erasing (round ${report.rounds})`));
      addBuckets(report.buckets, await forgetBuckets(nc, [...erasedKeys], false));
      // The services drop the keys from memory (after their own writes of them settle) …
      report.services.acknowledged = await announceForgotten(nc, [...erasedKeys], { waitMs: 1_500 });
      // … and a sweep after their answers finds whatever was written back meanwhile.
      const check = await sweep(erasedKeys, false, 'verifying');
      const left = keysOf(person, check);
      const newShared = left.shared.filter((k) => !erasedKeys.has(k));
      if (newShared.length > 0 && !includeShared)
        throw new CliError(
          ExitCodes.Failed,
          `${person.peer} wrote in shared sessions while forget ran: ${newShared.join(', ')}; their own keys are erased`,
          'run threadline forget again (with --include-shared to erase those sessions too)',
        );
      for (const key of [...left.personal, ...left.shared]) erasedKeys.add(key);
      report.keys.erased = [...erasedKeys].sort();
      const leftover =
        FORGET_STREAMS.reduce((n, s) => n + check.streams[s].matched, 0) +
        sum(await forgetBuckets(nc, [...erasedKeys], true));
      if (leftover === 0) break;
      if (report.rounds >= MAX_ROUNDS)
        throw new CliError(
          ExitCodes.Failed,
          `${leftover} stored messages of ${person.peer} reappeared after ${report.rounds} rounds of erasure`,
          'something still writes for this person (a service that did not answer?): stop it and run forget again',
        );
    }
    const confirmed = new Set(report.services.acknowledged.map((a) => a.service));
    report.services.unconfirmed = workers.filter((id) => !confirmed.has(`worker:${id}`)).sort();
    print(ctx, report);
    if (report.services.unconfirmed.length > 0)
      throw new CliError(
        ExitCodes.Failed,
        `erased, but worker(s) ${report.services.unconfirmed.join(', ')} did not confirm dropping the keys from memory`,
        'restart them so nothing they hold is written back, then run forget again to verify',
      );
    return ExitCodes.Ok;
  },
};

async function forgetBuckets(
  nc: NatsConnection,
  keys: string[],
  dryRun: boolean,
): Promise<ForgetBucketCountsV1> {
  if (keys.length === 0) return { snapshots: 0, sessions: 0, transcripts: 0, timers: 0 };
  const projection = await forgetProjection(nc, keys, { dryRun });
  return {
    snapshots: await forgetSnapshots(nc, keys, { dryRun }),
    ...projection,
    timers: await forgetTimers(nc, keys, { dryRun }),
  };
}

const sum = (b: ForgetBucketCountsV1) => b.snapshots + b.sessions + b.transcripts + b.timers;

function emptyStreams(): Record<ForgetStream, number> {
  return Object.fromEntries(FORGET_STREAMS.map((s) => [s, 0])) as Record<ForgetStream, number>;
}

function addStreams(report: ForgetReportV1, sweep: Sweep): void {
  for (const s of FORGET_STREAMS)
    report.streams[s] +=
      report.dryRun || report.outcome === 'refused' ? sweep.streams[s].matched : sweep.streams[s].erased;
}

function addBuckets(into: ForgetBucketCountsV1, add: ForgetBucketCountsV1): void {
  into.snapshots += add.snapshots;
  into.sessions += add.sessions;
  into.transcripts += add.transcripts;
  into.timers += add.timers;
}

function print(ctx: CliContext, report: ForgetReportV1): void {
  const verb = report.outcome === 'erased' ? 'erased' : 'would erase';
  ctx.result(report, () => [
    `${report.outcome === 'erased' ? 'forgot' : report.outcome === 'refused' ? 'refused to forget' : 'plan to forget'} ${report.peer}${report.canonical ? ` (linked as ${JSON.stringify(report.canonical)}: ${report.identities.join(', ')})` : ''}`,
    `  own sessions: ${report.keys.personal.length === 0 ? 'none' : report.keys.personal.join(', ')}`,
    `  shared sessions they wrote in: ${report.keys.shared.length === 0 ? 'none' : report.keys.shared.join(', ')}`,
    ...(report.outcome === 'refused'
      ? [
          '  nothing erased: shared sessions hold other people’s turns too. Erase them whole with --include-shared,',
          '  or leave the person in them (see docs/adr/0016-forget.md)',
        ]
      : []),
    `  ${verb}: ${report.keys.erased.length} session keys`,
    ...FORGET_STREAMS.map((s) => `    ${s}: ${report.streams[s]} messages`),
    ...(['snapshots', 'sessions', 'transcripts', 'timers'] as const).map(
      (b) => `    ${bucketName(b)}: ${report.buckets[b]} entries (revisions included)`,
    ),
    ...(report.outcome === 'erased'
      ? [
          `  services that dropped the keys from memory: ${report.services.acknowledged.map((a) => a.service).join(', ') || 'none running'}`,
          `  rounds: ${report.rounds} (the last sweep found nothing)`,
        ]
      : []),
  ]);
}

function bucketName(b: keyof ForgetBucketCountsV1): string {
  return {
    snapshots: BucketNames.snapshots,
    sessions: BucketNames.sessionStore,
    transcripts: BucketNames.transcripts,
    timers: BucketNames.timers,
  }[b];
}
