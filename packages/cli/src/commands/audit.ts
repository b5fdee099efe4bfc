import { auditVerifyCommand } from './auditVerify.js';
import type { Command } from './command.js';
import { replayCommand } from './replay.js';

/** replay, audit verify. */
export const auditCommands: Command[] = [replayCommand, auditVerifyCommand];
