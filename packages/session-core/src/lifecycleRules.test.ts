import { describe, expect, it } from 'vitest';
import { parseConfig } from './config.js';
import { dailyResetSchedule, resolveLifecycleRules } from './lifecycleRules.js';

describe('resolveLifecycleRules', () => {
  const { config } = parseConfig({
    session: {
      reset: { mode: 'daily', atHour: 4, timeZone: 'Europe/Berlin' },
      resetByType: { thread: { mode: 'idle', idleMinutes: 60 } },
      resetByChannel: { discord: { mode: 'idle', idleMinutes: 10080 } },
    },
    agents: {
      ops: { contextWindow: 100_000, reserveTokens: 10_000 },
      tiny: { contextWindow: 8000, reserveTokens: 1000, compactThresholdTokens: 5000 },
    },
    lifecycle: { quietMinutes: 2, compactionTimeoutMs: 30_000 },
  });

  it('applies the reset precedence for the key, channel and thread, and the gateway time zone', () => {
    expect(
      resolveLifecycleRules(config, { sessionKey: 'agent:main:telegram:direct:42', channel: 'telegram' }),
    ).toEqual({
      policy: { mode: 'daily', atHour: 4 },
      timeZone: 'Europe/Berlin',
      quietMs: 120_000,
      compactAtTokens: 200_000 - 16_384,
      compactionTimeoutMs: 30_000,
    });
    expect(
      resolveLifecycleRules(config, { sessionKey: 'agent:main:discord:channel:9', channel: 'discord' })
        .policy,
    ).toEqual({
      mode: 'idle',
      atHour: 4,
      idleMinutes: 10080,
    });
    expect(
      resolveLifecycleRules(config, {
        sessionKey: 'agent:main:slack:channel:c1',
        channel: 'slack',
        threadId: '17',
      }).policy,
    ).toEqual({ mode: 'idle', atHour: 4, idleMinutes: 60 });
  });

  it("uses the key's agent for the compaction threshold, falling back to main", () => {
    expect(resolveLifecycleRules(config, { sessionKey: 'agent:ops:main' }).compactAtTokens).toBe(90_000);
    expect(resolveLifecycleRules(config, { sessionKey: 'agent:tiny:main' }).compactAtTokens).toBe(5000);
    expect(resolveLifecycleRules(config, { sessionKey: 'agent:unknown-agent:main' }).compactAtTokens).toBe(
      200_000 - 16_384,
    );
  });

  it('falls back to gateway.timeZone, then the host zone, when session.reset.timeZone is absent', () => {
    const bare = parseConfig({ gateway: { timeZone: 'Asia/Kolkata' } }).config;
    expect(resolveLifecycleRules(bare, { sessionKey: 'agent:main:main', hostTimeZone: 'UTC' }).timeZone).toBe(
      'Asia/Kolkata',
    );
    const none = parseConfig({}).config;
    expect(
      resolveLifecycleRules(none, { sessionKey: 'agent:main:main', hostTimeZone: 'America/New_York' })
        .timeZone,
    ).toBe('America/New_York');
    expect(resolveLifecycleRules(none, { sessionKey: 'agent:main:main' })).not.toHaveProperty('timeZone');
  });
});

describe('dailyResetSchedule', () => {
  it('names the zone the rules record and the daily hours', () => {
    const { config } = parseConfig({
      session: { reset: { atHour: 4 }, resetByChannel: { slack: { atHour: 7 } } },
      gateway: { timeZone: 'America/New_York' },
    });
    expect(dailyResetSchedule(config, 'Asia/Tokyo')).toEqual({
      timeZone: 'America/New_York',
      atHours: [4, 7],
    });
    const rules = resolveLifecycleRules(config, {
      sessionKey: 'agent:main:main',
      hostTimeZone: 'Asia/Tokyo',
    });
    expect(rules.timeZone).toBe('America/New_York');
    const { config: bare } = parseConfig({});
    expect(dailyResetSchedule(bare, 'Asia/Tokyo')).toEqual({ timeZone: 'Asia/Tokyo', atHours: [4] });
  });
});
