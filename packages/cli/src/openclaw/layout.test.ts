import { emptyProjectedKey } from '@threadline/projector';
import { describe, expect, it } from 'vitest';
import { openClawEntryOf, openClawTranscriptLines } from './layout.js';

describe("OpenClaw's layout", () => {
  const base = emptyProjectedKey('agent:main:telegram:direct:42').entry;

  it('gives no entry for a key that never had a session, and drops nulls and Threadline-only fields', () => {
    expect(openClawEntryOf(base)).toBeUndefined();
    const entry = openClawEntryOf({
      ...base,
      sessionId: 's1',
      startedAt: 1000,
      updatedAt: 2000,
      lastChannel: 'telegram',
      lastTo: '42',
      inputTokens: 5,
      modelOverride: 'opus',
      label: 'Ada',
    });
    expect(entry).toEqual({
      sessionId: 's1',
      updatedAt: 2000,
      startedAt: 1000,
      chatType: 'direct',
      lastChannel: 'telegram',
      lastTo: '42',
      inputTokens: 5,
      outputTokens: 0,
      totalTokens: 0,
      contextTokens: 0,
      compactionCount: 0,
      modelOverride: 'opus',
      label: 'Ada',
    });
  });

  it('writes a session header, then messages and compaction summaries linked by parentId', () => {
    const lines = openClawTranscriptLines('s1', Date.UTC(2026, 10, 24, 9), [
      { id: 'c1', role: 'summary', text: 'earlier: greetings', tokens: 7, at: Date.UTC(2026, 10, 24, 9, 5) },
      {
        id: 'm2',
        role: 'user',
        senderId: '42',
        text: 'and now?',
        tokens: 3,
        at: Date.UTC(2026, 10, 24, 9, 6),
      },
      { id: 'r2', role: 'assistant', text: 'now this', tokens: 2, at: Date.UTC(2026, 10, 24, 9, 7) },
    ]);
    expect(lines).toEqual([
      { type: 'session', version: 3, id: 's1', timestamp: '2026-11-24T09:00:00.000Z' },
      {
        type: 'compaction',
        id: 'c1',
        parentId: null,
        timestamp: '2026-11-24T09:05:00.000Z',
        summary: 'earlier: greetings',
        tokens: 7,
      },
      {
        type: 'message',
        id: 'm2',
        parentId: 'c1',
        timestamp: '2026-11-24T09:06:00.000Z',
        tokens: 3,
        message: { role: 'user', content: [{ type: 'text', text: 'and now?' }], senderId: '42' },
      },
      {
        type: 'message',
        id: 'r2',
        parentId: 'm2',
        timestamp: '2026-11-24T09:07:00.000Z',
        tokens: 2,
        message: { role: 'assistant', content: [{ type: 'text', text: 'now this' }] },
      },
    ]);
  });
});
