/**
 * Fuzzing subject tokens and subjects (issue #9, hostile input): any text becomes exactly one NATS
 * subject token and comes back unchanged; nothing else is ever decoded; session keys beyond the limit
 * are refused with a clear reason before they get near a subject. See docs/fuzzing.md: `FC_NUM_RUNS`
 * runs every property longer, `FC_SEED` replays one run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runs, TIMEOUT } from './fuzzRuns.support.js';
import {
  MAX_ID_LENGTH,
  MAX_NAME_LENGTH,
  MAX_SESSION_KEY_LENGTH,
  MAX_SUBJECT_LENGTH,
  RejectionCode,
  unicodeLength,
} from './inboundEvents.js';
import { Subjects } from './subjects.js';
import {
  decodeSubjectToken,
  encodeSubjectToken,
  isValidSubjectToken,
  SubjectTokenError,
} from './subjectToken.js';
import { makeDeadLetter, validateInbound } from './validateInbound.js';

/** What a token may hold: the kept characters and `%XX` escapes (upper-case hex), nothing else. */
const TOKEN_SHAPE = /^(?:[A-Za-z0-9\-_:+!=,~]|%[0-9A-F]{2})+$|^%$/;
/** Characters no token may hold: NATS separators and wildcards, whitespace, controls, `$` and `@`. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const NEVER_IN_TOKEN = /[.*>\s\u0000-\u001f\u007f$@]/u;

const SUBJECT_SPECIAL = [
  '.',
  '*',
  '>',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u000b',
  '\f',
  '\u0000',
  '%',
  '%2E',
  '%25',
  '%%',
  '%G',
  '$',
  '$JS.API',
  '@',
  '#',
  '/',
  '\\',
  ':',
  '..',
  '.>',
  'a.*.>',
  '\u00a0',
  '\u1680',
  '\u2028',
  '\u3000',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\u0301',
  'ü',
  'İ',
  '😀',
  '👩‍👩‍👧',
  '\u{10ffff}',
];
const well = fc.oneof(
  fc.constantFrom(...SUBJECT_SPECIAL),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 3 }),
);
/** Well-formed text made of subject-special pieces, sometimes very long. */
const wellFormed = fc.oneof(
  { weight: 5, arbitrary: fc.array(well, { maxLength: 40 }).map((a) => a.join('')) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...SUBJECT_SPECIAL), fc.integer({ min: 1, max: 5_000 }))
      .map(([piece, n]) => piece.repeat(n)),
  },
);
/** Any UTF-16 string, unpaired surrogates included. */
const anyString = fc.oneof(wellFormed, fc.string({ unit: 'binary', maxLength: 60 }));

function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

describe('subject tokens under fuzzing', () => {
  it(
    'given any well-formed text (separators, wildcards, whitespace, NUL, escapes, any Unicode, very long), when encoded, then it is one valid token that decodes back',
    () => {
      fc.assert(
        fc.property(wellFormed, (raw) => {
          const token = encodeSubjectToken(raw);
          expect(token).toMatch(TOKEN_SHAPE);
          expect(token).not.toMatch(NEVER_IN_TOKEN);
          expect(isValidSubjectToken(token)).toBe(true);
          expect(decodeSubjectToken(token)).toBe(raw);
          // Each UTF-8 byte is one character or one 3-character escape; the empty string is `%`.
          const bytes = utf8Length(raw);
          expect(token.length).toBeGreaterThanOrEqual(Math.max(bytes, 1));
          expect(token.length).toBeLessThanOrEqual(Math.max(3 * bytes, 1));
        }),
        { numRuns: runs(1000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given any UTF-16 string, when encoded, then it is a token or, exactly for an unpaired surrogate, a SubjectTokenError',
    () => {
      fc.assert(
        fc.property(anyString, (raw) => {
          let token: string | undefined;
          try {
            token = encodeSubjectToken(raw);
          } catch (error) {
            expect(error).toBeInstanceOf(SubjectTokenError);
            expect((error as SubjectTokenError).code).toBe('INVALID_SUBJECT_TOKEN');
            expect((error as Error).message).toMatch(/lone surrogate/);
          }
          expect(token === undefined).toBe(unicodeLength(raw) === undefined);
        }),
        { numRuns: runs(1000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given two different strings that differ only in case, escapes or invisible characters, when encoded, then their tokens differ',
    () => {
      const variant = fc.constantFrom(
        (s: string) => s.toUpperCase(),
        (s: string) => s.toLowerCase(),
        (s: string) => `${s}\u200b`,
        (s: string) => `\ufeff${s}`,
        (s: string) => s.normalize('NFD'),
        (s: string) => s.normalize('NFC'),
        (s: string) => s.replaceAll('.', '%2E'),
        (s: string) => s.replaceAll('%', '%25'),
        (s: string) => ` ${s}`,
        (s: string) => s.replaceAll(' ', '\u00a0'),
      );
      fc.assert(
        fc.property(wellFormed, wellFormed, variant, (a, b, change) => {
          for (const [x, y] of [
            [a, b],
            [a, change(a)],
          ] as const) {
            if (x === y || unicodeLength(y) === undefined) continue;
            expect(encodeSubjectToken(x)).not.toBe(encodeSubjectToken(y));
          }
        }),
        { numRuns: runs(1000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given any string as a token, when decoded, then it either returns the one text that encodes to it or throws a SubjectTokenError',
    () => {
      const tokenish = fc.oneof(
        anyString,
        wellFormed.map((s) => encodeSubjectToken(s)),
        // Valid tokens with one character changed: lower-case hex, a cut escape, a kept character escaped.
        fc
          .tuple(
            wellFormed,
            fc.nat(),
            fc.constantFrom('%', '%2', '%2e', '%41', '.', '*', '>', ' ', '%C3', '%FF'),
          )
          .map(([s, at, piece]) => {
            const t = encodeSubjectToken(s);
            const i = at % (t.length + 1);
            return t.slice(0, i) + piece + t.slice(i + 1);
          }),
      );
      fc.assert(
        fc.property(tokenish, (token) => {
          let decoded: string | undefined;
          try {
            decoded = decodeSubjectToken(token);
          } catch (error) {
            expect(error).toBeInstanceOf(SubjectTokenError);
            return;
          }
          expect(encodeSubjectToken(decoded)).toBe(token);
        }),
        { numRuns: runs(2000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given hostile channels, peers and keys, when subjects are built, then each has exactly its fixed number of tokens and no wildcard',
    () => {
      fc.assert(
        fc.property(wellFormed, wellFormed, (a, b) => {
          const cases: [string, number][] = [
            [Subjects.inbound(a, b), 5],
            [Subjects.delivery(a, b), 5],
            [Subjects.reply(a), 4],
            [Subjects.control(a), 4],
            [Subjects.routed(a), 4],
            [Subjects.session(a), 3],
          ];
          for (const [subject, tokens] of cases) {
            const parts = subject.split('.');
            expect(parts).toHaveLength(tokens);
            for (const part of parts) expect(isValidSubjectToken(part)).toBe(true);
            expect(subject).not.toMatch(/[*>\s]/);
          }
        }),
        { numRuns: runs(300, 3) },
      );
    },
    TIMEOUT,
  );
});

describe('session keys and subject length limits under fuzzing', () => {
  const codePoint = fc.constantFrom('a', '.', ' ', '>', '\u0000', 'é', '€', '😀');
  const reply = (sessionKey: string) => ({
    v: 1,
    type: 'agent.reply',
    id: 'r1',
    sessionKey,
    text: 'x',
    at: 1_776_675_600_000,
  });
  /** UTF-8 bytes of well-formed text (this package has no TextEncoder). */
  const utf8 = (text: string) => {
    const escaped = encodeURIComponent(text);
    const out: number[] = [];
    for (let i = 0; i < escaped.length; i++)
      if (escaped[i] === '%') {
        out.push(Number.parseInt(escaped.slice(i + 1, i + 3), 16));
        i += 2;
      } else out.push(escaped.charCodeAt(i));
    return Uint8Array.from(out);
  };

  it(
    'given a session key around MAX_SESSION_KEY_LENGTH code points, when a reply or control event carries it, then a longer one is refused with a reason that names the field and the limit',
    () => {
      fc.assert(
        fc.property(
          fc.integer({ min: -2, max: 3 }),
          codePoint,
          fc.constantFrom<'reply' | 'control'>('reply', 'control'),
          (delta, c, kind) => {
            const key = c.repeat(MAX_SESSION_KEY_LENGTH + delta);
            const event =
              kind === 'reply'
                ? reply(key)
                : { v: 1, type: 'clock.tick', id: 'c1', sessionKey: key, at: 1_776_675_600_000 };
            const verdict = validateInbound(utf8(JSON.stringify(event)), { maxBytes: 1_048_576, kind });
            if (delta <= 0) {
              expect(verdict.ok).toBe(true);
              // Any accepted key is one token; its encoded form is at most 12 characters per code point.
              const token = encodeSubjectToken(key);
              expect(isValidSubjectToken(token)).toBe(true);
              expect(token.length).toBeLessThanOrEqual(12 * MAX_SESSION_KEY_LENGTH);
            } else {
              expect(verdict).toEqual({
                ok: false,
                code: RejectionCode.SchemaViolation,
                reason: `sessionKey: too long: ${MAX_SESSION_KEY_LENGTH + delta} characters, at most ${MAX_SESSION_KEY_LENGTH}`,
              });
            }
          },
        ),
        { numRuns: runs(100, 10) },
      );
    },
    TIMEOUT,
  );

  it(
    'given the longest channel and peer a chat event may carry, in any characters, when its inbound subject is built, then it fits MAX_SUBJECT_LENGTH and a dead letter keeps it whole',
    () => {
      fc.assert(
        fc.property(codePoint, codePoint, (c, p) => {
          const subject = Subjects.inbound(c.repeat(MAX_NAME_LENGTH), p.repeat(MAX_ID_LENGTH));
          expect(subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
          const letter = makeDeadLetter({
            code: 'invalid_json',
            reason: 'r',
            subject,
            receivedAt: 0,
            original: new Uint8Array(16),
            maxOriginalBytes: 4,
          });
          expect(letter.subject).toBe(subject);
          expect(letter.truncated).toBe(true);
        }),
        { numRuns: runs(64, 10) },
      );
    },
    TIMEOUT,
  );

  it(
    'given a subject longer than MAX_SUBJECT_LENGTH, when dead-lettered, then it is cut to the limit, never left unbounded',
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 3 * MAX_SUBJECT_LENGTH }), codePoint, (extra, c) => {
          const subject = `tl.reply.v1.${c.repeat(MAX_SUBJECT_LENGTH + extra)}`;
          const letter = makeDeadLetter({
            code: 'unrecordable',
            reason: 'r',
            subject,
            receivedAt: 0,
            original: new Uint8Array(),
          });
          expect(unicodeLength(letter.subject)).toBe(MAX_SUBJECT_LENGTH);
          expect(subject.startsWith(letter.subject)).toBe(true);
        }),
        { numRuns: runs(100, 10) },
      );
    },
    TIMEOUT,
  );
});
