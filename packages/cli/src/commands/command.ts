import type { ParseArgsConfig } from 'node:util';
import type { CliContext } from '../context.js';
import type { ExitCode } from '../errors.js';

/** One subcommand: `threadline <path…> [positionals] [options]`. */
export interface Command {
  /** The words that name it: `['sessions', 'list']`. */
  readonly path: readonly string[];
  /** One line for the command list. */
  readonly summary: string;
  /** The argument synopsis after the path, e.g. `<key> [--since <time>]`. */
  readonly usage: string;
  /** Its own options (global ones — `--json`, `--server`, `--help` — are added by the CLI). */
  readonly options?: NonNullable<ParseArgsConfig['options']>;
  run(ctx: CliContext, args: { positionals: string[]; values: Record<string, unknown> }): Promise<ExitCode>;
}
