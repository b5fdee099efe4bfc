/**
 * `threadline sessions list` and `threadline sessions show <key>`: the session store (the projector's
 * read model, KV `threadline-sessions`) as OpenClaw's `openclaw sessions` shows it, and one key's entry
 * with its transcript view (KV `threadline-transcripts`).
 */
import { readKvEntry } from '@threadline/event-log';
import type { ProjectedKey, SessionEntry, TranscriptView } from '@threadline/projector';
import { BucketNames } from '@threadline/protocol';
import { snapshotEntryName } from '@threadline/session-worker';
import type { CliContext } from '../context.js';
import { ExitCodes, notFound, usageError } from '../errors.js';
import type { Command } from './command.js';
import {
  formatAge,
  formatTime,
  manager,
  oneLine,
  positiveInteger,
  readBucketIfPresent,
  table,
} from './shared.js';

const DEFAULT_LIMIT = 100;
const MINUTE_MS = 60_000;

const NO_STORE_HINT = 'the session store is written by the projector: is one running (threadline status)?';

/** One row of `sessions list --json`: OpenClaw's shape, the entry's own fields after `agentId` and `key`. */
export type SessionRow = { agentId: string | null; key: string; ageMs: number | null } & Omit<
  SessionEntry,
  'sessionKey' | 'agentId'
>;

export interface SessionListV1 {
  /** Rows returned. */
  count: number;
  /** The `--active` window in minutes, null without one. */
  activeMinutes: number | null;
  /** Rows matching the filters before the limit. */
  totalCount: number;
  /** The limit applied, null for `--limit all`. */
  limitApplied: number | null;
  hasMore: boolean;
  sessions: SessionRow[];
}

export function rowOf(entry: SessionEntry, now: number): SessionRow {
  const { sessionKey, agentId, ...rest } = entry;
  return {
    agentId,
    key: sessionKey,
    ageMs: entry.updatedAt === null ? null : Math.max(0, now - entry.updatedAt),
    ...rest,
  };
}

function parseLimit(value: unknown): number | null {
  if (value === undefined) return DEFAULT_LIMIT;
  if (value === 'all') return null;
  return positiveInteger('--limit', value);
}

export const sessionsListCommand: Command = {
  path: ['sessions', 'list'],
  summary: 'sessions in the store, most recently updated first (filters: --active, --agent)',
  usage: '[--active <minutes>] [--agent <id>] [--limit <n>|all]',
  options: {
    active: { type: 'string' },
    agent: { type: 'string' },
    limit: { type: 'string' },
  },
  async run(ctx, { positionals, values }) {
    if (positionals.length > 0) throw usageError(`unexpected argument: ${positionals.join(' ')}`);
    const activeMinutes = values.active === undefined ? null : positiveInteger('--active', values.active);
    const agent = values.agent as string | undefined;
    const limit = parseLimit(values.limit);
    const nc = await ctx.connect();
    const store = await readBucketIfPresent<ProjectedKey>(nc, BucketNames.sessionStore);
    const now = ctx.now();
    const matching = [...(store?.values() ?? [])]
      .map((k) => k.entry)
      .filter((e) => agent === undefined || e.agentId === agent)
      .filter(
        (e) =>
          activeMinutes === null || (e.updatedAt !== null && now - e.updatedAt <= activeMinutes * MINUTE_MS),
      )
      .sort(
        (a, b) =>
          (b.updatedAt ?? Number.NEGATIVE_INFINITY) - (a.updatedAt ?? Number.NEGATIVE_INFINITY) ||
          a.sessionKey.localeCompare(b.sessionKey),
      );
    const shown = limit === null ? matching : matching.slice(0, limit);
    const result: SessionListV1 = {
      count: shown.length,
      activeMinutes,
      totalCount: matching.length,
      limitApplied: limit,
      hasMore: shown.length < matching.length,
      sessions: shown.map((e) => rowOf(e, now)),
    };
    ctx.result(result, () => {
      if (store === undefined) return [`no session store yet (${NO_STORE_HINT})`];
      const filters = [
        activeMinutes === null ? '' : ` active in the last ${activeMinutes} minutes`,
        agent === undefined ? '' : ` of agent ${agent}`,
      ].join('');
      if (shown.length === 0) return [`no sessions${filters}`];
      return [
        `${matching.length} session${matching.length === 1 ? '' : 's'}${filters}${result.hasMore ? `, showing the ${shown.length} most recent (--limit all for every one)` : ''}`,
        ...table(
          ['Key', 'Kind', 'Age', 'State', 'Model', 'Tokens'],
          shown.map((e) => [
            e.sessionKey,
            e.chatType,
            formatAge(e.updatedAt, now),
            e.state,
            e.modelOverride ?? '-',
            String(e.contextTokens),
          ]),
        ),
      ];
    });
    return ExitCodes.Ok;
  },
};

export interface SessionShowV1 {
  key: string;
  /** The session-stream sequence of the last record folded into the entry. */
  seq: number;
  entry: SessionEntry;
  transcript: TranscriptView | null;
}

const TURN_TEXT_CHARS = 160;
/** Turns the text output shows (the newest); --json has the whole view. */
const RECENT_TURNS = 20;

export const sessionsShowCommand: Command = {
  path: ['sessions', 'show'],
  summary: "one session's entry and its transcript view (the current session's recent turns)",
  usage: '<key>',
  async run(ctx, { positionals }) {
    const [key, ...extra] = positionals;
    if (key === undefined)
      throw usageError('sessions show needs a session key', 'threadline sessions list shows them');
    if (extra.length > 0) throw usageError(`unexpected argument: ${extra.join(' ')}`);
    const shown = await readSession(ctx, key);
    if (!shown)
      throw notFound(
        `no session ${JSON.stringify(key)} in the session store`,
        'threadline sessions list shows the keys',
      );
    ctx.result(shown, () => showLines(shown, ctx.now()));
    return ExitCodes.Ok;
  },
};

/** A key's projected entry and transcript view, or undefined when the store does not know the key. */
export async function readSession(ctx: CliContext, key: string): Promise<SessionShowV1 | undefined> {
  const jsm = await manager(await ctx.connect());
  const name = snapshotEntryName(key);
  const [stored, view] = await Promise.all([
    readKvEntry(jsm, BucketNames.sessionStore, name),
    readKvEntry(jsm, BucketNames.transcripts, name),
  ]);
  if (!stored) return undefined;
  const projected = JSON.parse(stored.text) as ProjectedKey;
  return {
    key,
    seq: projected.seq,
    entry: projected.entry,
    transcript: view ? (JSON.parse(view.text) as TranscriptView) : null,
  };
}

function showLines(shown: SessionShowV1, now: number): string[] {
  const e = shown.entry;
  const field = (name: string, value: unknown) => `  ${name.padEnd(16)} ${value ?? '-'}`;
  const lines = [
    shown.key,
    field('agent', e.agentId),
    field('session id', e.sessionId),
    field('previous', e.previousSessionId),
    field('state', `${e.state}${e.endReason ? ` (ended: ${e.endReason})` : ''}`),
    field('kind', e.chatType),
    field('channel', e.channel),
    field('last route', e.lastChannel ? `${e.lastChannel} → ${e.lastTo ?? '-'}` : null),
    field('started', formatTime(e.startedAt)),
    field('updated', `${formatTime(e.updatedAt)} (${formatAge(e.updatedAt, now)} ago)`),
    field(
      'model',
      e.modelOverride ? `${e.providerOverride ? `${e.providerOverride}/` : ''}${e.modelOverride}` : null,
    ),
    field('messages', e.messageCount),
    field(
      'tokens',
      `context ${e.contextTokens}, input ${e.inputTokens}, output ${e.outputTokens}, total ${e.totalTokens}`,
    ),
    field('compactions', e.compactionCount),
    field('send policy', e.sendPolicy ?? 'inherited'),
    field('record seq', shown.seq),
  ];
  if (e.privacyWarning)
    lines.push(
      field(
        'PRIVACY',
        `shared DM since ${formatTime(e.privacyWarning.at)} (senders ${e.privacyWarning.senderIds.join(', ')}); consider dmScope per-channel-peer`,
      ),
    );
  const view = shown.transcript;
  if (!view || view.turns.length === 0) {
    lines.push('', 'transcript: no turns in the current session');
    return lines;
  }
  lines.push(
    '',
    `transcript (session ${view.sessionId ?? '-'}, ${view.turns.length} turn${view.turns.length === 1 ? '' : 's'}${view.omitted > 0 ? `, ${view.omitted} older omitted` : ''}):`,
  );
  const recent = view.turns.slice(-RECENT_TURNS);
  if (recent.length < view.turns.length)
    lines.push(`  … ${view.turns.length - recent.length} earlier turns (--json shows every turn)`);
  for (const turn of recent) {
    const who = turn.role === 'user' && turn.senderName ? `user (${turn.senderName})` : turn.role;
    lines.push(`  [${formatTime(turn.at)}] ${who}: ${oneLine(turn.text, TURN_TEXT_CHARS)}`);
  }
  return lines;
}
