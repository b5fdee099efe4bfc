/**
 * OpenClaw's on-disk session store, as Threadline writes it (and, later, reads it): per agent,
 * `agents/<agentId>/sessions/sessions.json` — session key → entry — and one transcript per session id,
 * `agents/<agentId>/sessions/<sessionId>.jsonl`: a `session` header line, then one line per turn
 * (`message` for the person and the agent, `compaction` for a summary that replaced older turns), each
 * linked to the one before it by `parentId`. Pure: entries and turns in, JSON values out. readStore.ts reads
 * the same layout back (and OpenClaw's own variants of it) for `import --openclaw`.
 */
import type { TranscriptTurn } from '@threadline/compaction';
import type { SessionEntry } from '@threadline/projector';

/** The transcript format version written in the header line. */
export const OPENCLAW_TRANSCRIPT_VERSION = 3;

/** An OpenClaw `sessions.json` entry: the spec §4 fields under OpenClaw's names, nothing Threadline-only. */
export type OpenClawEntry = Record<string, unknown> & { sessionId: string; updatedAt: number };

/** The person's settings (spec §2.6) an entry carries, under the same names in both stores. */
export const OPENCLAW_SETTINGS = [
  'thinkingLevel',
  'verboseLevel',
  'reasoningLevel',
  'modelOverride',
  'providerOverride',
  'label',
  'displayName',
  'spawnedBy',
] as const;

/** The entry of a key with a session; undefined for a key that never had one (nothing to export). */
export function openClawEntryOf(entry: SessionEntry): OpenClawEntry | undefined {
  if (entry.sessionId === null) return undefined;
  const out: OpenClawEntry = {
    sessionId: entry.sessionId,
    updatedAt: entry.updatedAt ?? entry.startedAt ?? 0,
  };
  const put = (name: string, value: unknown) => {
    if (value !== null && value !== undefined) out[name] = value;
  };
  put('startedAt', entry.startedAt);
  put('lastActivityAt', entry.lastActivityAt);
  put('chatType', entry.chatType);
  put('channel', entry.channel);
  put('origin', entry.origin);
  put('lastChannel', entry.lastChannel);
  put('lastTo', entry.lastTo);
  put('lastAccountId', entry.lastAccountId);
  put('lastThreadId', entry.lastThreadId);
  put('inputTokens', entry.inputTokens);
  put('outputTokens', entry.outputTokens);
  put('totalTokens', entry.totalTokens);
  put('contextTokens', entry.contextTokens);
  put('compactionCount', entry.compactionCount);
  put('sendPolicy', entry.sendPolicy);
  for (const name of OPENCLAW_SETTINGS) put(name, entry[name]);
  return out;
}

/** The transcript file's lines (each one JSON value) for a session and its turns, oldest first. */
export function openClawTranscriptLines(
  sessionId: string,
  startedAt: number | null,
  turns: readonly TranscriptTurn[],
): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [
    {
      type: 'session',
      version: OPENCLAW_TRANSCRIPT_VERSION,
      id: sessionId,
      timestamp: new Date(startedAt ?? turns[0]?.at ?? 0).toISOString(),
    },
  ];
  let parentId: string | null = null;
  for (const turn of turns) {
    const common = { id: turn.id, parentId, timestamp: new Date(turn.at).toISOString() };
    lines.push(
      turn.role === 'summary'
        ? { type: 'compaction', ...common, summary: turn.text, tokens: turn.tokens }
        : {
            type: 'message',
            ...common,
            // Not an OpenClaw field: the turn's context tokens, so an import back loses nothing.
            ...(turn.tokens > 0 ? { tokens: turn.tokens } : {}),
            message: {
              role: turn.role,
              content: [{ type: 'text', text: turn.text }],
              ...(turn.senderId === undefined ? {} : { senderId: turn.senderId }),
              ...(turn.senderName === undefined ? {} : { senderName: turn.senderName }),
            },
          },
    );
    parentId = turn.id;
  }
  return lines;
}
