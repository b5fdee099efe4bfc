import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RESET_POLICY,
  dailyResetHours,
  normalizeIdleMinutes,
  normalizeResetAtHour,
  normalizeResetChannel,
  resolveResetPolicy,
  resolveResetTimeZone,
} from './resetPolicy.js';
import type { ResetType, SessionConfig } from './types.js';

const direct = { resetType: 'direct' } as const;
const group = { resetType: 'group' } as const;

describe('normalizeResetChannel', () => {
  it.each([
    ['Discord', 'discord'],
    ['  Telegram  ', 'telegram'],
    ['imsg', 'imessage'],
    [' IMSG ', 'imessage'],
    ['teams', 'msteams'],
    ['gchat', 'googlechat'],
    ['google-chat', 'googlechat'],
    ['internet-relay-chat', 'irc'],
    ['msteams', 'msteams'],
    ['', ''],
    ['   ', ''],
    [null, ''],
    [undefined, ''],
    ['__proto__', '__proto__'],
    ['constructor', 'constructor'],
  ])('normalizes %j to %j', (raw, expected) => {
    expect(normalizeResetChannel(raw)).toBe(expected);
  });
});

describe('resolveResetPolicy: defaults', () => {
  it('given an empty session block, when resolving, then it is daily at 04:00 with no idle limit', () => {
    const policy = resolveResetPolicy({}, direct);
    expect(policy).toStrictEqual({ mode: 'daily', atHour: 4 });
    expect(policy).toStrictEqual({ ...DEFAULT_RESET_POLICY });
  });

  it('given the default policy, when a caller mutates a resolved policy, then the default is unchanged', () => {
    const policy = resolveResetPolicy({}, direct);
    policy.atHour = 9;
    expect(DEFAULT_RESET_POLICY).toStrictEqual({ mode: 'daily', atHour: 4 });
    expect(Object.isFrozen(DEFAULT_RESET_POLICY)).toBe(true);
  });
});

describe('resolveResetPolicy: channel override (§2.2.1)', () => {
  const session: SessionConfig = {
    reset: { mode: 'daily', atHour: 7, idleMinutes: 30 },
    resetByType: { direct: { mode: 'daily', atHour: 9, idleMinutes: 45 }, group: { mode: 'idle' } },
    resetByChannel: { discord: { mode: 'idle', idleMinutes: 10080 } },
    idleMinutes: 240,
  };

  it('given a matching channel entry, when resolving, then it replaces reset, resetByType and legacy idleMinutes', () => {
    expect(resolveResetPolicy(session, { ...direct, channel: 'discord' })).toStrictEqual({
      mode: 'idle',
      atHour: 4,
      idleMinutes: 10080,
    });
  });

  it('given a channel entry with only atHour, when resolving, then omitted fields are the built-in defaults, not reset or legacy values', () => {
    const cfg: SessionConfig = { ...session, resetByChannel: { slack: { atHour: 22 } } };
    expect(resolveResetPolicy(cfg, { ...group, channel: 'slack' })).toStrictEqual({
      mode: 'daily',
      atHour: 22,
    });
  });

  it('given an empty channel entry, when resolving, then the policy is exactly the default even though legacy idleMinutes is set', () => {
    const cfg: SessionConfig = { idleMinutes: 240, resetByChannel: { slack: {} } };
    expect(resolveResetPolicy(cfg, { ...direct, channel: 'slack' })).toStrictEqual({
      mode: 'daily',
      atHour: 4,
    });
    // Without the override the legacy value would have made it idle.
    expect(resolveResetPolicy(cfg, { ...direct, channel: 'telegram' })).toStrictEqual({
      mode: 'idle',
      atHour: 4,
      idleMinutes: 240,
    });
  });

  it('given a channel entry in idle mode without idleMinutes, when resolving, then the idle limit is 0 (none), not reset.idleMinutes', () => {
    const cfg: SessionConfig = { reset: { idleMinutes: 30 }, resetByChannel: { discord: { mode: 'idle' } } };
    expect(resolveResetPolicy(cfg, { ...direct, channel: 'discord' })).toStrictEqual({
      mode: 'idle',
      atHour: 4,
      idleMinutes: 0,
    });
  });

  it('given a message channel with different case and spaces, when resolving, then it still matches', () => {
    expect(resolveResetPolicy(session, { ...direct, channel: '  DISCORD ' }).mode).toBe('idle');
  });

  it('given a resetByChannel key with different case and spaces, when resolving, then it matches the channel', () => {
    const cfg: SessionConfig = { resetByChannel: { ' Discord ': { atHour: 11 } } };
    expect(resolveResetPolicy(cfg, { ...direct, channel: 'discord' }).atHour).toBe(11);
  });

  it('given both an exact and a case-variant key, when resolving, then the exact key wins', () => {
    const cfg: SessionConfig = { resetByChannel: { Discord: { atHour: 11 }, discord: { atHour: 12 } } };
    expect(resolveResetPolicy(cfg, { ...direct, channel: 'discord' }).atHour).toBe(12);
  });

  it.each([
    ['imsg', 'imessage'],
    ['teams', 'msteams'],
    ['gchat', 'googlechat'],
  ])(
    'given a message on alias %j, when the key is the canonical %j, then the override applies',
    (alias, canonical) => {
      const cfg: SessionConfig = { resetByChannel: { [canonical]: { mode: 'idle', idleMinutes: 15 } } };
      expect(resolveResetPolicy(cfg, { ...direct, channel: alias })).toStrictEqual({
        mode: 'idle',
        atHour: 4,
        idleMinutes: 15,
      });
    },
  );

  it.each([
    ['teams', 'teams'],
    ['teams', 'msteams'],
    ['imsg', 'imsg'],
    ['gchat', 'googlechat'],
  ])(
    'given a key %j that is itself an alias, when a message arrives on %j, then the key never matches',
    (key, channel) => {
      const cfg: SessionConfig = {
        reset: { atHour: 6 },
        resetByChannel: { [key]: { mode: 'idle', idleMinutes: 15 } },
      };
      expect(resolveResetPolicy(cfg, { ...direct, channel })).toStrictEqual({ mode: 'daily', atHour: 6 });
    },
  );

  it('given no channel or a blank one, when resolving, then no override applies', () => {
    const cfg: SessionConfig = { resetByChannel: { '': { atHour: 1 }, unknown: { atHour: 2 } } };
    expect(resolveResetPolicy(cfg, direct).atHour).toBe(4);
    expect(resolveResetPolicy(cfg, { ...direct, channel: null }).atHour).toBe(4);
    expect(resolveResetPolicy(cfg, { ...direct, channel: '  ' }).atHour).toBe(4);
  });

  it('given a channel named like an Object.prototype member, when resolving, then nothing inherited matches', () => {
    const cfg: SessionConfig = { resetByChannel: { discord: { atHour: 1 } } };
    for (const channel of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(resolveResetPolicy(cfg, { ...direct, channel })).toStrictEqual({ mode: 'daily', atHour: 4 });
    }
  });

  it('given a channel override, when resolving, then its own atHour is floored and clamped like any other', () => {
    const cfg: SessionConfig = { resetByChannel: { discord: { atHour: 30.5, idleMinutes: -3 } } };
    expect(resolveResetPolicy(cfg, { ...direct, channel: 'discord' })).toStrictEqual({
      mode: 'daily',
      atHour: 23,
      idleMinutes: 0,
    });
  });
});

describe('resolveResetPolicy: type entry merged over reset (§2.2.2)', () => {
  it('given resetByType.dm only, when resolving a direct session, then dm applies', () => {
    const cfg: SessionConfig = { resetByType: { dm: { mode: 'idle', idleMinutes: 60 } } };
    expect(resolveResetPolicy(cfg, direct)).toStrictEqual({ mode: 'idle', atHour: 4, idleMinutes: 60 });
  });

  it('given both direct and dm, when resolving a direct session, then direct wins entirely (no field merge between them)', () => {
    const cfg: SessionConfig = {
      resetByType: { direct: { atHour: 8 }, dm: { mode: 'idle', atHour: 2, idleMinutes: 60 } },
    };
    expect(resolveResetPolicy(cfg, direct)).toStrictEqual({ mode: 'daily', atHour: 8 });
  });

  it('given resetByType.dm, when resolving a group or thread session, then dm does not apply', () => {
    const cfg: SessionConfig = { resetByType: { dm: { atHour: 2 } } };
    expect(resolveResetPolicy(cfg, group).atHour).toBe(4);
    expect(resolveResetPolicy(cfg, { resetType: 'thread' }).atHour).toBe(4);
  });

  it('given a type entry with some fields, when resolving, then each missing field comes from reset', () => {
    const cfg: SessionConfig = {
      reset: { mode: 'daily', atHour: 5, idleMinutes: 90 },
      resetByType: { group: { atHour: 1 }, thread: { mode: 'idle' }, direct: { idleMinutes: 15 } },
    };
    expect(resolveResetPolicy(cfg, group)).toStrictEqual({ mode: 'daily', atHour: 1, idleMinutes: 90 });
    expect(resolveResetPolicy(cfg, { resetType: 'thread' })).toStrictEqual({
      mode: 'idle',
      atHour: 5,
      idleMinutes: 90,
    });
    expect(resolveResetPolicy(cfg, direct)).toStrictEqual({ mode: 'daily', atHour: 5, idleMinutes: 15 });
  });

  it('given a type entry for another type only, when resolving, then reset applies unchanged', () => {
    const cfg: SessionConfig = {
      reset: { mode: 'idle', idleMinutes: 30 },
      resetByType: { group: { atHour: 1 } },
    };
    expect(resolveResetPolicy(cfg, direct)).toStrictEqual({ mode: 'idle', atHour: 4, idleMinutes: 30 });
  });

  it('given resetByChannel with no entry for the channel, when resolving, then the type entry and reset apply', () => {
    const cfg: SessionConfig = {
      reset: { atHour: 5 },
      resetByType: { group: { idleMinutes: 10 } },
      resetByChannel: { discord: { mode: 'idle' } },
    };
    expect(resolveResetPolicy(cfg, { ...group, channel: 'telegram' })).toStrictEqual({
      mode: 'daily',
      atHour: 5,
      idleMinutes: 10,
    });
  });
});

describe('resolveResetPolicy: mode (§2.2.3) and legacy idleMinutes', () => {
  it('given only the legacy idleMinutes, when resolving, then the mode is idle with that limit', () => {
    expect(resolveResetPolicy({ idleMinutes: 240 }, direct)).toStrictEqual({
      mode: 'idle',
      atHour: 4,
      idleMinutes: 240,
    });
  });

  it('given legacy idleMinutes and a reset block without mode, when resolving, then the mode stays daily and legacy is the idle fallback', () => {
    expect(resolveResetPolicy({ reset: { atHour: 3 }, idleMinutes: 240 }, direct)).toStrictEqual({
      mode: 'daily',
      atHour: 3,
      idleMinutes: 240,
    });
  });

  it('given legacy idleMinutes and an empty reset block, when resolving, then the block counts as configured (daily)', () => {
    expect(resolveResetPolicy({ reset: {}, idleMinutes: 240 }, direct)).toStrictEqual({
      mode: 'daily',
      atHour: 4,
      idleMinutes: 240,
    });
  });

  it('given legacy idleMinutes and a resetByType for another type, when resolving, then the mode stays daily', () => {
    expect(
      resolveResetPolicy({ resetByType: { group: { atHour: 1 } }, idleMinutes: 240 }, direct),
    ).toStrictEqual({
      mode: 'daily',
      atHour: 4,
      idleMinutes: 240,
    });
  });

  it('given legacy idleMinutes and reset.idleMinutes, when resolving, then reset wins over legacy', () => {
    expect(resolveResetPolicy({ reset: { idleMinutes: 30 }, idleMinutes: 240 }, direct).idleMinutes).toBe(30);
  });

  it('given legacy idleMinutes and a type entry with idleMinutes, when resolving, then the type entry wins', () => {
    const cfg: SessionConfig = { resetByType: { group: { idleMinutes: 5 } }, idleMinutes: 240 };
    expect(resolveResetPolicy(cfg, group).idleMinutes).toBe(5);
  });

  it('given reset in idle mode and a type entry in daily mode, when resolving, then the type entry mode wins', () => {
    const cfg: SessionConfig = {
      reset: { mode: 'idle', idleMinutes: 30 },
      resetByType: { direct: { mode: 'daily' } },
    };
    expect(resolveResetPolicy(cfg, direct)).toStrictEqual({ mode: 'daily', atHour: 4, idleMinutes: 30 });
  });
});

describe('resolveResetPolicy: atHour (§2.2.4)', () => {
  it.each([
    [0, 0],
    [23, 23],
    [7.9, 7],
    [-0.5, 0],
    [-3, 0],
    [24, 23],
    [99, 23],
    [Number.NaN, 4],
    [Number.POSITIVE_INFINITY, 4],
    [Number.NEGATIVE_INFINITY, 4],
  ])('given reset.atHour %j, when resolving, then atHour is %j', (raw, expected) => {
    expect(resolveResetPolicy({ reset: { atHour: raw } }, direct).atHour).toBe(expected);
  });

  it('given a non-finite type atHour and a valid reset atHour, when resolving, then it is 4 (no fall-through past the chosen value)', () => {
    const cfg: SessionConfig = { reset: { atHour: 9 }, resetByType: { direct: { atHour: Number.NaN } } };
    expect(resolveResetPolicy(cfg, direct).atHour).toBe(4);
  });
});

describe('resolveResetPolicy: idleMinutes (§2.2.5)', () => {
  it.each([
    [120, 120],
    [90.9, 90],
    [0, 0],
    [0.5, 0],
    [-1, 0],
    [-120.5, 0],
  ])('given reset.idleMinutes %j in daily mode, when resolving, then idleMinutes is %j', (raw, expected) => {
    expect(resolveResetPolicy({ reset: { idleMinutes: raw } }, direct)).toStrictEqual({
      mode: 'daily',
      atHour: 4,
      idleMinutes: expected,
    });
  });

  it('given idle mode with no idleMinutes anywhere, when resolving, then idleMinutes is 0 (no limit)', () => {
    expect(resolveResetPolicy({ reset: { mode: 'idle' } }, direct)).toStrictEqual({
      mode: 'idle',
      atHour: 4,
      idleMinutes: 0,
    });
  });

  it('given daily mode with no idleMinutes anywhere, when resolving, then the field is omitted', () => {
    const policy = resolveResetPolicy({ reset: { mode: 'daily', atHour: 6 } }, direct);
    expect(policy).toStrictEqual({ mode: 'daily', atHour: 6 });
    expect('idleMinutes' in policy).toBe(false);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])(
    'given a non-finite idleMinutes %j, when resolving, then it is unset (0 in idle mode, omitted in daily mode)',
    (raw) => {
      expect(resolveResetPolicy({ reset: { mode: 'idle', idleMinutes: raw } }, direct)).toStrictEqual({
        mode: 'idle',
        atHour: 4,
        idleMinutes: 0,
      });
      expect(resolveResetPolicy({ reset: { idleMinutes: raw } }, direct)).toStrictEqual({
        mode: 'daily',
        atHour: 4,
      });
    },
  );

  it('given a negative legacy idleMinutes only, when resolving, then the mode is idle with no limit', () => {
    expect(resolveResetPolicy({ idleMinutes: -5 }, direct)).toStrictEqual({
      mode: 'idle',
      atHour: 4,
      idleMinutes: 0,
    });
  });
});

describe('resolveResetPolicy: invariants', () => {
  const resetConfig = fc.record(
    {
      mode: fc.constantFrom('daily' as const, 'idle' as const),
      atHour: fc.double({ noNaN: false }),
      idleMinutes: fc.double({ noNaN: false }),
    },
    { requiredKeys: [] },
  );
  const sessionArb = fc.record(
    {
      reset: resetConfig,
      resetByType: fc.record(
        { direct: resetConfig, dm: resetConfig, group: resetConfig, thread: resetConfig },
        {
          requiredKeys: [],
        },
      ),
      resetByChannel: fc.dictionary(
        fc.constantFrom('discord', 'Slack', 'teams', 'msteams', 'imessage'),
        resetConfig,
      ),
      idleMinutes: fc.double({ noNaN: false }),
    },
    { requiredKeys: [] },
  );
  const typeArb = fc.constantFrom<ResetType>('direct', 'group', 'thread');
  const channelArb = fc.option(fc.constantFrom('discord', 'slack', 'teams', 'imsg', 'telegram', ' Discord '));

  it('always yields an integer atHour in 0..23, a known mode, and a non-negative integer idle limit (present in idle mode)', () => {
    fc.assert(
      fc.property(sessionArb, typeArb, channelArb, (session, resetType, channel) => {
        const policy = resolveResetPolicy(session as SessionConfig, { resetType, channel });
        expect(['daily', 'idle']).toContain(policy.mode);
        expect(Number.isInteger(policy.atHour)).toBe(true);
        expect(policy.atHour).toBeGreaterThanOrEqual(0);
        expect(policy.atHour).toBeLessThanOrEqual(23);
        if (policy.mode === 'idle') expect(policy.idleMinutes).toBeDefined();
        if (policy.idleMinutes !== undefined) {
          expect(Number.isInteger(policy.idleMinutes)).toBe(true);
          expect(policy.idleMinutes).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('given a channel override, the result never depends on reset, resetByType or legacy idleMinutes', () => {
    fc.assert(
      fc.property(sessionArb, typeArb, resetConfig, (session, resetType, override) => {
        const cfg = { ...session, resetByChannel: { discord: override } } as SessionConfig;
        const alone: SessionConfig = { resetByChannel: { discord: override } };
        expect(resolveResetPolicy(cfg, { resetType, channel: 'discord' })).toStrictEqual(
          resolveResetPolicy(alone, { resetType, channel: 'discord' }),
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('normalizers', () => {
  it('normalizeResetAtHour floors, clamps and defaults', () => {
    expect(normalizeResetAtHour(undefined)).toBe(4);
    expect(normalizeResetAtHour(null)).toBe(4);
    expect(normalizeResetAtHour(12.99)).toBe(12);
    expect(normalizeResetAtHour(-1)).toBe(0);
    expect(normalizeResetAtHour(1e9)).toBe(23);
  });

  it('normalizeIdleMinutes floors, clamps at 0 and treats non-finite as unset', () => {
    expect(normalizeIdleMinutes(undefined)).toBeUndefined();
    expect(normalizeIdleMinutes(Number.NaN)).toBeUndefined();
    expect(normalizeIdleMinutes(Number.NEGATIVE_INFINITY)).toBeUndefined();
    expect(normalizeIdleMinutes(59.999)).toBe(59);
    expect(normalizeIdleMinutes(-59.999)).toBe(0);
  });
});

describe('resolveResetTimeZone', () => {
  it('given session.reset.timeZone, when resolving, then it wins over the host zone', () => {
    expect(resolveResetTimeZone({ reset: { timeZone: 'Europe/Berlin' } }, 'America/New_York')).toBe(
      'Europe/Berlin',
    );
  });

  it('given no configured zone, when resolving, then the host zone is used', () => {
    expect(resolveResetTimeZone({ reset: { atHour: 3 } }, 'America/New_York')).toBe('America/New_York');
  });

  it('given neither, when resolving, then it is undefined (the host local zone)', () => {
    expect(resolveResetTimeZone({})).toBeUndefined();
  });

  it('given blank strings, when resolving, then they count as unset', () => {
    expect(resolveResetTimeZone({ reset: { timeZone: '  ' } }, 'Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(resolveResetTimeZone({ reset: { timeZone: '' } }, ' ')).toBeUndefined();
  });

  it('given a zone on a channel override or type entry only, when resolving, then it is ignored (gateway-wide)', () => {
    const cfg: SessionConfig = {
      resetByChannel: { discord: { timeZone: 'Asia/Tokyo' } },
      resetByType: { direct: { timeZone: 'Asia/Tokyo' } },
    };
    expect(resolveResetTimeZone(cfg, 'UTC')).toBe('UTC');
  });

  it('given a channel override and a gateway zone, when resolving the policy, then the policy carries no zone', () => {
    const cfg: SessionConfig = {
      reset: { timeZone: 'Europe/Berlin' },
      resetByChannel: { discord: { timeZone: 'Asia/Tokyo', atHour: 2 } },
    };
    expect(resolveResetPolicy(cfg, { ...direct, channel: 'discord' })).toStrictEqual({
      mode: 'daily',
      atHour: 2,
    });
    expect(resolveResetTimeZone(cfg)).toBe('Europe/Berlin');
  });
});

describe('dailyResetHours', () => {
  it('given the defaults, then one hour: 4', () => {
    expect(dailyResetHours({})).toEqual([4]);
  });
  it('gives every hour a daily policy can resolve to, across reset, resetByType and resetByChannel', () => {
    const session: SessionConfig = {
      reset: { mode: 'daily', atHour: 4 },
      resetByType: { group: { atHour: 6 }, thread: { mode: 'idle', idleMinutes: 60 } },
      resetByChannel: {
        discord: { mode: 'idle', idleMinutes: 10080 },
        slack: { atHour: 23 },
        teams: { atHour: 9 },
      },
    };
    // slack's override omits atHour → 23 given; teams is an alias key that never matches, so 9 never applies.
    expect(dailyResetHours(session)).toEqual([4, 6, 23]);
  });
  it('given every policy in idle mode, then none', () => {
    expect(dailyResetHours({ reset: { mode: 'idle', idleMinutes: 30 } })).toEqual([]);
    expect(dailyResetHours({ idleMinutes: 240 })).toEqual([]);
  });
  it('is exactly the set of daily hours resolveResetPolicy gives (property)', () => {
    const entry = fc.record(
      { mode: fc.constantFrom('daily' as const, 'idle' as const), atHour: fc.integer({ min: -2, max: 30 }) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            reset: entry,
            resetByType: fc.record(
              { direct: entry, group: entry, thread: entry, dm: entry },
              { requiredKeys: [] },
            ),
            resetByChannel: fc.dictionary(fc.constantFrom('discord', 'slack', 'Teams', 'imsg'), entry),
          },
          { requiredKeys: [] },
        ),
        (session) => {
          const hours = dailyResetHours(session as SessionConfig);
          for (const resetType of ['direct', 'group', 'thread'] as const) {
            for (const channel of [null, 'discord', 'slack', 'teams', 'imessage', 'telegram']) {
              const policy = resolveResetPolicy(session as SessionConfig, { resetType, channel });
              if (policy.mode === 'daily') expect(hours).toContain(policy.atHour);
            }
          }
          expect([...hours].sort((a, b) => a - b)).toEqual(hours);
        },
      ),
    );
  });
});
