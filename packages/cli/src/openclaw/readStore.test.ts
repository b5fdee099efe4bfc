import { controlEventV1Schema, MAX_IMPORTED_TURNS, MAX_TEXT_LENGTH } from '@threadline/protocol';
import { describe, expect, it } from 'vitest';
import { openClawEntryOf, openClawTranscriptLines } from './layout.js';
import {
  IMPORT_TURN_BUDGET_BYTES,
  importEventId,
  normaliseOpenClawKey,
  OpenClawReadError,
  readOpenClawSession,
} from './readStore.js';

const at = (minute: number) => Date.UTC(2026, 10, 24, 9, minute);
const iso = (minute: number) => new Date(at(minute)).toISOString();
const message = (id: string, role: string, text: unknown, minute: number, extra: object = {}) => ({
  type: 'message',
  id,
  parentId: null,
  timestamp: iso(minute),
  message: { role, content: text, ...extra },
});

describe('OpenClaw keys, normalised', () => {
  it.each([
    ['agent:main:telegram:direct:111', 'main', 'agent:main:telegram:direct:111'],
    ['Agent:Main:Telegram:DM:111', 'main', 'agent:main:telegram:direct:111'],
    ['agent:main:dm:alice', 'main', 'agent:main:direct:alice'],
    ['agent:ops:whatsapp:acct:dm:+4912', 'ops', 'agent:ops:whatsapp:acct:direct:+4912'],
    // A peer that is literally called `dm` keeps its name.
    ['agent:main:direct:dm', 'main', 'agent:main:direct:dm'],
    ['agent:main:telegram:group:-100:topic:7', 'main', 'agent:main:telegram:group:-100:topic:7'],
    ['  main ', 'work', 'agent:work:main'],
    ['discord:channel:42', 'main', 'agent:main:discord:channel:42'],
  ])('%s in the %s store is %s', (raw, agent, key) => {
    expect(normaliseOpenClawKey(raw, agent)).toBe(key);
  });

  it('refuses what cannot be a key', () => {
    expect(normaliseOpenClawKey('agent:main', 'main')).toBeUndefined();
    expect(normaliseOpenClawKey('::', 'main')).toBeUndefined();
  });

  it('names one import per key and session: the same on every run, another for another session', () => {
    const id = importEventId('agent:main:main', 's1');
    expect(id).toBe(importEventId('agent:main:main', 's1'));
    expect(id).not.toBe(importEventId('agent:main:main', 's2'));
    expect(id).not.toBe(importEventId('agent:main:other', 's1'));
    expect(id).toMatch(/^import:openclaw:[0-9a-f]{32}$/);
  });
});

describe('an OpenClaw session read back', () => {
  it('reads what export writes, field for field and turn for turn', () => {
    const entry = openClawEntryOf({
      sessionKey: 'agent:main:telegram:direct:42',
      agentId: 'main',
      sessionId: 's1',
      previousSessionId: null,
      state: 'active',
      endReason: null,
      updatedAt: at(30),
      startedAt: at(0),
      lastActivityAt: at(29),
      chatType: 'direct',
      channel: 'telegram',
      origin: { channel: 'telegram', to: '42', chatType: 'direct', provider: 'tg-bot' },
      lastChannel: 'telegram',
      lastTo: '42',
      lastAccountId: 'bot1',
      lastThreadId: null,
      inputTokens: 10,
      outputTokens: 20,
      totalTokens: 30,
      contextTokens: 12,
      compactionCount: 1,
      sendPolicy: 'deny',
      messageCount: 2,
      privacyWarning: null,
      label: 'Ada',
    });
    const turns = [
      { id: 'c1', role: 'summary' as const, text: 'before', tokens: 4, at: at(10) },
      {
        id: 'm2',
        role: 'user' as const,
        text: 'q',
        tokens: 3,
        at: at(20),
        senderId: '42',
        senderName: 'Ada',
      },
      { id: 'r2', role: 'assistant' as const, text: 'a', tokens: 5, at: at(29) },
    ];
    const read = readOpenClawSession(
      JSON.parse(JSON.stringify(entry)),
      openClawTranscriptLines('s1', at(0), turns),
    );
    expect(read).toEqual({
      fields: {
        source: 'openclaw',
        sessionId: 's1',
        startedAt: at(0),
        updatedAt: at(30),
        lastActivityAt: at(29),
        settings: { label: 'Ada' },
        sendPolicy: 'deny',
        tokens: { input: 10, output: 20, total: 30, context: 12 },
        compactionCount: 1,
        origin: { channel: 'telegram', to: '42', chatType: 'direct', provider: 'tg-bot' },
        lastRoute: { channel: 'telegram', to: '42', chatType: 'direct', accountId: 'bot1' },
        turns,
      },
      omittedTurns: 0,
      truncatedTurns: 0,
      skippedLines: 0,
    });
    // …and it is a valid control event.
    const event = {
      v: 1,
      type: 'session.imported',
      id: 'x',
      sessionKey: 'agent:main:main',
      at: 1,
      ...read.fields,
    };
    expect(controlEventV1Schema.safeParse(event).success).toBe(true);
  });

  it("reads OpenClaw's own transcripts: the latest compaction's summary, the turns it kept, and those after", () => {
    const lines = [
      { type: 'session', version: 3, id: 's1', timestamp: iso(0) },
      message('u1', 'user', 'very old', 1),
      { type: 'compaction', id: 'c1', timestamp: iso(2), summary: 'first summary' },
      message('u2', 'user', [{ type: 'text', text: 'old but kept' }], 3),
      message('a2', 'assistant', [{ type: 'toolCall', id: 'call1', name: 'search' }], 4),
      message('t2', 'toolResult', [{ type: 'text', text: 'tool output' }], 5),
      message(
        'a3',
        'assistant',
        [
          { type: 'text', text: 'part one' },
          { type: 'text', text: 'part two' },
        ],
        6,
      ),
      { type: 'compaction', id: 'c2', timestamp: iso(7), summary: 'second summary', firstKeptEntryId: 'u2' },
      { type: 'model_change', id: 'x1', timestamp: iso(8), provider: 'openai' },
      message('u4', 'user', 'latest', 9, { timestamp: at(9) }),
    ];
    const read = readOpenClawSession({ sessionId: 's1', updatedAt: at(9) }, lines);
    expect(read.fields.turns.map((t) => [t.id, t.role, t.text])).toEqual([
      ['c2', 'summary', 'second summary'],
      ['u2', 'user', 'old but kept'],
      ['a3', 'assistant', 'part one\npart two'],
      ['u4', 'user', 'latest'],
    ]);
    // The tool call, the tool result and the model change are not conversation text.
    expect(read.skippedLines).toBe(3);
    // Without startedAt the header's timestamp is the start; without lastActivityAt, updatedAt.
    expect(read.fields).toMatchObject({ startedAt: at(0), lastActivityAt: at(9), compactionCount: 0 });
  });

  it("maps OpenClaw's origin (provider, from, to) and a numeric peer id", () => {
    const read = readOpenClawSession(
      {
        sessionId: 's1',
        updatedAt: at(1),
        chatType: 'group',
        origin: { provider: 'whatsapp', to: 120363, accountId: 'work' },
        lastChannel: 'whatsapp',
        lastTo: 120363,
      },
      undefined,
    );
    expect(read.fields.origin).toEqual({
      channel: 'whatsapp',
      to: '120363',
      chatType: 'group',
      accountId: 'work',
    });
    expect(read.fields.lastRoute).toEqual({ channel: 'whatsapp', to: '120363', chatType: 'group' });
    expect(read.fields.turns).toEqual([]);
  });

  it.each([
    ['not an object', 'x', /not an object/],
    ['no sessionId', { updatedAt: 1 }, /no sessionId/],
    ['no updatedAt', { sessionId: 's1' }, /no valid updatedAt/],
    ['a negative updatedAt', { sessionId: 's1', updatedAt: -5 }, /no valid updatedAt/],
  ])('refuses an entry with %s, saying what is wrong', (_, entry, reason) => {
    expect(() => readOpenClawSession(entry, undefined)).toThrow(OpenClawReadError);
    expect(() => readOpenClawSession(entry, undefined)).toThrow(reason);
  });

  it('cuts a text longer than the protocol allows, and replaces a lone surrogate', () => {
    const long = 'x'.repeat(MAX_TEXT_LENGTH + 10);
    const read = readOpenClawSession({ sessionId: 's1', updatedAt: at(5) }, [
      message('u1', 'user', long, 1),
      message('u2', 'user', 'bad \uD800 text', 2),
    ]);
    expect(read.truncatedTurns).toBe(1);
    expect(read.fields.turns[0]?.text).toHaveLength(MAX_TEXT_LENGTH);
    expect(read.fields.turns[1]?.text).toBe('bad \uFFFD text');
  });

  it('keeps the summary and the newest turns within the byte and turn budgets, counting what it left out', () => {
    const text = 'y'.repeat(1000);
    const many = Array.from({ length: 800 }, (_, i) => message(`u${i}`, 'user', text, 1 + (i % 50)));
    const read = readOpenClawSession({ sessionId: 's1', updatedAt: at(59) }, [
      { type: 'compaction', id: 'c1', timestamp: iso(0), summary: 'sum' },
      ...many,
    ]);
    const turns = read.fields.turns;
    expect(turns[0]?.id).toBe('c1');
    expect(turns.at(-1)?.id).toBe('u799');
    expect(Buffer.byteLength(JSON.stringify(turns))).toBeLessThanOrEqual(IMPORT_TURN_BUDGET_BYTES);
    expect(read.omittedTurns).toBe(800 - (turns.length - 1));
    expect(read.omittedTurns).toBeGreaterThan(0);

    const small = Array.from({ length: MAX_IMPORTED_TURNS + 5 }, (_, i) => message(`s${i}`, 'user', 'k', 1));
    const capped = readOpenClawSession({ sessionId: 's2', updatedAt: at(59) }, small);
    expect(capped.fields.turns).toHaveLength(MAX_IMPORTED_TURNS);
    expect(capped.omittedTurns).toBe(5);
    expect(capped.fields.turns[0]?.id).toBe('s5');
  });
});
