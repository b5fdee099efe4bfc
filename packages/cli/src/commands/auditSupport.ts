/**
 * What `replay` and `audit verify` share: times on the command line, and the store's errors turned into
 * messages an operator can act on (both from @threadline/ops, which the ops service shares).
 */
import { storeError as opsStoreError, parseTimeRange as parseRange, type TimeRange } from '@threadline/ops';
import { CliError, usageError } from '../errors.js';

/** `--since` and `--until` from the options; both optional, since not after until (a usage error). */
export function parseTimeRange(values: Record<string, unknown>): TimeRange {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return parseRange(
    { since: text(values.since), until: text(values.until) },
    { since: '--since', until: '--until' },
  );
}

/** At most one positional: the session key. */
export function optionalKey(positionals: string[], usage: string): string | undefined {
  if (positionals.length > 1)
    throw usageError(
      `expected at most one session key, got ${positionals.length} arguments`,
      `usage: ${usage}`,
    );
  return positionals[0];
}

/**
 * The store's errors as operation errors (the CLI turns them into exit codes: a missing stream is not
 * found, a bad key usage, an unreadable record failed); anything else passes through unchanged.
 */
export function storeError(error: unknown, sessionKey?: string): unknown {
  if (error instanceof CliError) return error;
  return opsStoreError(error, sessionKey);
}
