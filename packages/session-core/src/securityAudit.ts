/**
 * What a configuration risks, before anything runs (`threadline security audit` adds what the running
 * system has recorded: the privacy warnings). Pure: a configuration in, findings out, each naming the
 * config path, what it risks and what to do.
 */
import type { ThreadlineConfig } from './config.js';

export type FindingSeverity = 'warn' | 'info';

export interface SecurityFinding {
  /** Stable id, for suppressing or tracking a finding. */
  id: string;
  severity: FindingSeverity;
  /** Where in the configuration (dotted path). */
  path: string;
  message: string;
  fix: string;
}

const LOOPBACK = /^(localhost|127(?:\.\d+){3}|\[?::1\]?)$/i;

export function configSecurityFindings(config: ThreadlineConfig): SecurityFinding[] {
  const findings: SecurityFinding[] = [];
  const dmScope = config.session.dmScope ?? 'main';
  if (dmScope === 'main')
    findings.push({
      id: 'shared-dm-session',
      severity: 'warn',
      path: 'session.dmScope',
      message:
        `direct messages from everyone share one session (dmScope ${config.session.dmScope === undefined ? 'main, the default' : 'main'}): ` +
        "with more than one person writing to the agent, each one's messages are context for the others",
      fix: 'set session.dmScope to "per-channel-peer" (or "per-peer" with session.identityLinks for one person on several channels)',
    });
  if (config.clock.mode === 'test')
    findings.push({
      id: 'test-clock',
      severity: 'warn',
      path: 'clock.mode',
      message:
        'the simulated test clock is on: whoever can write the test-clock bucket decides when sessions expire',
      fix: 'remove clock.mode (the system clock is the default); production: true refuses the test clock',
    });
  if (!config.production)
    findings.push({
      id: 'not-production',
      severity: 'info',
      path: 'production',
      message: 'production is false: test-only hooks (the test clock) are allowed',
      fix: 'set production: true for deployments',
    });
  const url = config.compaction.openai?.url;
  if (config.compaction.summariser === 'openai-compatible' && url) {
    // Scheme and host only (this package is pure: no URL class); the config parser checked the URL.
    const match = /^(https?):\/\/(\[[^\]]+\]|[^/:?#]+)(:\d+)?/i.exec(url);
    const [, scheme, host, port] = match ?? [];
    if (scheme?.toLowerCase() === 'http' && host !== undefined && !LOOPBACK.test(host))
      findings.push({
        id: 'summariser-plain-http',
        severity: 'warn',
        path: 'compaction.openai.url',
        message: `the summariser is reached over plain HTTP (${host}${port ?? ''}): its API key and every summarised conversation cross the network unencrypted`,
        fix: 'use an https:// URL (or a summariser on this host)',
      });
  }
  return findings;
}
