import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ChatCommandContext,
  CONTEXT_USAGE,
  DEFAULT_RESET_TRIGGERS,
  parseChatCommand,
  SEND_USAGE,
} from './chatCommands.js';

const dm: ChatCommandContext = { authorized: true, chatType: 'direct' };
const owner: ChatCommandContext = { ...dm, owner: true };
const group: ChatCommandContext = {
  authorized: true,
  chatType: 'group',
  botMentions: ['@clawbot', '<@U123>'],
};
const models: ChatCommandContext['models'] = [
  { id: 'anthropic/claude-opus-4-6', alias: 'opus' },
  { id: 'anthropic/claude-sonnet-4-6', alias: 'sonnet' },
  { id: 'openrouter/openai/gpt-5.2' },
];
const withModels: ChatCommandContext = { ...dm, models };

describe('reset triggers (spec §2.5)', () => {
  it.each([
    ['/new', '/new'],
    ['/reset', '/reset'],
    ['  /new  ', '/new'],
  ])('given an authorized sender, when the text is %j, then it is a reset with no rest', (text, trigger) => {
    expect(parseChatCommand(text, dm)).toEqual({ kind: 'reset', trigger, rest: '' });
  });

  it('given a trigger followed by a space, when parsed, then the rest keeps its case and is trimmed', () => {
    expect(parseChatCommand('/new  Plan My TRIP to Oslo  ', dm)).toEqual({
      kind: 'reset',
      trigger: '/new',
      rest: 'Plan My TRIP to Oslo',
    });
  });

  it('given a trigger followed by a newline or tab, when parsed, then that whitespace separates too', () => {
    expect(parseChatCommand('/reset\nFirst line\nSecond', dm)).toEqual({
      kind: 'reset',
      trigger: '/reset',
      rest: 'First line\nSecond',
    });
    expect(parseChatCommand('/new\tHi', dm)).toEqual({ kind: 'reset', trigger: '/new', rest: 'Hi' });
  });

  it.each(['/newfoo', '/resetting the counter', '/new-session', 'hello /new', 'new', '/ne'])(
    'given %j, when parsed, then it is not a reset',
    (text) => {
      expect(parseChatCommand(text, dm)).toBeNull();
    },
  );

  it.each(['/NEW', '/New Hello', '/ReSeT'])(
    'given %j, when parsed, then the trigger matches in any case',
    (text) => {
      expect(parseChatCommand(text, dm)).toMatchObject({ kind: 'reset' });
    },
  );

  it('given an upper-case message, when it resets, then the trigger is reported as configured', () => {
    expect(parseChatCommand('/NEW Hello', dm)).toEqual({ kind: 'reset', trigger: '/new', rest: 'Hello' });
  });

  it('given custom triggers, when parsed, then only the configured ones reset', () => {
    const ctx: ChatCommandContext = { ...dm, resetTriggers: ['/fresh', 'start over'] };
    expect(parseChatCommand('/fresh', ctx)).toEqual({ kind: 'reset', trigger: '/fresh', rest: '' });
    expect(parseChatCommand('START OVER please', ctx)).toEqual({
      kind: 'reset',
      trigger: 'start over',
      rest: 'please',
    });
    expect(parseChatCommand('/new', ctx)).toBeNull();
    expect(parseChatCommand('/reset', ctx)).toBeNull();
  });

  it('given a configured trigger with surrounding spaces, when matched, then it is reported as configured', () => {
    const ctx: ChatCommandContext = { ...dm, resetTriggers: [' /Fresh '] };
    expect(parseChatCommand('/fresh now', ctx)).toEqual({ kind: 'reset', trigger: ' /Fresh ', rest: 'now' });
  });

  it('given an empty trigger list, when parsed, then the defaults apply (as in OpenClaw)', () => {
    expect(DEFAULT_RESET_TRIGGERS).toEqual(['/new', '/reset']);
    expect(parseChatCommand('/new', { ...dm, resetTriggers: [] })).toMatchObject({ kind: 'reset' });
  });

  it('given only blank triggers, when parsed, then nothing resets', () => {
    expect(parseChatCommand('/new', { ...dm, resetTriggers: ['', '  '] })).toBeNull();
    expect(parseChatCommand('hello', { ...dm, resetTriggers: [''] })).toBeNull();
  });

  it('given overlapping triggers, when parsed, then the first configured match wins', () => {
    const ctx: ChatCommandContext = { ...dm, resetTriggers: ['/new', '/new chat'] };
    expect(parseChatCommand('/new chat hi', ctx)).toEqual({
      kind: 'reset',
      trigger: '/new',
      rest: 'chat hi',
    });
  });

  it('given `/new:` colon syntax or a Telegram `@bot` suffix, when parsed, then it still resets', () => {
    expect(parseChatCommand('/new: Hello', dm)).toEqual({ kind: 'reset', trigger: '/new', rest: 'Hello' });
    expect(parseChatCommand('/new@ClawBot Hello', { ...dm, botMentions: ['@clawbot'] })).toEqual({
      kind: 'reset',
      trigger: '/new',
      rest: 'Hello',
    });
  });

  it('given a trigger that is also a built-in command, when parsed, then the reset wins', () => {
    expect(parseChatCommand('/status', { ...dm, resetTriggers: ['/status'] })).toEqual({
      kind: 'reset',
      trigger: '/status',
      rest: '',
    });
  });
});

describe('/new <model> (spec §2.5)', () => {
  it('given an alias as the first word, when parsed, then the reset carries that model', () => {
    expect(parseChatCommand('/new opus Draft the Plan', withModels)).toEqual({
      kind: 'reset',
      trigger: '/new',
      rest: 'Draft the Plan',
      model: { provider: 'anthropic', model: 'claude-opus-4-6', alias: 'opus', raw: 'opus' },
    });
  });

  it('given an alias in another case, when parsed, then it matches and raw is as typed', () => {
    expect(parseChatCommand('/new OPUS', withModels)).toEqual({
      kind: 'reset',
      trigger: '/new',
      rest: '',
      model: { provider: 'anthropic', model: 'claude-opus-4-6', alias: 'opus', raw: 'OPUS' },
    });
  });

  it('given a full provider/model id, when parsed, then the model is split at the first slash', () => {
    expect(parseChatCommand('/reset OpenRouter/OpenAI/GPT-5.2 hi', withModels)).toEqual({
      kind: 'reset',
      trigger: '/reset',
      rest: 'hi',
      model: { provider: 'openrouter', model: 'openai/gpt-5.2', raw: 'OpenRouter/OpenAI/GPT-5.2' },
    });
  });

  it('given a full id of an aliased entry, when parsed, then the alias is reported too', () => {
    expect(parseChatCommand('/new anthropic/claude-sonnet-4-6', withModels)).toMatchObject({
      model: { provider: 'anthropic', model: 'claude-sonnet-4-6', alias: 'sonnet' },
    });
  });

  it('given a bare provider, when parsed, then the reset carries the provider without a model', () => {
    expect(parseChatCommand('/new Anthropic write a haiku', withModels)).toEqual({
      kind: 'reset',
      trigger: '/new',
      rest: 'write a haiku',
      model: { provider: 'anthropic', raw: 'Anthropic' },
    });
  });

  it.each(['/new hello there', '/new anthropic/unknown-model hi', '/new opus2 hi', '/new openai hi'])(
    'given %j (no allowed model first), when parsed, then the words stay the message and no model is set',
    (text) => {
      const result = parseChatCommand(text, withModels);
      expect(result).toEqual({ kind: 'reset', trigger: '/new', rest: text.slice('/new '.length) });
    },
  );

  it('given no allow-list, when a model-like word follows, then it is message text', () => {
    expect(parseChatCommand('/new opus hi', dm)).toEqual({ kind: 'reset', trigger: '/new', rest: 'opus hi' });
  });

  it('given a custom trigger, when a model alias follows, then it is recognised the same way', () => {
    const ctx: ChatCommandContext = { ...withModels, resetTriggers: ['/fresh'] };
    expect(parseChatCommand('/fresh sonnet go', ctx)).toMatchObject({
      kind: 'reset',
      trigger: '/fresh',
      rest: 'go',
      model: { alias: 'sonnet' },
    });
  });

  it('given an alias that is also a provider name, when parsed, then the alias wins', () => {
    const ctx: ChatCommandContext = {
      ...dm,
      models: [{ id: 'anthropic/claude-opus-4-6' }, { id: 'openai/gpt-5.2', alias: 'anthropic' }],
    };
    expect(parseChatCommand('/new anthropic', ctx)).toMatchObject({
      model: { provider: 'openai', model: 'gpt-5.2', alias: 'anthropic' },
    });
  });

  it('given allow-list entries that are not provider/model, when their id is typed, then they are ignored', () => {
    const ctx: ChatCommandContext = {
      ...dm,
      models: [{ id: 'opus', alias: 'o' }, { id: '/x' }, { id: 'y/' }],
    };
    expect(parseChatCommand('/new opus', ctx)).toEqual({ kind: 'reset', trigger: '/new', rest: 'opus' });
    expect(parseChatCommand('/new o', ctx)).toEqual({ kind: 'reset', trigger: '/new', rest: 'o' });
    expect(parseChatCommand('/new y', ctx)).toEqual({ kind: 'reset', trigger: '/new', rest: 'y' });
  });
});

describe('mentions in groups and channels', () => {
  it.each([
    ['@clawbot /new Hi', 'Hi'],
    ['@ClawBot: /new Hi', 'Hi'],
    ['@clawbot, /new', ''],
    ['<@U123> /reset Go', 'Go'],
    ['<@u123>/new', ''],
  ])('given a group message %j, when parsed, then the leading mention is stripped', (text, rest) => {
    expect(parseChatCommand(text, group)).toMatchObject({ kind: 'reset', rest });
  });

  it('given a channel, when a mention leads a command, then it is stripped as in groups', () => {
    expect(parseChatCommand('@clawbot /status', { ...group, chatType: 'channel' })).toEqual({
      kind: 'status',
    });
  });

  it('given a direct chat, when a mention leads a command, then nothing is stripped', () => {
    expect(parseChatCommand('@clawbot /new', { ...group, chatType: 'direct' })).toBeNull();
    expect(parseChatCommand('@clawbot /status', { ...group, chatType: undefined })).toBeNull();
  });

  it('given a longer handle that starts with the mention, when parsed, then it is not stripped', () => {
    expect(parseChatCommand('@clawbotty /new', group)).toBeNull();
  });

  it('given a mention of someone else, when parsed, then it is ordinary text', () => {
    expect(parseChatCommand('@alice /new', group)).toBeNull();
  });

  it('given a mention in the middle, when parsed, then commands are not found', () => {
    expect(parseChatCommand('hey @clawbot /new', group)).toBeNull();
  });

  it('given only a mention, when parsed, then it is ordinary text', () => {
    expect(parseChatCommand('@clawbot', group)).toBeNull();
  });

  it('given two leading mentions, when parsed, then only one is stripped', () => {
    expect(parseChatCommand('@clawbot @clawbot /new', group)).toBeNull();
  });
});

describe('authorization (spec §2.5, §5)', () => {
  it.each(['/new', '/reset Hi', '/status', '/context', '/compact', '/send on'])(
    'given an unauthorized sender, when %j arrives, then it is ordinary text',
    (text) => {
      expect(parseChatCommand(text, { authorized: false, owner: true })).toBeNull();
    },
  );

  it('given an unauthorized sender, for any text and context, then the result is always null', () => {
    const commandish = fc
      .tuple(
        fc.constantFrom('', '@clawbot ', '<@U123>: '),
        fc.constantFrom('/new', '/reset', '/status', '/context', '/compact', '/send', '/fresh', '/NEW'),
        fc.constantFrom('', ' ', ':', ': '),
        fc.string(),
      )
      .map((parts) => parts.join(''));
    const ctx = fc.record(
      {
        resetTriggers: fc.array(fc.oneof(fc.constantFrom('/new', '/reset', '/fresh', ''), fc.string())),
        owner: fc.boolean(),
        chatType: fc.constantFrom('direct', 'group', 'channel', 'unknown'),
        botMentions: fc.array(fc.constantFrom('@clawbot', '<@U123>', '')),
        models: fc.constant(models),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), commandish), ctx, (text, partial) => {
        expect(parseChatCommand(text, { ...partial, authorized: false })).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('given an authorized sender, for any trigger case and any message, then the rest is the message trimmed', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('/new', '/NEW', '/Reset'),
        fc.string({ unit: 'grapheme' }),
        (trigger, message) => {
          const result = parseChatCommand(`${trigger} ${message}`, dm);
          expect(result).toEqual({ kind: 'reset', trigger: trigger.toLowerCase(), rest: message.trim() });
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('/status (spec §5)', () => {
  it.each(['/status', '/STATUS', '  /Status ', '/status:', '/status :'])(
    'given %j, when parsed, then it is status',
    (text) => {
      expect(parseChatCommand(text, dm)).toEqual({ kind: 'status' });
    },
  );

  it.each(['/status please', '/statusx', 'status', 'what is /status'])(
    'given %j, when parsed, then it is ordinary text (status must stand alone)',
    (text) => {
      expect(parseChatCommand(text, dm)).toBeNull();
    },
  );

  it('given a Telegram command addressed to this bot, when parsed, then it is status', () => {
    expect(parseChatCommand('/status@clawbot', group)).toEqual({ kind: 'status' });
  });

  it('given a Telegram command addressed to another bot, when parsed, then it is ordinary text', () => {
    expect(parseChatCommand('/status@otherbot', group)).toBeNull();
    expect(parseChatCommand('/new@otherbot', group)).toBeNull();
  });

  it('given a malformed `@` suffix, when parsed, then it is ordinary text', () => {
    expect(parseChatCommand('/status@', group)).toBeNull();
  });
});

describe('/context (spec §5)', () => {
  it.each([
    ['/context', 'list'],
    ['/context list', 'list'],
    ['/context DETAIL', 'detail'],
    ['/Context json', 'json'],
    ['/context: detail', 'detail'],
    ['/context:json', 'json'],
  ] as const)('given %j, when parsed, then the mode is %s', (text, mode) => {
    expect(parseChatCommand(text, dm)).toEqual({ kind: 'context', mode });
  });

  it.each(['/context map', '/context list please', '/context details'])(
    'given %j (an unknown argument), when parsed, then the answer is the usage',
    (text) => {
      expect(parseChatCommand(text, dm)).toEqual({ kind: 'context-usage' });
    },
  );

  it('given the usage text, then it names every mode', () => {
    expect(CONTEXT_USAGE).toMatch(/list\|detail\|json/);
  });

  it('given `/contextual`, when parsed, then it is ordinary text', () => {
    expect(parseChatCommand('/contextual', dm)).toBeNull();
  });
});

describe('/compact (spec §5)', () => {
  it('given `/compact` alone, when parsed, then there are no instructions', () => {
    expect(parseChatCommand('/compact', dm)).toEqual({ kind: 'compact' });
    expect(parseChatCommand('/COMPACT:', dm)).toEqual({ kind: 'compact' });
  });

  it('given instructions, when parsed, then they keep their case and are trimmed', () => {
    expect(parseChatCommand('/compact   Keep the API Decisions  ', dm)).toEqual({
      kind: 'compact',
      instructions: 'Keep the API Decisions',
    });
    expect(parseChatCommand('/compact: Focus on Oslo\nand Bergen', dm)).toEqual({
      kind: 'compact',
      instructions: 'Focus on Oslo\nand Bergen',
    });
  });

  it('given `/compaction`, when parsed, then it is ordinary text', () => {
    expect(parseChatCommand('/compaction', dm)).toBeNull();
  });
});

describe('/send (spec §3)', () => {
  it.each([
    ['/send on', 'allow'],
    ['/send allow', 'allow'],
    ['/send off', 'deny'],
    ['/send DENY', 'deny'],
    ['/send inherit', 'inherit'],
    ['/send default', 'inherit'],
    ['/send reset', 'inherit'],
    ['/send: off', 'deny'],
    ['/send:off', 'deny'],
    ['/send :On', 'allow'],
    ['/SEND Inherit', 'inherit'],
  ] as const)('given the owner sends %j, when parsed, then the mode is %s', (text, mode) => {
    expect(parseChatCommand(text, owner)).toEqual({ kind: 'send', mode });
  });

  it.each(['/send', '/send:', '/send maybe', '/send on please', '/send 1'])(
    'given the owner sends %j (no valid mode), when parsed, then the answer is the usage',
    (text) => {
      expect(parseChatCommand(text, owner)).toEqual({ kind: 'send-usage' });
    },
  );

  it.each(['/send on', '/send', '/send maybe'])(
    'given an authorized non-owner sends %j, when parsed, then it is ordinary text',
    (text) => {
      expect(parseChatCommand(text, dm)).toBeNull();
      expect(parseChatCommand(text, { ...dm, owner: false })).toBeNull();
    },
  );

  it('given the owner in a group, when a mention leads `/send off`, then it is the command', () => {
    expect(parseChatCommand('@clawbot: /send off', { ...group, owner: true })).toEqual({
      kind: 'send',
      mode: 'deny',
    });
  });

  it.each(['/sender on', 'send on', 'please /send on'])(
    'given %j, when parsed, then it is not /send',
    (text) => {
      expect(parseChatCommand(text, owner)).toBeNull();
    },
  );

  it('given the usage text, then it names the three modes', () => {
    expect(SEND_USAGE).toBe('Usage: /send on|off|inherit');
  });
});

describe('ordinary text', () => {
  it.each(['', '   ', 'hello', '/help', '/unknown thing', 'Let us start a /new plan'])(
    'given %j from an authorized owner, when parsed, then it is ordinary text',
    (text) => {
      expect(parseChatCommand(text, owner)).toBeNull();
    },
  );
});
