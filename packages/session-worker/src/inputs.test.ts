import type { ChatEventV1 } from '@threadline/protocol';
import { parseConfig } from '@threadline/session-core';
import { tokenCounter } from '@threadline/tokens';
import { describe, expect, it } from 'vitest';
import {
  chatInput,
  controlInput,
  deterministicUuid,
  type InputContext,
  isSharedDm,
  replyInput,
} from './inputs.js';

const T0 = Date.UTC(2026, 10, 24, 9, 0, 0);
const counter = tokenCounter();
const ctx: InputContext = {
  config: parseConfig({}).config,
  hostTimeZone: 'Europe/Berlin',
  countTokens: (text) => counter.count(text),
};
const event = (extra: Partial<ChatEventV1> = {}): ChatEventV1 => ({
  v: 1,
  type: 'chat.message',
  id: 'tg:1',
  channel: 'telegram',
  chatType: 'direct',
  peer: { kind: 'direct', id: '42' },
  sender: { id: '42', isAuthorized: true },
  text: 'Wie wird das Wetter morgen in Berlin?',
  at: T0,
  ...extra,
});

describe('inputs', () => {
  it('given the bot mentions from config, when a group message addresses the bot, then its command is parsed', () => {
    const withMentions: InputContext = {
      ...ctx,
      config: parseConfig({ gateway: { botMentions: ['@clawbot'] } }).config,
    };
    const group = event({ chatType: 'group', peer: { kind: 'group', id: '-100' }, text: '@clawbot /status' });
    const command = (c: InputContext, e: ChatEventV1) => {
      const input = chatInput('agent:main:telegram:group:-100', e, T0, c).input;
      return input.type === 'message.inbound' ? input.command : undefined;
    };
    expect(command(withMentions, group)).toEqual({ kind: 'status' });
    expect(command(withMentions, event({ text: '/status@clawbot' }))).toEqual({ kind: 'status' });
    // Without them the bot cannot know it was addressed: the text goes to the agent.
    expect(command(ctx, group)).toBeNull();
    expect(command(withMentions, { ...group, text: '@otherbot /status' })).toBeNull();
  });

  it('given no token count from the adapter, when the input is made, then the tokenizer counts the text', () => {
    const item = chatInput('agent:main:main', event(), T0, ctx);
    expect(item.input.type === 'message.inbound' && item.input.tokens).toBe(counter.count(event().text));
    expect(counter.count(event().text)).not.toBe(Math.ceil(event().text.length / 4));
  });

  it("given the adapter's count, when the input is made, then it is kept", () => {
    const item = chatInput('agent:main:main', event({ tokens: 99 }), T0, ctx);
    expect(item.input.type === 'message.inbound' && item.input.tokens).toBe(99);
  });

  it('counts reply text the agent sent without a count', () => {
    const reply = replyInput(
      { v: 1, type: 'agent.reply', id: 'r1', sessionKey: 'k', text: 'Sonnig, 12 Grad.', at: T0 },
      T0,
      ctx,
    );
    expect(reply.input.type === 'reply.outbound' && reply.input.tokens).toBe(
      counter.count('Sonnig, 12 Grad.'),
    );
  });

  it('records the host zone in the rules when the config names none, so a replay elsewhere decides the same', () => {
    const item = chatInput('agent:main:main', event(), T0, ctx);
    expect(item.input.type === 'message.inbound' && item.input.rules.timeZone).toBe('Europe/Berlin');
  });

  it('carries where the message came from, for the origin and the delivery route', () => {
    const item = chatInput(
      'k',
      event({ accountId: 'bot2', threadId: '7', peer: { kind: 'direct', id: 42 } }),
      T0,
      ctx,
    );
    expect(item.input.type === 'message.inbound' && item.input.route).toEqual({
      channel: 'telegram',
      to: '42',
      chatType: 'direct',
      accountId: 'bot2',
      threadId: '7',
    });
  });

  it('marks DMs of a shared main session, and nothing else', () => {
    const main = parseConfig({}).config;
    const isolated = parseConfig({ session: { dmScope: 'per-channel-peer' } }).config;
    expect(isSharedDm(event(), main)).toBe(true);
    expect(isSharedDm(event({ peer: { kind: 'dm', id: 7 } }), main)).toBe(true);
    expect(isSharedDm(event(), isolated)).toBe(false);
    expect(isSharedDm(event({ chatType: 'group', peer: { kind: 'group', id: 'g' } }), main)).toBe(false);
    expect(isSharedDm(event({ sessionKey: 'cron:nightly' }), main)).toBe(false);
  });

  it('derives session ids that are stable per seed and shaped like UUIDs', () => {
    expect(deterministicUuid('a')).toBe(deterministicUuid('a'));
    expect(deterministicUuid('a')).not.toBe(deterministicUuid('b'));
    expect(deterministicUuid('a')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe('operator control events as inputs', () => {
  const common = { v: 1 as const, sessionKey: 'agent:main:main', at: 1_776_677_000_000 };
  it('maps compaction.requested and send-policy.set (inherit is no override), keyed by the event id', () => {
    expect(
      controlInput(
        { ...common, type: 'compaction.requested', id: 'ops:compact:1', instructions: 'keep numbers' },
        undefined,
        ctx,
      ),
    ).toEqual({
      sessionKey: 'agent:main:main',
      inputId: 'ctl:ops:compact:1',
      correlationId: 'ops:compact:1',
      causationId: 'ctl:ops:compact:1',
      input: { type: 'compaction.requested', at: common.at, instructions: 'keep numbers' },
    });
    expect(
      controlInput({ ...common, type: 'compaction.requested', id: 'ops:compact:2' }, undefined, ctx).input,
    ).toEqual({
      type: 'compaction.requested',
      at: common.at,
    });
    for (const [override, expected] of [
      ['allow', 'allow'],
      ['deny', 'deny'],
      ['inherit', null],
    ] as const)
      expect(
        controlInput(
          { ...common, type: 'send-policy.set', id: `ops:sp:${override}`, override },
          undefined,
          ctx,
        ).input,
      ).toEqual({
        type: 'send-policy.set',
        at: common.at,
        override: expected,
      });
  });
});

describe('an imported session as an input', () => {
  const imported = {
    v: 1 as const,
    type: 'session.imported' as const,
    id: 'import:openclaw:1',
    sessionKey: 'agent:main:telegram:group:-100',
    at: T0,
    source: 'openclaw',
    sessionId: 'oc-1',
    startedAt: T0 - 3_600_000,
    updatedAt: T0 - 60_000,
    lastActivityAt: T0 - 60_000,
    settings: { label: 'team', thinkingLevel: 'high' },
    sendPolicy: 'deny' as const,
    origin: { channel: 'telegram', to: '-100', chatType: 'group' },
    lastRoute: { channel: 'telegram', to: '-100', chatType: 'group', threadId: '7' },
    turns: [
      { id: 'u1', role: 'user' as const, text: 'hi', at: T0 - 120_000, senderId: '42' },
      { id: 'a1', role: 'assistant' as const, text: 'hello', at: T0 - 60_000, tokens: 3 },
    ],
  };

  it('copies the source session and resolves the rules for its channel and chat type with this config', () => {
    const byType: InputContext = {
      ...ctx,
      config: parseConfig({
        session: {
          reset: { mode: 'daily', atHour: 4 },
          resetByType: { thread: { mode: 'idle', idleMinutes: 45 } },
        },
      }).config,
    };
    const item = controlInput(imported, undefined, byType);
    expect(item).toMatchObject({ sessionKey: imported.sessionKey, inputId: 'ctl:import:openclaw:1' });
    expect(item.input).toMatchObject({
      type: 'session.imported',
      sessionId: 'oc-1',
      settings: { label: 'team', thinkingLevel: 'high' },
      sendOverride: 'deny',
      tokens: { input: 0, output: 0, total: 0, context: 0 },
      compactionCount: 0,
      origin: { channel: 'telegram', to: '-100', chatType: 'group' },
      lastRoute: { channel: 'telegram', to: '-100', chatType: 'group', threadId: '7' },
      turns: [
        { id: 'u1', role: 'user', text: 'hi', at: T0 - 120_000, senderId: '42' },
        { id: 'a1', role: 'assistant', text: 'hello', at: T0 - 60_000, tokens: 3 },
      ],
    });
    // The session came with a thread: the thread rule applies, as it would to its next message.
    expect(item.input.type === 'session.imported' && item.input.rules.policy).toEqual({
      mode: 'idle',
      atHour: 4,
      idleMinutes: 45,
    });
    const withoutThread = controlInput({ ...imported, lastRoute: imported.origin }, undefined, byType);
    expect(withoutThread.input.type === 'session.imported' && withoutThread.input.rules.policy.mode).toBe(
      'daily',
    );
  });
});
