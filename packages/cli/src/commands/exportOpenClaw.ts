/**
 * `threadline export --openclaw <dir>`: writes the session store in OpenClaw's layout (openclaw/layout.ts)
 * — one `sessions.json` per agent and a JSONL transcript per current session — so a Threadline system's
 * sessions can be read by OpenClaw tooling (and, with `import --openclaw`, moved back). Entries come from
 * the session store; each transcript is folded from the key's own records (one subject per key), so it
 * holds the whole current session, not the store's bounded view.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { replaySession } from '@threadline/event-log';
import { LIVE_PROJECTION, type ProjectedKey } from '@threadline/projector';
import { type TransitionRecordV1, transcriptOf } from '@threadline/session-worker';
import { ExitCodes, notFound, usageError } from '../errors.js';
import { type OpenClawEntry, openClawEntryOf, openClawTranscriptLines } from '../openclaw/layout.js';
import type { Command } from './command.js';
import { readBucketIfPresent } from './shared.js';

export interface ExportReportV1 {
  dir: string;
  agents: { agentId: string; sessions: number; store: string }[];
  sessions: number;
  transcripts: number;
}

export const exportCommand: Command = {
  path: ['export'],
  summary:
    "write the session store in OpenClaw's layout: agents/<id>/sessions/sessions.json and <sessionId>.jsonl",
  usage: '--openclaw <dir>',
  options: { openclaw: { type: 'string' } },
  async run(ctx, { positionals, values }) {
    if (positionals.length > 0) throw usageError(`unexpected argument: ${positionals.join(' ')}`);
    const target = values.openclaw as string | undefined;
    if (!target) throw usageError('export needs --openclaw <dir> (the only format so far)');
    const dir = resolve(target);
    const nc = await ctx.connect();
    const keys = await readBucketIfPresent<ProjectedKey>(nc, LIVE_PROJECTION.sessions);
    if (!keys)
      throw notFound('there is no session store yet: is a projector running?', 'threadline status shows it');
    const byAgent = new Map<string, Record<string, OpenClawEntry>>();
    const progress = ctx.progress('exporting');
    let done = 0;
    let transcripts = 0;
    for (const { sessionKey, entry } of keys.values()) {
      progress.update(++done, keys.size);
      const openClaw = openClawEntryOf(entry);
      if (!openClaw) continue;
      const agentId = entry.agentId ?? 'main';
      const sessionsDir = join(dir, 'agents', agentId, 'sessions');
      await mkdir(sessionsDir, { recursive: true });
      const store = byAgent.get(agentId) ?? {};
      store[sessionKey] = openClaw;
      byAgent.set(agentId, store);
      const records: TransitionRecordV1[] = [];
      for await (const record of replaySession<TransitionRecordV1>(nc, sessionKey)) records.push(record.body);
      const transcript = transcriptOf(records);
      if (transcript.sessionId !== openClaw.sessionId) continue; // the store is behind the log: skip, not guess
      const lines = openClawTranscriptLines(openClaw.sessionId, entry.startedAt, transcript.turns);
      await writeFile(
        join(sessionsDir, `${openClaw.sessionId}.jsonl`),
        `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`,
      );
      transcripts += 1;
    }
    progress.end();
    const agents: ExportReportV1['agents'] = [];
    for (const [agentId, store] of [...byAgent].sort(([a], [b]) => a.localeCompare(b))) {
      const file = join(dir, 'agents', agentId, 'sessions', 'sessions.json');
      await writeFile(file, `${JSON.stringify(store, null, 2)}\n`);
      agents.push({ agentId, sessions: Object.keys(store).length, store: file });
    }
    const report: ExportReportV1 = {
      dir,
      agents,
      sessions: agents.reduce((n, a) => n + a.sessions, 0),
      transcripts,
    };
    ctx.result(report, () => [
      `exported ${report.sessions} sessions (${report.transcripts} transcripts) to ${dir}`,
      ...agents.map((a) => `  ${a.agentId}: ${a.sessions} sessions in ${a.store}`),
    ]);
    return ExitCodes.Ok;
  },
};
