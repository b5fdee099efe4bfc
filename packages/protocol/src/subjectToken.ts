/**
 * Subject-token encoding for values that become one token of a NATS subject (session keys, peer ids).
 *
 * A NATS subject token must not contain `.` (the separator), `*` or `>` (wildcards), or whitespace, and
 * must not be empty. Session keys can contain all of these (`+1555…`, `…@g.us`, `!ops:matrix.example`,
 * canonical names with spaces). The encoding keeps the common key characters readable and escapes every
 * other UTF-8 byte as `%XX` (upper-case hex), like URI percent-encoding:
 *
 *   kept as is:  A–Z a–z 0–9 - _ : + ! = , ~
 *   escaped:     everything else, `%` itself included; `$` (a leading `$` marks NATS system subjects); and
 *                `@`, because nats-server before 2.11 cuts a subject at its last `@` when a consumer's message
 *                crosses a route (nats-server #6777: seen on 2.10.27, garbling WhatsApp `…@g.us` keys)
 *
 * It is injective (distinct inputs give distinct tokens) and `decodeSubjectToken` inverts it exactly.
 * The empty string is encoded as `%` alone, which no other input produces. A lone UTF-16 surrogate is
 * not text and is refused with {@link SubjectTokenError}.
 */
const KEPT = /^[A-Za-z0-9\-_:+!=,~]$/;

export function encodeSubjectToken(value: string): string {
  if (value === '') return '%';
  let out = '';
  for (const char of value) {
    if (KEPT.test(char)) {
      out += char;
      continue;
    }
    out += escapeChar(value, char);
  }
  return out;
}

/** `%XX` for each UTF-8 byte of one code point. */
function escapeChar(value: string, char: string): string {
  const code = char.codePointAt(0) as number;
  if (code < 0x80) return `%${code.toString(16).toUpperCase().padStart(2, '0')}`;
  try {
    return encodeURIComponent(char); // non-ASCII: always fully %-escaped UTF-8, upper-case hex
  } catch {
    throw new SubjectTokenError(
      value,
      `lone surrogate U+${code.toString(16).toUpperCase()} is not Unicode text`,
    );
  }
}

export class SubjectTokenError extends Error {
  override readonly name = 'SubjectTokenError';
  readonly code = 'INVALID_SUBJECT_TOKEN';
  constructor(
    readonly token: string,
    message: string,
  ) {
    super(`invalid subject token ${JSON.stringify(token)}: ${message}`);
  }
}

/** Inverse of {@link encodeSubjectToken}. Throws {@link SubjectTokenError} on a token it could not have produced. */
export function decodeSubjectToken(token: string): string {
  if (token === '%') return '';
  for (let i = 0; i < token.length; i++) {
    const char = token[i] as string;
    if (char === '%') {
      if (!/^[0-9A-F]{2}$/.test(token.slice(i + 1, i + 3)))
        throw new SubjectTokenError(token, `bad escape at ${i}`);
      i += 2;
    } else if (!KEPT.test(char)) {
      throw new SubjectTokenError(token, `unescaped ${JSON.stringify(char)} at ${i}`);
    }
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(token);
  } catch {
    throw new SubjectTokenError(token, 'escapes are not valid UTF-8');
  }
  if (encodeSubjectToken(decoded) !== token) throw new SubjectTokenError(token, 'not in canonical form');
  return decoded;
}

/** True when `token` can stand as one subject token as is (no separator, wildcard, whitespace; not empty). */
export function isValidSubjectToken(token: string): boolean {
  return token.length > 0 && !/[.*>\s]/u.test(token);
}
