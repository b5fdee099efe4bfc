/**
 * `threadline security audit [--config <path>] [--config-only]`: what the configuration risks (session
 * core's `configSecurityFindings`: a shared main DM session, the test clock, a summariser over plain
 * HTTP, …) plus what the running system has recorded — every session that got a run-time privacy warning
 * because a second person wrote into a shared DM session. Exit 1 when anything needs attention.
 */
import { readFile } from 'node:fs/promises';
import { LIVE_PROJECTION, type ProjectedKey } from '@threadline/projector';
import {
  ConfigError,
  configSecurityFindings,
  parseConfig,
  parseConfigText,
  type SecurityFinding,
  type ThreadlineConfig,
} from '@threadline/session-core';
import { ExitCodes, usageError } from '../errors.js';
import type { Command } from './command.js';
import { formatTime, readBucketIfPresent } from './shared.js';

export interface SecurityAuditV1 {
  /** The configuration audited: a path, or `defaults`. */
  config: string;
  findings: SecurityFinding[];
  /** Sessions that recorded a privacy warning (null with --config-only). */
  privacyWarnings: { sessionKey: string; at: number; senderIds: string[] }[] | null;
}

/** The config at `path` (defaults without one); an unreadable or invalid file is a usage error. */
export async function loadConfig(path: string | undefined): Promise<ThreadlineConfig> {
  if (path === undefined) return parseConfig({}).config;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw usageError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  try {
    return parseConfigText(text, path).config;
  } catch (error) {
    if (error instanceof ConfigError) throw usageError(`invalid config ${path}:\n${error.message}`);
    throw error;
  }
}

export const securityAuditCommand: Command = {
  path: ['security', 'audit'],
  summary: 'configuration risks and the privacy warnings the running system recorded (exit 1 if any)',
  usage: '[--config <path>] [--config-only]',
  options: { config: { type: 'string' }, 'config-only': { type: 'boolean' } },
  async run(ctx, { positionals, values }) {
    if (positionals.length > 0) throw usageError(`unexpected argument: ${positionals.join(' ')}`);
    const path = (values.config as string | undefined) ?? ctx.io.env.THREADLINE_CONFIG;
    const config = await loadConfig(path);
    const findings = configSecurityFindings(config);
    let privacyWarnings: SecurityAuditV1['privacyWarnings'] = null;
    if (values['config-only'] !== true) {
      const entries = await readBucketIfPresent<ProjectedKey>(await ctx.connect(), LIVE_PROJECTION.sessions);
      privacyWarnings = [...(entries?.values() ?? [])]
        .filter((k) => k.entry.privacyWarning)
        .map((k) => ({
          sessionKey: k.sessionKey,
          at: k.entry.privacyWarning?.at as number,
          senderIds: k.entry.privacyWarning?.senderIds ?? [],
        }))
        .sort((a, b) => b.at - a.at);
    }
    const report: SecurityAuditV1 = { config: path ?? 'defaults', findings, privacyWarnings };
    ctx.result(report, () => [
      `security audit of ${path ?? 'the default configuration (no --config, no THREADLINE_CONFIG)'}`,
      ...(findings.length === 0 ? ['  configuration: no findings'] : []),
      ...findings.flatMap((f) => [
        `  ${f.severity.toUpperCase()} ${f.path}: ${f.message}`,
        `    fix: ${f.fix}`,
      ]),
      ...(privacyWarnings === null
        ? ['  running system: not checked (--config-only)']
        : privacyWarnings.length === 0
          ? ['  running system: no privacy warnings recorded']
          : [
              `  running system: ${privacyWarnings.length} sessions where people shared a DM session:`,
              ...privacyWarnings.map(
                (w) => `    ${w.sessionKey} since ${formatTime(w.at)}: ${w.senderIds.join(', ')}`,
              ),
            ]),
    ]);
    const attention = findings.some((f) => f.severity === 'warn') || (privacyWarnings?.length ?? 0) > 0;
    return attention ? ExitCodes.Findings : ExitCodes.Ok;
  },
};
