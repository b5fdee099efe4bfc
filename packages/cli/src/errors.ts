import { OpsError, OpsErrorCodes } from '@threadline/ops';

/**
 * How the CLI ends: every subcommand returns one of these exit codes, and every failure is a
 * {@link CliError} with a message meant for the operator (what went wrong, and what to do about it).
 */
export const ExitCodes = {
  Ok: 0,
  /** The command ran and found something: a difference, a broken chain, dead letters to look at. */
  Findings: 1,
  /** Bad arguments: an unknown subcommand or option, a bad time range, a missing key. */
  Usage: 2,
  /** The NATS server could not be reached (or refused us). */
  Unreachable: 3,
  /** What was asked for does not exist: an unknown session key, a missing stream. */
  NotFound: 4,
  /** Anything else went wrong while running. */
  Failed: 5,
} as const;
export type ExitCode = (typeof ExitCodes)[keyof typeof ExitCodes];

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** A next step for the operator, printed under the message. */
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const usageError = (message: string, hint?: string) => new CliError(ExitCodes.Usage, message, hint);
export const notFound = (message: string, hint?: string) => new CliError(ExitCodes.NotFound, message, hint);

/**
 * Any failure as a {@link CliError}: an operation's {@link OpsError} by its kind (bad request → usage, not
 * found → not found, anything else → failed), with its hint; anything unplanned as failed.
 */
export function cliErrorOf(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof OpsError) {
    const exitCode =
      error.code === OpsErrorCodes.BadRequest
        ? ExitCodes.Usage
        : error.code === OpsErrorCodes.NotFound
          ? ExitCodes.NotFound
          : ExitCodes.Failed;
    return new CliError(exitCode, error.message, error.hint, { cause: error });
  }
  return new CliError(ExitCodes.Failed, error instanceof Error ? error.message : String(error));
}
