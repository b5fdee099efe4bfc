import type { Command } from './command.js';

/** status, sessions, rebuild, reset, dead-letters. */
export const opsCommands: Command[] = [];
