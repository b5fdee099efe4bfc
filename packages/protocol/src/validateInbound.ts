/**
 * The gate every inbound message passes before the worker acts on it: bytes in, a verdict out. A message
 * is either a parsed, bounded {@link ChatEventV1} / {@link AgentReplyV1} / {@link ControlEventV1}, or a
 * rejection with a
 * {@link RejectionCode} and a reason a human can act on, which the worker turns into a dead letter
 * ({@link makeDeadLetter}) on `tl.dlq.<code>`.
 *
 * The checks run cheapest first and each one only after the previous passed, so a hostile producer
 * cannot make the worker do more work than the byte cap allows: size (before decoding), UTF-8, JSON,
 * object, version, type, schema. Nothing here throws, whatever the bytes; nothing here is guessed (an
 * unknown version is refused, never read as the nearest known one).
 *
 * Pure: no TextDecoder (not part of this package's ES2023 lib), so UTF-8 and base64 are implemented here.
 */
import type * as z from 'zod';
import {
  type AgentReplyV1,
  agentReplyV1Schema,
  type ChatEventV1,
  CONTROL_EVENT_TYPES,
  type ControlEventV1,
  chatEventV1Schema,
  controlEventV1Schema,
  DEAD_LETTER_MAX_ORIGINAL_BYTES,
  type DeadLetterV1,
  MAX_REASON_LENGTH,
  MAX_SUBJECT_LENGTH,
  RejectionCode,
  SUPPORTED_INBOUND_VERSIONS,
} from './inboundEvents.js';

export type InboundKind = 'chat' | 'reply' | 'control';

/** What each kind of subject carries. */
export interface InboundEventByKind {
  chat: ChatEventV1;
  reply: AgentReplyV1;
  control: ControlEventV1;
}

export interface ValidateInboundOptions<K extends InboundKind = InboundKind> {
  /**
   * Messages longer than this many bytes are refused before decoding. Anything but a non-negative number
   * (NaN, undefined from untyped callers) refuses every message: a broken setting must not lift the cap.
   */
  maxBytes: number;
  /**
   * `chat` for `tl.in.v1.*.*` (expects `chat.message`), `reply` for `tl.reply.v1.*` (expects
   * `agent.reply`), `control` for `tl.ctl.v1.*` (expects one of {@link CONTROL_EVENT_TYPES}).
   */
  kind: K;
}

export type InboundRejection = { ok: false; code: RejectionCode; reason: string };

export type InboundVerdict<K extends InboundKind = InboundKind> =
  | { ok: true; event: InboundEventByKind[K] }
  | InboundRejection;

/** How many schema problems a reason lists before "and N more". */
export const MAX_REPORTED_ISSUES = 5;

/** The `type` values each kind of subject carries; any other `type` is `unknown_type`. */
const EXPECTED_TYPES: Record<InboundKind, readonly string[]> = {
  chat: ['chat.message'],
  reply: ['agent.reply'],
  control: CONTROL_EVENT_TYPES,
};
const SCHEMA: Record<InboundKind, z.ZodType> = {
  chat: chatEventV1Schema,
  reply: agentReplyV1Schema,
  control: controlEventV1Schema,
};

/**
 * Validates one inbound message. Returns `{ ok: true, event }` with the parsed event (unknown fields
 * dropped, `null`/empty optional fields absent, the legacy chat type `dm` read as `direct`), or
 * `{ ok: false, code, reason }`. Never throws, whatever the bytes: deep nesting, huge numbers, invalid
 * UTF-8, unpaired surrogates and `__proto__` keys all end in a verdict.
 */
export function validateInbound<K extends InboundKind>(
  bytes: Uint8Array,
  options: ValidateInboundOptions<K>,
): InboundVerdict<K> {
  const { maxBytes, kind } = options;
  if (!(bytes.length <= maxBytes)) {
    return reject(RejectionCode.TooLarge, `${bytes.length} bytes, more than the limit of ${maxBytes}`);
  }

  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) return reject(RejectionCode.InvalidUtf8, decoded.reason);
  if (decoded.text.charCodeAt(0) === 0xfeff) {
    return reject(
      RejectionCode.InvalidJson,
      'starts with a byte-order mark (U+FEFF), which JSON must not have',
    );
  }

  let value: unknown;
  try {
    value = JSON.parse(decoded.text);
  } catch (error) {
    // V8 parses iteratively, but a RangeError from some other engine on deep nesting lands here too.
    return reject(RejectionCode.InvalidJson, `not JSON: ${errorMessage(error)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return reject(RejectionCode.NotAnObject, `expected a JSON object, got ${describeValue(value)}`);
  }

  // Version before type: another version may have other types, so its type says nothing yet.
  const supported: readonly unknown[] = SUPPORTED_INBOUND_VERSIONS;
  if (Object.hasOwn(value, 'v') && !supported.includes((value as { v: unknown }).v)) {
    return reject(
      RejectionCode.UnknownVersion,
      `v: ${describeValue((value as { v: unknown }).v)} is not a supported version (supported: ${SUPPORTED_INBOUND_VERSIONS.join(', ')})`,
    );
  }

  const expectedTypes = Object.hasOwn(EXPECTED_TYPES, kind) ? EXPECTED_TYPES[kind] : undefined;
  const schema = Object.hasOwn(SCHEMA, kind) ? SCHEMA[kind] : undefined;
  if (expectedTypes === undefined || schema === undefined) {
    return reject(RejectionCode.UnknownType, `no message type is expected for kind ${describeValue(kind)}`);
  }
  if (Object.hasOwn(value, 'type') && !expectedTypes.includes((value as { type: unknown }).type as string)) {
    return reject(
      RejectionCode.UnknownType,
      `type: expected ${oneOf(expectedTypes)} on ${kind} subjects, got ${describeValue((value as { type: unknown }).type)}`,
    );
  }

  try {
    const result = schema.safeParse(value, { reportInput: true });
    if (!result.success) return reject(RejectionCode.SchemaViolation, formatIssues(result.error.issues));
    return { ok: true, event: result.data as InboundEventByKind[K] };
  } catch (error) {
    // Not expected from zod's safeParse; kept so that "never throws" does not rest on a library's internals.
    return reject(RejectionCode.SchemaViolation, `could not be validated: ${errorMessage(error)}`);
  }
}

function reject(code: RejectionCode, reason: string): InboundRejection {
  return { ok: false, code, reason: boundText(reason, MAX_REASON_LENGTH) };
}

/** `"a"` for one value, `one of "a", "b", "c"` for several. */
function oneOf(values: readonly unknown[]): string {
  const shown = values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v)));
  return shown.length === 1 ? (shown[0] as string) : `one of ${shown.join(', ')}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ───────────────────────────── reasons ─────────────────────────────

/** A short, safe rendering of a received value: never serialises a whole object (it may be deep or huge). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(boundText(value, 40));
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean',
  object: 'an object',
  record: 'an object',
  array: 'an array',
  null: 'null',
};

function typeName(expected: string): string {
  return TYPE_NAMES[expected] ?? expected;
}

/** `sender.id`, `meta["a b"]`, `items[3]`; `(root)` for the message itself. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (
      typeof segment === 'string' &&
      /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment) &&
      segment.length <= 64
    )
      out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(boundText(String(segment), 64))}]`;
  }
  return out === '' ? '(root)' : out;
}

type Issue = z.core.$ZodIssue;

/** The received value of an issue; zod reports non-finite numbers as `received` with a null input. */
function received(issue: Issue): string {
  const raw = issue as { received?: unknown };
  if (typeof raw.received === 'string' && (issue.input === null || issue.input === undefined))
    return raw.received;
  return describeValue(issue.input);
}

function describeIssue(issue: Issue): string {
  const missing = issue.input === undefined && !('received' in issue);
  switch (issue.code) {
    case 'invalid_type':
      if (missing) return 'required, but missing';
      return `expected ${typeName(issue.expected)}, got ${received(issue)}`;
    case 'invalid_value':
      if (missing) return 'required, but missing';
      return `expected ${oneOf(issue.values)}, got ${received(issue)}`;
    case 'too_small':
      return issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint'
        ? `too small: at least ${issue.minimum}, got ${received(issue)}`
        : `too short: at least ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint'
        ? `too large: at most ${issue.maximum}${issue.origin === 'int' ? ' (larger integers are not exact)' : ''}, got ${received(issue)}`
        : `too long: at most ${issue.maximum}`;
    case 'invalid_union': {
      // A discriminated union whose discriminator matched no option: the issue's input is the object.
      const { discriminator, options } = issue as { discriminator?: unknown; options?: unknown };
      if (typeof discriminator === 'string' && Array.isArray(options) && issue.errors.length === 0) {
        const parent = issue.input;
        if (parent === undefined) return `expected ${oneOf(options)}`; // parsed without reportInput
        const value =
          parent !== null && typeof parent === 'object' && Object.hasOwn(parent, discriminator)
            ? (parent as Record<string, unknown>)[discriminator]
            : undefined;
        if (value === undefined) return 'required, but missing';
        return `expected ${oneOf(options)}, got ${describeValue(value)}`;
      }
      // A branch that got past its type check failed on a constraint: that constraint is the real problem.
      const matched = issue.errors.filter(
        (branch) => branch[0] !== undefined && branch[0].code !== 'invalid_type',
      );
      const first = matched.length === 1 ? matched[0]?.[0] : undefined;
      if (first !== undefined) return describeIssue(first);
      const expected = issue.errors.flatMap((branch) =>
        branch[0]?.code === 'invalid_type' ? [typeName(branch[0].expected)] : [],
      );
      return expected.length > 0
        ? `expected ${expected.join(' or ')}, got ${received(issue)}`
        : `matches none of the allowed forms, got ${received(issue)}`;
    }
    case 'invalid_key': {
      const inner = issue.issues[0];
      if (inner?.code === 'invalid_format') {
        return 'not an allowed key (1–64 ASCII letters, digits, ".", "_", ":", "-", starting with a letter or digit)';
      }
      return inner === undefined ? 'not an allowed key' : `not an allowed key: ${describeIssue(inner)}`;
    }
    case 'invalid_format':
      return `does not have the required format${'pattern' in issue && issue.pattern ? ` ${issue.pattern}` : ''}, got ${received(issue)}`;
    default:
      return issue.message;
  }
}

/** `sender.id: expected a string, got 42; at: required, but missing` — the first few, one per path. */
export function formatIssues(issues: readonly Issue[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const issue of issues) {
    const path = formatPath(issue.path);
    if (seen.has(path)) continue; // one problem per field: a too-big int would otherwise report twice
    seen.add(path);
    lines.push(`${path}: ${describeIssue(issue)}`);
  }
  if (lines.length === 0) return 'does not match the schema';
  const shown = lines.slice(0, MAX_REPORTED_ISSUES).join('; ');
  return lines.length > MAX_REPORTED_ISSUES
    ? `${shown}; and ${lines.length - MAX_REPORTED_ISSUES} more`
    : shown;
}

/**
 * At most `max` code points of `value`, with any unpaired surrogate replaced by U+FFFD, so that the result
 * is always valid dead-letter text (a V8 error message may quote half of a surrogate pair).
 */
export function boundText(value: string, max: number): string {
  let out = '';
  let count = 0;
  for (let i = 0; i < value.length && count < max; i++, count++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += value.slice(i, i + 2);
        i++;
      } else {
        out += '\uFFFD';
      }
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      out += '\uFFFD';
    } else {
      out += value[i];
    }
  }
  return out;
}

// ───────────────────────────── UTF-8 ─────────────────────────────

export type Utf8Result = { ok: true; text: string } | { ok: false; offset: number; reason: string };

/**
 * Strict UTF-8 decoding (Unicode 15, table 3-7): overlong forms, encoded surrogates, code points above
 * U+10FFFF, stray continuation bytes and truncated sequences are all errors, reported with the offset of
 * the first bad byte. Never substitutes U+FFFD: a message that is not text is refused, not repaired.
 */
export function decodeUtf8(bytes: Uint8Array): Utf8Result {
  const chunks: string[] = [];
  // UTF-16 units go into a reused buffer that is flushed in chunks: one string per 8 Ki units instead of
  // one per character, and no argument list long enough to overflow the stack.
  const units = new Uint16Array(8194);
  let n = 0;
  const flush = () => {
    chunks.push(String.fromCharCode.apply(null, units.subarray(0, n) as unknown as number[]));
    n = 0;
  };
  const fail = (offset: number, what: string): Utf8Result => ({
    ok: false,
    offset,
    reason: `${what} at byte ${offset}`,
  });
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i] as number;
    if (b0 < 0x80) {
      units[n++] = b0;
      i++;
      if (n >= 8192) flush();
      continue;
    }
    let code: number;
    let size: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
      size = 2;
      code = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      size = 3;
      code = b0 & 0x0f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      size = 4;
      code = b0 & 0x07;
    } else {
      return fail(i, `byte 0x${hex(b0)} cannot start a UTF-8 sequence`);
    }
    // The second byte's range excludes overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4).
    const lo = b0 === 0xe0 ? 0xa0 : b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xed ? 0x9f : b0 === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k < size; k++) {
      if (i + k >= bytes.length) return fail(i, 'truncated UTF-8 sequence');
      const b = bytes[i + k] as number;
      if (b < (k === 1 ? lo : 0x80) || b > (k === 1 ? hi : 0xbf)) {
        return fail(i + k, `invalid UTF-8 continuation byte 0x${hex(b)}`);
      }
      code = (code << 6) | (b & 0x3f);
    }
    if (code > 0xffff) {
      code -= 0x10000;
      units[n++] = 0xd800 | (code >> 10);
      units[n++] = 0xdc00 | (code & 0x3ff);
    } else {
      units[n++] = code;
    }
    i += size;
    if (n >= 8192) flush();
  }
  flush();
  return { ok: true, text: chunks.join('') };
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

// ───────────────────────────── base64 ─────────────────────────────

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 (RFC 4648 §4) with `=` padding. */
export function encodeBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const b0 = bytes[i] as number;
    const b1 = bytes[i + 1];
    const b2 = bytes[i + 2];
    const n = (b0 << 16) | ((b1 ?? 0) << 8) | (b2 ?? 0);
    out += BASE64_ALPHABET[(n >> 18) & 63];
    out += BASE64_ALPHABET[(n >> 12) & 63];
    out += b1 === undefined ? '=' : BASE64_ALPHABET[(n >> 6) & 63];
    out += b2 === undefined ? '=' : BASE64_ALPHABET[n & 63];
    if (out.length >= 8192) {
      parts.push(out);
      out = '';
    }
  }
  parts.push(out);
  return parts.join('');
}

/**
 * Inverse of {@link encodeBase64}, for tools that replay dead letters. Returns undefined for anything that
 * is not canonical padded standard base64 (wrong length, other characters, non-zero padding bits).
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    return undefined;
  }
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const c = [0, 1, 2, 3].map((k) => {
      const char = text[i + k] as string;
      return char === '=' ? 0 : BASE64_ALPHABET.indexOf(char);
    }) as [number, number, number, number];
    const n = (c[0] << 18) | (c[1] << 12) | (c[2] << 6) | c[3];
    const bytes = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
    for (const byte of bytes) if (o < out.length) out[o++] = byte;
    // Canonical form only: the bits a padded quantum leaves unused must be zero.
    if (i + 4 === text.length && padding > 0 && (padding === 2 ? n & 0xffff : n & 0xff) !== 0)
      return undefined;
  }
  return out;
}

// ───────────────────────────── dead letters ─────────────────────────────

export interface DeadLetterInput {
  code: RejectionCode;
  reason: string;
  /** The subject the message arrived on. */
  subject: string;
  /** When the worker received it, integer epoch ms (an input: this package reads no clock). */
  receivedAt: number;
  /** The message bytes as received. */
  original: Uint8Array;
  /** Keep at most this many bytes of the original; capped at {@link DEAD_LETTER_MAX_ORIGINAL_BYTES}. */
  maxOriginalBytes?: number;
}

/**
 * Builds the {@link DeadLetterV1} the worker publishes on `tl.dlq.<code>` ({@link deadLetterSubjectFor}).
 * Total for any strings and bytes: the reason and subject are cut to their limits (unpaired surrogates
 * replaced), and only the first `maxOriginalBytes` of the original are kept, flagged `truncated`, so that
 * the dead letter of a too-large message is not itself too large. `receivedAt` must be integer epoch ms.
 */
export function makeDeadLetter(input: DeadLetterInput): DeadLetterV1 {
  const requested = input.maxOriginalBytes ?? DEAD_LETTER_MAX_ORIGINAL_BYTES;
  // A nonsensical limit (NaN, negative) falls back to the cap rather than lifting it.
  const limit =
    requested >= 0
      ? Math.min(Math.floor(requested), DEAD_LETTER_MAX_ORIGINAL_BYTES)
      : DEAD_LETTER_MAX_ORIGINAL_BYTES;
  const truncated = input.original.length > limit;
  const kept = truncated ? input.original.subarray(0, limit) : input.original;
  return {
    v: 1,
    code: input.code,
    reason: boundText(input.reason, MAX_REASON_LENGTH),
    subject: boundText(input.subject, MAX_SUBJECT_LENGTH),
    receivedAt: input.receivedAt,
    originalSize: input.original.length,
    originalBase64: encodeBase64(kept),
    truncated,
  };
}
