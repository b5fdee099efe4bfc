/**
 * The operations' inputs, checked: times (shared with the CLI's `--since`/`--until`), and the JSON
 * requests of the ops endpoints. Every refusal is a {@link BadRequestError} naming the field and what is
 * wrong with it; nothing here throws anything else.
 */
import { BadRequestError } from './errors.js';

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export const TIME_FORMS =
  'ISO 8601 (2026-11-24T09:00:00Z; without an offset, local time) or epoch milliseconds';

/**
 * A time as epoch ms: ISO 8601 text, or epoch milliseconds (as digits, or a JSON number). `label` names
 * the input in the error: `--since` on the command line, `since` in a request.
 */
export function parseTime(label: string, value: string | number): number {
  const bad = (why: string) =>
    new BadRequestError(`${label} ${JSON.stringify(value)} ${why}`, {
      field: label,
      hint: `give ${TIME_FORMS}`,
    });
  if (typeof value === 'number' && !(Number.isInteger(value) && value >= 0))
    throw bad('is not a whole number of epoch milliseconds');
  if (typeof value === 'number' || /^\d+$/.test(value)) {
    const ms = Number(value);
    if (!Number.isSafeInteger(ms) || Number.isNaN(new Date(ms).getTime())) throw bad('is out of range');
    return ms;
  }
  const match = ISO_8601.exec(value);
  if (!match) throw bad('is not a time');
  const ms = Date.parse(value);
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

export interface TimeRange {
  since?: number;
  until?: number;
}

/**
 * `since` and `until`, both optional, since not after until. `labels` name them in errors (`--since`
 * on the command line).
 */
export function parseTimeRange(
  values: { since?: string | number | undefined; until?: string | number | undefined },
  labels: { since: string; until: string } = { since: 'since', until: 'until' },
): TimeRange {
  const since = values.since === undefined ? undefined : parseTime(labels.since, values.since);
  const until = values.until === undefined ? undefined : parseTime(labels.until, values.until);
  if (since !== undefined && until !== undefined && since > until)
    throw new BadRequestError(
      `${labels.since} ${showTime(since)} is after ${labels.until} ${showTime(until)}`,
      {
        field: labels.since,
        hint: 'the range is since (inclusive) to until (exclusive)',
      },
    );
  return { ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) };
}

/** An ISO time, or the number itself when it is no date. */
export function showTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

/** The most rows or records one reply carries, whatever `limit` asks. */
export const MAX_LIMIT = 1000;
/** The number of rows or records a reply carries without a `limit` (the CLI's `sessions list` default). */
export const DEFAULT_LIMIT = 100;

/**
 * A request body as a JSON object: empty is `{}`; anything but a JSON object, and any key not in
 * `allowed`, is refused.
 */
export function parseRequest(data: Uint8Array | string, allowed: readonly string[]): Record<string, unknown> {
  const text = typeof data === 'string' ? data : new TextDecoder('utf-8', { fatal: false }).decode(data);
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(`the request is not JSON: ${(error as Error).message}`, {
      hint: 'send a JSON object, e.g. {}',
    });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new BadRequestError(
      `the request must be a JSON object, got ${Array.isArray(body) ? 'an array' : JSON.stringify(body)}`,
    );
  const unknown = Object.keys(body).filter((key) => !allowed.includes(key));
  if (unknown.length > 0)
    throw new BadRequestError(
      `unknown field${unknown.length === 1 ? '' : 's'} ${unknown.map((k) => JSON.stringify(k)).join(', ')}${allowed.length > 0 ? ` (known: ${allowed.join(', ')})` : ' (this endpoint takes none)'}`,
      { field: unknown[0] as string },
    );
  return body as Record<string, unknown>;
}

/** A whole number from `min` to `max` (JSON number), or `fallback` when the field is absent. */
export function wholeNumber(
  body: Record<string, unknown>,
  field: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const value = body[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    throw new BadRequestError(
      `${field} must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got ${JSON.stringify(value)}`,
      { field },
    );
  return value;
}

/** A non-empty string, or undefined when the field is absent (and not `required`). */
export function text(body: Record<string, unknown>, field: string, required: true): string;
export function text(body: Record<string, unknown>, field: string, required?: false): string | undefined;
export function text(body: Record<string, unknown>, field: string, required = false): string | undefined {
  const value = body[field];
  if (value === undefined) {
    if (required) throw new BadRequestError(`${field} is required`, { field });
    return undefined;
  }
  if (typeof value !== 'string' || value === '')
    throw new BadRequestError(`${field} must be a non-empty string, got ${JSON.stringify(value)}`, {
      field,
    });
  return value;
}

/** A time field: epoch ms (number) or ISO 8601 text; undefined when absent. */
function timeField(body: Record<string, unknown>, field: string): string | number | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number')
    throw new BadRequestError(
      `${field} must be epoch milliseconds or an ISO 8601 time, got ${JSON.stringify(value)}`,
      {
        field,
        hint: `give ${TIME_FORMS}`,
      },
    );
  return value;
}

/** `tl.ops.v1.status`: no fields. */
export function parseStatusRequest(data: Uint8Array | string): Record<string, never> {
  parseRequest(data, []);
  return {};
}

export interface SessionsListOptions {
  /** Only sessions updated in the last this many minutes; null for all. */
  activeMinutes: number | null;
  /** Only this agent's sessions. */
  agentId?: string;
  /** The most rows returned; null for all of them. */
  limit: number | null;
}

/** `tl.ops.v1.sessions.list`: `{ activeMinutes?, agentId?, limit? }` (limit 1–{@link MAX_LIMIT}, default 100). */
export function parseSessionsListRequest(data: Uint8Array | string): SessionsListOptions {
  const body = parseRequest(data, ['activeMinutes', 'agentId', 'limit']);
  const activeMinutes =
    body.activeMinutes === undefined || body.activeMinutes === null
      ? null
      : wholeNumber(body, 'activeMinutes', 0, 1);
  const agentId = text(body, 'agentId');
  return {
    activeMinutes,
    ...(agentId === undefined ? {} : { agentId }),
    limit: wholeNumber(body, 'limit', DEFAULT_LIMIT, 1, MAX_LIMIT),
  };
}

/** `tl.ops.v1.sessions.show`: `{ sessionKey }`. */
export function parseSessionsShowRequest(data: Uint8Array | string): { sessionKey: string } {
  const body = parseRequest(data, ['sessionKey']);
  return { sessionKey: text(body, 'sessionKey', true) };
}

export interface ReplayPageRequest extends TimeRange {
  sessionKey?: string;
  /** The most records in the page. */
  limit: number;
  /** The cursor: the `nextSeq` of the previous page (0: from the start). */
  afterSeq: number;
}

/**
 * `tl.ops.v1.replay`: `{ sessionKey?, since?, until?, limit?, afterSeq? }` (limit 1–{@link MAX_LIMIT},
 * default 100; afterSeq ≥ 0, default 0).
 */
export function parseReplayRequest(data: Uint8Array | string): ReplayPageRequest {
  const body = parseRequest(data, ['sessionKey', 'since', 'until', 'limit', 'afterSeq']);
  const sessionKey = text(body, 'sessionKey');
  const range = parseTimeRange({ since: timeField(body, 'since'), until: timeField(body, 'until') });
  return {
    ...(sessionKey === undefined ? {} : { sessionKey }),
    ...range,
    limit: wholeNumber(body, 'limit', DEFAULT_LIMIT, 1, MAX_LIMIT),
    afterSeq: wholeNumber(body, 'afterSeq', 0, 0),
  };
}
