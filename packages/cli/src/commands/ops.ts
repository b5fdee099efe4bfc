import type { Command } from './command.js';
import { deadLettersListCommand, deadLettersReplayCommand } from './deadLetters.js';
import { exportCommand } from './exportOpenClaw.js';
import { forgetCommand } from './forget.js';
import { importCommand } from './importOpenClaw.js';
import { rebuildCommand } from './rebuild.js';
import { resetCommand } from './reset.js';
import { securityAuditCommand } from './securityAudit.js';
import { compactCommand, sendPolicyCommand } from './sessionLevers.js';
import { sessionsListCommand, sessionsShowCommand } from './sessions.js';
import { statusCommand } from './status.js';

/** status, sessions, rebuild, reset, dead-letters. */
export const opsCommands: Command[] = [
  statusCommand,
  sessionsListCommand,
  sessionsShowCommand,
  rebuildCommand,
  resetCommand,
  compactCommand,
  sendPolicyCommand,
  deadLettersListCommand,
  deadLettersReplayCommand,
  securityAuditCommand,
  exportCommand,
  importCommand,
  forgetCommand,
];
