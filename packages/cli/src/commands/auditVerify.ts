/**
 * `threadline audit verify [<key>]`: verifies the hash chain of one key, or of every key, straight from
 * the session stream. Exit 0 when every chain is intact, 1 when anything was found (each problem named
 * with its key and sequence).
 */
import { type AuditReport, auditLog } from '@threadline/event-log';
import { ExitCodes, notFound } from '../errors.js';
import { optionalKey, storeError } from './auditSupport.js';
import type { Command } from './command.js';

export const auditVerifyCommand: Command = {
  path: ['audit', 'verify'],
  summary: 'verify the hash chain of one session key, or of every key (edited, removed, inserted records)',
  usage: '[<key>]',
  async run(ctx, { positionals }) {
    const key = optionalKey(positionals, 'threadline audit verify [<key>]');
    const nc = await ctx.connect();
    const progress = key === undefined ? ctx.progress('auditing') : undefined;
    let report: AuditReport;
    try {
      report = await auditLog(nc, {
        ...(key === undefined ? {} : { sessionKey: key }),
        ...(progress ? { onProgress: (done: number, total: number) => progress.update(done, total) } : {}),
      });
    } catch (error) {
      throw storeError(error, key);
    } finally {
      progress?.end();
    }
    if (key !== undefined && report.records === 0)
      throw notFound(`no records for session key ${JSON.stringify(key)}`);
    ctx.result(report, () => reportLines(report));
    return report.ok ? ExitCodes.Ok : ExitCodes.Findings;
  },
};

function reportLines(report: AuditReport): string[] {
  const scope = `${count(report.records, 'record')} of ${count(report.keys, 'session key')}`;
  // Retention (ADR 0023): keys whose oldest records aged out are checked from their first retained one.
  const truncated = report.truncated
    ? [
        `keys whose older records aged out (retention cut at stream sequence ${report.truncated.firstSeq}): ${report.truncated.keys}, each checked from its first retained record`,
      ]
    : [];
  if (report.ok) return [`audited ${scope}: every hash chain is intact`, ...truncated];
  const keys = new Set(report.problems.map((p) => p.sessionKey)).size;
  return [
    `audited ${scope}: ${count(report.problems.length, 'problem')} in ${count(keys, 'key')}`,
    ...report.problems.map((p) => `  ${p.sessionKey}  #${p.seq}  ${p.kind}  ${p.detail}`),
    ...truncated,
  ];
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
