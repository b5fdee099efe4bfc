import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  ConfigError,
  type ConfigIssue,
  DEFAULT_BOOTSTRAP_FILES,
  OPENCLAW_ONLY_SESSION_KEYS,
  parseConfig,
  parseConfigText,
  threadlineConfigSchema,
} from './config.js';

/** The issues of the ConfigError that parsing `raw` throws (fails the test when it does not throw). */
function issuesOf(parse: () => unknown): ConfigIssue[] {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected a ConfigError, but the config parsed');
}

const OPENCLAW_SESSION_JSON5 = `
// ~/.openclaw/openclaw.json (session block only)
{
  session: {
    // Secure DM mode: isolate DM context per channel + sender.
    dmScope: "per-channel-peer",
    mainKey: "main",
    identityLinks: { alice: ["telegram:111", "discord:222",], },
    reset: { mode: "daily", atHour: 4, idleMinutes: 120, },
    resetByType: {
      direct: { mode: "idle", idleMinutes: 240 },
      dm: { atHour: 5 },            // legacy alias of direct
      group: { mode: "idle", idleMinutes: 120 },
      thread: { mode: "daily", atHour: 3 },
    },
    resetByChannel: { discord: { mode: "idle", idleMinutes: 10080 } },
    idleMinutes: 240,                 // legacy top-level form
    resetTriggers: ["/new", "/reset",],
    sendPolicy: { default: "allow", rules: [
      { action: "deny", match: { channel: "discord", chatType: "group" } },
      { action: "deny", match: { keyPrefix: "cron:" } },
      { action: "deny", match: { rawKeyPrefix: "agent:main:discord:" } },
    ] },
  },
}
`;

describe('parseConfig: defaults', () => {
  it('given an empty object, when parsed, then every section is filled with its defaults', () => {
    const { config, warnings } = parseConfig({});

    expect(warnings).toEqual([]);
    expect(config).toEqual({
      session: {},
      gateway: {},
      agents: { main: { id: 'main', contextWindow: 200_000, reserveTokens: 16_384 } },
      models: [],
      lifecycle: { quietMinutes: 5, compactionTimeoutMs: 120_000 },
      compaction: { summariser: 'extractive', keepRecentTurns: 4 },
      clock: { mode: 'system' },
      production: false,
      // As configured: the streams' own defaults apply to what is left out.
      retention: {},
    });
  });

  it('given an OpenAI-compatible summariser with url and model, when parsed, then the key variable is defaulted', () => {
    const { config } = parseConfig({
      compaction: {
        summariser: 'openai-compatible',
        openai: { url: 'http://127.0.0.1:8080/v1', model: 'qwen2.5' },
      },
    });
    expect(config.compaction).toEqual({
      summariser: 'openai-compatible',
      keepRecentTurns: 4,
      openai: {
        url: 'http://127.0.0.1:8080/v1',
        model: 'qwen2.5',
        apiKeyEnv: 'THREADLINE_SUMMARISER_API_KEY',
      },
    });
  });

  it('given an agent workspace with only a dir, when parsed, then the bootstrap files and limits are defaulted', () => {
    const { config } = parseConfig({ agents: { main: { workspace: { dir: '/srv/agent' } } } });

    expect(config.agents.main?.workspace).toEqual({
      dir: '/srv/agent',
      bootstrapFiles: [
        'AGENTS.md',
        'SOUL.md',
        'TOOLS.md',
        'IDENTITY.md',
        'USER.md',
        'HEARTBEAT.md',
        'BOOTSTRAP.md',
      ],
      maxFileChars: 20_000,
      maxTotalChars: 100_000,
    });
  });

  it('given two parses, when one default list is changed, then the other config and the defaults are untouched', () => {
    const first = parseConfig({ agents: { main: { workspace: { dir: 'a' } } } }).config;
    const second = parseConfig({ agents: { main: { workspace: { dir: 'b' } } } }).config;

    first.agents.main?.workspace?.bootstrapFiles.push('EXTRA.md');

    expect(second.agents.main?.workspace?.bootstrapFiles).toHaveLength(7);
    expect(DEFAULT_BOOTSTRAP_FILES).toHaveLength(7);
  });

  it('given a deeply frozen input, when parsed, then parsing does not mutate it', () => {
    const raw = deepFreeze({ session: { store: 'x', reset: { atHour: 2 } }, agents: { Work: {} } });

    expect(() => parseConfig(raw)).not.toThrow();
    expect(raw.session.store).toBe('x');
  });
});

describe('parseConfigText: an OpenClaw session block', () => {
  it('given the spec examples as JSON5 with comments and trailing commas, when parsed, then the session block is kept as written', () => {
    const { config, warnings } = parseConfigText(OPENCLAW_SESSION_JSON5, 'openclaw.json');

    expect(warnings).toEqual([]);
    expect(config.session).toEqual({
      dmScope: 'per-channel-peer',
      mainKey: 'main',
      identityLinks: { alice: ['telegram:111', 'discord:222'] },
      reset: { mode: 'daily', atHour: 4, idleMinutes: 120 },
      resetByType: {
        direct: { mode: 'idle', idleMinutes: 240 },
        dm: { atHour: 5 },
        group: { mode: 'idle', idleMinutes: 120 },
        thread: { mode: 'daily', atHour: 3 },
      },
      resetByChannel: { discord: { mode: 'idle', idleMinutes: 10080 } },
      idleMinutes: 240,
      resetTriggers: ['/new', '/reset'],
      sendPolicy: {
        default: 'allow',
        rules: [
          { action: 'deny', match: { channel: 'discord', chatType: 'group' } },
          { action: 'deny', match: { keyPrefix: 'cron:' } },
          { action: 'deny', match: { rawKeyPrefix: 'agent:main:discord:' } },
        ],
      },
    });
  });

  it('given OpenClaw session settings Threadline does not use, when parsed, then each is a warning and the rest loads', () => {
    const session: Record<string, unknown> = { dmScope: 'per-peer' };
    for (const key of OPENCLAW_ONLY_SESSION_KEYS) session[key] = { anything: true };

    const { config, warnings } = parseConfig({ session });

    expect(config.session).toEqual({ dmScope: 'per-peer' });
    expect(warnings).toEqual(
      OPENCLAW_ONLY_SESSION_KEYS.map((key) => ({
        path: `session.${key}`,
        message: 'OpenClaw setting not used by Threadline; ignored',
      })),
    );
  });

  it.each([
    'scope',
    'store',
    'typingIntervalSeconds',
    'agentToAgent',
    'maintenance',
    'threadBindings',
    'parentForkMaxTokens',
  ])('lists the OpenClaw setting %s as ignored', (key) => {
    expect(OPENCLAW_ONLY_SESSION_KEYS).toContain(key);
  });

  it('given an OpenClaw-only key outside the session block, when parsed, then it is an unknown-key error', () => {
    expect(issuesOf(() => parseConfig({ store: '~/.openclaw/sessions.json' }))).toEqual([
      { path: 'store', message: 'unknown key' },
    ]);
  });

  it('given the number values the resolver clamps, when parsed, then the raw numbers are kept', () => {
    const { config } = parseConfig({
      session: {
        reset: { atHour: 27.5, idleMinutes: -5 },
        resetByType: { group: { atHour: -3 } },
        idleMinutes: 0.5,
      },
    });

    expect(config.session.reset).toEqual({ atHour: 27.5, idleMinutes: -5 });
    expect(config.session.resetByType?.group?.atHour).toBe(-3);
    expect(config.session.idleMinutes).toBe(0.5);
  });

  it('keeps any finite atHour and idleMinutes exactly as given', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (atHour, idleMinutes) => {
          const { config } = parseConfig({ session: { reset: { atHour, idleMinutes } } });
          expect(config.session.reset).toEqual({ atHour, idleMinutes });
        },
      ),
    );
  });

  it('given a valid IANA zone, when parsed, then session.reset.timeZone and gateway.timeZone are kept', () => {
    const { config } = parseConfig({
      session: { reset: { timeZone: 'America/New_York' } },
      gateway: { timeZone: 'Europe/Berlin' },
    });

    expect(config.session.reset?.timeZone).toBe('America/New_York');
    expect(config.gateway.timeZone).toBe('Europe/Berlin');
  });
});

describe('parseConfig: one error of each kind names its path and problem', () => {
  it.each<[string, unknown, ConfigIssue]>([
    [
      'summariser without its endpoint',
      { compaction: { summariser: 'openai-compatible' } },
      {
        path: 'compaction.openai',
        message: 'required when compaction.summariser is "openai-compatible" (give url and model)',
      },
    ],
    [
      'summariser URL that is not http',
      { compaction: { openai: { url: 'ftp://x/v1', model: 'm' } } },
      { path: 'compaction.openai.url', message: 'expected an http(s) URL' },
    ],
    [
      'wrong type',
      { session: { reset: { atHour: 'four' } } },
      { path: 'session.reset.atHour', message: 'expected a number, got "four"' },
    ],
    [
      'wrong type (object expected)',
      { session: { sendPolicy: ['deny'] } },
      { path: 'session.sendPolicy', message: 'expected an object, got an array' },
    ],
    [
      'wrong type (string list)',
      { session: { identityLinks: { alice: ['telegram:1', 222] } } },
      { path: 'session.identityLinks.alice[1]', message: 'expected a string, got 222' },
    ],
    [
      'bad enum',
      { session: { dmScope: 'per-user' } },
      {
        path: 'session.dmScope',
        message:
          'expected one of "main" | "per-peer" | "per-channel-peer" | "per-account-channel-peer", got "per-user"',
      },
    ],
    [
      'bad enum in a rule',
      { session: { sendPolicy: { rules: [{}, { action: 'deny' }, { action: 'block' }] } } },
      {
        path: 'session.sendPolicy.rules[2].action',
        message: 'expected one of "allow" | "deny", got "block"',
      },
    ],
    [
      'bad chat type in a match',
      { session: { sendPolicy: { rules: [{ match: { chatType: 'private' } }] } } },
      {
        path: 'session.sendPolicy.rules[0].match.chatType',
        message: 'expected one of "direct" | "dm" | "group" | "channel", got "private"',
      },
    ],
    [
      'bad reset mode by channel',
      { session: { resetByChannel: { discord: { mode: 'weekly' } } } },
      {
        path: 'session.resetByChannel.discord.mode',
        message: 'expected one of "daily" | "idle", got "weekly"',
      },
    ],
    [
      'non-finite number (Infinity)',
      { session: { reset: { idleMinutes: Number.POSITIVE_INFINITY } } },
      { path: 'session.reset.idleMinutes', message: 'expected a finite number, got Infinity' },
    ],
    [
      'non-finite number (NaN)',
      { session: { resetByType: { thread: { atHour: Number.NaN } } } },
      { path: 'session.resetByType.thread.atHour', message: 'expected a finite number, got NaN' },
    ],
    [
      'non-finite number (-Infinity, legacy idleMinutes)',
      { session: { idleMinutes: Number.NEGATIVE_INFINITY } },
      { path: 'session.idleMinutes', message: 'expected a finite number, got -Infinity' },
    ],
    [
      'non-finite integer',
      { agents: { main: { contextWindow: Number.POSITIVE_INFINITY } } },
      { path: 'agents.main.contextWindow', message: 'expected a finite number, got Infinity' },
    ],
    [
      'bad zone',
      { session: { reset: { timeZone: 'Mars/Olympus_Mons' } } },
      {
        path: 'session.reset.timeZone',
        message: 'expected an IANA time zone such as "Europe/Berlin", got "Mars/Olympus_Mons"',
      },
    ],
    [
      'bad gateway zone',
      { gateway: { timeZone: 'GMT+25' } },
      {
        path: 'gateway.timeZone',
        message: 'expected an IANA time zone such as "Europe/Berlin", got "GMT+25"',
      },
    ],
    [
      'bad model id (no slash)',
      { models: [{ id: 'anthropic' }] },
      {
        path: 'models[0].id',
        message:
          'expected a model id "provider/model" (one "/", both parts non-empty, no spaces), got "anthropic"',
      },
    ],
    [
      'bad model id (two slashes)',
      { models: [{ id: 'anthropic/claude-opus-4-6' }, { id: 'openrouter/meta/llama' }] },
      {
        path: 'models[1].id',
        message:
          'expected a model id "provider/model" (one "/", both parts non-empty, no spaces), got "openrouter/meta/llama"',
      },
    ],
    [
      'bad model id (empty part)',
      { models: [{ id: 'anthropic/' }] },
      {
        path: 'models[0].id',
        message:
          'expected a model id "provider/model" (one "/", both parts non-empty, no spaces), got "anthropic/"',
      },
    ],
    ['model without id', { models: [{ alias: 'opus' }] }, { path: 'models[0].id', message: 'required' }],
    [
      'model alias that cannot be typed',
      { models: [{ id: 'anthropic/claude-opus-4-6', alias: 'big opus' }] },
      {
        path: 'models[0].alias',
        message: 'expected one word without "/" (it is typed as /new <alias>), got "big opus"',
      },
    ],
    [
      'duplicate model alias',
      {
        models: [
          { id: 'a/x', alias: 'Opus' },
          { id: 'b/y', alias: 'opus' },
        ],
      },
      {
        path: 'models[1].alias',
        message: 'duplicate of models[0].alias (aliases are compared case-insensitively)',
      },
    ],
    [
      'agent model that is not an alias',
      { models: [{ id: 'anthropic/claude-opus-4-6', alias: 'opus' }], agents: { main: { model: 'sonnet' } } },
      {
        path: 'agents.main.model',
        message: '"sonnet" is not an alias from models (write "provider/model" or add the alias)',
      },
    ],
    [
      'reserveTokens equal to contextWindow',
      { agents: { main: { contextWindow: 1000, reserveTokens: 1000 } } },
      { path: 'agents.main.reserveTokens', message: 'must be less than contextWindow (1000), got 1000' },
    ],
    [
      'reserveTokens above the default contextWindow',
      { agents: { work: { reserveTokens: 250_000 } } },
      { path: 'agents.work.reserveTokens', message: 'must be less than contextWindow (200000), got 250000' },
    ],
    [
      'compaction threshold at the context window',
      { agents: { main: { contextWindow: 8000, reserveTokens: 100, compactThresholdTokens: 8000 } } },
      {
        path: 'agents.main.compactThresholdTokens',
        message: 'must be less than contextWindow (8000), got 8000',
      },
    ],
    [
      'contextWindow not positive',
      { agents: { main: { contextWindow: 0 } } },
      { path: 'agents.main.contextWindow', message: 'expected a positive number, got 0' },
    ],
    [
      'reserveTokens not an integer',
      { agents: { main: { reserveTokens: 10.5 } } },
      { path: 'agents.main.reserveTokens', message: 'expected an integer, got 10.5' },
    ],
    [
      'workspace without dir',
      { agents: { main: { workspace: { maxFileChars: 100 } } } },
      { path: 'agents.main.workspace.dir', message: 'required' },
    ],
    [
      'blank reset trigger',
      { session: { resetTriggers: ['/new', ' '] } },
      { path: 'session.resetTriggers[1]', message: 'expected a non-blank string, got " "' },
    ],
    [
      'lifecycle.quietMinutes not positive',
      { lifecycle: { quietMinutes: -1 } },
      { path: 'lifecycle.quietMinutes', message: 'expected a positive number, got -1' },
    ],
    [
      'production not a boolean',
      { production: 'yes' },
      { path: 'production', message: 'expected a boolean, got "yes"' },
    ],
    [
      'test clock in production',
      { clock: { mode: 'test' }, production: true },
      { path: 'clock.mode', message: 'the test clock is refused in production' },
    ],
    [
      'unknown key with a hint',
      { session: { dmscope: 'main' } },
      { path: 'session.dmscope', message: 'unknown key (did you mean "dmScope"?)' },
    ],
    [
      'unknown key with a hint, two edits away',
      { session: { reset: { atHr: 4 } } },
      { path: 'session.reset.atHr', message: 'unknown key (did you mean "atHour"?)' },
    ],
    [
      'unknown key with a hint in an agent',
      { agents: { main: { contextWindows: 1000 } } },
      { path: 'agents.main.contextWindows', message: 'unknown key (did you mean "contextWindow"?)' },
    ],
    [
      'unknown key without a hint',
      { session: { flavour: 'vanilla' } },
      { path: 'session.flavour', message: 'unknown key' },
    ],
    ['unknown top-level key without a hint', { channels: {} }, { path: 'channels', message: 'unknown key' }],
    [
      'zone on a per-channel reset rule',
      { session: { resetByChannel: { discord: { timeZone: 'UTC' } } } },
      {
        path: 'session.resetByChannel.discord.timeZone',
        message:
          'unknown key (the daily-reset time zone is gateway-wide: set session.reset.timeZone or gateway.timeZone)',
      },
    ],
    [
      'newer OpenClaw match option',
      {
        session: { sendPolicy: { rules: [{ action: 'deny', match: { channel: 'discord', invert: true } }] } },
      },
      {
        path: 'session.sendPolicy.rules[0].match.invert',
        message:
          'OpenClaw match option not supported by Threadline (ignoring it would change what the rule matches)',
      },
    ],
    [
      'reserved record key',
      { session: { resetByChannel: { constructor: { mode: 'idle' } } } },
      {
        path: 'session.resetByChannel.constructor',
        message: '"constructor" is a reserved name and cannot be used as a key',
      },
    ],
    [
      'key that needs quoting in the path',
      { session: { identityLinks: { 'alice smith': 'telegram:1' } } },
      { path: 'session.identityLinks["alice smith"]', message: 'expected an array, got "telegram:1"' },
    ],
    ['not an object at all', 42, { path: '', message: 'expected an object, got 42' }],
  ])('%s', (_kind, raw, expected) => {
    expect(issuesOf(() => parseConfig(raw))).toEqual([expected]);
  });

  it('given an own "__proto__" key from JSON5, when parsed, then it is reported instead of dropped', () => {
    const issues = issuesOf(() => parseConfigText('{ agents: { "__proto__": { contextWindow: 10 } } }'));

    expect(issues).toEqual([
      { path: 'agents.__proto__', message: '"__proto__" is a reserved name and cannot be used as a key' },
    ]);
  });

  it('given a non-finite number written in JSON5, when parsed, then it is refused', () => {
    const issues = issuesOf(() =>
      parseConfigText('{ session: { reset: { atHour: NaN, idleMinutes: -Infinity } } }'),
    );

    expect(issues).toEqual([
      { path: 'session.reset.atHour', message: 'expected a finite number, got NaN' },
      { path: 'session.reset.idleMinutes', message: 'expected a finite number, got -Infinity' },
    ]);
  });
});

describe('parseConfig: every issue at once', () => {
  const broken = {
    session: {
      dmScope: 'per-user',
      reset: { atHour: 'four', timeZone: 'Nowhere/Land' },
      sendPolicy: { rules: [{ action: 'deny' }, { action: 'maybe' }] },
      typingMode: 'instant',
      dmscope: 'main',
    },
    agents: { main: { contextWindow: 4096, reserveTokens: 8192 }, Main: {} },
    models: [{ id: 'gpt-5' }],
    clock: { mode: 'test' },
    production: true,
    lifecylce: {},
  };

  it('given a config with many problems, when parsed, then all of them are reported', () => {
    const issues = issuesOf(() => parseConfig(broken));

    expect(issues).toEqual(
      expect.arrayContaining([
        {
          path: 'session.dmScope',
          message:
            'expected one of "main" | "per-peer" | "per-channel-peer" | "per-account-channel-peer", got "per-user"',
        },
        { path: 'session.reset.atHour', message: 'expected a number, got "four"' },
        {
          path: 'session.reset.timeZone',
          message: 'expected an IANA time zone such as "Europe/Berlin", got "Nowhere/Land"',
        },
        {
          path: 'session.sendPolicy.rules[1].action',
          message: 'expected one of "allow" | "deny", got "maybe"',
        },
        { path: 'session.dmscope', message: 'unknown key (did you mean "dmScope"?)' },
        { path: 'agents.main.reserveTokens', message: 'must be less than contextWindow (4096), got 8192' },
        { path: 'agents.Main', message: 'agent id "main" is already configured by agents.main' },
        {
          path: 'models[0].id',
          message:
            'expected a model id "provider/model" (one "/", both parts non-empty, no spaces), got "gpt-5"',
        },
        { path: 'clock.mode', message: 'the test clock is refused in production' },
        { path: 'lifecylce', message: 'unknown key (did you mean "lifecycle"?)' },
      ]),
    );
    expect(issues).toHaveLength(10);
  });

  it('given a config with many problems, when it fails, then the error lists one issue per line as path: message', () => {
    let error: unknown;
    try {
      parseConfig(broken);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toBeInstanceOf(Error);
    const configError = error as ConfigError;
    expect(configError.name).toBe('ConfigError');
    expect(configError.code).toBe('INVALID_CONFIG');
    expect(configError.message.split('\n')).toEqual(configError.issues.map((i) => `${i.path}: ${i.message}`));
    expect(configError.message).toContain('session.reset.atHour: expected a number, got "four"');
  });

  it('given a config that is not an object, when it fails, then the line names the root', () => {
    expect(() => parseConfig(null)).toThrow('(root): expected an object, got null');
  });
});

describe('parseConfig: agents', () => {
  it('given agent keys in any case or with odd characters, when parsed, then they are keyed by normalized id and main is added', () => {
    const { config, warnings } = parseConfig({
      agents: { Work: { model: 'anthropic/claude-opus-4-6' }, 'My Agent!': { contextWindow: 32_000 } },
    });

    expect(Object.keys(config.agents).sort()).toEqual(['main', 'my-agent', 'work']);
    expect(config.agents.work).toEqual({
      id: 'work',
      model: 'anthropic/claude-opus-4-6',
      contextWindow: 200_000,
      reserveTokens: 16_384,
    });
    expect(config.agents['my-agent']).toEqual({
      id: 'my-agent',
      contextWindow: 32_000,
      reserveTokens: 16_384,
    });
    expect(config.agents.main).toEqual({ id: 'main', contextWindow: 200_000, reserveTokens: 16_384 });
    expect(warnings).toEqual([{ path: 'agents["My Agent!"]', message: 'agent id normalized to "my-agent"' }]);
  });

  it('given a main agent with settings, when parsed, then those settings are kept rather than the defaults', () => {
    const { config } = parseConfig({ agents: { MAIN: { contextWindow: 64_000, reserveTokens: 4_000 } } });

    expect(config.agents).toEqual({ main: { id: 'main', contextWindow: 64_000, reserveTokens: 4_000 } });
  });

  it('given an agent model that names a configured alias, when parsed, then it is accepted as written', () => {
    const { config } = parseConfig({
      models: [{ id: 'anthropic/claude-opus-4-6', alias: 'opus' }, { id: 'openai/gpt-5' }],
      agents: { main: { model: 'Opus' } },
    });

    expect(config.agents.main?.model).toBe('Opus');
    expect(config.models).toEqual([
      { id: 'anthropic/claude-opus-4-6', alias: 'opus' },
      { id: 'openai/gpt-5' },
    ]);
  });
});

describe('parseConfigText: JSON5 syntax errors', () => {
  it('given a stray comma, when parsed, then the error gives the line and column', () => {
    const text = '{\n  session: {\n    dmScope: "main",,\n  },\n}';

    const issues = issuesOf(() => parseConfigText(text, 'openclaw.json'));

    expect(issues).toEqual([
      {
        path: '',
        message: "JSON5 syntax error at line 3, column 21 of openclaw.json: invalid character ','",
      },
    ]);
  });

  it('given unterminated text, when parsed, then the error is a ConfigError carrying the source and the cause', () => {
    let error: unknown;
    try {
      parseConfigText('{ session: { dmScope: "main" }', 'threadline.json5');
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.source).toBe('threadline.json5');
    expect(configError.cause).toBeInstanceOf(SyntaxError);
    expect(configError.message).toMatch(
      /^\(root\): JSON5 syntax error at line 1, column 31 of threadline\.json5: /,
    );
  });

  it('given valid JSON5 with an invalid value, when parsed, then the validation error carries the source', () => {
    let error: unknown;
    try {
      parseConfigText('{ production: "no" }', 'threadline.json5');
    } catch (caught) {
      error = caught;
    }

    expect((error as ConfigError).source).toBe('threadline.json5');
    expect((error as ConfigError).issues).toEqual([
      { path: 'production', message: 'expected a boolean, got "no"' },
    ]);
  });
});

describe('parseConfig: retention (ADR 0023)', () => {
  const DAY = 86_400_000;

  it('given limits for some streams, when parsed, then they are milliseconds and bytes, unlimited is null, the rest left out', () => {
    const { config } = parseConfigText(`{
      retention: {
        sessions: { maxAge: "400d", maxBytes: "50GB" },
        inbound: { maxAge: "36h", maxBytes: "512MiB" },
        keyed: { maxAge: "2w" },
        deadLetters: { maxAge: "unlimited" },
        deliveries: { maxBytes: "1048576" },
        ticks: { maxAge: "90m", maxBytes: "unlimited" },
      },
    }`);
    expect(config.retention).toEqual({
      sessions: { maxAgeMs: 400 * DAY, maxBytes: 50 * 1024 ** 3 },
      inbound: { maxAgeMs: 36 * 3_600_000, maxBytes: 512 * 1024 ** 2 },
      keyed: { maxAgeMs: 14 * DAY },
      deadLetters: { maxAgeMs: null },
      deliveries: { maxBytes: 1024 ** 2 },
      ticks: { maxAgeMs: 90 * 60_000, maxBytes: null },
    });
    expect(parseConfig({ retention: { inbound: {} } }).config.retention).toEqual({ inbound: {} });
  });

  it('accepts size units in any case and with a space, as nats-server configs write them', () => {
    const sizes = ['1mb', '1 MB', '1MiB', '1024KB', `${1024 ** 2}B`].map(
      (maxBytes) => parseConfig({ retention: { ticks: { maxBytes } } }).config.retention.ticks?.maxBytes,
    );
    expect(sizes).toEqual(Array(5).fill(1024 ** 2));
  });

  it.each([
    [
      'retention.sessions.maxAge',
      { sessions: { maxAge: '7 days' } },
      /^expected a duration such as "30d", "12h" or "unlimited" .*got "7 days"$/,
    ],
    ['retention.inbound.maxAge', { inbound: { maxAge: 7 } }, /^expected a string, got 7$/],
    ['retention.keyed.maxAge', { keyed: { maxAge: '1.5d' } }, /^expected a duration/],
    [
      'retention.keyed.maxAge',
      { keyed: { maxAge: '30s' } },
      /^must be from 2m \(JetStream's duplicate window\) to 36500d, or "unlimited", got "30s"$/,
    ],
    [
      'retention.sessions.maxAge',
      { sessions: { maxAge: '12h' } },
      /^must be from 1d \(a shorter one cuts the records of sessions still running\)/,
    ],
    ['retention.ticks.maxAge', { ticks: { maxAge: '36501d' } }, /to 36500d/],
    [
      'retention.deliveries.maxBytes',
      { deliveries: { maxBytes: '10 gigabytes' } },
      /^expected a size such as "10GB", "512MB" or "unlimited" .*got "10 gigabytes"$/,
    ],
    [
      'retention.deadLetters.maxBytes',
      { deadLetters: { maxBytes: '512KB' } },
      /^must be from 1MB \(the largest record a stream holds\) to 1PB/,
    ],
    ['retention.inbound.maxBytes', { inbound: { maxBytes: '2PB' } }, /to 1PB/],
    ['retention.inbound.maxBytes', { inbound: { maxBytes: '-1' } }, /^expected a size/],
    [
      'retention.sessions.maxAges',
      { sessions: { maxAges: '1d' } },
      /^unknown key \(did you mean "maxAge"\?\)$/,
    ],
    ['retention.session', { session: { maxAge: '1d' } }, /^unknown key \(did you mean "sessions"\?\)$/],
    ['retention.outbox', { outbox: {} }, /^unknown key$/],
    ['retention', 'forever', /^expected an object, got "forever"$/],
  ])('names %s and the problem', (path, retention, message) => {
    const issues = issuesOf(() => parseConfig({ retention }));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe(path);
    expect(issues[0]?.message).toMatch(message);
  });

  it('given several bad limits, when parsed, then every one is reported at once', () => {
    const issues = issuesOf(() =>
      parseConfig({ retention: { sessions: { maxAge: '1h', maxBytes: '1KB' }, ticks: { maxAge: 'soon' } } }),
    );
    expect(issues.map((issue) => issue.path)).toEqual([
      'retention.sessions.maxAge',
      'retention.sessions.maxBytes',
      'retention.ticks.maxAge',
    ]);
  });
});

describe('threadlineConfigSchema', () => {
  it('converts to JSON Schema with the defaults and closed objects', () => {
    const schema = z.toJSONSchema(threadlineConfigSchema) as {
      additionalProperties?: unknown;
      properties: Record<string, { properties?: Record<string, { default?: unknown; enum?: unknown }> }>;
    };

    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.session?.properties?.dmScope?.enum).toEqual([
      'main',
      'per-peer',
      'per-channel-peer',
      'per-account-channel-peer',
    ]);
    expect(schema.properties.lifecycle?.properties?.quietMinutes?.default).toBe(5);
  });
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
