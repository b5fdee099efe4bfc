// @threadline/cli — the `threadline` command line (main.ts), usable in-process for tests (runCli).
export { helpText, runCli } from './cli.js';
export type { Command } from './commands/command.js';
export { COMMANDS } from './commands/index.js';
export { CliContext, type CliIo, DEFAULT_NATS_URL, type Progress } from './context.js';
export { CliError, type ExitCode, ExitCodes, notFound, usageError } from './errors.js';
