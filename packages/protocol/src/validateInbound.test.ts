import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CONTROL_EVENT_TYPES,
  DEAD_LETTER_MAX_ORIGINAL_BYTES,
  DEFAULT_MAX_INBOUND_BYTES,
  deadLetterV1Schema,
  MAX_REASON_LENGTH,
  MAX_TEXT_LENGTH,
  RejectionCode,
} from './inboundEvents.js';
import { control } from './testEvents.support.js';
import {
  boundText,
  decodeBase64,
  decodeUtf8,
  encodeBase64,
  formatPath,
  type InboundKind,
  makeDeadLetter,
  validateInbound,
} from './validateInbound.js';

// ───────────── helpers ─────────────

/** UTF-8 bytes of well-formed text, via encodeURIComponent (the package has no TextEncoder). */
function utf8(text: string): Uint8Array {
  const escaped = encodeURIComponent(text);
  const out: number[] = [];
  for (let i = 0; i < escaped.length; i++) {
    if (escaped[i] === '%') {
      out.push(Number.parseInt(escaped.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(escaped.charCodeAt(i));
    }
  }
  return Uint8Array.from(out);
}

/** The reference decoder: decodeURIComponent refuses exactly the ill-formed UTF-8 (ECMA-262 Decode). */
function referenceDecode(bytes: Uint8Array): string | undefined {
  try {
    return decodeURIComponent([...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''));
  } catch {
    return undefined;
  }
}

const json = (value: unknown) => utf8(JSON.stringify(value));
const options = (kind: InboundKind = 'chat') => ({ maxBytes: DEFAULT_MAX_INBOUND_BYTES, kind });
const check = (input: Uint8Array | string, kind: InboundKind = 'chat') =>
  validateInbound(typeof input === 'string' ? utf8(input) : input, options(kind));

function chat(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    type: 'chat.message',
    id: 'telegram:default:123456789:4711',
    channel: 'telegram',
    chatType: 'direct',
    peer: { kind: 'direct', id: 123456789 },
    sender: { id: '123456789', displayName: 'Alice', isAuthorized: true },
    text: 'hello',
    at: 1_776_675_600_000,
    ...overrides,
  };
}

function rejection(input: Uint8Array | string, kind: InboundKind = 'chat') {
  const verdict = check(input, kind);
  if (verdict.ok) throw new Error(`expected a rejection, got ${JSON.stringify(verdict.event)}`);
  return verdict;
}

// ───────────── valid input ─────────────

describe('valid messages', () => {
  it('given a chat event on a chat subject, when validated, then the parsed event comes back', () => {
    const verdict = check(JSON.stringify(chat()));
    expect(verdict).toEqual({ ok: true, event: chat() });
  });

  it('given an agent reply on a reply subject, when validated, then the parsed reply comes back', () => {
    const sent = { v: 1, type: 'agent.reply', id: 'r1', sessionKey: 'agent:main:main', text: 'hi', at: 5 };
    expect(check(JSON.stringify(sent), 'reply')).toEqual({ ok: true, event: sent });
  });

  it.each(CONTROL_EVENT_TYPES)(
    'given a %s control event on a control subject, when validated, then the parsed event comes back',
    (type) => {
      expect(check(JSON.stringify(control(type)), 'control')).toEqual({ ok: true, event: control(type) });
    },
  );

  it('given a control event with unknown fields and the fields of another type, when validated, then they are dropped', () => {
    const sent = control('clock.tick', { trigger: 'operator', addedLater: [1] });
    expect(check(JSON.stringify(sent), 'control')).toEqual({ ok: true, event: control('clock.tick') });
  });

  it('given unknown fields and a legacy dm chat type, when validated, then they are dropped and normalised', () => {
    const verdict = check(JSON.stringify(chat({ chatType: 'dm', addedInV1_3: { x: 1 } })));
    expect(verdict.ok && verdict.event).toEqual(chat({ chatType: 'direct' }));
  });

  it('given insignificant JSON whitespace and escapes, when validated, then they are accepted', () => {
    const text = JSON.stringify(chat({ text: 'caf\u00e9 😀 \u2028' }), null, 2).replace(
      'hello',
      '\\u0068ello',
    );
    expect(check(text).ok).toBe(true);
  });

  it('given a payload exactly at the byte limit, when validated, then it is not too large', () => {
    const bytes = json(chat());
    expect(validateInbound(bytes, { maxBytes: bytes.length, kind: 'chat' }).ok).toBe(true);
  });
});

// ───────────── every rejection code ─────────────

describe(`rejection: ${RejectionCode.TooLarge}`, () => {
  it('given one byte more than the limit, when validated, then it is too large and says by how much', () => {
    const bytes = json(chat());
    const verdict = validateInbound(bytes, { maxBytes: bytes.length - 1, kind: 'chat' });
    expect(verdict).toEqual({
      ok: false,
      code: RejectionCode.TooLarge,
      reason: `${bytes.length} bytes, more than the limit of ${bytes.length - 1}`,
    });
  });

  it('given a control event one byte over the limit, when validated, then it is too large', () => {
    const bytes = json(control('clock.tick'));
    expect(validateInbound(bytes, { maxBytes: bytes.length, kind: 'control' }).ok).toBe(true);
    expect(validateInbound(bytes, { maxBytes: bytes.length - 1, kind: 'control' })).toEqual({
      ok: false,
      code: RejectionCode.TooLarge,
      reason: `${bytes.length} bytes, more than the limit of ${bytes.length - 1}`,
    });
  });

  it('given oversized bytes that are not even UTF-8, when validated, then size is checked first', () => {
    const bytes = new Uint8Array(100).fill(0xff);
    expect(validateInbound(bytes, { maxBytes: 99, kind: 'chat' })).toMatchObject({ code: 'too_large' });
  });

  it.each([Number.NaN, -1, undefined])(
    'given maxBytes %s, when validated, then everything is refused',
    (max) => {
      const verdict = validateInbound(json(chat()), { maxBytes: max as number, kind: 'chat' });
      expect(verdict).toMatchObject({ ok: false, code: 'too_large' });
    },
  );
});

describe(`rejection: ${RejectionCode.InvalidUtf8}`, () => {
  const prefix = utf8('{"text":"');
  it.each([
    ['a byte that never occurs in UTF-8', [0xff], 'byte 0xFF cannot start a UTF-8 sequence at byte 9'],
    ['a stray continuation byte', [0x80], 'byte 0x80 cannot start a UTF-8 sequence at byte 9'],
    ['an overlong two-byte form of "/"', [0xc0, 0xaf], 'byte 0xC0 cannot start a UTF-8 sequence at byte 9'],
    ['an overlong three-byte form', [0xe0, 0x80, 0xaf], 'invalid UTF-8 continuation byte 0x80 at byte 10'],
    ['an encoded surrogate U+D800', [0xed, 0xa0, 0x80], 'invalid UTF-8 continuation byte 0xA0 at byte 10'],
    [
      'a code point above U+10FFFF',
      [0xf4, 0x90, 0x80, 0x80],
      'invalid UTF-8 continuation byte 0x90 at byte 10',
    ],
    ['a five-byte lead', [0xf8, 0x88, 0x80, 0x80, 0x80], 'byte 0xF8 cannot start a UTF-8 sequence at byte 9'],
    [
      'a sequence cut short by an ASCII byte',
      [0xe2, 0x82, 0x22],
      'invalid UTF-8 continuation byte 0x22 at byte 11',
    ],
  ])('given %s, when validated, then it is invalid UTF-8 with the offset', (_what, bad, reason) => {
    const bytes = Uint8Array.from([...prefix, ...bad, ...utf8('"}')]);
    expect(check(bytes)).toEqual({ ok: false, code: RejectionCode.InvalidUtf8, reason });
  });

  it('given a bad continuation right before the end, when validated, then the bad byte is named, not the end', () => {
    expect(rejection(Uint8Array.from([0x7b, 0xe2, 0x22]))).toMatchObject({
      reason: 'invalid UTF-8 continuation byte 0x22 at byte 2',
    });
  });

  it('given a sequence truncated by the end of the message, when validated, then it is invalid UTF-8', () => {
    expect(rejection(Uint8Array.from([0x7b, 0xe2, 0x82]))).toEqual({
      ok: false,
      code: RejectionCode.InvalidUtf8,
      reason: 'truncated UTF-8 sequence at byte 1',
    });
  });
});

describe(`rejection: ${RejectionCode.InvalidJson}`, () => {
  it.each([
    ['an empty message', ''],
    ['a cut-off object', '{"v":1,'],
    ['single quotes', "{'v':1}"],
    ['a trailing comma', '{"v":1,}'],
    ['JavaScript, not JSON', '{v:1}'],
    ['NaN', '{"v":NaN}'],
    ['two documents', '{}{}'],
  ])('given %s, when validated, then it is invalid JSON', (_what, text) => {
    const verdict = rejection(text);
    expect(verdict.code).toBe(RejectionCode.InvalidJson);
    expect(verdict.reason).toMatch(/^not JSON: /);
  });

  it('given a UTF-8 byte-order mark, when validated, then it is refused as not JSON, not silently skipped', () => {
    const bytes = Uint8Array.from([0xef, 0xbb, 0xbf, ...json(chat())]);
    expect(rejection(bytes)).toMatchObject({
      code: RejectionCode.InvalidJson,
      reason: expect.stringMatching(/byte-order mark/),
    });
  });
});

describe(`rejection: ${RejectionCode.NotAnObject}`, () => {
  it.each([
    ['[]', 'an array'],
    ['[{"v":1}]', 'an array'],
    ['"chat.message"', '"chat.message"'],
    ['42', '42'],
    ['null', 'null'],
    ['true', 'true'],
  ])('given %s, when validated, then it is not an object', (text, got) => {
    expect(rejection(text)).toEqual({
      ok: false,
      code: RejectionCode.NotAnObject,
      reason: `expected a JSON object, got ${got}`,
    });
  });
});

describe(`rejection: ${RejectionCode.UnknownVersion}`, () => {
  it.each([
    [2, '2'],
    ['1', '"1"'],
    [1.5, '1.5'],
    [null, 'null'],
    [{ major: 1 }, 'an object'],
  ])('given v = %j, when validated, then it names the version and the supported ones', (v, shown) => {
    expect(rejection(JSON.stringify(chat({ v })))).toEqual({
      ok: false,
      code: RejectionCode.UnknownVersion,
      reason: `v: ${shown} is not a supported version (supported: 1)`,
    });
  });

  it.each([2, '1', 0])(
    'given a control event with v = %j, when validated, then it is an unknown version',
    (v) => {
      expect(rejection(JSON.stringify(control('timer.fired', { v })), 'control')).toMatchObject({
        code: RejectionCode.UnknownVersion,
        reason: expect.stringMatching(/^v: .* is not a supported version \(supported: 1\)$/),
      });
    },
  );

  it('given an unknown version with an unknown type, when validated, then the version is reported (checked first)', () => {
    expect(rejection(JSON.stringify({ v: 2, type: 'chat.message.v2' })).code).toBe(
      RejectionCode.UnknownVersion,
    );
  });

  it('given no v at all, when validated, then it is a schema violation (a broken producer, not a newer one)', () => {
    const event = chat();
    delete event.v;
    expect(rejection(JSON.stringify(event))).toMatchObject({
      code: RejectionCode.SchemaViolation,
      reason: 'v: required, but missing',
    });
  });
});

describe(`rejection: ${RejectionCode.UnknownType}`, () => {
  it('given a reply on a chat subject, when validated, then it is an unknown type', () => {
    expect(rejection(JSON.stringify(chat({ type: 'agent.reply' })))).toEqual({
      ok: false,
      code: RejectionCode.UnknownType,
      reason: 'type: expected "chat.message" on chat subjects, got "agent.reply"',
    });
  });

  it('given a chat event on a reply subject, when validated, then it is an unknown type', () => {
    expect(rejection(JSON.stringify(chat()), 'reply')).toMatchObject({ code: RejectionCode.UnknownType });
  });

  it.each(['chat.edit', 'CHAT.MESSAGE', 42])(
    'given type %j, when validated, then it is an unknown type',
    (type) => {
      expect(rejection(JSON.stringify(chat({ type }))).code).toBe(RejectionCode.UnknownType);
    },
  );

  it.each(['timer.cancelled', 'chat.message', 'agent.reply', 'CLOCK.TICK', '', 42, null])(
    'given a control event of type %j, when validated, then it is an unknown type naming the allowed ones',
    (type) => {
      expect(rejection(JSON.stringify(control('clock.tick', { type })), 'control')).toEqual({
        ok: false,
        code: RejectionCode.UnknownType,
        reason: `type: expected one of ${CONTROL_EVENT_TYPES.map((t) => JSON.stringify(t)).join(', ')} on control subjects, got ${
          type === null ? 'null' : JSON.stringify(type)
        }`,
      });
    },
  );

  it.each(CONTROL_EVENT_TYPES)(
    'given a %s control event on a chat or reply subject, when validated, then it is an unknown type',
    (type) => {
      expect(rejection(JSON.stringify(control(type)), 'chat')).toMatchObject({
        code: RejectionCode.UnknownType,
        reason: `type: expected "chat.message" on chat subjects, got "${type}"`,
      });
      expect(rejection(JSON.stringify(control(type)), 'reply').code).toBe(RejectionCode.UnknownType);
    },
  );

  it('given a kind the validator does not know (an untyped caller), when validated, then it refuses', () => {
    const verdict = validateInbound(json(chat()), { maxBytes: 1000, kind: '__proto__' as InboundKind });
    expect(verdict).toMatchObject({ ok: false, code: RejectionCode.UnknownType });
  });
});

describe(`rejection: ${RejectionCode.SchemaViolation}`, () => {
  it.each([
    ['a number as sender id', { sender: { id: 42 } }, 'sender.id: expected a string, got 42'],
    ['a date string as time', { at: '2026-04-20' }, 'at: expected a number, got "2026-04-20"'],
    ['a fractional time', { at: 1.5 }, 'at: expected an integer, got 1.5'],
    ['a negative time', { at: -1 }, 'at: too small: at least 0, got -1'],
    [
      'an inexact integer',
      { tokens: 1e20 },
      'tokens: too large: at most 9007199254740991 (larger integers are not exact), got 100000000000000000000',
    ],
    [
      'an unknown chat type',
      { chatType: 'private' },
      'chatType: expected one of "direct", "group", "channel", "dm", got "private"',
    ],
    [
      'a boolean peer id',
      { peer: { kind: 'direct', id: true } },
      'peer.id: expected a string or a number, got true',
    ],
    [
      'a fractional peer id',
      { peer: { kind: 'direct', id: 1.5 } },
      'peer.id: expected a string or an integer, got 1.5',
    ],
    ['an empty peer id', { peer: { kind: 'direct', id: '' } }, 'peer.id: must not be empty'],
    ['an array as peer', { peer: [1] }, 'peer: expected an object, got an array'],
    [
      'a text one character too long',
      { text: 'x'.repeat(MAX_TEXT_LENGTH + 1) },
      `text: too long: ${MAX_TEXT_LENGTH + 1} characters, at most ${MAX_TEXT_LENGTH}`,
    ],
    ['an unpaired surrogate', { text: '\uD800' }, 'text: not Unicode text (contains an unpaired surrogate)'],
    [
      'a string as a boolean',
      { sender: { id: 's', isAuthorized: 'yes' } },
      'sender.isAuthorized: expected a boolean, got "yes"',
    ],
    [
      'a meta key with a space',
      { meta: { 'a b': 'x' } },
      'meta["a b"]: not an allowed key (1–64 ASCII letters, digits, ".", "_", ":", "-", starting with a letter or digit)',
    ],
    ['a number as meta value', { meta: { k: 1 } }, 'meta.k: expected a string, got 1'],
  ])(
    'given %s, when validated, then the reason names the path and the problem',
    (_what, overrides, reason) => {
      expect(rejection(JSON.stringify(chat(overrides)))).toEqual({
        ok: false,
        code: RejectionCode.SchemaViolation,
        reason,
      });
    },
  );

  it('given a number too large for a double, when validated, then the reason says Infinity', () => {
    const text = JSON.stringify(chat()).replace('"at":1776675600000', '"at":1e400');
    expect(rejection(text).reason).toBe('at: expected a number, got Infinity');
  });

  it('given a __proto__ key in meta, when validated, then it is refused, and nothing is polluted', () => {
    const text = JSON.stringify(chat()).replace(/}$/, ',"meta":{"__proto__":{"polluted":"yes"}}}');
    expect(rejection(text).reason).toBe('meta.__proto__: the key "__proto__" is not allowed');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('given a top-level __proto__ key, when validated, then it is ignored like any unknown field', () => {
    const text = JSON.stringify(chat()).replace(/}$/, ',"__proto__":{"v":2,"isAdmin":true}}');
    const verdict = check(text);
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(Object.getPrototypeOf(verdict.event)).toBe(Object.prototype);
    expect((verdict.event as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('given many problems, when validated, then the first five are named and the rest counted', () => {
    const verdict = rejection(JSON.stringify({ v: 1, type: 'chat.message' }));
    expect(verdict.reason).toBe(
      'id: required, but missing; channel: required, but missing; chatType: required, but missing; ' +
        'peer: required, but missing; sender: required, but missing; and 2 more',
    );
  });

  it.each([
    [
      'a timer with no timerId',
      control('timer.fired', { timerId: undefined }),
      'timerId: required, but missing',
    ],
    ['a timer with an empty timerId', control('timer.fired', { timerId: '' }), 'timerId: must not be empty'],
    [
      'a timer with a numeric timerId',
      control('timer.fired', { timerId: 7 }),
      'timerId: expected a string, got 7',
    ],
    [
      'a reset with no trigger',
      control('session.reset', { trigger: null }),
      'trigger: expected a string, got null',
    ],
    [
      'a reset with an oversize trigger',
      control('session.reset', { trigger: 't'.repeat(65) }),
      'trigger: too long: 65 characters, at most 64',
    ],
    [
      'an oversize session key',
      control('clock.tick', { sessionKey: 'k'.repeat(1025) }),
      'sessionKey: too long: 1025 characters, at most 1024',
    ],
    ['an empty session key', control('clock.tick', { sessionKey: '' }), 'sessionKey: must not be empty'],
    ['a fractional time', control('clock.tick', { at: 1.5 }), 'at: expected an integer, got 1.5'],
    ['no type', control('clock.tick', { type: undefined }), 'type: required, but missing'],
    [
      'no v, no id and no time',
      control('timer.fired', { v: undefined, id: undefined, at: undefined }),
      'v: required, but missing; id: required, but missing; at: required, but missing',
    ],
  ])(
    'given a control event with %s, when validated, then the reason names the path and the problem',
    (_what, event, reason) => {
      expect(rejection(JSON.stringify(event), 'control')).toEqual({
        ok: false,
        code: RejectionCode.SchemaViolation,
        reason,
      });
    },
  );

  it('given a reply with no session key, when validated, then the reason names it', () => {
    const verdict = rejection(
      JSON.stringify({ v: 1, type: 'agent.reply', id: 'r', text: '', at: 1 }),
      'reply',
    );
    expect(verdict).toEqual({
      ok: false,
      code: 'schema_violation',
      reason: 'sessionKey: required, but missing',
    });
  });
});

// ───────────── hostile input ─────────────

describe('hostile input', () => {
  const big = { maxBytes: 10_000_000, kind: 'chat' as const };
  const depth = 200_000;

  it('given arrays nested 200k deep, when validated, then it is not an object (and nothing overflows)', () => {
    expect(validateInbound(utf8(`${'['.repeat(depth)}${']'.repeat(depth)}`), big)).toMatchObject({
      code: RejectionCode.NotAnObject,
    });
  });

  it('given objects nested 200k deep in a known field, when validated, then it is a schema violation', () => {
    const nested = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const text = JSON.stringify(chat()).replace('"sender":{', `"sender":${nested},"x":{`);
    expect(validateInbound(utf8(text), big)).toMatchObject({
      code: RejectionCode.SchemaViolation,
      reason: 'sender.id: required, but missing',
    });
  });

  it('given deep nesting in an unknown field, when validated, then it is ignored', () => {
    const text = JSON.stringify(chat()).replace(/}$/, `,"x":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    expect(validateInbound(utf8(text), big).ok).toBe(true);
  });

  it('given a huge key name, when validated, then the reason stays bounded', () => {
    const verdict = rejection(JSON.stringify(chat({ meta: { [`${'k'.repeat(50_000)} `]: 'v' } })));
    expect(verdict.code).toBe(RejectionCode.SchemaViolation);
    expect(verdict.reason.length).toBeLessThan(300);
  });

  it('never throws, and always gives a known code, for arbitrary bytes', () => {
    const codes = new Set<string>(Object.values(RejectionCode));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 400 }), (bytes, maxBytes) => {
        const verdict = validateInbound(bytes, { maxBytes, kind: 'chat' });
        if (!verdict.ok) {
          expect(codes.has(verdict.code)).toBe(true);
          expect(verdict.reason.length).toBeLessThanOrEqual(MAX_REASON_LENGTH * 2);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws for arbitrary JSON values, and accepts only what survives a re-validation unchanged', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.dictionary(
            fc.constantFrom('v', 'type', 'id', 'peer', 'sender', 'meta', '__proto__', 'at'),
            fc.jsonValue(),
          ),
          fc.jsonValue().map((x) => ({ ...chat(), meta: x, peer: { kind: 'group', id: x } })),
          fc
            .tuple(
              fc.constantFrom(...CONTROL_EVENT_TYPES),
              fc.constantFrom('timerId', 'trigger', 'at', 'id'),
              fc.jsonValue(),
            )
            .map(([type, field, x]) => control(type, { [field]: x })),
        ),
        fc.constantFrom<InboundKind>('chat', 'reply', 'control'),
        (value, kind) => {
          const verdict = validateInbound(json(value), { maxBytes: DEFAULT_MAX_INBOUND_BYTES, kind });
          if (verdict.ok) expect(validateInbound(json(verdict.event), options(kind))).toEqual(verdict);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('accepts every well-formed event, whatever Unicode its strings hold', () => {
    const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(
        fc.record({
          id: name,
          channel: name,
          peer: fc.record({
            kind: fc.constantFrom('direct', 'dm', 'group', 'channel'),
            id: fc.oneof(name, fc.maxSafeInteger()),
          }),
          sender: fc.record({ id: name, displayName: name }, { requiredKeys: ['id'] }),
          text: fc.string({ unit: 'grapheme', maxLength: 200 }),
          at: fc.integer({ min: 0, max: 4_102_444_800_000 }),
          meta: fc.dictionary(fc.stringMatching(/^[a-z0-9][a-z0-9._:-]{0,10}$/), name, { maxKeys: 5 }),
        }),
        (fields) => {
          const event = { v: 1, type: 'chat.message', chatType: 'group', ...fields };
          const verdict = check(json(event));
          expect(verdict).toEqual({ ok: true, event });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('accepts every well-formed control event, whatever Unicode its strings hold', () => {
    const name = (max: number) => fc.string({ unit: 'grapheme', minLength: 1, maxLength: max });
    fc.assert(
      fc.property(
        fc.constantFrom(...CONTROL_EVENT_TYPES),
        fc.record({ id: name(20), sessionKey: name(60), at: fc.integer({ min: 0, max: 4_102_444_800_000 }) }),
        name(20),
        (type, fields, extra) => {
          const event = control(type, {
            ...fields,
            ...(type === 'timer.fired'
              ? { timerId: extra }
              : type === 'session.reset'
                ? { trigger: extra }
                : {}),
          });
          expect(check(json(event), 'control')).toEqual({ ok: true, event });
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ───────────── UTF-8 ─────────────

describe('decodeUtf8', () => {
  it('decodes any well-formed text back to itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), (text) => {
        expect(decodeUtf8(utf8(text))).toEqual({ ok: true, text });
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly the byte strings the ECMAScript reference decoder accepts, with the same text', () => {
    const likelyUtf8 = fc.array(
      fc.oneof(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0x80, max: 0xbf }),
        fc.constantFrom(0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5),
      ),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(likelyUtf8, (list) => {
        const bytes = Uint8Array.from(list);
        const expected = referenceDecode(bytes);
        const actual = decodeUtf8(bytes);
        expect(actual.ok ? actual.text : undefined).toBe(expected);
      }),
      { numRuns: 20_000 },
    );
  });

  it('decodes a long message across its internal chunks', () => {
    const text = 'aü€😀'.repeat(10_000);
    expect(decodeUtf8(utf8(text))).toEqual({ ok: true, text });
  });
});

// ───────────── base64 ─────────────

describe('base64', () => {
  it.each([
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
  ])('encodes %j as %j (RFC 4648 §10)', (text, encoded) => {
    expect(encodeBase64(utf8(text))).toBe(encoded);
    expect(decodeBase64(encoded)).toEqual(utf8(text));
  });

  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(decodeBase64(encodeBase64(bytes))).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('encodes all 256 byte values with the standard alphabet', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(encodeBase64(all)).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(encodeBase64(Uint8Array.from([0xfb, 0xff]))).toBe('+/8=');
  });

  it.each(['Zg=', 'Zh==', 'Zm9=', 'Z===', 'Zm9v!', 'Zm 9v', 'Zm9vYg==Zg=='])('refuses %j', (text) => {
    expect(decodeBase64(text)).toBeUndefined();
  });
});

// ───────────── dead letters ─────────────

describe('makeDeadLetter', () => {
  const receivedAt = 1_776_675_600_123;

  it('given a rejection, when made into a dead letter, then it keeps the code, reason, subject and bytes', () => {
    const original = utf8('{"v":2}');
    const verdict = rejection(original);
    const letter = makeDeadLetter({ ...verdict, subject: 'tl.in.v1.telegram.1', receivedAt, original });
    expect(letter).toEqual({
      v: 1,
      code: 'unknown_version',
      reason: 'v: 2 is not a supported version (supported: 1)',
      subject: 'tl.in.v1.telegram.1',
      receivedAt,
      originalSize: 7,
      originalBase64: 'eyJ2IjoyfQ==',
      truncated: false,
    });
    expect(deadLetterV1Schema.parse(letter)).toEqual(letter);
  });

  it('given an original over the cap, when made into a dead letter, then only the first bytes are kept', () => {
    const original = new Uint8Array(DEAD_LETTER_MAX_ORIGINAL_BYTES + 10).fill(0x61);
    const letter = makeDeadLetter({ code: 'too_large', reason: 'r', subject: 's', receivedAt, original });
    expect(letter.truncated).toBe(true);
    expect(letter.originalSize).toBe(DEAD_LETTER_MAX_ORIGINAL_BYTES + 10);
    expect(decodeBase64(letter.originalBase64)?.length).toBe(DEAD_LETTER_MAX_ORIGINAL_BYTES);
    expect(deadLetterV1Schema.safeParse(letter).success).toBe(true);
  });

  it.each([
    [4, true, 4],
    [10, false, 10],
    [DEAD_LETTER_MAX_ORIGINAL_BYTES * 2, false, 10],
    [Number.NaN, false, 10],
    [-3, false, 10],
  ])(
    'given maxOriginalBytes %s for 10 bytes, then truncated is %s and %i bytes are kept',
    (max, truncated, kept) => {
      const letter = makeDeadLetter({
        code: 'invalid_json',
        reason: 'r',
        subject: 's',
        receivedAt,
        original: new Uint8Array(10),
        maxOriginalBytes: max,
      });
      expect(letter.truncated).toBe(truncated);
      expect(decodeBase64(letter.originalBase64)?.length).toBe(kept);
    },
  );

  it('always produces a dead letter its own schema accepts, whatever the reason and subject', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(RejectionCode)),
        fc.string({ unit: 'binary', maxLength: 3000 }),
        fc.string({ unit: 'binary', maxLength: 5000 }),
        fc.uint8Array({ maxLength: 100 }),
        (code, reason, subject, original) => {
          const letter = makeDeadLetter({ code, reason, subject, receivedAt, original });
          expect(deadLetterV1Schema.safeParse(letter).success).toBe(true);
          expect(decodeBase64(letter.originalBase64)).toEqual(original);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('reason helpers', () => {
  it.each([
    [[], '(root)'],
    [['sender', 'id'], 'sender.id'],
    [['meta', 'a b'], 'meta["a b"]'],
    [['items', 3, 'x'], 'items[3].x'],
    [['meta', '__proto__'], 'meta.__proto__'],
  ])('formats the path %j as %s', (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });

  it('bounds text by code points and repairs unpaired surrogates', () => {
    expect(boundText('😀😀😀', 2)).toBe('😀😀');
    expect(boundText('a\uD800b\uDC00', 10)).toBe('a\uFFFDb\uFFFD');
    expect(boundText('abc', 0)).toBe('');
  });
});
