import { describe, expect, it } from 'vitest';
import { type ChatCommand, CONTEXT_USAGE, parseChatCommand, SEND_USAGE } from './chatCommands.js';
import {
  type AnswerView,
  effectiveModel,
  formatContextUsage,
  formatCount,
  formatDuration,
  renderAnswer,
  type WorkspaceReport,
} from './commandAnswers.js';
import { agentOfKey, parseConfig, type ThreadlineConfig } from './config.js';
import { resolveLifecycleRules } from './lifecycleRules.js';
import {
  type Decision,
  decide,
  initialSessionSnapshot,
  replay,
  type SessionSnapshot,
} from './sessionDecider.js';
import type {
  CommandAnswer,
  InboundMessage,
  LifecycleRules,
  MessageRoute,
  OutboundReply,
  SessionInput,
} from './sessionMachine.js';

// Given/when/then specs for the chat command answers (spec §5): given a key's state built by the session
// machine from real inputs, when an answer is rendered at a moment, then this exact text comes out.

const SEC = 1000;
const MIN = 60 * SEC;
/** 2026-01-15 10:00 UTC. */
const T0 = Date.UTC(2026, 0, 15, 10, 0, 0);

const rules: LifecycleRules = {
  policy: { mode: 'daily', atHour: 4 },
  timeZone: 'UTC',
  quietMs: 5 * MIN,
  compactionTimeoutMs: 2 * MIN,
};

const MODELS = [
  { id: 'anthropic/claude-opus-4', alias: 'opus' },
  { id: 'openai/gpt-5', alias: 'gpt' },
];

function configOf(raw: Record<string, unknown> = {}): ThreadlineConfig {
  return parseConfig({ agents: { main: { model: 'opus' } }, models: MODELS, ...raw }).config;
}
const baseConfig = configOf();

const MAIN = 'agent:main:main';
const telegramDm: MessageRoute = { channel: 'telegram', to: 'alice', chatType: 'direct' };

let counter = 0;
function msg(at: number, text = 'hello', extra: Partial<InboundMessage> = {}): InboundMessage {
  counter += 1;
  return {
    type: 'message.inbound',
    messageId: `m${counter}`,
    at,
    text,
    sender: { id: 'alice', authorized: true, owner: true },
    rules,
    newSessionId: `s${counter}`,
    route: telegramDm,
    ...extra,
  };
}
/** A command message as the host builds it: the text parsed by the real parser. */
function cmd(at: number, text: string, extra: Partial<InboundMessage> = {}): InboundMessage {
  const command: ChatCommand | null = parseChatCommand(text, {
    authorized: true,
    owner: true,
    chatType: 'direct',
    models: MODELS,
  });
  if (command === null) throw new Error(`not a command: ${text}`);
  return msg(at, text, { command, ...extra });
}
function reply(at: number, extra: Partial<OutboundReply> = {}): OutboundReply {
  counter += 1;
  return { type: 'reply.outbound', replyId: `r${counter}`, at, text: 'sure', ...extra };
}

function view(snapshot: SessionSnapshot, now: number, extra: Partial<AnswerView> = {}): AnswerView {
  return { sessionKey: MAIN, snapshot, now, config: baseConfig, ...extra };
}
function render(
  answer: CommandAnswer,
  snapshot: SessionSnapshot,
  now: number,
  extra: Partial<AnswerView> = {},
) {
  return renderAnswer(answer, view(snapshot, now, extra));
}
/** The one answer a decision produced. */
function answerOf(d: Decision): CommandAnswer {
  expect(d.answers).toHaveLength(1);
  return (d.answers[0] as Decision['answers'][number]).answer;
}
function lineOf(text: string, prefix: string): string | undefined {
  return text.split('\n').find((line) => line.startsWith(prefix));
}

/** A conversation: a message, then a reply that reports usage. */
function conversation(): SessionSnapshot {
  return replay([
    msg(T0),
    reply(T0 + MIN, { usage: { inputTokens: 1200, outputTokens: 300, contextTokens: 12_345 } }),
  ]);
}

describe('number and duration formats', () => {
  it('groups digits with commas, whatever the locale', () => {
    expect([0, 999, 1000, 12_345, 200_000, 1_234_567, -4500].map(formatCount)).toEqual([
      '0',
      '999',
      '1,000',
      '12,345',
      '200,000',
      '1,234,567',
      '-4,500',
    ]);
  });

  it('rounds the context percentage half-up to one decimal, past 100% too', () => {
    expect(formatContextUsage(12_345, 200_000)).toBe('12,345/200,000 (6.2%)');
    expect(formatContextUsage(1, 3)).toBe('1/3 (33.3%)');
    expect(formatContextUsage(2, 3)).toBe('2/3 (66.7%)');
    expect(formatContextUsage(125, 200_000)).toBe('125/200,000 (0.1%)');
    expect(formatContextUsage(0, 200_000)).toBe('0/200,000 (0.0%)');
    expect(formatContextUsage(250_100, 200_000)).toBe('250,100/200,000 (125.1%)');
  });

  it('shows the two largest units of a duration, floored, and never a negative one', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(999)).toBe('0s');
    expect(formatDuration(45 * SEC)).toBe('45s');
    expect(formatDuration(3 * MIN + 12 * SEC + 900)).toBe('3m 12s');
    expect(formatDuration(5 * MIN)).toBe('5m 0s');
    expect(formatDuration(2 * 60 * MIN + 5 * MIN + 59 * SEC)).toBe('2h 5m');
    expect(formatDuration(3 * 24 * 60 * MIN + 4 * 60 * MIN + 30 * MIN)).toBe('3d 4h');
    expect(formatDuration(-5 * SEC)).toBe('0s');
  });
});

describe('/status', () => {
  it('given a message and a reply with usage, when asked 3m 12s after the start, then every fact is on its own line', () => {
    const snapshot = conversation();
    expect(render({ kind: 'status' }, snapshot, T0 + 3 * MIN + 12 * SEC)).toBe(
      [
        'Session: agent:main:main',
        'State: active',
        'Session id: s1',
        'Started: 3m 12s ago',
        'Last activity: 2m 12s ago',
        'Updated: 2m 12s ago',
        'Model: anthropic/claude-opus-4',
        'Tokens: 1,200 in / 300 out / 1,500 total',
        'Context: 12,345/200,000 (6.2%)',
        'Compactions: 0',
        'Send policy: allow (no policy configured)',
        'Agent: ok — last reply 2m 12s ago',
        'Privacy: ok',
      ].join('\n'),
    );
  });

  it('given a key that never had a session, then nothing is invented', () => {
    expect(render({ kind: 'status' }, initialSessionSnapshot(), T0)).toBe(
      [
        'Session: agent:main:main',
        'State: new',
        'Session id: none',
        'Started: never',
        'Last activity: never',
        'Updated: never',
        'Model: anthropic/claude-opus-4',
        'Tokens: 0 in / 0 out / 0 total',
        'Context: 0/200,000 (0.0%)',
        'Compactions: 0',
        'Send policy: allow (no policy configured)',
        'Agent: no messages yet',
        'Privacy: ok',
      ].join('\n'),
    );
  });

  it("given an agent with its own context window, then the usage is measured against that agent's window", () => {
    const config = configOf({ agents: { main: {}, ops: { contextWindow: 50_000, reserveTokens: 1000 } } });
    const status = render({ kind: 'status' }, conversation(), T0 + 2 * MIN, {
      config,
      sessionKey: 'agent:ops:main',
    });
    expect(lineOf(status, 'Context:')).toBe('Context: 12,345/50,000 (24.7%)');
    expect(lineOf(status, 'Model:')).toBe('Model: default');
  });

  it('given a session that expired at the daily boundary, then the state names the reason', () => {
    const live = conversation();
    const expiry = live.context.timers.expiry;
    if (!expiry) throw new Error('no expiry armed');
    const expired = decide(live, { type: 'timer.fired', timerId: expiry.id, at: expiry.dueAt }).snapshot;
    const status = render({ kind: 'status' }, expired, expiry.dueAt + 30 * SEC);
    expect(lineOf(status, 'State:')).toBe('State: expired (daily)');
    expect(lineOf(status, 'Updated:')).toBe('Updated: 30s ago');
  });

  it('given a compaction, then the count is shown', () => {
    const d = compactionStarted();
    const done = decide(d.snapshot, completed(d, 12_000, 3_000, T0 + 3 * MIN));
    expect(lineOf(render({ kind: 'status' }, done.snapshot, T0 + 4 * MIN), 'Compactions:')).toBe(
      'Compactions: 1',
    );
  });

  describe('agent health', () => {
    it('given a reply at the same instant as the last message, then the agent is ok', () => {
      const snapshot = replay([msg(T0), reply(T0)]);
      expect(lineOf(render({ kind: 'status' }, snapshot, T0 + 10 * SEC), 'Agent:')).toBe(
        'Agent: ok — last reply 10s ago',
      );
    });

    it('given a message newer than the last reply, then it is waiting, measured from that message', () => {
      const snapshot = replay([msg(T0), reply(T0 + 10 * SEC), msg(T0 + MIN)]);
      expect(lineOf(render({ kind: 'status' }, snapshot, T0 + 90 * SEC), 'Agent:')).toBe(
        'Agent: waiting — no reply for 30s since the last message',
      );
    });

    it('given a message that never got a reply, then it is waiting', () => {
      const snapshot = replay([msg(T0)]);
      expect(lineOf(render({ kind: 'status' }, snapshot, T0 + 2 * MIN), 'Agent:')).toBe(
        'Agent: waiting — no reply for 2m 0s since the last message',
      );
    });

    it('given exactly 5 minutes without a reply, then it is still waiting', () => {
      const snapshot = replay([msg(T0)]);
      expect(lineOf(render({ kind: 'status' }, snapshot, T0 + 5 * MIN), 'Agent:')).toBe(
        'Agent: waiting — no reply for 5m 0s since the last message',
      );
    });

    it('given more than 5 minutes without a reply, then the agent is not responding', () => {
      const snapshot = replay([msg(T0), reply(T0 + SEC), msg(T0 + MIN)]);
      expect(lineOf(render({ kind: 'status' }, snapshot, T0 + 7 * MIN), 'Agent:')).toBe(
        'Agent: not responding — no reply for 6m 0s since the last message',
      );
    });
  });

  describe('send policy in force', () => {
    const policyConfig = configOf({
      session: {
        sendPolicy: {
          default: 'allow',
          rules: [
            { action: 'deny', match: { keyPrefix: 'cron:' } },
            { action: 'deny', match: { channel: 'discord', chatType: 'group' } },
            { action: 'allow', match: { channel: 'telegram' } },
          ],
        },
      },
    });
    const discordGroup: MessageRoute = { channel: 'discord', to: 'g1', chatType: 'group' };
    const policyLine = (snapshot: SessionSnapshot, config: ThreadlineConfig, sessionKey = MAIN) =>
      lineOf(render({ kind: 'status' }, snapshot, T0 + MIN, { config, sessionKey }), 'Send policy:');

    it('given an override set by /send off, then the override decides', () => {
      const snapshot = replay([msg(T0), cmd(T0 + SEC, '/send off')]);
      expect(snapshot.context.sendOverride).toBe('deny');
      expect(policyLine(snapshot, policyConfig)).toBe('Send policy: deny (override)');
    });

    it('given a deny rule matching the route, then it names the rule by its position and match', () => {
      const snapshot = replay([msg(T0, 'hi', { route: discordGroup })]);
      expect(policyLine(snapshot, policyConfig, 'agent:main:discord:group:g1')).toBe(
        'Send policy: deny (rule 2 of 3: channel=discord chatType=group)',
      );
    });

    it('given only an allow rule matching, then the allow rule is named', () => {
      expect(policyLine(replay([msg(T0)]), policyConfig)).toBe(
        'Send policy: allow (rule 3 of 3: channel=telegram)',
      );
    });

    it('given a rule without a match, then it matches any session', () => {
      const config = configOf({ session: { sendPolicy: { rules: [{ action: 'deny' }] } } });
      expect(policyLine(replay([msg(T0)]), config)).toBe('Send policy: deny (rule 1 of 1: any session)');
    });

    it('given no rule matching, then the configured default decides', () => {
      const config = configOf({ session: { sendPolicy: { default: 'deny' } } });
      expect(policyLine(replay([msg(T0)]), config)).toBe('Send policy: deny (default)');
    });

    it('given no send policy at all, then everything is allowed', () => {
      expect(policyLine(replay([msg(T0)]), baseConfig)).toBe('Send policy: allow (no policy configured)');
    });
  });

  describe('privacy', () => {
    const from = (id: string, at: number) =>
      msg(at, 'hi', { sender: { id, authorized: true }, sharedDm: true });

    it('given one person in the shared DM session, then privacy is ok', () => {
      const snapshot = replay([from('alice', T0), from('alice', T0 + SEC)]);
      expect(lineOf(render({ kind: 'status' }, snapshot, T0 + MIN), 'Privacy:')).toBe('Privacy: ok');
    });

    it('given a second person, then the warning names both and the fix', () => {
      const snapshot = replay([from('alice', T0), from('bob', T0 + SEC)]);
      expect(
        render({ kind: 'status' }, snapshot, T0 + MIN)
          .split('\n')
          .at(-1),
      ).toBe('⚠ Privacy: 2 people share this session (alice, bob) — set session.dmScope to per-channel-peer');
    });

    it('given a third person, then the count grows and the others are summarised', () => {
      const snapshot = replay([from('alice', T0), from('bob', T0 + SEC), from('carol', T0 + 2 * SEC)]);
      expect(
        render({ kind: 'status' }, snapshot, T0 + MIN)
          .split('\n')
          .at(-1),
      ).toBe(
        '⚠ Privacy: 3 people share this session (alice, bob, +1 more) — set session.dmScope to per-channel-peer',
      );
    });

    it('given a sender id with a line break, then the warning stays on one line', () => {
      const snapshot = replay([from('alice', T0), from('bob\nState: hacked', T0 + SEC)]);
      const status = render({ kind: 'status' }, snapshot, T0 + MIN);
      expect(status.split('\n')).toHaveLength(13);
      expect(status).toContain('(alice, bob State: hacked)');
    });
  });

  describe('model', () => {
    it('given /new with an alias, then the override is shown as provider/model', () => {
      const snapshot = replay([msg(T0), cmd(T0 + SEC, '/new gpt hi')]);
      expect(lineOf(render({ kind: 'status' }, snapshot, T0 + MIN), 'Model:')).toBe('Model: openai/gpt-5');
    });

    it('given /new with a provider only, then the provider is shown', () => {
      const snapshot = replay([msg(T0), cmd(T0 + SEC, '/new anthropic')]);
      expect(lineOf(render({ kind: 'status' }, snapshot, T0 + MIN), 'Model:')).toBe('Model: anthropic');
    });

    it("given no override, then the agent's model is used: an alias resolved, an id as is, else default", () => {
      const snapshot = replay([msg(T0)]);
      const agentWith = (model?: string) =>
        parseConfig({ agents: { main: model === undefined ? {} : { model } }, models: MODELS }).config;
      const modelOf = (config: ThreadlineConfig) =>
        effectiveModel(snapshot, config, agentOfKey(MAIN, config));
      expect(modelOf(agentWith('OPUS'))).toBe('anthropic/claude-opus-4');
      expect(modelOf(agentWith('mistral/large'))).toBe('mistral/large');
      expect(modelOf(agentWith())).toBe('default');
    });
  });
});

describe('agentOfKey', () => {
  const config = configOf({ agents: { main: {}, ops: { contextWindow: 50_000, reserveTokens: 1000 } } });

  it("given a configured agent in the key, then it is that agent; otherwise main's", () => {
    expect(agentOfKey('agent:ops:telegram:direct:bob', config).id).toBe('ops');
    expect(agentOfKey('agent:nobody:main', config).id).toBe('main');
    expect(agentOfKey('not a key', config).id).toBe('main');
  });

  it('given an explicit key that spells the agent id unnormalized, then it finds the agent the lifecycle rules use', () => {
    expect(agentOfKey('agent:OPS:cron:nightly', config).id).toBe('ops');
    expect(resolveLifecycleRules(config, { sessionKey: 'agent:OPS:cron:nightly' }).compactAtTokens).toBe(
      49_000,
    );
  });

  it('given an agent id that names an Object.prototype member, then it is not looked up there', () => {
    const agent = agentOfKey('agent:constructor:main', config);
    expect(agent.id).toBe('main');
    expect(agent.contextWindow).toBe(200_000);
  });
});

describe('/context', () => {
  const report: WorkspaceReport = {
    agentId: 'main',
    dir: '/srv/agents/main',
    maxFileChars: 100,
    maxTotalChars: 250,
    totalInjectedChars: 250,
    totalInjectedTokens: 65,
    files: [
      { name: 'AGENTS.md', status: 'OK', rawChars: 80, injectedChars: 80, rawTokens: 20, injectedTokens: 20 },
      {
        name: 'SOUL.md',
        status: 'TRUNCATED',
        rawChars: 200, // more than the 170 the total budget has left, so the per-file limit is what cut it
        injectedChars: 100,
        rawTokens: 40,
        injectedTokens: 27,
      },
      {
        name: 'TOOLS.md',
        status: 'TRUNCATED',
        rawChars: 90,
        injectedChars: 70,
        rawTokens: 22,
        injectedTokens: 18,
      },
      {
        name: 'USER.md',
        status: 'TRUNCATED',
        rawChars: 10,
        injectedChars: 0,
        rawTokens: 3,
        injectedTokens: 0,
      },
      {
        name: 'HEARTBEAT.md',
        status: 'MISSING',
        rawChars: 0,
        injectedChars: 0,
        rawTokens: 0,
        injectedTokens: 0,
      },
      {
        name: '../secret',
        status: 'MISSING',
        rawChars: 0,
        injectedChars: 0,
        rawTokens: 0,
        injectedTokens: 0,
        note: 'outside the workspace',
      },
    ],
  };
  const tokenLines = ['Tokens: 1,200 in / 300 out / 1,500 total', 'Context: 12,345/200,000 (6.2%)'];

  it('given a workspace report, when listed, then one line per file, the total and the token use', () => {
    expect(
      render({ kind: 'context', mode: 'list' }, conversation(), T0 + 2 * MIN, { workspace: report }),
    ).toBe(
      [
        'Context of agent main — workspace /srv/agents/main',
        'AGENTS.md  OK  raw 80 chars / 20 tok → injected 80 chars / 20 tok',
        'SOUL.md  TRUNCATED  raw 200 chars / 40 tok → injected 100 chars / 27 tok',
        'TOOLS.md  TRUNCATED  raw 90 chars / 22 tok → injected 70 chars / 18 tok',
        'USER.md  TRUNCATED  raw 10 chars / 3 tok → injected 0 chars / 0 tok',
        'HEARTBEAT.md  MISSING  raw 0 chars / 0 tok → injected 0 chars / 0 tok',
        '../secret  MISSING  raw 0 chars / 0 tok → injected 0 chars / 0 tok',
        'Injected in total: 250 chars / 65 tok',
        ...tokenLines,
      ].join('\n'),
    );
  });

  it('given a workspace report, when detailed, then the budgets and why each file was cut', () => {
    expect(
      render({ kind: 'context', mode: 'detail' }, conversation(), T0 + 2 * MIN, { workspace: report }),
    ).toBe(
      [
        'Context of agent main — workspace /srv/agents/main',
        'Budgets: 100 chars per file, 250 chars in total',
        'AGENTS.md  OK  raw 80 chars / 20 tok → injected 80 chars / 20 tok',
        'SOUL.md  TRUNCATED  raw 200 chars / 40 tok → injected 100 chars / 27 tok',
        '  note: cut to the per-file limit of 100 chars',
        'TOOLS.md  TRUNCATED  raw 90 chars / 22 tok → injected 70 chars / 18 tok',
        '  note: cut by the total budget (70 chars were left)',
        'USER.md  TRUNCATED  raw 10 chars / 3 tok → injected 0 chars / 0 tok',
        '  note: not injected — the total budget was spent',
        'HEARTBEAT.md  MISSING  raw 0 chars / 0 tok → injected 0 chars / 0 tok',
        '  note: not found',
        '../secret  MISSING  raw 0 chars / 0 tok → injected 0 chars / 0 tok',
        '  note: outside the workspace',
        'Injected in total: 250 chars / 65 tok',
        ...tokenLines,
      ].join('\n'),
    );
  });

  it('given a workspace report, when asked for json, then the documented object, 2-space indented', () => {
    const text = render({ kind: 'context', mode: 'json' }, conversation(), T0 + 2 * MIN, {
      workspace: report,
    });
    const expected = {
      sessionKey: MAIN,
      agentId: 'main',
      workspace: {
        dir: '/srv/agents/main',
        maxFileChars: 100,
        maxTotalChars: 250,
        totalInjectedChars: 250,
        totalInjectedTokens: 65,
        files: report.files,
      },
      tokens: { context: 12_345, window: 200_000, input: 1200, output: 300, total: 1500 },
    };
    expect(JSON.parse(text)).toEqual(expected);
    expect(text).toBe(JSON.stringify(expected, null, 2));
  });

  it('given an agent without a workspace, then it says so and still shows the token use', () => {
    const none: WorkspaceReport = {
      agentId: 'main',
      dir: null,
      files: [],
      maxFileChars: 20_000,
      maxTotalChars: 100_000,
      totalInjectedChars: 0,
      totalInjectedTokens: 0,
    };
    for (const mode of ['list', 'detail'] as const) {
      expect(render({ kind: 'context', mode }, conversation(), T0 + 2 * MIN, { workspace: none })).toBe(
        ['No workspace configured for agent main', ...tokenLines].join('\n'),
      );
    }
    expect(render({ kind: 'context', mode: 'list' }, conversation(), T0 + 2 * MIN)).toBe(
      ['No workspace configured for agent main', ...tokenLines].join('\n'),
    );
    const json = JSON.parse(
      render({ kind: 'context', mode: 'json' }, conversation(), T0, { workspace: none }),
    );
    expect(json.workspace).toEqual({
      dir: null,
      maxFileChars: 20_000,
      maxTotalChars: 100_000,
      totalInjectedChars: 0,
      totalInjectedTokens: 0,
      files: [],
    });
  });

  it('given an agent with a workspace but no report from the host, then it does not claim there is none', () => {
    const config = configOf({ agents: { main: { workspace: { dir: '/srv/agents/main' } } } });
    expect(render({ kind: 'context', mode: 'list' }, conversation(), T0 + 2 * MIN, { config })).toBe(
      ['Workspace files of agent main were not read', ...tokenLines].join('\n'),
    );
    const json = JSON.parse(render({ kind: 'context', mode: 'json' }, conversation(), T0, { config }));
    expect(json.workspace).toBeNull();
  });

  it('given /context list decided by the machine, then the answer it produced renders as a list', () => {
    const d = decide(conversation(), cmd(T0 + 2 * MIN, '/context list'));
    const answer = answerOf(d);
    expect(answer).toEqual({ kind: 'context', mode: 'list' });
    expect(renderAnswer(answer, view(d.snapshot, T0 + 2 * MIN, { workspace: report })).split('\n')[0]).toBe(
      'Context of agent main — workspace /srv/agents/main',
    );
  });
});

describe('/send', () => {
  const policyConfig = configOf({
    session: { sendPolicy: { rules: [{ action: 'deny', match: { channel: 'telegram' } }] } },
  });
  const sendAnswer = (text: string, config = baseConfig): string => {
    const d = decide(replay([msg(T0)]), cmd(T0 + SEC, text));
    return renderAnswer(answerOf(d), view(d.snapshot, T0 + SEC, { config }));
  };

  it('given /send on or off, then the override is named', () => {
    expect(sendAnswer('/send on')).toBe('Send policy for this session: on');
    expect(sendAnswer('/send off')).toBe('Send policy for this session: off');
  });

  it('given /send inherit, then it says what the config decides now, and why', () => {
    expect(sendAnswer('/send inherit')).toBe(
      'Send policy for this session: inherit (now allow by default: no send policy configured)',
    );
    expect(sendAnswer('/send inherit', policyConfig)).toBe(
      'Send policy for this session: inherit (now deny by rule 1 of 1: channel=telegram)',
    );
    expect(sendAnswer('/send default', configOf({ session: { sendPolicy: { default: 'deny' } } }))).toBe(
      'Send policy for this session: inherit (now deny by the policy default)',
    );
  });

  it('given /send without a valid mode, then the usage', () => {
    expect(sendAnswer('/send maybe')).toBe(SEND_USAGE);
    expect(SEND_USAGE).toBe('Usage: /send on|off|inherit');
  });
});

describe('/context usage', () => {
  it('given /context with an unknown mode, then the usage', () => {
    const d = decide(replay([msg(T0)]), cmd(T0 + SEC, '/context everything'));
    expect(renderAnswer(answerOf(d), view(d.snapshot, T0 + SEC))).toBe(CONTEXT_USAGE);
    expect(CONTEXT_USAGE).toBe('Usage: /context [list|detail|json]');
  });
});

function compactionStarted(): Decision {
  const d = decide(conversation(), cmd(T0 + 2 * MIN, '/compact'));
  expect(d.snapshot.state).toBe('compacting');
  return d;
}
function completed(d: Decision, before: number, after: number, at: number): SessionInput {
  const request = d.compactions[0];
  if (!request) throw new Error('no compaction requested');
  return {
    type: 'compaction.completed',
    compactionId: request.compactionId,
    at,
    tokensBefore: before,
    tokensAfter: after,
    summary: 'they said hello',
    keptIds: [],
  };
}

describe('/compact', () => {
  it('given too little history, then compaction is skipped with the reason', () => {
    const d = decide(undefined, cmd(T0, '/compact'));
    expect(renderAnswer(answerOf(d), view(d.snapshot, T0))).toBe(
      'Compaction skipped: nothing to compact yet',
    );
  });

  it('given a finished compaction, then before → after and the new context usage', () => {
    const started = compactionStarted();
    const done = decide(started.snapshot, completed(started, 12_345, 3_000, T0 + 3 * MIN));
    expect(renderAnswer(answerOf(done), view(done.snapshot, T0 + 3 * MIN))).toBe(
      ['Compacted (12,345 → 3,000 tokens)', 'Context: 3,000/200,000 (1.5%)'].join('\n'),
    );
  });

  it('given a failed compaction, then the reason, on one line', () => {
    const started = compactionStarted();
    const request = started.compactions[0];
    if (!request) throw new Error('no compaction requested');
    const failed = decide(started.snapshot, {
      type: 'compaction.failed',
      compactionId: request.compactionId,
      at: T0 + 3 * MIN,
      reason: 'model overloaded\nretry later',
    });
    expect(renderAnswer(answerOf(failed), view(failed.snapshot, T0 + 3 * MIN))).toBe(
      'Compaction failed: model overloaded retry later',
    );
  });
});

describe('/new and /reset', () => {
  const resetAnswer = (text: string): string => {
    const d = decide(replay([msg(T0)]), cmd(T0 + MIN, text));
    return renderAnswer(answerOf(d), view(d.snapshot, T0 + MIN));
  };

  it('given a plain reset, then the new session id', () => {
    expect(resetAnswer('/reset')).toMatch(/^New session started \(s\d+\)$/);
  });

  it('given /new with a model, then the model it will use', () => {
    expect(resetAnswer('/new opus hello')).toMatch(
      /^New session started \(s\d+\) · model anthropic\/claude-opus-4$/,
    );
  });

  it('given /new with a provider only, then the provider', () => {
    expect(resetAnswer('/new openai')).toMatch(/^New session started \(s\d+\) · model openai$/);
  });

  it('given the answer itself, then the id is the one the machine started', () => {
    const d = decide(replay([msg(T0)]), cmd(T0 + MIN, '/new'));
    const answer = answerOf(d);
    expect(answer.kind).toBe('reset');
    expect(renderAnswer(answer, view(d.snapshot, T0 + MIN))).toBe(
      `New session started (${d.snapshot.context.sessionId})`,
    );
  });
});
