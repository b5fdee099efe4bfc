import type { Command } from './command.js';

/** replay, audit verify. */
export const auditCommands: Command[] = [];
