import { auditCommands } from './audit.js';
import type { Command } from './command.js';
import { opsCommands } from './ops.js';

/** Every subcommand, in the order `threadline --help` lists them. */
export const COMMANDS: readonly Command[] = [...opsCommands, ...auditCommands];
