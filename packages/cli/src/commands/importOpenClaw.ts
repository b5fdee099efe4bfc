/**
 * `threadline import --openclaw <dir>`: moves an OpenClaw session store (`agents/<id>/sessions/
 * sessions.json` and a JSONL transcript per session) into the event log. Each session becomes one
 * `session.imported` control event on its key (openclaw/readStore.ts reads it), which the worker owning
 * the key applies like any input (ADR 0015).
 *
 * Idempotent three times over: the event id is derived from key and session id (the stream drops a
 * repeat within its duplicate window), the worker remembers recent input ids, and the session machine
 * takes an import only on a key that has never had a session. The command itself checks the session
 * store first, so a re-run reports `unchanged` and a key that already has another session `conflict` —
 * nothing in Threadline is ever overwritten by an import.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { type JetStreamManager, jetstream } from '@nats-io/jetstream';
import { readKvEntry } from '@threadline/event-log';
import { LIVE_PROJECTION, type ProjectedKey } from '@threadline/projector';
import { controlEventV1Schema, Subjects } from '@threadline/protocol';
import { snapshotEntryName } from '@threadline/session-worker';
import { ExitCodes, notFound, usageError } from '../errors.js';
import {
  importEventId,
  normaliseOpenClawKey,
  OpenClawReadError,
  type ReadSession,
  readOpenClawSession,
} from '../openclaw/readStore.js';
import type { Command } from './command.js';
import { manager, positiveInteger, streamInfo } from './shared.js';

export interface ImportReportV1 {
  dir: string;
  stores: { agentId: string; file: string; entries: number }[];
  /** Taken by the event log (visible in the session store, unless `pending`). */
  imported: {
    sessionKey: string;
    sessionId: string;
    turns: number;
    omittedTurns: number;
    truncatedTurns: number;
    skippedLines: number;
    transcript: boolean;
  }[];
  /** Already in Threadline with this session id: nothing to do. */
  unchanged: { sessionKey: string; sessionId: string }[];
  /** The key already has another session in Threadline: not imported (an import never overwrites). */
  conflicts: { sessionKey: string; sessionId: string; existingSessionId: string }[];
  /** Two source keys normalise to one key (a legacy `:dm:` key beside its `:direct:` twin): the newer wins. */
  superseded: { sessionKey: string; rawKey: string; sessionId: string; by: string }[];
  /** Source entries that cannot be imported, and why. */
  invalid: { file: string; rawKey?: string; reason: string }[];
  /** Published, but not in the session store when the wait ended. */
  pending: string[];
  dryRun: boolean;
}

interface Candidate {
  file: string;
  sessionKey: string;
  rawKey: string;
  read: ReadSession;
  transcript: boolean;
}

export const importCommand: Command = {
  path: ['import'],
  summary: 'move an OpenClaw session store (sessions.json and JSONL transcripts) into the event log',
  usage: '--openclaw <dir> [--dry-run] [--wait-ms <n>]',
  options: { openclaw: { type: 'string' }, 'dry-run': { type: 'boolean' }, 'wait-ms': { type: 'string' } },
  async run(ctx, { positionals, values }) {
    if (positionals.length > 0) throw usageError(`unexpected argument: ${positionals.join(' ')}`);
    const source = values.openclaw as string | undefined;
    if (!source) throw usageError('import needs --openclaw <dir> (the only format so far)');
    const waitMs = values['wait-ms'] === undefined ? 30_000 : positiveInteger('--wait-ms', values['wait-ms']);
    const dryRun = values['dry-run'] === true;
    const dir = resolve(source);
    const report: ImportReportV1 = {
      dir,
      stores: [],
      imported: [],
      unchanged: [],
      conflicts: [],
      superseded: [],
      invalid: [],
      pending: [],
      dryRun,
    };

    const candidates = new Map<string, Candidate>();
    for (const { agentId, sessionsDir } of await openClawStores(dir)) {
      const file = join(sessionsDir, 'sessions.json');
      let store: unknown;
      try {
        store = JSON.parse(await readFile(file, 'utf8'));
      } catch (error) {
        report.invalid.push({ file, reason: `not a JSON sessions store: ${(error as Error).message}` });
        continue;
      }
      if (typeof store !== 'object' || store === null || Array.isArray(store)) {
        report.invalid.push({ file, reason: 'not a JSON object of session key → entry' });
        continue;
      }
      const entries = Object.entries(store as Record<string, unknown>);
      report.stores.push({ agentId, file, entries: entries.length });
      for (const [rawKey, entry] of entries) {
        const sessionKey = normaliseOpenClawKey(rawKey, agentId);
        if (!sessionKey) {
          report.invalid.push({ file, rawKey, reason: 'not a session key (agent:<id>:<rest>)' });
          continue;
        }
        let candidate: Candidate;
        try {
          const transcript = await readTranscript(sessionsDir, entry);
          candidate = {
            file,
            sessionKey,
            rawKey,
            read: readOpenClawSession(entry, transcript),
            transcript: transcript !== undefined,
          };
        } catch (error) {
          if (!(error instanceof OpenClawReadError)) throw error;
          report.invalid.push({ file, rawKey, reason: error.message });
          continue;
        }
        const other = candidates.get(sessionKey);
        const [kept, dropped] =
          other && other.read.fields.updatedAt >= candidate.read.fields.updatedAt
            ? [other, candidate]
            : [candidate, other];
        candidates.set(sessionKey, kept);
        if (dropped)
          report.superseded.push({
            sessionKey,
            rawKey: dropped.rawKey,
            sessionId: dropped.read.fields.sessionId,
            by: kept.rawKey,
          });
      }
    }
    if (report.stores.length === 0 && report.invalid.length === 0)
      throw notFound(
        `no OpenClaw session store under ${dir}`,
        'expected agents/<agentId>/sessions/sessions.json (OpenClaw keeps it in ~/.openclaw)',
      );

    const nc = await ctx.connect();
    const jsm = await manager(nc);
    if (!(await streamInfo(jsm, `KV_${LIVE_PROJECTION.sessions}`)))
      throw notFound('there is no session store yet: is a projector running?', 'threadline status shows it');
    const toPublish: Candidate[] = [];
    for (const candidate of candidates.values()) {
      const { sessionKey } = candidate;
      const sessionId = candidate.read.fields.sessionId;
      const existing = await storedSessionId(jsm, sessionKey);
      if (existing === sessionId) report.unchanged.push({ sessionKey, sessionId });
      else if (existing !== null)
        report.conflicts.push({ sessionKey, sessionId, existingSessionId: existing });
      else toPublish.push(candidate);
    }

    const js = jetstream(nc);
    const progress = ctx.progress(dryRun ? 'checking' : 'importing');
    let done = 0;
    for (const candidate of toPublish) {
      progress.update(++done, toPublish.length);
      const { sessionKey, read } = candidate;
      const id = importEventId(sessionKey, read.fields.sessionId);
      const checked = controlEventV1Schema.safeParse({
        v: 1,
        type: 'session.imported',
        id,
        sessionKey,
        at: ctx.now(),
        ...read.fields,
      });
      if (!checked.success) {
        report.invalid.push({
          file: candidate.file,
          rawKey: candidate.rawKey,
          reason: checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        });
        continue;
      }
      if (!dryRun)
        await js.publish(Subjects.control(sessionKey), JSON.stringify(checked.data), { msgID: id });
      report.imported.push({
        sessionKey,
        sessionId: read.fields.sessionId,
        turns: read.fields.turns.length,
        omittedTurns: read.omittedTurns,
        truncatedTurns: read.truncatedTurns,
        skippedLines: read.skippedLines,
        transcript: candidate.transcript,
      });
    }
    progress.end();

    if (!dryRun && report.imported.length > 0) {
      const waiting = new Map(report.imported.map((i) => [i.sessionKey, i.sessionId]));
      const deadline = Date.now() + waitMs;
      for (;;) {
        for (const [key, sessionId] of waiting) {
          const current = await storedSessionId(jsm, key);
          if (current === null) continue;
          waiting.delete(key);
          // A message that reached the key first started another session there: the import was refused.
          if (current !== sessionId) {
            report.imported = report.imported.filter((i) => i.sessionKey !== key);
            report.conflicts.push({ sessionKey: key, sessionId, existingSessionId: current });
          }
        }
        if (waiting.size === 0 || Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      report.pending = [...waiting.keys()].sort();
    }

    ctx.result(report, () => [
      `${dryRun ? 'would import' : 'imported'} ${report.imported.length} sessions from ${dir}` +
        ` (${report.unchanged.length} unchanged, ${report.conflicts.length} conflicts, ${report.invalid.length} invalid, ${report.superseded.length} superseded)`,
      ...report.imported
        .filter((i) => i.omittedTurns > 0 || i.truncatedTurns > 0)
        .map(
          (i) =>
            `  ${i.sessionKey}: ${i.omittedTurns} older turns left out, ${i.truncatedTurns} texts cut to the protocol's limit`,
        ),
      ...report.conflicts.map(
        (c) =>
          `  conflict: ${c.sessionKey} already runs session ${c.existingSessionId}; ${c.sessionId} not imported`,
      ),
      ...report.superseded.map((s) => `  superseded: ${s.rawKey} (${s.sessionId}) by ${s.by}`),
      ...report.invalid.map((i) => `  invalid: ${i.file}${i.rawKey ? ` ${i.rawKey}` : ''}: ${i.reason}`),
      ...(report.pending.length > 0
        ? [
            `  not in the session store after ${waitMs} ms: ${report.pending.join(', ')} (is a worker running?)`,
          ]
        : []),
    ]);
    if (report.pending.length > 0) return ExitCodes.Failed;
    return report.invalid.length > 0 || report.conflicts.length > 0 ? ExitCodes.Findings : ExitCodes.Ok;
  },
};

/** The key's current session id in the session store: one entry read, null without a session. */
async function storedSessionId(jsm: JetStreamManager, sessionKey: string): Promise<string | null> {
  const stored = await readKvEntry(jsm, LIVE_PROJECTION.sessions, snapshotEntryName(sessionKey));
  return stored ? (JSON.parse(stored.text) as ProjectedKey).entry.sessionId : null;
}

/** Every `agents/<agentId>/sessions/` folder that holds a `sessions.json`, sorted by agent. */
async function openClawStores(dir: string): Promise<{ agentId: string; sessionsDir: string }[]> {
  const agentsDir = join(dir, 'agents');
  let agents: string[];
  try {
    agents = (await readdir(agentsDir)).sort();
  } catch {
    return [];
  }
  const stores: { agentId: string; sessionsDir: string }[] = [];
  for (const agentId of agents) {
    const sessionsDir = join(agentsDir, agentId, 'sessions');
    if ((await stat(join(sessionsDir, 'sessions.json')).catch(() => undefined))?.isFile())
      stores.push({ agentId, sessionsDir });
  }
  return stores;
}

/**
 * The transcript lines of an entry — `sessionFile` when the entry names one, else `<sessionId>.jsonl` —
 * or undefined when there is no file. A line that is not JSON makes the session invalid, with file:line.
 */
async function readTranscript(sessionsDir: string, entry: unknown): Promise<unknown[] | undefined> {
  const record = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
  const named = typeof record.sessionFile === 'string' ? record.sessionFile : undefined;
  const sessionId = typeof record.sessionId === 'string' ? record.sessionId : undefined;
  if (!named && (!sessionId || /[/\\]/.test(sessionId) || sessionId.startsWith('.'))) return undefined;
  const file = named
    ? isAbsolute(named)
      ? named
      : join(sessionsDir, named)
    : join(sessionsDir, `${sessionId}.jsonl`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const lines: unknown[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    try {
      lines.push(JSON.parse(line));
    } catch (error) {
      throw new OpenClawReadError(`${file}:${i + 1} is not JSON: ${(error as Error).message}`);
    }
  }
  return lines;
}
