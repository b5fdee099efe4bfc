/**
 * `threadline <command> [subcommand] [arguments] [--json] [--server <url>]`: finds the command by its
 * words, parses its options strictly (an unknown option is a usage error, not ignored), runs it, and
 * turns every failure into a message and an exit code (errors.ts).
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { errors as natsErrors } from '@nats-io/transport-node';
import { CREDENTIAL_VARIABLES, readCredentials } from '@threadline/nats';
import type { Command } from './commands/command.js';
import { CliContext, type CliIo, DEFAULT_NATS_URL } from './context.js';
import { CliError, cliErrorOf, type ExitCode, ExitCodes } from './errors.js';

const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  server: { type: 'string', short: 's' },
  user: { type: 'string' },
  'password-file': { type: 'string' },
  'tls-ca': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export async function runCli(
  argv: readonly string[],
  io: CliIo,
  commands: readonly Command[],
): Promise<ExitCode> {
  const command = findCommand(argv, commands);
  const wantsJson = argv.includes('--json');
  if (!command) {
    const asked = argv
      .filter((a) => !a.startsWith('-'))
      .slice(0, 2)
      .join(' ');
    if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || asked === 'help') {
      io.out(helpText(commands));
      return ExitCodes.Ok;
    }
    return fail(
      io,
      wantsJson,
      new CliError(
        ExitCodes.Usage,
        `unknown command: ${asked || argv.join(' ')}`,
        'threadline --help lists the commands',
      ),
    );
  }
  let parsed: { positionals: string[]; values: Record<string, unknown> };
  try {
    parsed = parseArgs({
      args: argv.slice(command.path.length) as string[],
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    }) as { positionals: string[]; values: Record<string, unknown> };
  } catch (error) {
    return fail(
      io,
      wantsJson,
      new CliError(ExitCodes.Usage, (error as Error).message, `usage: ${usageOf(command)}`),
    );
  }
  if (parsed.values.help) {
    io.out(`usage: ${usageOf(command)}\n\n${command.summary}`);
    return ExitCodes.Ok;
  }
  const json = parsed.values.json === true;
  const server =
    (parsed.values.server as string | undefined) ?? io.env.THREADLINE_NATS_URL ?? DEFAULT_NATS_URL;
  const ctx = new CliContext(io, json, server, credentialsOf(parsed.values, io.env));
  try {
    return await command.run(ctx, parsed);
  } catch (error) {
    return fail(io, json, error);
  } finally {
    await ctx.close();
  }
}

/**
 * Who the CLI connects as: `--user`, `--password-file` and `--tls-ca`, each else its variable
 * (THREADLINE_NATS_USER, THREADLINE_NATS_PASSWORD or THREADLINE_NATS_PASSWORD_FILE, THREADLINE_NATS_TLS_CA).
 * A password is never an option (other users of the machine see the command line): a file, or the variable.
 */
function credentialsOf(values: Record<string, unknown>, env: CliIo['env']) {
  const option = (name: string) => values[name] as string | undefined;
  const passwordFile = option('password-file');
  return readCredentials(
    {
      user: option('user') ?? env.THREADLINE_NATS_USER,
      // --password-file replaces whatever password the environment holds.
      password: passwordFile === undefined ? env.THREADLINE_NATS_PASSWORD : undefined,
      passwordFile: passwordFile ?? env.THREADLINE_NATS_PASSWORD_FILE,
      tlsCa: option('tls-ca') ?? env.THREADLINE_NATS_TLS_CA,
    },
    {
      user: option('user') === undefined ? CREDENTIAL_VARIABLES.user : '--user',
      password: CREDENTIAL_VARIABLES.password,
      passwordFile: passwordFile === undefined ? CREDENTIAL_VARIABLES.passwordFile : '--password-file',
      tlsCa: option('tls-ca') === undefined ? CREDENTIAL_VARIABLES.tlsCa : '--tls-ca',
    },
  );
}

function findCommand(argv: readonly string[], commands: readonly Command[]): Command | undefined {
  // The longest path that prefixes the arguments: `sessions list` before `sessions`.
  return [...commands]
    .sort((a, b) => b.path.length - a.path.length)
    .find((c) => c.path.every((word, i) => argv[i] === word));
}

function usageOf(command: Command): string {
  return `threadline ${command.path.join(' ')}${command.usage ? ` ${command.usage}` : ''} [--json] [--server <url>]`;
}

export function helpText(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  return [
    'usage: threadline <command> [arguments] [--json] [--server <url>]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    `The server is --server, else THREADLINE_NATS_URL, else ${DEFAULT_NATS_URL}; a cluster's, comma-separated.`,
    'Connect as a NATS user with --user <name> and --password-file <file> (else THREADLINE_NATS_USER and',
    'THREADLINE_NATS_PASSWORD or THREADLINE_NATS_PASSWORD_FILE); trust a CA with --tls-ca <file> (THREADLINE_NATS_TLS_CA).',
    'Reading commands need operator-readonly; reset, compact, send-policy, forget, import, rebuild and',
    'dead-letters replay need admin (npm start writes each role to <data dir>/credentials/<role>.env).',
    'Exit codes: 0 ok, 1 findings (differences, broken chains), 2 usage, 3 server unreachable, 4 not found, 5 failed.',
  ].join('\n');
}

function fail(io: CliIo, json: boolean, error: unknown): ExitCode {
  const cliError = cliErrorOf(permissionError(error) ?? error);
  if (json)
    io.out(
      JSON.stringify({
        error: { message: cliError.message, exitCode: cliError.exitCode, hint: cliError.hint },
      }),
    );
  else io.err(`threadline: ${cliError.message}\n${cliError.hint ? `  ${cliError.hint}\n` : ''}`);
  return cliError.exitCode;
}

/** A refusal by the server's permissions, as a failure that says which identity the command needs. */
function permissionError(error: unknown): CliError | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause)
    if (e instanceof natsErrors.PermissionViolationError)
      return new CliError(
        ExitCodes.Failed,
        `the NATS server refused: ${e.message}`,
        "this user's role does not allow it: reading commands need operator-readonly (or admin), changing ones admin",
        { cause: error },
      );
  return undefined;
}
