/**
 * What `replay` and `audit verify` share: times on the command line, and the store's errors turned into
 * messages an operator can act on.
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { CorruptRecordError, InvalidRecordError } from '@threadline/event-log';
import { StreamNames } from '@threadline/protocol';
import { CliError, ExitCodes, notFound, usageError } from '../errors.js';

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export const TIME_FORMS =
  'ISO 8601 (2026-11-24T09:00:00Z; without an offset, local time) or epoch milliseconds';

/** `--<name> <text>` as epoch ms: ISO 8601 or epoch milliseconds; anything else is a usage error. */
export function parseTime(name: string, text: string): number {
  const bad = (why: string) => usageError(`--${name} ${JSON.stringify(text)} ${why}`, `give ${TIME_FORMS}`);
  if (/^\d+$/.test(text)) {
    const ms = Number(text);
    if (!Number.isSafeInteger(ms) || Number.isNaN(new Date(ms).getTime())) throw bad('is out of range');
    return ms;
  }
  const match = ISO_8601.exec(text);
  if (!match) throw bad('is not a time');
  const ms = Date.parse(text);
  // Date.parse rolls impossible days over (February 30th is March 2nd): refuse them instead.
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (
    Number.isNaN(ms) ||
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  )
    throw bad('is not a valid date and time');
  return ms;
}

/** `since` and `until` from the options; both optional, since not after until. */
export function parseTimeRange(values: Record<string, unknown>): { since?: number; until?: number } {
  const since = typeof values.since === 'string' ? parseTime('since', values.since) : undefined;
  const until = typeof values.until === 'string' ? parseTime('until', values.until) : undefined;
  if (since !== undefined && until !== undefined && since > until)
    throw usageError(
      `--since ${showTime(since)} is after --until ${showTime(until)}`,
      'the range is since (inclusive) to until (exclusive)',
    );
  return { ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) };
}

/** An ISO time, or the number itself when it is no date. */
export function showTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
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

/** The store's errors as CLI errors (anything else passes through unchanged, to be reported as a failure). */
export function storeError(error: unknown, sessionKey?: string): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)
    return notFound(
      `the session stream ${StreamNames.sessions} does not exist`,
      'has Threadline run on this server (npm start provisions its streams)? Check --server.',
    );
  if (error instanceof InvalidRecordError && error.field === 'sessionKey')
    return usageError(`${JSON.stringify(sessionKey)} cannot be a session key: ${error.message}`);
  if (error instanceof CorruptRecordError)
    return new CliError(
      ExitCodes.Failed,
      error.message,
      `threadline audit verify${sessionKey === undefined ? '' : ` ${JSON.stringify(sessionKey)}`} lists what cannot be read`,
      { cause: error },
    );
  return error;
}
