import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  agentReplyV1Schema,
  type ChatEventV1,
  CONTROL_EVENT_TYPES,
  type ControlEventV1,
  chatEventV1Schema,
  controlEventV1Schema,
  controlSubjectFor,
  DEAD_LETTER_MAX_ORIGINAL_BYTES,
  deadLetterSubjectFor,
  deadLetterV1Schema,
  inboundJsonSchemas,
  inboundSubjectFor,
  isSystemTurn,
  MAX_DISPLAY_NAME_LENGTH,
  MAX_EPOCH_MS,
  MAX_ID_LENGTH,
  MAX_META_ENTRIES,
  MAX_META_KEY_LENGTH,
  MAX_META_VALUE_LENGTH,
  MAX_NAME_LENGTH,
  MAX_SESSION_KEY_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_TOKENS,
  RejectionCode,
  replySubjectFor,
  unicodeLength,
} from './inboundEvents.js';
import { isValidSubjectToken } from './subjectToken.js';
import { control } from './testEvents.support.js';

/** A minimal valid chat event; tests override one thing at a time. */
function chat(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    type: 'chat.message',
    id: 'telegram:default:123456789:4711',
    channel: 'telegram',
    chatType: 'direct',
    peer: { kind: 'direct', id: 123456789 },
    sender: { id: '123456789' },
    text: 'hello',
    at: 1_776_675_600_000,
    ...overrides,
  };
}

function reply(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    type: 'agent.reply',
    id: 'reply:agent:main:main:1',
    sessionKey: 'agent:main:main',
    text: 'hi there',
    at: 1_776_675_605_000,
    ...overrides,
  };
}

const accepts = (value: unknown) => chatEventV1Schema.safeParse(value).success;
const acceptsControl = (value: unknown) => controlEventV1Schema.safeParse(value).success;

describe('chat.message v1', () => {
  it('given a minimal event, when parsed, then it is returned as sent', () => {
    expect(chatEventV1Schema.parse(chat())).toEqual(chat());
  });

  it('given the legacy chat type dm, when parsed, then it reads as direct (and a dm peer kind is kept)', () => {
    const event = chatEventV1Schema.parse(chat({ chatType: 'dm', peer: { kind: 'dm', id: 'x' } }));
    expect(event.chatType).toBe('direct');
    expect(event.peer.kind).toBe('dm');
  });

  it('given unknown fields at any level, when parsed, then they are dropped, not refused', () => {
    const event = chatEventV1Schema.parse(
      chat({ future: { deep: [1, 2] }, sender: { id: 's', avatarUrl: 'http://x' } }),
    );
    expect(event).not.toHaveProperty('future');
    expect(event.sender).toEqual({ id: 's' });
  });

  it('given optional fields that are null or empty strings, when parsed, then they are absent', () => {
    const event = chatEventV1Schema.parse(
      chat({
        agentId: '',
        accountId: null,
        threadId: '',
        parentPeer: null,
        provider: '',
        tokens: null,
        sessionKey: '',
        meta: null,
        sender: { id: 's', displayName: '', isOwner: null, isAuthorized: null },
      }),
    );
    for (const field of [
      'agentId',
      'accountId',
      'threadId',
      'parentPeer',
      'provider',
      'tokens',
      'sessionKey',
    ]) {
      expect(event[field as keyof ChatEventV1], field).toBeUndefined();
    }
    expect(event.sender.displayName).toBeUndefined();
    expect(event.sender.isAuthorized).toBeUndefined();
  });

  it.each([
    ['id', ''],
    ['channel', ''],
    ['chatType', 'private'],
    ['peer', { kind: 'user', id: 1 }],
    ['peer', { kind: 'direct', id: '' }],
    ['peer', { kind: 'direct', id: 1.5 }],
    ['peer', { kind: 'direct', id: 2 ** 53 }],
    ['sender', { id: 42 }],
    ['sender', { id: 's', isAuthorized: 'yes' }],
    ['text', 42],
    ['at', -1],
    ['at', 1.5],
    ['at', MAX_EPOCH_MS + 1],
    ['at', '2026-04-20T09:00:00Z'],
    ['tokens', -1],
    ['tokens', MAX_TOKENS + 1],
    ['tokens', 0.5],
    ['v', 2],
    ['type', 'agent.reply'],
  ])('given %s = %j, when parsed, then it is refused', (field, value) => {
    expect(accepts(chat({ [field]: value }))).toBe(false);
  });

  it.each(['id', 'channel', 'chatType', 'peer', 'sender', 'text', 'at', 'v', 'type'])(
    'given no %s, when parsed, then it is refused',
    (field) => {
      const event = chat();
      delete event[field];
      expect(accepts(event)).toBe(false);
    },
  );

  describe('limits, counted in code points like JSON Schema maxLength', () => {
    const cases: [string, number, (s: string) => Record<string, unknown>][] = [
      ['id', MAX_ID_LENGTH, (s) => chat({ id: s })],
      ['agentId', MAX_ID_LENGTH, (s) => chat({ agentId: s })],
      ['accountId', MAX_ID_LENGTH, (s) => chat({ accountId: s })],
      ['threadId', MAX_ID_LENGTH, (s) => chat({ threadId: s })],
      ['peer.id', MAX_ID_LENGTH, (s) => chat({ peer: { kind: 'group', id: s } })],
      ['parentPeer.id', MAX_ID_LENGTH, (s) => chat({ parentPeer: { kind: 'channel', id: s } })],
      ['sender.id', MAX_ID_LENGTH, (s) => chat({ sender: { id: s } })],
      ['sender.displayName', MAX_DISPLAY_NAME_LENGTH, (s) => chat({ sender: { id: 'x', displayName: s } })],
      ['channel', MAX_NAME_LENGTH, (s) => chat({ channel: s })],
      ['provider', MAX_NAME_LENGTH, (s) => chat({ provider: s })],
      ['text', MAX_TEXT_LENGTH, (s) => chat({ text: s })],
      ['sessionKey', MAX_SESSION_KEY_LENGTH, (s) => chat({ sessionKey: s })],
      ['meta value', MAX_META_VALUE_LENGTH, (s) => chat({ meta: { k: s } })],
    ];
    it.each(cases)('%s: %i characters pass, one more is refused', (_name, max, build) => {
      expect(accepts(build('a'.repeat(max)))).toBe(true);
      expect(accepts(build('a'.repeat(max + 1)))).toBe(false);
    });

    it('given astral characters (two UTF-16 units each), when counted, then each counts once', () => {
      expect(accepts(chat({ text: '😀'.repeat(MAX_TEXT_LENGTH) }))).toBe(true);
      expect(accepts(chat({ text: '😀'.repeat(MAX_TEXT_LENGTH + 1) }))).toBe(false);
    });

    it('given meta with the maximum entries, when one more is added, then it is refused', () => {
      const meta = Object.fromEntries(Array.from({ length: MAX_META_ENTRIES }, (_, i) => [`k${i}`, 'v']));
      expect(accepts(chat({ meta }))).toBe(true);
      expect(accepts(chat({ meta: { ...meta, extra: 'v' } }))).toBe(false);
    });

    it.each([
      ['a'.repeat(MAX_META_KEY_LENGTH), true],
      ['a'.repeat(MAX_META_KEY_LENGTH + 1), false],
      ['telegram.message_thread_id', true],
      ['x-forwarded:from', true],
      ['_private', false],
      ['a b', false],
      ['ü', false],
      ['', false],
    ])('given the meta key %j, when parsed, then accepted is %s', (key, ok) => {
      expect(accepts(chat({ meta: { [key]: 'v' } }))).toBe(ok);
    });

    it('given a __proto__ meta key (as JSON.parse creates it), when parsed, then it is refused', () => {
      const event = JSON.parse(JSON.stringify(chat()).replace(/}$/, ',"meta":{"__proto__":"x"}}'));
      expect(Object.hasOwn(event.meta, '__proto__')).toBe(true);
      expect(accepts(event)).toBe(false);
    });

    it('given meta values that are not strings, when parsed, then they are refused', () => {
      expect(accepts(chat({ meta: { k: 1 } }))).toBe(false);
      expect(accepts(chat({ meta: { k: { nested: 'x' } } }))).toBe(false);
    });
  });

  it.each(['text', 'id', 'channel', 'sessionKey'])(
    'given an unpaired surrogate in %s, when parsed, then it is refused (not Unicode text)',
    (field) => {
      expect(accepts(chat({ [field]: 'a\uD800b' }))).toBe(false);
      expect(accepts(chat({ [field]: 'a\uDC00' }))).toBe(false);
    },
  );

  it('given safe-integer and string peer ids, when parsed, then both are kept as sent', () => {
    expect(chatEventV1Schema.parse(chat({ peer: { kind: 'group', id: -1001234567890 } })).peer.id).toBe(
      -1001234567890,
    );
    expect(chatEventV1Schema.parse(chat({ peer: { kind: 'group', id: '120363@g.us' } })).peer.id).toBe(
      '120363@g.us',
    );
    expect(accepts(chat({ peer: { kind: 'group', id: Number.MAX_SAFE_INTEGER } }))).toBe(true);
  });
});

describe('system turns', () => {
  it.each([
    ['heartbeat', true],
    ['cron-event', true],
    ['exec-event', true],
    ['Heartbeat', false],
    ['telegram', false],
    [undefined, false],
  ])('provider %j is a system turn: %s', (provider, expected) => {
    expect(isSystemTurn({ provider })).toBe(expected);
  });
});

describe('agent.reply v1', () => {
  it('given a reply with usage, when parsed, then it is returned as sent', () => {
    const sent = reply({
      inReplyTo: 'telegram:default:123456789:4711',
      tokens: 12,
      usage: { inputTokens: 1200, outputTokens: 12, contextTokens: 1212 },
      system: false,
    });
    expect(agentReplyV1Schema.parse(sent)).toEqual(sent);
  });

  it.each([
    ['sessionKey', ''],
    ['sessionKey', 'k'.repeat(MAX_SESSION_KEY_LENGTH + 1)],
    ['text', 'a'.repeat(MAX_TEXT_LENGTH + 1)],
    ['usage', { inputTokens: -5 }],
    ['usage', { contextTokens: 1.5 }],
    ['system', 'true'],
    ['type', 'chat.message'],
    ['id', ''],
  ])('given %s = %j, when parsed, then it is refused', (field, value) => {
    expect(agentReplyV1Schema.safeParse(reply({ [field]: value })).success).toBe(false);
  });

  it('given no sessionKey, when parsed, then it is refused', () => {
    const sent = reply();
    delete sent.sessionKey;
    expect(agentReplyV1Schema.safeParse(sent).success).toBe(false);
  });
});

describe('control event v1', () => {
  it.each(CONTROL_EVENT_TYPES)(
    'given a minimal %s event, when parsed, then it is returned as sent',
    (type) => {
      expect(controlEventV1Schema.parse(control(type))).toEqual(control(type));
    },
  );

  it('has one schema branch per listed type, and no other', () => {
    const types = controlEventV1Schema.options.map((option) => option.shape.type.value);
    expect(types).toEqual([...CONTROL_EVENT_TYPES]);
  });

  it('given each type, when parsed, then the type narrows to its own fields', () => {
    const event: ControlEventV1 = controlEventV1Schema.parse(control('session.reset'));
    if (event.type !== 'session.reset') throw new Error('expected a reset');
    expect(event.trigger).toBe('operator');
  });

  it('given unknown fields, and the fields of another type, when parsed, then they are dropped', () => {
    const event = controlEventV1Schema.parse(control('clock.tick', { timerId: 't', future: { x: 1 } }));
    expect(event).toEqual(control('clock.tick'));
  });

  it.each([
    ['timer.fired', 'timerId', ''],
    ['timer.fired', 'timerId', 42],
    ['timer.fired', 'timerId', null],
    ['timer.fired', 'timerId', 'x'.repeat(MAX_ID_LENGTH + 1)],
    ['session.reset', 'trigger', ''],
    ['session.reset', 'trigger', null],
    ['session.reset', 'trigger', 'x'.repeat(MAX_NAME_LENGTH + 1)],
    ['clock.tick', 'id', ''],
    ['clock.tick', 'id', 'x'.repeat(MAX_ID_LENGTH + 1)],
    ['clock.tick', 'sessionKey', ''],
    ['clock.tick', 'sessionKey', 'k'.repeat(MAX_SESSION_KEY_LENGTH + 1)],
    ['clock.tick', 'sessionKey', 'a\uD800'],
    ['clock.tick', 'at', -1],
    ['clock.tick', 'at', 1.5],
    ['clock.tick', 'at', MAX_EPOCH_MS + 1],
    ['clock.tick', 'at', '2026-04-20T00:00:00Z'],
    ['clock.tick', 'v', 2],
    ['clock.tick', 'type', 'chat.message'],
    ['clock.tick', 'type', 'timer.cancelled'],
  ] as const)('given a %s event with %s = %j, when parsed, then it is refused', (type, field, value) => {
    expect(acceptsControl(control(type, { [field]: value }))).toBe(false);
  });

  it.each([
    ['timer.fired', 'timerId'],
    ['session.reset', 'trigger'],
    ...CONTROL_EVENT_TYPES.flatMap((type) => ['v', 'type', 'id', 'sessionKey', 'at'].map((f) => [type, f])),
  ])('given a %s event with no %s, when parsed, then it is refused', (type, field) => {
    const event = control(type as (typeof CONTROL_EVENT_TYPES)[number]);
    delete event[field];
    expect(acceptsControl(event)).toBe(false);
  });

  it.each([
    ['timerId', MAX_ID_LENGTH, (s: string) => control('timer.fired', { timerId: s })],
    ['trigger', MAX_NAME_LENGTH, (s: string) => control('session.reset', { trigger: s })],
    ['id', MAX_ID_LENGTH, (s: string) => control('clock.tick', { id: s })],
    ['sessionKey', MAX_SESSION_KEY_LENGTH, (s: string) => control('clock.tick', { sessionKey: s })],
  ])('%s: %i characters pass (astral ones counting once), one more is refused', (_name, max, build) => {
    expect(acceptsControl(build('😀'.repeat(max)))).toBe(true);
    expect(acceptsControl(build('a'.repeat(max + 1)))).toBe(false);
  });

  it('given an agent reply or a chat event, when parsed as a control event, then it is refused', () => {
    expect(acceptsControl(reply())).toBe(false);
    expect(acceptsControl(chat())).toBe(false);
  });
});

describe('dead letter v1', () => {
  const letter = {
    v: 1,
    code: 'unknown_version',
    reason: 'v: 2 is not a supported version (supported: 1)',
    subject: 'tl.in.v1.telegram.1',
    receivedAt: 1_776_675_600_000,
    originalSize: 3,
    originalBase64: 'e30K',
    truncated: false,
  };

  it('given a well-formed dead letter, when parsed, then it is accepted', () => {
    expect(deadLetterV1Schema.parse(letter)).toEqual(letter);
  });

  it.each([
    ['code', 'nope'],
    ['originalBase64', 'not base64!'],
    ['originalBase64', 'A'.repeat(Math.ceil(DEAD_LETTER_MAX_ORIGINAL_BYTES / 3) * 4 + 4)],
    ['truncated', undefined],
  ])('given %s = %j, when parsed, then it is refused', (field, value) => {
    expect(deadLetterV1Schema.safeParse({ ...letter, [field]: value }).success).toBe(false);
  });

  it('lists every rejection code, and only those', () => {
    for (const code of Object.values(RejectionCode)) {
      expect(deadLetterV1Schema.safeParse({ ...letter, code }).success, code).toBe(true);
    }
  });
});

describe('subjects', () => {
  it.each([
    [{ channel: 'telegram', peer: { kind: 'direct', id: 123456789 } }, 'tl.in.v1.telegram.123456789'],
    [
      { channel: 'telegram', peer: { kind: 'group', id: -1001234567890 } },
      'tl.in.v1.telegram.-1001234567890',
    ],
    [
      { channel: 'whatsapp', peer: { kind: 'group', id: '120363@g.us' } },
      'tl.in.v1.whatsapp.120363%40g%2Eus',
    ],
    [
      { channel: 'matrix', peer: { kind: 'channel', id: '!ops:matrix.example' } },
      'tl.in.v1.matrix.!ops:matrix%2Eexample',
    ],
  ] as const)('the event %j is published on %s', (event, subject) => {
    expect(inboundSubjectFor(event)).toBe(subject);
  });

  it('sends a reply to its session key and a dead letter to its code', () => {
    expect(replySubjectFor({ sessionKey: 'agent:main:whatsapp:group:120363@g.us' })).toBe(
      'tl.reply.v1.agent:main:whatsapp:group:120363%40g%2Eus',
    );
    expect(deadLetterSubjectFor({ code: RejectionCode.SchemaViolation })).toBe('tl.dlq.schema_violation');
  });

  it('sends a control event to its session key, as one token', () => {
    expect(controlSubjectFor({ sessionKey: 'agent:main:whatsapp:group:120363@g.us' })).toBe(
      'tl.ctl.v1.agent:main:whatsapp:group:120363%40g%2Eus',
    );
    const parsed = controlEventV1Schema.parse(control('clock.tick', { sessionKey: 'a.b c*>' }));
    const tokens = controlSubjectFor(parsed).split('.');
    expect(tokens).toHaveLength(4);
    expect(tokens.every(isValidSubjectToken)).toBe(true);
  });

  it('gives every event the schema accepts a subject of valid tokens (never throws)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }),
        fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), fc.maxSafeInteger()),
        (channel, id) => {
          const parsed = chatEventV1Schema.safeParse(chat({ channel, peer: { kind: 'group', id } }));
          fc.pre(parsed.success);
          if (!parsed.success) return;
          const tokens = inboundSubjectFor(parsed.data).split('.');
          expect(tokens.slice(0, 3)).toEqual(['tl', 'in', 'v1']);
          expect(tokens).toHaveLength(5);
          expect(tokens.every(isValidSubjectToken)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('unicodeLength', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['ü', 1],
    ['😀', 1],
    ['a😀b', 3],
    ['\uD800', undefined],
    ['\uDC00a', undefined],
    ['a\uD83D', undefined],
  ])('%j has %s code points', (value, expected) => {
    expect(unicodeLength(value)).toBe(expected);
  });

  it('agrees with the string iterator on well-formed text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (value) => {
        expect(unicodeLength(value)).toBe([...value].length);
      }),
    );
  });
});

describe('JSON Schema generation', () => {
  it('is deterministic', () => {
    expect(JSON.stringify(inboundJsonSchemas())).toBe(JSON.stringify(inboundJsonSchemas()));
  });

  it('states the limits and lets unknown fields through, as the zod schemas do', () => {
    const schema = inboundJsonSchemas()['chat-event.v1.json'] as {
      additionalProperties?: unknown;
      required: string[];
      properties: Record<string, { maxLength?: number; enum?: string[] }>;
    };
    expect(schema.additionalProperties).toBeUndefined();
    expect(schema.required).toEqual([
      'v',
      'type',
      'id',
      'channel',
      'chatType',
      'peer',
      'sender',
      'text',
      'at',
    ]);
    expect(schema.properties.text?.maxLength).toBe(MAX_TEXT_LENGTH);
    expect(schema.properties.id?.maxLength).toBe(MAX_ID_LENGTH);
    expect(schema.properties.chatType?.enum).toContain('dm');
  });

  it('states the control event as one object schema per type, each with its required fields', () => {
    const schema = inboundJsonSchemas()['control-event.v1.json'] as {
      oneOf: {
        additionalProperties?: unknown;
        required: string[];
        properties: Record<string, { const?: string; maxLength?: number }>;
      }[];
    };
    expect(schema.oneOf.map((branch) => branch.properties.type?.const)).toEqual([...CONTROL_EVENT_TYPES]);
    expect(schema.oneOf.map((branch) => branch.required)).toEqual([
      ['v', 'type', 'id', 'sessionKey', 'at', 'timerId'],
      ['v', 'type', 'id', 'sessionKey', 'at'],
      ['v', 'type', 'id', 'sessionKey', 'at', 'trigger'],
      [
        'v',
        'type',
        'id',
        'sessionKey',
        'at',
        'compactionId',
        'summary',
        'keptIds',
        'tokensBefore',
        'tokensAfter',
      ],
      ['v', 'type', 'id', 'sessionKey', 'at', 'compactionId', 'reason'],
      ['v', 'type', 'id', 'sessionKey', 'at'],
      ['v', 'type', 'id', 'sessionKey', 'at', 'override'],
      [
        'v',
        'type',
        'id',
        'sessionKey',
        'at',
        'source',
        'sessionId',
        'startedAt',
        'updatedAt',
        'lastActivityAt',
        'turns',
      ],
    ]);
    for (const branch of schema.oneOf) {
      expect(branch.additionalProperties).toBeUndefined();
      expect(branch.properties.sessionKey?.maxLength).toBe(MAX_SESSION_KEY_LENGTH);
    }
  });
});
