import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classifyResetType,
  deriveChatType,
  normalizeAccountId,
  normalizeAgentId,
  normalizeChannel,
  normalizePeerId,
  parseSessionKey,
  resolveMainKey,
  resolveSessionKey,
} from './keys.js';
import type { DmScope, PeerKind, SessionConfig, SessionRoute } from './types.js';

const ISOLATED_SCOPES: DmScope[] = ['per-peer', 'per-channel-peer', 'per-account-channel-peer'];
const ALL_SCOPES: (DmScope | undefined)[] = [undefined, 'main', ...ISOLATED_SCOPES];

function dm(channel: string, id: string | number, extra: Partial<SessionRoute> = {}): SessionRoute {
  return { channel, peer: { kind: 'direct', id }, ...extra };
}

describe('normalising ids (spec §1.1)', () => {
  it.each([
    ['My Agent!', 'my-agent'],
    ['../../etc', 'etc'],
    ['Ops', 'ops'],
    ['  ops-1  ', 'ops-1'],
    ['_x', '_x'],
    ['--x--', 'x'],
    ['a  b??c', 'a-b-c'],
    ['Ünïcode', 'n-code'],
    ['!!!', 'main'],
    ['', 'main'],
    ['   ', 'main'],
  ])('given agent id %j, when normalised, then it is %j', (raw, expected) => {
    expect(normalizeAgentId(raw)).toBe(expected);
  });

  it('given a valid 64-character agent id, when normalised, then it is only lowercased', () => {
    const id = `A${'b'.repeat(63)}`;
    expect(normalizeAgentId(id)).toBe(id.toLowerCase());
  });

  it('given an agent id that needs rewriting and is too long, when normalised, then it is cut to 64 characters', () => {
    expect(normalizeAgentId(`x ${'y'.repeat(100)}`)).toBe(`x-${'y'.repeat(62)}`);
  });

  it.each([
    [null, 'default'],
    [undefined, 'default'],
    ['', 'default'],
    ['  ', 'default'],
    ['!!!', 'default'],
    ['__proto__', 'default'],
    ['constructor', 'default'],
    ['prototype', 'default'],
    ['__PROTO__', 'default'],
    ['Constructor', 'default'],
    [' -prototype- ', 'default'],
    ['Work Phone', 'work-phone'],
    ['Biz', 'biz'],
    ['_prod', '_prod'],
  ])('given account id %j, when normalised, then it is %j', (raw, expected) => {
    expect(normalizeAccountId(raw)).toBe(expected);
  });

  it.each([
    [' Telegram ', 'telegram'],
    ['DISCORD', 'discord'],
    ['imsg', 'imsg'],
    ['', 'unknown'],
    ['  ', 'unknown'],
    [null, 'unknown'],
    [undefined, 'unknown'],
  ])('given channel %j, when normalised, then it is %j (no alias resolution)', (raw, expected) => {
    expect(normalizeChannel(raw)).toBe(expected);
  });

  it.each([
    [123, '123'],
    [-1001234, '-1001234'],
    [0, '0'],
    [' +15551234567 ', '+15551234567'],
    ['U0ABC', 'u0abc'],
    ['12036@G.US', '12036@g.us'],
    ['', 'unknown'],
    ['   ', 'unknown'],
    [null, 'unknown'],
    [undefined, 'unknown'],
  ])('given peer id %j, when normalised, then it is %j', (raw, expected) => {
    expect(normalizePeerId(raw)).toBe(expected);
  });
});

describe('the main key (spec §1.2)', () => {
  it.each([
    [undefined, {}, 'agent:main:main'],
    ['Ops', {}, 'agent:ops:main'],
    ['ops', { mainKey: ' Home ' }, 'agent:ops:home'],
    ['ops', { mainKey: '   ' }, 'agent:ops:main'],
    // A main key without any segment would not parse; it falls back like an empty one.
    ['ops', { mainKey: ' :: ' }, 'agent:ops:main'],
  ] as [string | undefined, SessionConfig, string][])(
    'given agent %j and session %j, when resolving the main key, then it is %j',
    (agentId, session, expected) => {
      expect(resolveMainKey(agentId, session)).toBe(expected);
    },
  );
});

describe('direct messages under session.dmScope (spec §1.2)', () => {
  const route: SessionRoute = {
    agentId: 'main',
    channel: 'telegram',
    accountId: 'Biz',
    peer: { kind: 'direct', id: '111' },
  };

  it.each([
    [undefined, 'agent:main:main'],
    ['main', 'agent:main:main'],
    ['per-peer', 'agent:main:direct:111'],
    ['per-channel-peer', 'agent:main:telegram:direct:111'],
    ['per-account-channel-peer', 'agent:main:telegram:biz:direct:111'],
  ] as [DmScope | undefined, string][])(
    'given dmScope %j, when a DM arrives, then its key is %j',
    (dmScope, expected) => {
      expect(resolveSessionKey(route, dmScope ? { dmScope } : {})).toBe(expected);
    },
  );

  it('given the default scope, when different people DM on different channels, then they all share the main key', () => {
    const keys = [dm('telegram', '111'), dm('discord', '222'), dm('whatsapp', '+1555')].map((r) =>
      resolveSessionKey(r, {}),
    );
    expect(new Set(keys)).toEqual(new Set(['agent:main:main']));
  });

  it('given a custom mainKey, when a DM arrives under scope main, then it goes to that main key', () => {
    expect(resolveSessionKey(dm('telegram', '111'), { mainKey: 'Home' })).toBe('agent:main:home');
  });

  it.each([
    [null, 'agent:main:telegram:default:direct:111'],
    [undefined, 'agent:main:telegram:default:direct:111'],
    ['__proto__', 'agent:main:telegram:default:direct:111'],
    ['Work Phone', 'agent:main:telegram:work-phone:direct:111'],
  ])(
    'given account %j under per-account-channel-peer, when a DM arrives, then the key is %j',
    (accountId, expected) => {
      expect(
        resolveSessionKey(dm('telegram', '111', { accountId }), { dmScope: 'per-account-channel-peer' }),
      ).toBe(expected);
    },
  );

  it('given the legacy peer kind dm, when a DM arrives, then the key says direct', () => {
    const route: SessionRoute = { channel: 'telegram', peer: { kind: 'dm', id: '111' } };
    expect(resolveSessionKey(route, { dmScope: 'per-channel-peer' })).toBe('agent:main:telegram:direct:111');
  });

  it('given a numeric peer id, when a DM arrives, then it keys like the same id as text', () => {
    const session: SessionConfig = { dmScope: 'per-channel-peer' };
    expect(resolveSessionKey(dm('telegram', 111), session)).toBe('agent:main:telegram:direct:111');
    expect(resolveSessionKey(dm('telegram', 111), session)).toBe(
      resolveSessionKey(dm('telegram', '111'), session),
    );
  });

  it('given mixed case and padding everywhere, when a DM arrives, then the key is lowercase and trimmed', () => {
    const route: SessionRoute = {
      agentId: ' Ops ',
      channel: ' WhatsApp ',
      peer: { kind: 'direct', id: ' ABC ' },
    };
    expect(resolveSessionKey(route, { dmScope: 'per-channel-peer' })).toBe('agent:ops:whatsapp:direct:abc');
  });

  it('given an agent id that needs normalising, when a DM arrives, then the key carries the normalised id', () => {
    expect(resolveSessionKey(dm('telegram', '1', { agentId: 'My Agent!' }), { dmScope: 'per-peer' })).toBe(
      'agent:my-agent:direct:1',
    );
  });

  it('given an empty peer id under an isolated scope, when a DM arrives, then the peer is unknown', () => {
    expect(resolveSessionKey(dm('telegram', '  '), { dmScope: 'per-peer' })).toBe(
      'agent:main:direct:unknown',
    );
  });

  it.each(ALL_SCOPES)(
    'given dmScope %j, when a message has no peer, then it goes to the main key',
    (dmScope) => {
      const session: SessionConfig = dmScope ? { dmScope, mainKey: 'home' } : { mainKey: 'home' };
      expect(resolveSessionKey({ agentId: 'ops', channel: 'webchat' }, session)).toBe('agent:ops:home');
      expect(resolveSessionKey({ agentId: 'ops', channel: 'webchat', peer: null }, session)).toBe(
        'agent:ops:home',
      );
    },
  );
});

describe('identity links (spec §1.3)', () => {
  const identityLinks = { alice: ['telegram:111', 'discord:222'] };

  it('given per-peer, when a linked person DMs from two channels, then both land in one session', () => {
    const session: SessionConfig = { dmScope: 'per-peer', identityLinks };
    expect(resolveSessionKey(dm('telegram', '111'), session)).toBe('agent:main:direct:alice');
    expect(resolveSessionKey(dm('discord', '222'), session)).toBe('agent:main:direct:alice');
  });

  it('given per-channel-peer, when a linked person DMs from two channels, then each channel keeps its own session', () => {
    const session: SessionConfig = { dmScope: 'per-channel-peer', identityLinks };
    expect(resolveSessionKey(dm('telegram', '111'), session)).toBe('agent:main:telegram:direct:alice');
    expect(resolveSessionKey(dm('discord', '222'), session)).toBe('agent:main:discord:direct:alice');
  });

  it('given per-account-channel-peer, when a linked person DMs, then the canonical name sits in the account layout', () => {
    const session: SessionConfig = { dmScope: 'per-account-channel-peer', identityLinks };
    expect(resolveSessionKey(dm('telegram', '111', { accountId: 'Biz' }), session)).toBe(
      'agent:main:telegram:biz:direct:alice',
    );
    expect(resolveSessionKey(dm('discord', '222'), session)).toBe('agent:main:discord:default:direct:alice');
  });

  it.each([undefined, 'main'] as const)(
    'given dmScope %j, when a linked person DMs, then the link is ignored and the main key is used',
    (dmScope) => {
      const session: SessionConfig = dmScope ? { dmScope, identityLinks } : { identityLinks };
      expect(resolveSessionKey(dm('telegram', '111'), session)).toBe('agent:main:main');
    },
  );

  it('given a bare id in the list, when that id DMs from any channel, then it is linked', () => {
    const session: SessionConfig = { dmScope: 'per-peer', identityLinks: { bob: ['333'] } };
    expect(resolveSessionKey(dm('telegram', '333'), session)).toBe('agent:main:direct:bob');
    expect(resolveSessionKey(dm('signal', '333'), session)).toBe('agent:main:direct:bob');
  });

  it('given a channel-qualified entry, when the same id DMs from another channel, then it is not linked', () => {
    const session: SessionConfig = { dmScope: 'per-peer', identityLinks };
    expect(resolveSessionKey(dm('discord', '111'), session)).toBe('agent:main:direct:111');
  });

  it('given entries with padding and capitals, when compared, then they are trimmed and lowercased', () => {
    const session: SessionConfig = { dmScope: 'per-peer', identityLinks: { carol: ['  Slack:U0ABC '] } };
    expect(resolveSessionKey(dm('SLACK', 'u0abc'), session)).toBe('agent:main:direct:carol');
    expect(resolveSessionKey(dm('slack', ' U0ABC '), session)).toBe('agent:main:direct:carol');
  });

  it('given two names listing the same peer, when it DMs, then the first name in map order wins', () => {
    expect(
      resolveSessionKey(dm('telegram', 'x'), {
        dmScope: 'per-peer',
        identityLinks: { first: ['x'], second: ['telegram:x'] },
      }),
    ).toBe('agent:main:direct:first');
    expect(
      resolveSessionKey(dm('telegram', 'x'), {
        dmScope: 'per-peer',
        identityLinks: { second: ['telegram:x'], first: ['x'] },
      }),
    ).toBe('agent:main:direct:second');
  });

  it('given an empty canonical name listed first, when its peer DMs, then it is skipped for the next name', () => {
    const session: SessionConfig = {
      dmScope: 'per-peer',
      identityLinks: { '  ': ['telegram:111'], alice: ['telegram:111'] },
    };
    expect(resolveSessionKey(dm('telegram', '111'), session)).toBe('agent:main:direct:alice');
  });

  it('given a canonical name with padding, capitals and an inner space, when used, then it is trimmed and lowercased with the space kept', () => {
    const session: SessionConfig = {
      dmScope: 'per-peer',
      identityLinks: { ' Alice Smith ': ['telegram:111'] },
    };
    expect(resolveSessionKey(dm('telegram', '111'), session)).toBe('agent:main:direct:alice smith');
  });

  it('given a numeric peer id, when its text form is listed, then it is linked', () => {
    const session: SessionConfig = { dmScope: 'per-peer', identityLinks };
    expect(resolveSessionKey(dm('telegram', 111), session)).toBe('agent:main:direct:alice');
  });

  it('given links, when a group message comes from a listed id, then the group key is unchanged', () => {
    const session: SessionConfig = { dmScope: 'per-peer', identityLinks: { alice: ['111', 'telegram:111'] } };
    const route: SessionRoute = { channel: 'telegram', peer: { kind: 'group', id: '111' } };
    expect(resolveSessionKey(route, session)).toBe('agent:main:telegram:group:111');
  });

  it('given a person not in any list, when they DM, then their own id is used', () => {
    const session: SessionConfig = { dmScope: 'per-channel-peer', identityLinks };
    expect(resolveSessionKey(dm('telegram', '999'), session)).toBe('agent:main:telegram:direct:999');
  });

  it('given a peer with no id, when links list "unknown", then it is not linked (it identifies nobody)', () => {
    const session: SessionConfig = {
      dmScope: 'per-peer',
      identityLinks: { ghost: ['unknown', 'telegram:unknown'] },
    };
    expect(resolveSessionKey(dm('telegram', ''), session)).toBe('agent:main:direct:unknown');
  });
});

describe('groups, channels and threads (spec §1.4)', () => {
  it.each([
    ['whatsapp', 'group', '12036@G.US', 'agent:main:whatsapp:group:12036@g.us'],
    ['discord', 'channel', 'C1', 'agent:main:discord:channel:c1'],
    ['telegram', 'group', -1001234, 'agent:main:telegram:group:-1001234'],
    ['', 'group', '', 'agent:main:unknown:group:unknown'],
  ] as [string, PeerKind, string | number, string][])(
    'given a %s %s %j, when routed, then the key is %j',
    (channel, kind, id, expected) => {
      expect(resolveSessionKey({ channel, peer: { kind, id } }, {})).toBe(expected);
    },
  );

  it.each(ALL_SCOPES)(
    'given dmScope %j, when a group message arrives, then the key does not change',
    (dmScope) => {
      const route: SessionRoute = {
        channel: 'discord',
        accountId: 'biz',
        peer: { kind: 'channel', id: 'c1' },
      };
      expect(resolveSessionKey(route, dmScope ? { dmScope } : {})).toBe('agent:main:discord:channel:c1');
    },
  );

  it('given a thread id, when a channel message arrives, then :thread:<id> is appended, lowercased', () => {
    const route: SessionRoute = {
      channel: 'slack',
      peer: { kind: 'channel', id: 'C1' },
      threadId: '1712.34AB',
    };
    expect(resolveSessionKey(route, {})).toBe('agent:main:slack:channel:c1:thread:1712.34ab');
  });

  it('given a blank thread id, when routed, then no suffix is added', () => {
    const route: SessionRoute = { channel: 'slack', peer: { kind: 'channel', id: 'c1' }, threadId: '   ' };
    expect(resolveSessionKey(route, {})).toBe('agent:main:slack:channel:c1');
  });

  it('given a thread in a DM, when routed under per-channel-peer, then the suffix follows the DM key', () => {
    expect(resolveSessionKey(dm('slack', 'U1', { threadId: 'T1' }), { dmScope: 'per-channel-peer' })).toBe(
      'agent:main:slack:direct:u1:thread:t1',
    );
  });

  it('given a thread in a DM, when routed under scope main, then the suffix follows the main key', () => {
    expect(resolveSessionKey(dm('slack', 'U1', { threadId: 'T1' }), {})).toBe('agent:main:main:thread:t1');
  });

  it('given a Telegram forum topic, when routed, then the topic is part of the group id and no thread suffix is added', () => {
    const route: SessionRoute = {
      channel: 'Telegram',
      peer: { kind: 'group', id: '-1001234' },
      threadId: '42',
    };
    expect(resolveSessionKey(route, {})).toBe('agent:main:telegram:group:-1001234:topic:42');
  });

  it('given a Telegram group id that already names its topic, when routed with the thread id, then it is left as is', () => {
    const route: SessionRoute = {
      channel: 'telegram',
      peer: { kind: 'group', id: '-1001234:topic:42' },
      threadId: '42',
    };
    expect(resolveSessionKey(route, {})).toBe('agent:main:telegram:group:-1001234:topic:42');
  });

  it('given a Telegram topic carried with its parent group, when routed, then the topic form is still used', () => {
    const route: SessionRoute = {
      channel: 'telegram',
      peer: { kind: 'group', id: '-1001234:topic:42' },
      parentPeer: { kind: 'group', id: '-1001234' },
      threadId: '42',
    };
    expect(resolveSessionKey(route, {})).toBe('agent:main:telegram:group:-1001234:topic:42');
  });

  it('given a thread in a Telegram DM, when routed, then it is an ordinary thread suffix', () => {
    expect(resolveSessionKey(dm('telegram', '111', { threadId: '7' }), { dmScope: 'per-peer' })).toBe(
      'agent:main:direct:111:thread:7',
    );
  });

  it('given a thread id on a non-Telegram group, when routed, then the thread suffix is used, not a topic', () => {
    const route: SessionRoute = { channel: 'whatsapp', peer: { kind: 'group', id: 'g1' }, threadId: '42' };
    expect(resolveSessionKey(route, {})).toBe('agent:main:whatsapp:group:g1:thread:42');
  });

  it('given a Discord thread with a parent channel, when routed, then the thread id is the peer and no suffix is added', () => {
    const route: SessionRoute = {
      channel: 'discord',
      peer: { kind: 'channel', id: 'T999' },
      parentPeer: { kind: 'channel', id: 'C1' },
      threadId: 'T999',
    };
    const key = resolveSessionKey(route, {});
    expect(key).toBe('agent:main:discord:channel:t999');
    expect(
      classifyResetType({ sessionKey: key, threadId: route.threadId, parentPeer: route.parentPeer }),
    ).toBe('thread');
  });
});

describe('explicit keys and other key families (spec §1.5)', () => {
  it.each([
    ['agent:ops:cron:nightly', 'main', 'agent:ops:cron:nightly'],
    ['AGENT:Ops:Cron:Nightly', 'main', 'agent:ops:cron:nightly'],
    ['  agent:main:hook:gmail:abc  ', 'ops', 'agent:main:hook:gmail:abc'],
    ['cron:nightly', 'Ops', 'agent:ops:cron:nightly'],
    ['cron:nightly', undefined, 'agent:main:cron:nightly'],
    ['hook:GitHub:42', 'My Agent!', 'agent:my-agent:hook:github:42'],
    ['subagent:x1', 'ops', 'agent:ops:subagent:x1'],
  ])(
    'given explicit key %j and agent %j, when resolved, then the key is %j',
    (explicitKey, agentId, expected) => {
      const route: SessionRoute =
        agentId === undefined ? { channel: 'cron', explicitKey } : { agentId, channel: 'cron', explicitKey };
      expect(resolveSessionKey(route, { dmScope: 'per-peer' })).toBe(expected);
    },
  );

  it('given an explicit key, when the route also has a peer and a thread, then the explicit key is kept unchanged', () => {
    const route: SessionRoute = {
      channel: 'discord',
      peer: { kind: 'direct', id: '1' },
      threadId: 't',
      explicitKey: 'agent:main:discord:channel:c1',
    };
    expect(resolveSessionKey(route, { dmScope: 'per-peer' })).toBe('agent:main:discord:channel:c1');
  });

  it('given a blank explicit key, when resolved, then routing decides as if there were none', () => {
    expect(resolveSessionKey(dm('telegram', '1', { explicitKey: '  ' }), { dmScope: 'per-peer' })).toBe(
      'agent:main:direct:1',
    );
  });
});

describe('parsing keys (spec §1.6)', () => {
  it.each([
    ['agent:main:main', { agentId: 'main', rest: 'main' }],
    ['AGENT:Ops:Discord:Channel:C1', { agentId: 'ops', rest: 'discord:channel:c1' }],
    ['agent::main::direct:bob:', { agentId: 'main', rest: 'direct:bob' }],
    [
      'agent:main:matrix:channel:!ops:matrix.example',
      { agentId: 'main', rest: 'matrix:channel:!ops:matrix.example' },
    ],
    ['agent:main:direct:alice smith', { agentId: 'main', rest: 'direct:alice smith' }],
  ])('given %j, when parsed, then it is %j', (key, expected) => {
    expect(parseSessionKey(key)).toEqual(expected);
  });

  it.each([
    'agent:main',
    'agent::main:',
    'main',
    '',
    'session:main:x',
    'discord:group:123',
    'agents:main:main',
  ])('given %j, when parsed, then it is null', (key) => {
    expect(parseSessionKey(key)).toBeNull();
  });
});

describe('chat type from a key (spec §1.6)', () => {
  it.each([
    ['agent:main:main', 'unknown'],
    ['agent:main:home', 'unknown'],
    ['agent:main:cron:nightly', 'unknown'],
    ['agent:main:hook:gmail:1', 'unknown'],
    ['agent:main:subagent:x', 'unknown'],
    ['agent:main:telegram:group:-100', 'group'],
    ['agent:main:telegram:group:-100:topic:5', 'group'],
    ['agent:main:discord:channel:c1', 'channel'],
    ['agent:main:slack:channel:c1:thread:t1', 'channel'],
    ['agent:main:direct:bob', 'direct'],
    ['agent:main:telegram:direct:bob', 'direct'],
    ['agent:main:telegram:biz:direct:bob', 'direct'],
    ['agent:main:telegram:dm:bob', 'direct'],
    ['agent:main:dm:bob', 'direct'],
    ['AGENT:MAIN:SLACK:CHANNEL:C1', 'channel'],
    ['telegram:group:123', 'group'],
    ['discord:dm:1', 'direct'],
    // An agent named like a chat type is not part of the rest.
    ['agent:group:main', 'unknown'],
    ['agent:dm:main', 'unknown'],
    // Tokens, not substrings.
    ['agent:main:direct:groupies', 'direct'],
    // `group` beats `channel`.
    ['agent:main:telegram:group:channel', 'group'],
  ])('given %j, when its chat type is derived, then it is %j', (key, expected) => {
    expect(deriveChatType(key)).toBe(expected);
  });
});

describe('reset type of a session (spec §2.4)', () => {
  it.each([
    [{ sessionKey: 'agent:main:main', threadId: 't1' }, 'thread'],
    [{ sessionKey: 'agent:main:main', threadId: '   ' }, 'direct'],
    [{ sessionKey: 'agent:main:discord:channel:t9', parentPeer: { kind: 'channel', id: 'c1' } }, 'thread'],
    [{ sessionKey: 'agent:main:discord:channel:t9', parentPeer: null }, 'group'],
    [{ sessionKey: 'agent:main:slack:channel:c1:thread:t1' }, 'thread'],
    [{ sessionKey: 'agent:main:slack:direct:u1:thread:t1' }, 'thread'],
    [{ sessionKey: 'agent:main:telegram:group:-100:topic:5' }, 'thread'],
    [{ sessionKey: 'agent:main:telegram:group:-100' }, 'group'],
    [{ sessionKey: 'agent:main:discord:channel:c1' }, 'group'],
    [{ sessionKey: 'agent:main:main', chatType: 'group' }, 'group'],
    [{ sessionKey: 'agent:main:main', chatType: 'Channel' }, 'group'],
    [{ sessionKey: 'agent:main:telegram:group:-100', chatType: 'direct' }, 'group'],
    [{ sessionKey: 'agent:main:main' }, 'direct'],
    [{ sessionKey: 'agent:main:main', chatType: 'direct' }, 'direct'],
    [{ sessionKey: 'agent:main:cron:nightly' }, 'direct'],
    [{ sessionKey: 'agent:main:hook:gmail:1' }, 'direct'],
    [{ sessionKey: 'agent:main:telegram:direct:1' }, 'direct'],
    [{ sessionKey: 'agent:main:telegram:dm:1' }, 'direct'],
    // The agent id is not part of the rest.
    [{ sessionKey: 'agent:thread:main' }, 'direct'],
  ] as [Parameters<typeof classifyResetType>[0], string][])(
    'given %j, when classified, then it is %j',
    (input, expected) => {
      expect(classifyResetType(input)).toBe(expected);
    },
  );
});

describe('session key properties', () => {
  const channelArb = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/);
  const peerIdArb = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.integer(),
    fc.string({ unit: 'binary', maxLength: 8 }),
  );
  const accountArb = fc.option(fc.string({ maxLength: 10 }), { nil: undefined });
  const person = fc.record({ channel: channelArb, id: peerIdArb, accountId: accountArb });
  const isolatedScope = fc.constantFrom(...ISOLATED_SCOPES);

  it('given an isolated scope and no links, when two people with different peer ids DM, then their keys differ', () => {
    fc.assert(
      fc.property(isolatedScope, person, person, (dmScope, a, b) => {
        fc.pre(normalizePeerId(a.id) !== normalizePeerId(b.id));
        const session: SessionConfig = { dmScope };
        expect(resolveSessionKey(dm(a.channel, a.id, { accountId: a.accountId }), session)).not.toBe(
          resolveSessionKey(dm(b.channel, b.id, { accountId: b.accountId }), session),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('given a channel-scoped scope and no links, when the same peer id DMs from two channels, then the keys differ', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<DmScope>('per-channel-peer', 'per-account-channel-peer'),
        person,
        channelArb,
        (dmScope, a, other) => {
          fc.pre(other !== a.channel);
          const session: SessionConfig = { dmScope };
          expect(resolveSessionKey(dm(a.channel, a.id, { accountId: a.accountId }), session)).not.toBe(
            resolveSessionKey(dm(other, a.id, { accountId: a.accountId }), session),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  // A small pool so that random links actually hit the random people.
  const poolChannel = fc.constantFrom('telegram', 'discord', 'signal');
  const poolId = fc.constantFrom<string | number>('111', '222', 'Alice', 'bob', 333, 'carol');
  const poolPerson = fc.record({ channel: poolChannel, id: poolId, accountId: accountArb });
  const linksArb = fc.dictionary(
    fc.constantFrom('alice', 'Bob', ' carol ', '', 'dave smith', '111'),
    fc.subarray(['111', 'telegram:222', 'discord:111', 'alice', ' TELEGRAM:333 ', 'signal:bob', 'Carol']),
  );

  it('given an isolated scope and random links, when two different people share a key, then links joined at least one of them', () => {
    fc.assert(
      fc.property(isolatedScope, linksArb, poolPerson, poolPerson, (dmScope, identityLinks, a, b) => {
        const differentPeople =
          normalizePeerId(a.id) !== normalizePeerId(b.id) ||
          (dmScope !== 'per-peer' && a.channel !== b.channel);
        fc.pre(differentPeople);
        const ra = dm(a.channel, a.id, { accountId: a.accountId });
        const rb = dm(b.channel, b.id, { accountId: b.accountId });
        const linked = { dmScope, identityLinks };
        const unlinked = { dmScope };
        if (resolveSessionKey(ra, linked) === resolveSessionKey(rb, linked)) {
          const aJoined = resolveSessionKey(ra, linked) !== resolveSessionKey(ra, unlinked);
          const bJoined = resolveSessionKey(rb, linked) !== resolveSessionKey(rb, unlinked);
          expect(aJoined || bJoined).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('given per-peer, when two people are listed under the same first name, then they share one key', () => {
    fc.assert(
      fc.property(poolPerson, poolPerson, fc.string({ minLength: 1, maxLength: 8 }), (a, b, name) => {
        fc.pre(name.trim() !== '');
        const identityLinks = { [name]: [`${a.channel}:${a.id}`, String(b.id)] };
        const session: SessionConfig = { dmScope: 'per-peer', identityLinks };
        const keyA = resolveSessionKey(dm(a.channel, a.id), session);
        expect(keyA).toBe(resolveSessionKey(dm(b.channel, b.id), session));
        expect(keyA).toBe(`agent:main:direct:${name.trim().toLowerCase()}`);
      }),
    );
  });

  it('given scope main (or none), when anyone DMs with any links, then the key is always the main key', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<DmScope | undefined>(undefined, 'main'),
        linksArb,
        poolPerson,
        fc.option(fc.string({ maxLength: 6 }), { nil: undefined }),
        (dmScope, identityLinks, a, mainKey) => {
          const session: SessionConfig = {
            identityLinks,
            ...(dmScope ? { dmScope } : {}),
            ...(mainKey === undefined ? {} : { mainKey }),
          };
          expect(
            resolveSessionKey(dm(a.channel, a.id, { accountId: a.accountId, agentId: 'ops' }), session),
          ).toBe(resolveMainKey('ops', session));
        },
      ),
      { numRuns: 500 },
    );
  });

  const anyText = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }));
  const routeArb: fc.Arbitrary<SessionRoute> = fc.record(
    {
      agentId: fc.option(anyText, { nil: undefined }),
      channel: anyText,
      accountId: fc.option(anyText, { nil: null }),
      peer: fc.option(
        fc.record({
          kind: fc.constantFrom<PeerKind>('direct', 'dm', 'group', 'channel'),
          id: fc.oneof(anyText, fc.integer()),
        }),
        { nil: null },
      ),
      threadId: fc.option(anyText, { nil: null }),
      parentPeer: fc.option(fc.record({ kind: fc.constantFrom('group', 'channel'), id: anyText }), {
        nil: null,
      }),
    },
    { requiredKeys: ['channel'] },
  );
  const sessionArb: fc.Arbitrary<SessionConfig> = fc.record(
    {
      dmScope: fc.constantFrom(...ISOLATED_SCOPES, 'main' as const),
      mainKey: anyText,
      identityLinks: fc.dictionary(anyText, fc.array(anyText, { maxLength: 3 })),
    },
    { requiredKeys: [] },
  );

  it('given any route and session, when a key is resolved, then it is lowercase and parses with the normalised agent id', () => {
    fc.assert(
      fc.property(routeArb, sessionArb, (route, session) => {
        const key = resolveSessionKey(route, session);
        expect(key).toBe(key.toLowerCase());
        expect(parseSessionKey(key)?.agentId).toBe(normalizeAgentId(route.agentId));
      }),
      { numRuns: 2000 },
    );
  });

  it('given any ASCII route, when its text changes case or padding, then the key does not change', () => {
    const ascii = fc.string({ maxLength: 10 });
    fc.assert(
      fc.property(ascii, ascii, ascii, fc.constantFrom(...ALL_SCOPES), (channel, id, threadId, dmScope) => {
        const session: SessionConfig = dmScope ? { dmScope } : {};
        const plain = resolveSessionKey(dm(channel, id, { threadId }), session);
        const noisy = resolveSessionKey(
          dm(` ${channel.toUpperCase()} `, ` ${id.toUpperCase()}\t`, { threadId: threadId.toUpperCase() }),
          session,
        );
        expect(noisy).toBe(plain);
      }),
    );
  });
});
