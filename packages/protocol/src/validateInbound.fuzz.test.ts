/**
 * Fuzzing the inbound gate (issue #9, hostile input): whatever bytes arrive, `validateInbound` returns a
 * verdict — a parsed event that survives its own round trip, or a rejection with a known code and a
 * bounded, non-empty reason that makes a valid dead letter — and never throws, whatever the nesting,
 * size, encoding or Unicode. See docs/fuzzing.md: `FC_NUM_RUNS` runs every property longer, `FC_SEED`
 * replays one run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runs, TIMEOUT } from './fuzzRuns.support.js';
import {
  CONTROL_EVENT_TYPES,
  DEFAULT_MAX_INBOUND_BYTES,
  deadLetterSubjectFor,
  deadLetterV1Schema,
  MAX_DISPLAY_NAME_LENGTH,
  MAX_ID_LENGTH,
  MAX_KEPT_TURNS,
  MAX_META_ENTRIES,
  MAX_META_KEY_LENGTH,
  MAX_META_VALUE_LENGTH,
  MAX_NAME_LENGTH,
  MAX_REASON_LENGTH,
  MAX_SESSION_KEY_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_TOOL_CALLS,
  RejectionCode,
  unicodeLength,
} from './inboundEvents.js';
import { control } from './testEvents.support.js';
import { type InboundKind, makeDeadLetter, validateInbound } from './validateInbound.js';

// ───────────── helpers ─────────────

/**
 * UTF-8 bytes of `text`, with any unpaired surrogate written as its own 3-byte form (WTF-8), which
 * strict UTF-8 forbids: a producer with a broken encoder sends exactly that.
 */
function wtf8(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
      }
    }
    if (code < 0x80) out.push(code);
    else if (code < 0x800) out.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000) out.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    else
      out.push(
        0xf0 | (code >> 18),
        0x80 | ((code >> 12) & 63),
        0x80 | ((code >> 6) & 63),
        0x80 | (code & 63),
      );
  }
  return Uint8Array.from(out);
}

const json = (value: unknown) => wtf8(JSON.stringify(value));
const KINDS: readonly InboundKind[] = ['chat', 'reply', 'control'];
const kindArb = fc.constantFrom(...KINDS);
const CODES = new Set<string>(Object.values(RejectionCode));
const EXPECTED_TYPES: Record<InboundKind, readonly unknown[]> = {
  chat: ['chat.message'],
  reply: ['agent.reply'],
  control: CONTROL_EVENT_TYPES,
};
const RECEIVED_AT = 1_776_675_600_123;

function hasLoneSurrogate(text: string): boolean {
  return unicodeLength(text) === undefined;
}

/**
 * The contract of every verdict: an accepted event comes back unchanged through its own JSON form; a
 * rejection has a known code and a non-empty reason of at most MAX_REASON_LENGTH code points with no
 * unpaired surrogate, and becomes a dead letter its own schema accepts.
 */
function checkVerdict(bytes: Uint8Array, kind: InboundKind, maxBytes = DEFAULT_MAX_INBOUND_BYTES) {
  const verdict = validateInbound(bytes, { maxBytes, kind });
  expect(validateInbound(bytes, { maxBytes, kind })).toEqual(verdict); // deterministic
  if (verdict.ok) {
    expect(typeof verdict.event).toBe('object');
    expect(EXPECTED_TYPES[kind]).toContain(verdict.event.type);
    const again = validateInbound(json(verdict.event), { maxBytes: Number.POSITIVE_INFINITY, kind });
    expect(again.ok).toBe(true);
    // The wire form is what matters (a `-0` reads back as `0`, equal on the wire).
    if (again.ok) expect(JSON.stringify(again.event)).toBe(JSON.stringify(verdict.event));
  } else {
    expect(CODES.has(verdict.code), verdict.code).toBe(true);
    expect(typeof verdict.reason).toBe('string');
    expect(verdict.reason.length).toBeGreaterThan(0);
    const length = unicodeLength(verdict.reason);
    expect(length, 'the reason is Unicode text').toBeDefined();
    expect(length).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(bytes.length > maxBytes).toBe(verdict.code === RejectionCode.TooLarge);
    const letter = makeDeadLetter({
      code: verdict.code,
      reason: verdict.reason,
      subject: 'tl.in.v1.fuzz.x',
      receivedAt: RECEIVED_AT,
      original: bytes,
    });
    expect(deadLetterV1Schema.safeParse(letter).success).toBe(true);
    expect(deadLetterSubjectFor(letter)).toBe(`tl.dlq.${verdict.code}`);
  }
  return verdict;
}

/**
 * The documented order of the first checks (docs/protocol.md, "Dead letters"): not an object, then an
 * unsupported `v`, then a `type` the subject does not carry; past those, the schema decides.
 */
function expectedEarlyCode(value: unknown, kind: InboundKind): RejectionCode | 'schema' {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return RejectionCode.NotAnObject;
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, 'v') && record.v !== 1) return RejectionCode.UnknownVersion;
  if (Object.hasOwn(record, 'type') && !EXPECTED_TYPES[kind].includes(record.type))
    return RejectionCode.UnknownType;
  return 'schema';
}

// ───────────── hostile material ─────────────

/** Characters that break subjects, logs, terminals, parsers or naive length checks. */
const HOSTILE_CHARS = [
  '.',
  '*',
  '>',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u0000',
  '\u0007',
  '\u007f',
  '\u0085',
  '%',
  '%2E',
  '$',
  '@',
  ':',
  '/',
  '\\',
  '"',
  "'",
  '{',
  '[',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\u200b', // zero-width space
  '\u200d', // zero-width joiner
  '\u200e', // left-to-right mark
  '\u200f', // right-to-left mark
  '\u202e', // right-to-left override
  '\u2066', // left-to-right isolate
  '\ufeff', // byte-order mark
  '\u0301', // combining acute accent
  'e\u0301\u0301\u0301',
  '\ufffd',
  '\uffff',
  'İ',
  'ß',
  'Σ',
  'ﬁ',
  'ǅ',
  'ا',
  '😀',
  '👩‍👩‍👧',
  '🏳️‍🌈',
  '\u{10ffff}',
  '\u{e0041}', // tag character
  '\ud800', // unpaired high surrogate
  '\udfff', // unpaired low surrogate
];
const hostileChar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_CHARS) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
);
const hostileString = (maxLength: number, minLength = 0) =>
  fc.array(hostileChar, { minLength, maxLength }).map((chars) => chars.join(''));

type Shape = 'array' | 'object' | 'mixed';
const shapeArb = fc.constantFrom<Shape>('array', 'object', 'mixed');

/** Whether level `i` (0 = innermost) of a nesting of `shape` is an array. */
const isArrayLevel = (shape: Shape, i: number) => shape === 'array' || (shape === 'mixed' && i % 2 === 0);

/** Nested JSON as text, for depths JSON.stringify would need deep recursion for. */
function nestedText(depth: number, shape: Shape): string {
  const open: string[] = [];
  const close: string[] = [];
  for (let i = depth - 1; i >= 0; i--) open.push(isArrayLevel(shape, i) ? '[' : '{"a":');
  for (let i = 0; i < depth; i++) close.push(isArrayLevel(shape, i) ? ']' : '}');
  return `${open.join('')}1${close.join('')}`;
}

/** Values nested `depth` deep, built iteratively (no recursion, whatever the depth). */
function nested(depth: number, shape: Shape, leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = isArrayLevel(shape, i) ? [value] : { a: value };
  return value;
}

const numberEdge = fc.constantFrom(
  0,
  -0,
  -1,
  1.5,
  2 ** 31,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 53),
  1e21,
  1e308,
  5e-324,
  Number.MAX_VALUE,
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString(40) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: numberEdge },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, '', [], {}, '1', 'null') },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 300 }), shapeArb)
      .map(([depth, shape]) => nested(depth, shape)),
  },
);

/** Arbitrary JSON trees, deep and wide (fc.letrec), with hostile strings and the protocol's own keys. */
const { tree } = fc.letrec<{ tree: unknown; node: unknown }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, hostileValue, tie('node')),
  node: fc.oneof(
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(
        fc.constantFrom('v', 'type', 'id', 'peer', 'sender', 'meta', 'text', 'sessionKey', '__proto__'),
        hostileString(8),
      ),
      tie('tree'),
      { maxKeys: 5 },
    ),
  ),
}));

// ───────────── valid events to mutate ─────────────

function chat(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    type: 'chat.message',
    id: 'telegram:default:123456789:4711',
    agentId: 'main',
    channel: 'telegram',
    accountId: 'default',
    chatType: 'group',
    peer: { kind: 'group', id: -1001234567890 },
    threadId: '42',
    parentPeer: { kind: 'channel', id: 'c1' },
    sender: { id: '123456789', displayName: 'Alice', isOwner: false, isAuthorized: true },
    provider: 'telegram',
    text: 'hello',
    at: 1_776_675_600_000,
    tokens: 3,
    sessionKey: 'agent:main:telegram:group:-1001234567890',
    meta: { 'telegram.message_id': '4711' },
    ...overrides,
  };
}

function reply(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    type: 'agent.reply',
    id: 'reply:agent:main:main:run-8f2c:1',
    sessionKey: 'agent:main:main',
    text: 'Good morning',
    at: 1_776_675_604_200,
    inReplyTo: 'telegram:default:123456789:4711',
    tokens: 31,
    usage: { inputTokens: 5120, outputTokens: 31, contextTokens: 5151 },
    system: false,
    toolCallIds: ['call-1', 'call-2'],
    toolResultOf: 'call-0',
    noDelivery: false,
    ...overrides,
  };
}

const baseEvents: { kind: InboundKind; event: Record<string, unknown> }[] = [
  { kind: 'chat', event: chat() },
  { kind: 'chat', event: chat({ chatType: 'dm', peer: { kind: 'dm', id: 'alice' } }) },
  { kind: 'reply', event: reply() },
  ...CONTROL_EVENT_TYPES.map((type) => ({ kind: 'control' as const, event: control(type) })),
];

/** Every top-level field any inbound schema knows. */
const KNOWN_TOP_LEVEL = new Set(
  [chat(), reply(), ...CONTROL_EVENT_TYPES.map((type) => control(type))].flatMap((e) => Object.keys(e)),
);
for (const field of ['instructions', 'settings', 'sendPolicy', 'origin', 'lastRoute', 'compactionCount'])
  KNOWN_TOP_LEVEL.add(field);

type Path = (string | number)[];

/** Every path inside `value` (the root excluded), depth first. */
function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (value !== null && typeof value === 'object')
    for (const key of Object.keys(value)) {
      const path = [...prefix, Array.isArray(value) ? Number(key) : key];
      out.push(path);
      pathsOf((value as Record<string, unknown>)[key], path, out);
    }
  return out;
}

function containerAt(root: unknown, path: Path): Record<string | number, unknown> | undefined {
  let at: unknown = root;
  for (const segment of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string | number, unknown>)[segment];
  }
  return at !== null && typeof at === 'object' ? (at as Record<string | number, unknown>) : undefined;
}

/**
 * Sets an own, enumerable property, even `__proto__` (plain assignment would change the prototype), to a
 * copy of `value` (generated values can be shared between runs and must not be changed in place).
 */
function setOwn(target: Record<string | number, unknown>, key: string | number, value: unknown) {
  const copy = value !== null && typeof value === 'object' ? JSON.parse(JSON.stringify(value)) : value;
  Object.defineProperty(target, key, { value: copy, enumerable: true, writable: true, configurable: true });
}

type Mutation =
  | { op: 'delete'; at: number }
  | { op: 'replace'; at: number; value: unknown }
  | { op: 'insert'; at: number; key: string; value: unknown };

const insertedKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'x', ''),
  hostileString(12),
);
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), key: insertedKey, value: hostileValue }),
);

/** Applies the mutations in order to a copy of `event`; `at` picks a path (or, for insert, an object). */
function mutate(event: Record<string, unknown>, mutations: readonly Mutation[]): unknown {
  const root = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
  for (const m of mutations) {
    const paths = pathsOf(root);
    if (m.op === 'insert') {
      const objects = [[], ...paths].filter((p) => {
        const c = containerAt(root, p);
        return c !== undefined && !Array.isArray(c);
      });
      const target = containerAt(root, objects[m.at % objects.length] as Path);
      if (target) setOwn(target, m.key, m.value);
      continue;
    }
    if (paths.length === 0) continue;
    const path = paths[m.at % paths.length] as Path;
    const parent = containerAt(root, path.slice(0, -1));
    const last = path[path.length - 1] as string | number;
    if (!parent) continue;
    if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else setOwn(parent, last, m.value);
  }
  return root;
}

// ───────────── properties ─────────────

describe('validateInbound under fuzzing: total on any input', () => {
  it(
    'given arbitrary bytes (and near-UTF-8 and near-JSON bytes), when validated with any cap, then it returns a well-formed verdict',
    () => {
      const valid = fc.constantFrom(...baseEvents).map(({ event }) => json(event));
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 2048 }),
        // Valid events with random bytes overwritten, inserted or cut.
        fc
          .tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }))
          .map(([b, edits]) => {
            const copy = Uint8Array.from(b);
            for (const [at, byte] of edits) copy[at % copy.length] = byte;
            return copy;
          }),
        fc.tuple(valid, fc.nat()).map(([b, cut]) => b.subarray(0, cut % (b.length + 1))),
      );
      fc.assert(
        fc.property(
          bytes,
          kindArb,
          fc.oneof(fc.constant(DEFAULT_MAX_INBOUND_BYTES), fc.integer({ min: 0, max: 3000 })),
          (b, kind, maxBytes) => {
            checkVerdict(b, kind, maxBytes);
          },
        ),
        { numRuns: runs(1000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given arbitrary text (unpaired surrogates, NUL, RTL, zero-width, combining, emoji), when validated, then the first failing check decides the code',
    () => {
      const text = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.string({ unit: 'grapheme', maxLength: 100 }),
        hostileString(100),
        // JSON-looking text with hostile pieces spliced in.
        fc.tuple(fc.jsonValue({ maxDepth: 3 }), hostileString(5), fc.nat()).map(([value, piece, at]) => {
          const s = JSON.stringify(value) ?? 'null';
          const i = at % (s.length + 1);
          return s.slice(0, i) + piece + s.slice(i);
        }),
      );
      fc.assert(
        fc.property(text, kindArb, (s, kind) => {
          const verdict = checkVerdict(wtf8(s), kind);
          let parsed: { ok: true; value: unknown } | { ok: false };
          try {
            parsed = { ok: true, value: JSON.parse(s) };
          } catch {
            parsed = { ok: false };
          }
          const expected = hasLoneSurrogate(s)
            ? RejectionCode.InvalidUtf8
            : s.charCodeAt(0) === 0xfeff || !parsed.ok
              ? RejectionCode.InvalidJson
              : expectedEarlyCode(parsed.value, kind);
          if (expected === 'schema') {
            if (!verdict.ok) expect(verdict.code).toBe(RejectionCode.SchemaViolation);
          } else expect(verdict.ok ? 'ok' : verdict.code).toBe(expected);
        }),
        { numRuns: runs(1000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given arbitrary JSON values and deep, wide trees, when validated, then the documented check order holds and an accepted event round-trips',
    () => {
      const value = fc.oneof(
        fc.jsonValue({ maxDepth: 6 }),
        tree,
        // Protocol-shaped objects whose fields hold arbitrary trees.
        fc
          .tuple(fc.constantFrom(...baseEvents), fc.dictionary(fc.constantFrom(...KNOWN_TOP_LEVEL), tree))
          .map(([{ event }, fields]) => ({ ...event, ...fields })),
      );
      fc.assert(
        fc.property(value, kindArb, (v, kind) => {
          const verdict = checkVerdict(json(v), kind);
          const expected = expectedEarlyCode(JSON.parse(JSON.stringify(v)), kind);
          if (expected === 'schema') {
            if (!verdict.ok) expect(verdict.code).toBe(RejectionCode.SchemaViolation);
          } else expect(verdict.ok ? 'ok' : verdict.code).toBe(expected);
        }),
        { numRuns: runs(800) },
      );
    },
    TIMEOUT,
  );

  it(
    'given nesting up to 100 000 levels, anywhere in a message, when validated, then it is a verdict, never a stack overflow',
    () => {
      const place = fc.constantFrom(
        'root',
        'text',
        'peer.id',
        'sender',
        'meta',
        'unknown',
        'sessionKey',
        'turns',
      );
      fc.assert(
        fc.property(
          fc.oneof(
            fc.integer({ min: 1, max: 2_000 }),
            fc.integer({ min: 1, max: 100_000 }),
            fc.constant(100_000),
          ),
          shapeArb,
          place,
          kindArb,
          (depth, s, where, kind) => {
            const deep = nestedText(depth, s);
            const base = JSON.stringify(
              kind === 'chat' ? chat() : kind === 'reply' ? reply() : control('session.imported'),
            );
            const text =
              where === 'root'
                ? deep
                : where === 'unknown'
                  ? base.replace(/}$/, `,"x":${deep}}`)
                  : where === 'peer.id'
                    ? base.replace(/"peer":\{[^}]*\}/, `"peer":{"kind":"group","id":${deep}}`)
                    : where === 'meta'
                      ? base.replace(/}$/, `,"meta":{"k":${deep}}}`)
                      : base.replace(/}$/, `,"${where}":${deep}}`);
            const verdict = checkVerdict(wtf8(text), kind, Number.POSITIVE_INFINITY);
            if (where === 'root')
              expect(verdict).toMatchObject({
                ok: false,
                code: isArrayLevel(s, depth - 1) ? RejectionCode.NotAnObject : RejectionCode.SchemaViolation,
              });
            // Unknown fields are ignored, however deep; a known field refuses the nesting.
            const known =
              where === 'root' ||
              where === 'sessionKey' ||
              (where === 'text' && kind !== 'control') ||
              ((where === 'sender' || where === 'meta' || where === 'peer.id') && kind === 'chat') ||
              (where === 'turns' && kind === 'control');
            expect(verdict.ok).toBe(!known);
          },
        ),
        { numRuns: runs(12, 500) },
      );
    },
    TIMEOUT,
  );

  it('given exactly 100 000 nested arrays, when validated, then it is a rejection (not_an_object), not a RangeError', () => {
    const bytes = wtf8(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    for (const kind of KINDS)
      expect(checkVerdict(bytes, kind)).toMatchObject({ ok: false, code: RejectionCode.NotAnObject });
    // Under a cap below its 200 000 bytes it is refused before it is even decoded.
    expect(checkVerdict(bytes, 'chat', 199_999)).toMatchObject({ ok: false, code: RejectionCode.TooLarge });
  });
});

describe('validateInbound under fuzzing: limits', () => {
  /** [kind, builder of an event with the field set to `value`, limit in code points, minimum]. */
  type Field = [string, InboundKind, (value: string) => Record<string, unknown>, number, number];
  const fields: Field[] = [
    ['chat id', 'chat', (v) => chat({ id: v }), MAX_ID_LENGTH, 1],
    ['chat channel', 'chat', (v) => chat({ channel: v }), MAX_NAME_LENGTH, 1],
    ['chat accountId', 'chat', (v) => chat({ accountId: v }), MAX_ID_LENGTH, 0],
    ['chat agentId', 'chat', (v) => chat({ agentId: v }), MAX_ID_LENGTH, 0],
    ['chat threadId', 'chat', (v) => chat({ threadId: v }), MAX_ID_LENGTH, 0],
    ['chat peer.id', 'chat', (v) => chat({ peer: { kind: 'group', id: v } }), MAX_ID_LENGTH, 1],
    ['chat sender.id', 'chat', (v) => chat({ sender: { id: v } }), MAX_ID_LENGTH, 1],
    [
      'chat sender.displayName',
      'chat',
      (v) => chat({ sender: { id: 's', displayName: v } }),
      MAX_DISPLAY_NAME_LENGTH,
      0,
    ],
    ['chat provider', 'chat', (v) => chat({ provider: v }), MAX_NAME_LENGTH, 0],
    ['chat text', 'chat', (v) => chat({ text: v }), MAX_TEXT_LENGTH, 0],
    ['chat sessionKey', 'chat', (v) => chat({ sessionKey: v }), MAX_SESSION_KEY_LENGTH, 0],
    ['chat meta value', 'chat', (v) => chat({ meta: { k: v } }), MAX_META_VALUE_LENGTH, 0],
    ['reply id', 'reply', (v) => reply({ id: v }), MAX_ID_LENGTH, 1],
    ['reply sessionKey', 'reply', (v) => reply({ sessionKey: v }), MAX_SESSION_KEY_LENGTH, 1],
    ['reply text', 'reply', (v) => reply({ text: v }), MAX_TEXT_LENGTH, 0],
    ['reply inReplyTo', 'reply', (v) => reply({ inReplyTo: v }), MAX_ID_LENGTH, 0],
    ['control id', 'control', (v) => control('clock.tick', { id: v }), MAX_ID_LENGTH, 1],
    [
      'control sessionKey',
      'control',
      (v) => control('clock.tick', { sessionKey: v }),
      MAX_SESSION_KEY_LENGTH,
      1,
    ],
    ['timer id', 'control', (v) => control('timer.fired', { timerId: v }), MAX_ID_LENGTH, 1],
    ['reset trigger', 'control', (v) => control('session.reset', { trigger: v }), MAX_NAME_LENGTH, 1],
    ['failure reason', 'control', (v) => control('compaction.failed', { reason: v }), MAX_REASON_LENGTH, 1],
    [
      'compaction summary',
      'control',
      (v) => control('compaction.completed', { summary: v }),
      MAX_TEXT_LENGTH,
      1,
    ],
  ];
  /** One code point each: a string of n of them is n characters, whatever its UTF-16 or UTF-8 length. */
  const codePoint = fc.constantFrom(
    'a',
    '.',
    '*',
    '>',
    ' ',
    '\u0000',
    '\u0301',
    '\u200f',
    '\u202e',
    '\ufeff',
    'é',
    '€',
    '😀',
    '\u{10ffff}',
  );

  it(
    'given strings at, just under and beyond each length limit (in code points, any characters), when validated, then exactly those within the limit pass',
    () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...fields),
          fc.integer({ min: -2, max: 2 }),
          codePoint,
          ([, kind, build, limit, min], delta, c) => {
            const length = limit + delta;
            const verdict = checkVerdict(json(build(c.repeat(length))), kind);
            expect(verdict.ok).toBe(length <= limit && length >= min);
            if (!verdict.ok) {
              expect(verdict.code).toBe(RejectionCode.SchemaViolation);
              expect(verdict.reason).toMatch(/too long/);
            }
          },
        ),
        { numRuns: runs(100, 20) },
      );
    },
    TIMEOUT,
  );

  it(
    'given the entry counts around their limits (meta, tool calls, kept turns, meta key length), when validated, then exactly those within pass',
    () => {
      const counted: [InboundKind, (n: number) => Record<string, unknown>, number][] = [
        [
          'chat',
          (n) => chat({ meta: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v'])) }),
          MAX_META_ENTRIES,
        ],
        ['chat', (n) => chat({ meta: { [`k${'x'.repeat(n - 1)}`]: 'v' } }), MAX_META_KEY_LENGTH],
        [
          'reply',
          (n) => reply({ toolCallIds: Array.from({ length: n }, (_, i) => `c${i}`) }),
          MAX_TOOL_CALLS,
        ],
        [
          'control',
          (n) => control('compaction.completed', { keptIds: Array.from({ length: n }, (_, i) => `m${i}`) }),
          MAX_KEPT_TURNS,
        ],
      ];
      fc.assert(
        fc.property(
          fc.constantFrom(...counted),
          fc.integer({ min: -2, max: 2 }),
          ([kind, build, limit], delta) => {
            const verdict = checkVerdict(json(build(limit + delta)), kind);
            expect(verdict.ok).toBe(delta <= 0);
          },
        ),
        { numRuns: runs(40, 20) },
      );
    },
    TIMEOUT,
  );

  it(
    'given a valid event padded to exactly the byte cap plus or minus a few bytes, when validated, then only the bytes beyond the cap are refused, before decoding',
    () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1_000, max: 60_000 }),
          fc.integer({ min: -3, max: 3 }),
          kindArb,
          fc.boolean(),
          (maxBytes, delta, kind, breakUtf8) => {
            const event =
              kind === 'chat' ? chat() : kind === 'reply' ? reply() : control('compaction.completed');
            const field = kind === 'control' ? 'summary' : 'text';
            const room = maxBytes + delta - json({ ...event, [field]: '' }).length;
            const bytes = json({ ...event, [field]: 'a'.repeat(room) });
            expect(bytes.length).toBe(maxBytes + delta);
            if (breakUtf8) bytes[bytes.length - 2] = 0xff; // no longer UTF-8
            const verdict = checkVerdict(bytes, kind, maxBytes);
            // Size first, then encoding: a too-large message is never decoded.
            if (delta > 0) expect(verdict).toMatchObject({ ok: false, code: RejectionCode.TooLarge });
            else if (breakUtf8) expect(verdict).toMatchObject({ ok: false, code: RejectionCode.InvalidUtf8 });
            else expect(verdict.ok).toBe(true);
          },
        ),
        { numRuns: runs(100, 50) },
      );
    },
    TIMEOUT,
  );
});

describe('validateInbound under fuzzing: mutated valid events', () => {
  it(
    'given a valid event with fields deleted, replaced by hostile values or added, when validated, then it is a well-formed verdict',
    () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...baseEvents),
          fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
          kindArb,
          ({ kind, event }, mutations, otherKind) => {
            const mutated = mutate(event, mutations);
            const verdict = checkVerdict(json(mutated), kind);
            const expected = expectedEarlyCode(JSON.parse(JSON.stringify(mutated)), kind);
            if (expected !== 'schema') expect(verdict.ok ? 'ok' : verdict.code).toBe(expected);
            // The same bytes on a subject of another kind are never accepted as that kind's event.
            if (otherKind !== kind && verdict.ok)
              expect(
                validateInbound(json(mutated), { maxBytes: DEFAULT_MAX_INBOUND_BYTES, kind: otherKind }),
              ).toMatchObject({
                ok: false,
                code: RejectionCode.UnknownType,
              });
          },
        ),
        { numRuns: runs(800) },
      );
    },
    TIMEOUT,
  );

  it(
    'given a valid event with unknown top-level fields added (prototype names included), when validated, then the verdict is the original one',
    () => {
      const unknownKey = insertedKey.filter((k) => !KNOWN_TOP_LEVEL.has(k));
      fc.assert(
        fc.property(
          fc.constantFrom(...baseEvents),
          fc.array(fc.tuple(unknownKey, hostileValue), { minLength: 1, maxLength: 4 }),
          ({ kind, event }, extra) => {
            const original = validateInbound(json(event), { maxBytes: DEFAULT_MAX_INBOUND_BYTES, kind });
            expect(original.ok).toBe(true);
            const widened = JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
            for (const [key, value] of extra) setOwn(widened, key, value);
            expect(checkVerdict(json(widened), kind)).toEqual(original);
          },
        ),
        { numRuns: runs(500) },
      );
    },
    TIMEOUT,
  );

  it(
    'given a valid event with bytes that can never occur in UTF-8 inserted anywhere, when validated, then it is invalid_utf8; with a BOM first, invalid_json',
    () => {
      const never = fc.oneof(
        fc.integer({ min: 0x80, max: 0xbf }).map((b) => [b]), // a stray continuation byte
        fc.constantFrom([0xc0], [0xc1], [0xf5], [0xfe], [0xff]),
        fc.constantFrom(
          [0xc0, 0xaf],
          [0xe0, 0x80, 0xaf],
          [0xed, 0xa0, 0x80],
          [0xed, 0xbf, 0xbf],
          [0xf4, 0x90, 0x80, 0x80],
        ),
      );
      fc.assert(
        fc.property(
          fc.constantFrom(...baseEvents),
          never,
          fc.nat(),
          fc.boolean(),
          ({ kind, event }, bad, at, bom) => {
            const clean = json(chatWithUnicode(event));
            if (bom) {
              const withBom = Uint8Array.from([0xef, 0xbb, 0xbf, ...clean]);
              expect(checkVerdict(withBom, kind)).toMatchObject({
                ok: false,
                code: RejectionCode.InvalidJson,
              });
              return;
            }
            const i = at % (clean.length + 1);
            const broken = Uint8Array.from([...clean.subarray(0, i), ...bad, ...clean.subarray(i)]);
            expect(checkVerdict(broken, kind)).toMatchObject({ ok: false, code: RejectionCode.InvalidUtf8 });
          },
        ),
        { numRuns: runs(800) },
      );
    },
    TIMEOUT,
  );

  it(
    'given valid events whose strings are full of hostile characters, when validated, then those with an unpaired surrogate are refused and all others pass unchanged',
    () => {
      fc.assert(
        fc.property(
          hostileString(30, 1),
          hostileString(30, 1),
          hostileString(30, 1),
          hostileString(200),
          (id, peer, key, text) => {
            // Each event with the hostile strings it carries.
            const events: [InboundKind, Record<string, unknown>, string[]][] = [
              [
                'chat',
                chat({ id, peer: { kind: 'direct', id: peer }, sessionKey: key, text, threadId: peer }),
                [id, peer, key, text],
              ],
              ['reply', reply({ id, sessionKey: key, text, inReplyTo: peer }), [id, peer, key, text]],
              ['control', control('timer.fired', { id, sessionKey: key, timerId: peer }), [id, peer, key]],
            ];
            for (const [kind, event, strings] of events) {
              const verdict = checkVerdict(json(event), kind);
              if (strings.some(hasLoneSurrogate)) {
                expect(verdict).toMatchObject({ ok: false, code: RejectionCode.SchemaViolation });
                if (!verdict.ok) expect(verdict.reason).toMatch(/unpaired surrogate/);
              } else {
                expect(verdict.ok).toBe(true);
                if (verdict.ok) {
                  expect(verdict.event.id).toBe(id);
                  expect(verdict.event.sessionKey).toBe(key);
                  if (kind !== 'control') expect((verdict.event as { text: string }).text).toBe(text);
                }
              }
            }
          },
        ),
        { numRuns: runs(300) },
      );
    },
    TIMEOUT,
  );
});

/** The event with some multi-byte text, so that an insertion can land inside a UTF-8 sequence. */
function chatWithUnicode(event: Record<string, unknown>): Record<string, unknown> {
  return { ...event, zz: 'é€😀\u0301' };
}
