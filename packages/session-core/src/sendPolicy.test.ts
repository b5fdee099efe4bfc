import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  explainSendPolicy,
  normalizeSendOverride,
  resolveSendPolicy,
  type SendPolicyInput,
} from './sendPolicy.js';
import type { SendPolicyConfig, SendPolicyRule, SessionConfig } from './types.js';

/** The example configuration of spec §3. */
const SPEC_POLICY: SendPolicyConfig = {
  default: 'allow',
  rules: [
    { action: 'deny', match: { channel: 'discord', chatType: 'group' } },
    { action: 'deny', match: { keyPrefix: 'cron:' } },
    { action: 'deny', match: { rawKeyPrefix: 'agent:main:discord:' } },
  ],
};

function explain(
  sendPolicy: SendPolicyConfig | undefined,
  sessionKey: string,
  extra: Partial<SendPolicyInput> = {},
) {
  const session: SessionConfig = sendPolicy ? { sendPolicy } : {};
  return explainSendPolicy({ session, sessionKey, ...extra });
}

describe('normalizeSendOverride', () => {
  it.each([
    ['allow', 'allow'],
    ['on', 'allow'],
    [' ON ', 'allow'],
    ['Allow', 'allow'],
    ['deny', 'deny'],
    ['off', 'deny'],
    ['DENY', 'deny'],
    ['inherit', undefined],
    ['default', undefined],
    ['yes', undefined],
    ['', undefined],
    [null, undefined],
    [undefined, undefined],
  ])('given %j, when normalised, then it is %j', (raw, expected) => {
    expect(normalizeSendOverride(raw)).toBe(expected);
  });
});

describe('the per-session override (spec §3.1)', () => {
  it.each([
    ['deny', 'deny'],
    ['off', 'deny'],
    ['on', 'allow'],
    ['allow', 'allow'],
  ])(
    'given override %j and rules that say otherwise, when deciding, then the override decides %j',
    (override, decision) => {
      const policy: SendPolicyConfig = {
        default: decision === 'allow' ? 'deny' : 'allow',
        rules: [{ action: decision === 'allow' ? 'deny' : 'allow' }],
      };
      expect(explain(policy, 'agent:main:main', { override })).toEqual({ decision, source: 'override' });
    },
  );

  it('given an override and no policy configured, when deciding, then the override still decides', () => {
    expect(explain(undefined, 'agent:main:main', { override: 'off' })).toEqual({
      decision: 'deny',
      source: 'override',
    });
  });

  it.each(['inherit', 'default', '', null])(
    'given override %j, when deciding, then the rules decide',
    (override) => {
      expect(explain({ rules: [{ action: 'deny' }] }, 'agent:main:main', { override })).toEqual({
        decision: 'deny',
        source: 'rule',
        rule: 0,
      });
    },
  );
});

describe('no send policy configured (spec §3.2)', () => {
  it('given no sendPolicy, when deciding for any key, then it allows as unconfigured', () => {
    expect(explain(undefined, 'agent:main:discord:group:1', { channel: 'discord' })).toEqual({
      decision: 'allow',
      source: 'unconfigured',
    });
    expect(resolveSendPolicy({ session: {}, sessionKey: 'agent:main:cron:x' })).toBe('allow');
  });

  it('given an empty sendPolicy, when deciding, then it allows by default', () => {
    expect(explain({}, 'agent:main:main')).toEqual({ decision: 'allow', source: 'default' });
  });
});

describe('the example policy of the spec', () => {
  it.each([
    ['agent:main:discord:group:123', {}, 'deny', 0],
    ['agent:main:cron:nightly', {}, 'deny', 1],
    ['agent:ops:cron:nightly', {}, 'deny', 1],
    ['agent:main:discord:direct:42', {}, 'deny', 2],
    ['agent:main:discord:channel:c1', {}, 'deny', 2],
    ['agent:ops:discord:channel:c1', {}, 'allow', undefined],
    ['agent:ops:discord:group:123', {}, 'deny', 0],
    ['agent:main:telegram:group:-100', {}, 'allow', undefined],
    ['agent:main:main', { channel: 'discord' }, 'allow', undefined],
  ] as [string, Partial<SendPolicyInput>, string, number | undefined][])(
    'given key %j and %j, when deciding, then it is %j by rule %j',
    (key, extra, decision, rule) => {
      const result = explain(SPEC_POLICY, key, extra);
      expect(result.decision).toBe(decision);
      expect(result.rule).toBe(rule);
      expect(result.source).toBe(rule === undefined ? 'default' : 'rule');
    },
  );
});

describe('walking the rules (spec §3.4–3.6)', () => {
  const discordGroup = 'agent:main:discord:group:1';

  it('given an allow then a deny that both match, when deciding, then the later deny wins', () => {
    const rules: SendPolicyRule[] = [
      { action: 'allow', match: { channel: 'discord' } },
      { action: 'deny', match: { chatType: 'group' } },
    ];
    expect(explain({ rules }, discordGroup)).toEqual({ decision: 'deny', source: 'rule', rule: 1 });
  });

  it('given a deny then an allow that both match, when deciding, then the first deny decides', () => {
    const rules: SendPolicyRule[] = [
      { action: 'deny', match: { chatType: 'group' } },
      { action: 'allow', match: { channel: 'discord' } },
    ];
    expect(explain({ rules }, discordGroup)).toEqual({ decision: 'deny', source: 'rule', rule: 0 });
  });

  it('given two matching denies, when deciding, then the first one is reported', () => {
    const rules: SendPolicyRule[] = [
      { action: 'allow' },
      { action: 'deny', match: { channel: 'discord' } },
      { action: 'deny' },
    ];
    expect(explain({ rules }, discordGroup)).toEqual({ decision: 'deny', source: 'rule', rule: 1 });
  });

  it('given several matching allows and default deny, when deciding, then it allows by the first matching allow', () => {
    const rules: SendPolicyRule[] = [
      { action: 'allow', match: { channel: 'telegram' } },
      { action: 'allow', match: { chatType: 'group' } },
      { action: 'allow', match: { channel: 'discord' } },
    ];
    expect(explain({ default: 'deny', rules }, discordGroup)).toEqual({
      decision: 'allow',
      source: 'rule',
      rule: 1,
    });
  });

  it('given default deny and no matching rule, when deciding, then it denies by default', () => {
    expect(
      explain(
        { default: 'deny', rules: [{ action: 'allow', match: { channel: 'telegram' } }] },
        discordGroup,
      ),
    ).toEqual({
      decision: 'deny',
      source: 'default',
    });
  });

  it('given default allow and no matching rule, when deciding, then it allows by default', () => {
    expect(
      explain(
        { default: 'allow', rules: [{ action: 'deny', match: { channel: 'telegram' } }] },
        discordGroup,
      ),
    ).toEqual({
      decision: 'allow',
      source: 'default',
    });
  });

  it('given a rule without action, when it matches under default deny, then it allows', () => {
    expect(explain({ default: 'deny', rules: [{ match: { channel: 'discord' } }] }, discordGroup)).toEqual({
      decision: 'allow',
      source: 'rule',
      rule: 0,
    });
  });

  it('given a rule without match, when deciding, then it matches every key', () => {
    for (const key of ['agent:main:main', discordGroup, 'agent:x:cron:y', 'not-a-key']) {
      expect(explain({ rules: [{ action: 'deny' }] }, key)).toEqual({
        decision: 'deny',
        source: 'rule',
        rule: 0,
      });
      expect(explain({ default: 'deny', rules: [{}] }, key)).toEqual({
        decision: 'allow',
        source: 'rule',
        rule: 0,
      });
    }
  });

  it('given a rule naming two fields, when only one matches, then the rule does not match', () => {
    const policy: SendPolicyConfig = {
      rules: [{ action: 'deny', match: { channel: 'discord', chatType: 'group' } }],
    };
    expect(explain(policy, 'agent:main:discord:channel:c1').decision).toBe('allow');
    expect(explain(policy, 'agent:main:telegram:group:1').decision).toBe('allow');
    expect(explain(policy, 'agent:main:discord:group:1').decision).toBe('deny');
  });

  it('given a rule field set to an empty string, when deciding, then that field names nothing', () => {
    expect(
      explain({ rules: [{ action: 'deny', match: { channel: '  ', keyPrefix: '' } }] }, 'agent:main:main'),
    ).toEqual({
      decision: 'deny',
      source: 'rule',
      rule: 0,
    });
  });
});

describe('matching fields (spec §3.4)', () => {
  it.each([
    ['agent:main:cron:x', { keyPrefix: 'cron:' }, true],
    ['agent:main:cron:x', { keyPrefix: 'agent:main:cron:' }, true],
    ['agent:ops:direct:1', { keyPrefix: 'agent:ops:' }, true],
    ['agent:main:hook:x', { keyPrefix: 'cron:' }, false],
    ['Agent:Main:CRON:X', { keyPrefix: 'Cron:' }, true],
    ['agent::main::cron:x', { keyPrefix: 'cron:x' }, true],
    ['cron:legacy', { keyPrefix: 'cron:' }, true],
    ['agent:main:cron:x', { rawKeyPrefix: 'cron:' }, false],
    ['agent:main:cron:x', { rawKeyPrefix: 'AGENT:MAIN:' }, true],
    ['agent:ops:cron:x', { rawKeyPrefix: 'agent:main:' }, false],
    ['agent:main:discord:group:1', { channel: 'Discord' }, true],
    ['agent:main:discord:group:1', { channel: 'disc' }, false],
    ['agent:main:telegram:direct:1', { chatType: 'dm' }, true],
    ['agent:main:telegram:dm:1', { chatType: 'direct' }, true],
    ['agent:main:telegram:dm:1', { chatType: 'dm' }, true],
    ['agent:main:telegram:group:1', { chatType: 'direct' }, false],
    ['agent:main:slack:channel:c1', { chatType: 'channel' }, true],
    ['agent:main:slack:channel:c1', { chatType: 'group' }, false],
  ] as [string, SendPolicyRule['match'], boolean][])(
    'given key %j and match %j, when deciding, then it matches: %j',
    (key, match, matches) => {
      expect(explain({ rules: [{ action: 'deny', match }] }, key).decision).toBe(matches ? 'deny' : 'allow');
    },
  );

  it('given an explicit chat type dm, when a rule says direct, then it matches', () => {
    expect(
      explain({ rules: [{ action: 'deny', match: { chatType: 'direct' } }] }, 'agent:main:main', {
        chatType: 'DM',
      }).decision,
    ).toBe('deny');
  });
});

describe('deciding the channel and chat type (spec §3.3)', () => {
  const denyDiscord: SendPolicyConfig = { rules: [{ action: 'deny', match: { channel: 'discord' } }] };

  it('given an explicit channel, when the entry names another, then the explicit one is used', () => {
    expect(
      explain(denyDiscord, 'agent:main:main', { channel: 'telegram', entry: { channel: 'discord' } })
        .decision,
    ).toBe('allow');
    expect(
      explain(denyDiscord, 'agent:main:main', { channel: ' Discord ', entry: { channel: 'telegram' } })
        .decision,
    ).toBe('deny');
  });

  it("given no explicit channel, when the entry has a channel, then the entry's channel is used before its last channel", () => {
    expect(
      explain(denyDiscord, 'agent:main:main', { entry: { channel: 'discord', lastChannel: 'telegram' } })
        .decision,
    ).toBe('deny');
    expect(
      explain(denyDiscord, 'agent:main:main', { entry: { channel: 'telegram', lastChannel: 'discord' } })
        .decision,
    ).toBe('allow');
  });

  it("given neither explicit nor entry channel, when the entry has a last channel, then it is used before the key's", () => {
    expect(
      explain(denyDiscord, 'agent:main:telegram:group:1', { entry: { channel: '', lastChannel: 'discord' } })
        .decision,
    ).toBe('deny');
  });

  it.each([
    ['agent:main:discord:group:1', 'deny'],
    ['agent:main:discord:channel:c1:thread:t1', 'deny'],
    ['agent:main:discord:channel:t9', 'deny'],
    ['discord:group:legacy', 'deny'],
    ['agent:main:telegram:group:discord', 'allow'],
    ['agent:main:discord:direct:1', 'allow'],
    ['agent:main:discord:biz:direct:1', 'allow'],
    ['agent:main:discord:dm:1', 'allow'],
    ['agent:main:main', 'allow'],
    ['agent:discord:group:x', 'allow'],
  ])('given only key %j, when the channel is derived, then a discord deny gives %j', (key, decision) => {
    expect(explain(denyDiscord, key).decision).toBe(decision);
  });

  it('given a Telegram topic key, when the channel is derived, then it is telegram', () => {
    const policy: SendPolicyConfig = {
      default: 'deny',
      rules: [{ action: 'allow', match: { channel: 'telegram' } }],
    };
    expect(explain(policy, 'agent:main:telegram:group:-100:topic:5')).toEqual({
      decision: 'allow',
      source: 'rule',
      rule: 0,
    });
  });

  it('given a channel that cannot be determined, when an allow rule names a channel, then it does not match', () => {
    const policy: SendPolicyConfig = {
      default: 'deny',
      rules: [{ action: 'allow', match: { channel: 'telegram' } }],
    };
    expect(explain(policy, 'agent:main:telegram:direct:1')).toEqual({ decision: 'deny', source: 'default' });
  });

  it('given the main key with no chat type known, when a rule names a chat type, then it does not match', () => {
    expect(
      explain({ rules: [{ action: 'deny', match: { chatType: 'direct' } }] }, 'agent:main:main').decision,
    ).toBe('allow');
  });

  it("given an entry chat type, when the key has none, then the entry's is used", () => {
    const policy: SendPolicyConfig = { rules: [{ action: 'deny', match: { chatType: 'direct' } }] };
    expect(explain(policy, 'agent:main:main', { entry: { chatType: 'dm' } }).decision).toBe('deny');
  });

  it('given an explicit chat type, when the entry and key disagree, then the explicit one is used', () => {
    const policy: SendPolicyConfig = { rules: [{ action: 'deny', match: { chatType: 'group' } }] };
    expect(
      explain(policy, 'agent:main:telegram:group:1', { chatType: 'direct', entry: { chatType: 'group' } })
        .decision,
    ).toBe('allow');
    expect(
      explain(policy, 'agent:main:main', { chatType: 'group', entry: { chatType: 'direct' } }).decision,
    ).toBe('deny');
  });

  it("given an entry chat type, when the key says otherwise, then the entry's is used", () => {
    const policy: SendPolicyConfig = { rules: [{ action: 'deny', match: { chatType: 'group' } }] };
    expect(explain(policy, 'agent:main:telegram:group:1', { entry: { chatType: 'channel' } }).decision).toBe(
      'allow',
    );
  });
});

describe('send policy properties', () => {
  const keyArb = fc.constantFrom(
    'agent:main:main',
    'agent:main:discord:group:1',
    'agent:main:telegram:direct:2',
    'agent:ops:cron:nightly',
    'agent:main:slack:channel:c1:thread:t',
    'agent:main:telegram:dm:3',
  );
  const matchArb = fc.record(
    {
      channel: fc.constantFrom('discord', 'telegram', 'slack'),
      chatType: fc.constantFrom('direct', 'dm', 'group', 'channel'),
      keyPrefix: fc.constantFrom('cron:', 'agent:main:', 'discord:'),
      rawKeyPrefix: fc.constantFrom('agent:main:', 'agent:ops:', 'agent:main:discord:'),
    },
    { requiredKeys: [] },
  );
  const ruleArb: fc.Arbitrary<SendPolicyRule> = fc.record(
    { action: fc.constantFrom<'allow' | 'deny'>('allow', 'deny'), match: matchArb },
    { requiredKeys: [] },
  );
  const policyArb: fc.Arbitrary<SendPolicyConfig> = fc.record(
    {
      default: fc.constantFrom<'allow' | 'deny'>('allow', 'deny'),
      rules: fc.array(ruleArb, { maxLength: 6 }),
    },
    { requiredKeys: [] },
  );
  const inputArb = fc.record({
    key: keyArb,
    channel: fc.option(fc.constantFrom('discord', 'telegram'), { nil: undefined }),
    chatType: fc.option(fc.constantFrom('direct', 'group'), { nil: undefined }),
  });

  it('given any policy, when a rule decides, then its index names a rule with that action', () => {
    fc.assert(
      fc.property(policyArb, inputArb, (sendPolicy, { key, channel, chatType }) => {
        const result = explain(sendPolicy, key, { channel, chatType });
        expect(resolveSendPolicy({ session: { sendPolicy }, sessionKey: key, channel, chatType })).toBe(
          result.decision,
        );
        if (result.source === 'rule') {
          const rule = sendPolicy.rules?.[result.rule ?? -1];
          expect(rule).toBeDefined();
          expect(rule?.action ?? 'allow').toBe(result.decision);
        } else {
          expect(result.rule).toBeUndefined();
          expect(result.decision).toBe(sendPolicy.default ?? 'allow');
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('given any policy, when a catch-all deny is appended, then nothing that was not allowed by a rule is delivered', () => {
    fc.assert(
      fc.property(policyArb, inputArb, (sendPolicy, { key, channel, chatType }) => {
        const before = explain(sendPolicy, key, { channel, chatType });
        const after = explain(
          { ...sendPolicy, rules: [...(sendPolicy.rules ?? []), { action: 'deny' }] },
          key,
          { channel, chatType },
        );
        // A deny after the walk still beats every earlier allow.
        expect(after.decision).toBe('deny');
        expect(after.rule).toBe(
          before.decision === 'deny' && before.source === 'rule'
            ? before.rule
            : (sendPolicy.rules ?? []).length,
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('given any policy, when the allow rules are reordered, then the decision does not change', () => {
    fc.assert(
      fc.property(policyArb, inputArb, (sendPolicy, { key, channel, chatType }) => {
        const rules = sendPolicy.rules ?? [];
        const reordered = [
          ...rules.filter((r) => r.action === 'deny'),
          ...rules.filter((r) => r.action !== 'deny').reverse(),
        ];
        expect(explain({ ...sendPolicy, rules: reordered }, key, { channel, chatType }).decision).toBe(
          explain(sendPolicy, key, { channel, chatType }).decision,
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('given any policy, when an override is set, then the override decides', () => {
    fc.assert(
      fc.property(
        policyArb,
        inputArb,
        fc.constantFrom('on', 'off', 'allow', 'deny'),
        (sendPolicy, { key }, override) => {
          expect(explain(sendPolicy, key, { override })).toEqual({
            decision: normalizeSendOverride(override),
            source: 'override',
          });
        },
      ),
    );
  });
});
