import { MAX_ID_LENGTH, unicodeLength } from '@threadline/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ThreadlineClientError } from './errors.js';
import { chatEventId, controlEventId, replyId } from './ids.js';

describe('chatEventId', () => {
  it('is the protocol example for a Telegram message', () => {
    expect(
      chatEventId({ channel: 'telegram', accountId: 'default', chatId: 123456789, messageId: 4711 }),
    ).toBe('telegram:default:123456789:4711');
    // No account: OpenClaw's single account is `default`.
    expect(chatEventId({ channel: 'telegram', chatId: 123456789, messageId: 4711 })).toBe(
      'telegram:default:123456789:4711',
    );
    expect(
      chatEventId({
        channel: 'whatsapp',
        chatId: '120363025246125486@g.us',
        messageId: '3EB0C767D26A1B2E5F',
      }),
    ).toBe('whatsapp:default:120363025246125486@g.us:3EB0C767D26A1B2E5F');
  });

  it('keeps ids apart that a plain join would merge (a colon inside a part)', () => {
    const a = chatEventId({ channel: 'matrix', chatId: '!ops:matrix.org', messageId: '1' });
    const b = chatEventId({ channel: 'matrix', chatId: '!ops', messageId: 'matrix.org:1' });
    expect(a).toBe('matrix:default:!ops%3Amatrix.org:1');
    expect(a).not.toBe(b);
    expect(chatEventId({ channel: 'c', chatId: '100%', messageId: '1' })).toBe('c:default:100%25:1');
  });

  it('is deterministic and injective, and always a valid protocol id', () => {
    const part = fc.oneof(
      fc.string({ minLength: 1, maxLength: 90, unit: 'grapheme' }),
      fc.string({ minLength: 1 }).map((s) => s.replace(/[\uD800-\uDFFF]/g, 'x')),
    );
    const parts = fc.record({ channel: part, accountId: part, chatId: part, messageId: part });
    fc.assert(
      fc.property(parts, parts, (p, q) => {
        const id = chatEventId(p);
        expect(chatEventId({ ...p })).toBe(id);
        expect(unicodeLength(id)).toBeLessThanOrEqual(MAX_ID_LENGTH);
        const same =
          p.channel === q.channel &&
          p.accountId === q.accountId &&
          p.chatId === q.chatId &&
          p.messageId === q.messageId;
        expect(chatEventId(q) === id).toBe(same);
      }),
    );
  });

  it('turns an id longer than the protocol allows into a digest of it', () => {
    const long = 'x'.repeat(300);
    const id = chatEventId({ channel: 'telegram', chatId: 1, messageId: long });
    expect(id).toMatch(/^chat:sha256:[0-9a-f]{64}$/);
    expect(chatEventId({ channel: 'telegram', chatId: 1, messageId: long })).toBe(id);
    expect(chatEventId({ channel: 'telegram', chatId: 2, messageId: long })).not.toBe(id);
  });

  it('refuses parts that cannot make an id', () => {
    const bad = (parts: Parameters<typeof chatEventId>[0]) => () => chatEventId(parts);
    expect(bad({ channel: '', chatId: 1, messageId: 1 })).toThrow(/channel: expected a non-empty string/);
    expect(bad({ channel: 'c', chatId: 1.5, messageId: 1 })).toThrow(
      /chatId: expected a string or a safe integer/,
    );
    expect(bad({ channel: 'c', chatId: 2 ** 60, messageId: 1 })).toThrow(/send larger ids as strings/);
    expect(bad({ channel: 'c', chatId: 1, messageId: '\ud800' })).toThrow(/messageId: not Unicode text/);
    expect(bad({ channel: 'c', chatId: 1, messageId: '' })).toThrow(ThreadlineClientError);
  });
});

describe('replyId and controlEventId', () => {
  it('prefix the producer and the kind', () => {
    expect(replyId({ producer: 'runner', sessionKey: 'agent:main:main', turnId: 'run-8f2c' })).toBe(
      'reply:runner:agent%3Amain%3Amain:run-8f2c',
    );
    expect(
      controlEventId({ type: 'session.reset', producer: 'ops', sessionKey: 'agent:main:main', eventId: 42 }),
    ).toBe('session.reset:ops:agent%3Amain%3Amain:42');
  });

  it('never give a reply and a control event the same id', () => {
    expect(() => controlEventId({ type: 'reply', producer: 'p', sessionKey: 'k', eventId: 1 })).toThrow(
      /type: expected one of/,
    );
    const key = `agent:main:${'k'.repeat(300)}`;
    expect(replyId({ producer: 'p', sessionKey: key, turnId: 1 })).toMatch(/^reply:sha256:/);
    expect(controlEventId({ type: 'clock.tick', producer: 'p', sessionKey: key, eventId: 1 })).toMatch(
      /^control:sha256:/,
    );
  });
});
