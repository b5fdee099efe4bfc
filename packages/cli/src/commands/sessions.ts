/**
 * `threadline sessions list` and `threadline sessions show <key>`: the session store (the projector's
 * read model, KV `threadline-sessions`) as OpenClaw's `openclaw sessions` shows it, and one key's entry
 * with its transcript view (KV `threadline-transcripts`).
 */
import { DEFAULT_LIMIT, listSessions, type SessionShowV1, showSession } from '@threadline/ops';
import { ExitCodes, usageError } from '../errors.js';
import type { Command } from './command.js';
import { formatAge, formatTime, oneLine, positiveInteger, table } from './shared.js';

export type { SessionListV1, SessionRow, SessionShowV1 } from '@threadline/ops';
export { rowOf } from '@threadline/ops';

const NO_STORE_HINT = 'the session store is written by the projector: is one running (threadline status)?';

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
    const now = ctx.now();
    const { list: result, storeExists } = await listSessions(await ctx.connect(), {
      activeMinutes,
      ...(agent === undefined ? {} : { agentId: agent }),
      limit,
      now,
    });
    const shown = result.sessions;
    ctx.result(result, () => {
      if (!storeExists) return [`no session store yet (${NO_STORE_HINT})`];
      const filters = [
        activeMinutes === null ? '' : ` active in the last ${activeMinutes} minutes`,
        agent === undefined ? '' : ` of agent ${agent}`,
      ].join('');
      if (shown.length === 0) return [`no sessions${filters}`];
      const total = result.totalCount;
      return [
        `${total} session${total === 1 ? '' : 's'}${filters}${result.hasMore ? `, showing the ${shown.length} most recent (--limit all for every one)` : ''}`,
        ...table(
          ['Key', 'Kind', 'Age', 'State', 'Model', 'Tokens'],
          shown.map((e) => [
            e.key,
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
    const shown = await showSession(await ctx.connect(), key);
    ctx.result(shown, () => showLines(shown, ctx.now()));
    return ExitCodes.Ok;
  },
};

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
