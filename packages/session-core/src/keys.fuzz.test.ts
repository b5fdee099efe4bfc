/**
 * Fuzzing session-key resolution (issue #9, hostile input) with route fields full of `:`, `.`, `*`, `>`,
 * whitespace, controls, odd Unicode and case variants. Only what the spec promises is asserted
 * (../shared/spec/session-semantics.md §1): keys are total, deterministic and lowercase; ids are trimmed
 * and lowercased (so case and padding variants share a key, as the spec says); beyond that, two different
 * people never share a key under a per-peer scope. The spec's key layout joins free-form ids with `:`, so
 * an id that itself holds `:` can spell another route's key (a peer `x:thread:y` and peer `x` in thread
 * `y`); the injectivity properties therefore vary only one free-form field at a time, or keep the others
 * free of `:` (docs/fuzzing.md). `FC_NUM_RUNS` runs every property longer, `FC_SEED` replays one run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classifyResetType,
  deriveChatType,
  keyRestTokens,
  normalizeAccountId,
  normalizeAgentId,
  parseSessionKey,
  resolveMainKey,
  resolveSessionKey,
} from './keys.js';
import type { DmScope, PeerKind, SessionConfig, SessionRoute } from './types.js';

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
const override = Number(env.FC_NUM_RUNS);
/** `FC_NUM_RUNS` (a positive integer) replaces every property's CI-sized run count. */
const runs = (ci: number) => (Number.isInteger(override) && override > 0 ? override : ci);
const TIMEOUT = Number.isInteger(override) && override > 0 ? 24 * 3_600_000 : 30_000;

// ───────────── hostile material ─────────────

/** Whitespace `String.prototype.trim` removes (the spec's "trimmed"). */
const TRIMMED = [' ', '\t', '\n', '\r', '\u000b', '\f', '\u00a0', '\u1680', '\u2028', '\u3000', '\ufeff'];
const PIECES = [
  ':',
  '::',
  '.',
  '*',
  '>',
  '$',
  '@',
  '%',
  '%3A',
  '#',
  '/',
  '\\',
  '\u0000',
  '\u007f',
  ...TRIMMED,
  '\u200b',
  '\u200d',
  '\u202e',
  '\u0301',
  'agent',
  'agent:',
  'main',
  'direct',
  'dm',
  'group',
  'channel',
  'thread',
  'topic',
  ':thread:',
  ':topic:',
  ':group:',
  '__proto__',
  'constructor',
  'A',
  'Z',
  'İ',
  'ß',
  'Σ',
  'ǅ',
  'K',
  'ſ',
  'ü',
  '😀',
  '👩‍👩‍👧',
  '\u{10ffff}',
];
const piece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...PIECES) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 2 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }) },
);
const hostile = (maxLength = 12) => fc.array(piece, { maxLength }).map((p) => p.join(''));
const noColon = (s: string) => !s.includes(':');
const hostileId: fc.Arbitrary<string | number> = fc.oneof(
  { weight: 4, arbitrary: hostile() },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.integer(),
      fc.constantFrom(0, -0, 2 ** 53, -(2 ** 53), 1e21, 1.5, Number.NaN, Number.POSITIVE_INFINITY),
    ),
  },
);
/** Case and padding variants: the spec says ids are trimmed and lowercased, so these share a key. */
const pad = fc.array(fc.constantFrom(...TRIMMED), { maxLength: 2 }).map((p) => p.join(''));
function variantOf(raw: string, lower: boolean, before: string, after: string): string {
  return `${before}${lower ? raw.toLowerCase() : raw}${after}`;
}

const ISOLATED: DmScope[] = ['per-peer', 'per-channel-peer', 'per-account-channel-peer'];
const scopeArb = fc.constantFrom<DmScope | undefined>(undefined, 'main', ...ISOLATED);
const peerKind = fc.constantFrom<PeerKind>('direct', 'dm', 'group', 'channel');

const routeArb: fc.Arbitrary<SessionRoute> = fc.record(
  {
    agentId: fc.option(hostile(), { nil: undefined }),
    channel: hostile(),
    accountId: fc.option(hostile(), { nil: null }),
    peer: fc.option(fc.record({ kind: peerKind, id: hostileId }), { nil: null }),
    threadId: fc.option(hostile(), { nil: null }),
    parentPeer: fc.option(fc.record({ kind: fc.constantFrom('group', 'channel', 'direct'), id: hostile() }), {
      nil: null,
    }),
    explicitKey: fc.option(hostile(24), { nil: null }),
  },
  { requiredKeys: ['channel'] },
);
const linksArb = fc.dictionary(
  fc.oneof(hostile(6), fc.constantFrom('__proto__', 'constructor', '', ' ')),
  fc.array(hostile(8), { maxLength: 3 }),
  { maxKeys: 4 },
);
const sessionArb: fc.Arbitrary<SessionConfig> = fc.record(
  { dmScope: scopeArb, mainKey: hostile(6), identityLinks: linksArb },
  { requiredKeys: [] },
);

// ───────────── the spec's normalisation (§1.1), written out independently ─────────────

const specChannel = (raw: string) => raw.trim().toLowerCase() || 'unknown';
const specPeer = (raw: string | number) =>
  (typeof raw === 'number' ? String(raw) : raw).trim().toLowerCase() || 'unknown';
const specThread = (raw: string | null | undefined) => (raw ?? '').trim().toLowerCase();

/** A deep copy of plain data (numbers such as NaN and -0 kept, unlike a JSON round trip). */
function copy<T>(value: T): T {
  if (Array.isArray(value)) return value.map(copy) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)])) as T;
  return value;
}

/** Every string inside `value`, keys included. */
function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      stringsOf(v, out);
    }
  return out;
}

function hasLoneSurrogate(text: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

// ───────────── properties ─────────────

describe('session keys under fuzzing: total and deterministic', () => {
  it(
    'given any hostile route and session config, when a key is resolved, then it never throws, is deterministic, lowercase, and names the normalised agent',
    () => {
      fc.assert(
        fc.property(routeArb, sessionArb, (route, session) => {
          const key = resolveSessionKey(route, session);
          expect(typeof key).toBe('string');
          expect(resolveSessionKey(copy(route), copy(session))).toBe(key);
          expect(key.toLowerCase()).toBe(key);
          const explicit = (route.explicitKey ?? '').trim().toLowerCase();
          if (explicit) {
            // Spec §1.5: an explicit key is kept, lowercased; without its own `agent:` prefix it gets one.
            expect(key).toBe(
              explicit.startsWith('agent:')
                ? explicit
                : `agent:${normalizeAgentId(route.agentId)}:${explicit}`,
            );
          } else {
            const agentId = normalizeAgentId(route.agentId);
            expect(agentId).toMatch(/^[a-z0-9_-]{1,64}$/);
            expect(key.startsWith(`agent:${agentId}:`)).toBe(true);
            expect(parseSessionKey(key)?.agentId).toBe(agentId);
          }
          // The readers of a key are total too.
          expect(() => [deriveChatType(key), keyRestTokens(key), parseSessionKey(key)]).not.toThrow();
          expect(['direct', 'group', 'thread']).toContain(
            classifyResetType({
              sessionKey: key,
              threadId: route.threadId ?? null,
              parentPeer: route.parentPeer ?? null,
              chatType: route.peer?.kind ?? null,
            }),
          );
          // Well-formed text in, well-formed text out: lowercasing never splits a surrogate pair.
          if (!stringsOf([route, session]).some(hasLoneSurrogate)) expect(hasLoneSurrogate(key)).toBe(false);
        }),
        { numRuns: runs(2000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given any string at all, when read back as a key, then parsing, chat type and reset type never throw',
    () => {
      fc.assert(
        fc.property(fc.oneof(hostile(30), fc.string({ unit: 'binary', maxLength: 60 })), (key) => {
          const parsed = parseSessionKey(key);
          if (parsed) {
            expect(parsed.agentId).not.toContain(':');
            expect(parsed.agentId.length).toBeGreaterThan(0);
          }
          expect(['direct', 'group', 'channel', 'unknown']).toContain(deriveChatType(key));
          expect(['direct', 'group', 'thread']).toContain(classifyResetType({ sessionKey: key }));
          expect(Array.isArray(keyRestTokens(key))).toBe(true);
        }),
        { numRuns: runs(2000) },
      );
    },
    TIMEOUT,
  );
});

describe('session keys under fuzzing: what the spec promises about normalisation', () => {
  it(
    'given a route and the same route with its ids lowercased and padded with whitespace (numbers as decimal strings), when keys are resolved, then they are the same (spec §1.1)',
    () => {
      fc.assert(
        fc.property(routeArb, sessionArb, fc.boolean(), pad, pad, (route, session, lower, before, after) => {
          const v = (s: string) => variantOf(s, lower, before, after);
          const noisy: SessionRoute = {
            ...route,
            channel: v(route.channel),
            ...(route.peer
              ? {
                  peer: {
                    kind: route.peer.kind,
                    id: typeof route.peer.id === 'number' ? v(String(route.peer.id)) : v(route.peer.id),
                  },
                }
              : {}),
            ...(route.threadId ? { threadId: v(route.threadId) } : {}),
            ...(route.explicitKey ? { explicitKey: v(route.explicitKey) } : {}),
          };
          expect(resolveSessionKey(noisy, session)).toBe(resolveSessionKey(route, session));
        }),
        { numRuns: runs(2000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given the legacy peer kind dm, when a key is resolved, then it is the key of kind direct (spec §1.2)',
    () => {
      fc.assert(
        fc.property(routeArb, sessionArb, hostileId, (route, session, id) => {
          const as = (kind: PeerKind) => resolveSessionKey({ ...route, peer: { kind, id } }, session);
          expect(as('dm')).toBe(as('direct'));
        }),
        { numRuns: runs(1000) },
      );
    },
    TIMEOUT,
  );
});

describe('session keys under fuzzing: different people never share a key under per-peer scopes', () => {
  const base = fc.record({
    agentId: fc.option(hostile(), { nil: undefined }),
    accountId: fc.option(hostile(), { nil: null }),
  });
  /** Two ids, the second often a spec-equivalent variant of the first (case, padding, number form). */
  const idPair = fc.oneof(
    fc.tuple(hostileId, hostileId),
    fc
      .tuple(hostile(), fc.boolean(), pad, pad)
      .map(([id, lower, before, after]) => [id, variantOf(id, lower, before, after)] as const),
    fc.integer().map((n) => [n, String(n)] as const),
  );

  it(
    'given an isolated dmScope, no links and no thread, when two direct peers of one channel write, then they share a key exactly when their normalised ids are equal',
    () => {
      fc.assert(
        fc.property(
          fc.constantFrom(...ISOLATED),
          base,
          hostile(),
          idPair,
          (dmScope, who, channel, [a, b]) => {
            const key = (id: string | number) =>
              resolveSessionKey({ ...who, channel, peer: { kind: 'direct', id } }, { dmScope });
            expect(key(a) === key(b)).toBe(specPeer(a) === specPeer(b));
          },
        ),
        { numRuns: runs(2000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given a channel-scoped dmScope and no links, when peers write from channels without ":", then they share a key exactly when normalised channel and id are equal',
    () => {
      const channel = hostile().filter(noColon);
      const channelPair = fc.oneof(
        fc.tuple(channel, channel),
        fc
          .tuple(channel, fc.boolean(), pad, pad)
          .map(([c, lower, before, after]) => [c, variantOf(c, lower, before, after)] as const),
      );
      fc.assert(
        fc.property(
          fc.constantFrom<DmScope>('per-channel-peer', 'per-account-channel-peer'),
          base,
          channelPair,
          idPair,
          (dmScope, who, [ca, cb], [a, b]) => {
            const key = (channel: string, id: string | number) =>
              resolveSessionKey({ ...who, channel, peer: { kind: 'direct', id } }, { dmScope });
            expect(key(ca, a) === key(cb, b)).toBe(
              specChannel(ca) === specChannel(cb) && specPeer(a) === specPeer(b),
            );
          },
        ),
        { numRuns: runs(2000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given per-account-channel-peer, when one peer writes through two accounts, then the keys differ exactly when the normalised accounts differ',
    () => {
      fc.assert(
        fc.property(hostile().filter(noColon), hostileId, hostile(), hostile(), (channel, id, a, b) => {
          const key = (accountId: string) =>
            resolveSessionKey(
              { channel, accountId, peer: { kind: 'direct', id } },
              { dmScope: 'per-account-channel-peer' },
            );
          expect(key(a) === key(b)).toBe(normalizeAccountId(a) === normalizeAccountId(b));
        }),
        { numRuns: runs(1000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given group and channel conversations and threads with ids free of ":", when keys are resolved, then they differ exactly when kind, normalised id or normalised thread differ',
    () => {
      const id = hostileId.filter((x) => noColon(String(x)));
      const conversation = fc.record({
        kind: peerKind,
        id,
        threadId: fc.option(hostile().filter(noColon), { nil: null }),
      });
      fc.assert(
        fc.property(
          scopeArb,
          hostile().filter((c) => noColon(c) && specChannel(c) !== 'telegram'),
          conversation,
          conversation,
          (dmScope, channel, a, b) => {
            const session: SessionConfig = dmScope ? { dmScope } : {};
            const key = (c: typeof a) =>
              resolveSessionKey({ channel, peer: { kind: c.kind, id: c.id }, threadId: c.threadId }, session);
            const direct = (k: PeerKind) => k === 'direct' || k === 'dm';
            const shared = (dmScope ?? 'main') === 'main';
            // Under `main` every DM shares the main key (spec §1.2); only the thread still splits it.
            const sameConversation =
              direct(a.kind) && direct(b.kind)
                ? shared || specPeer(a.id) === specPeer(b.id)
                : a.kind === b.kind && specPeer(a.id) === specPeer(b.id);
            const expected = sameConversation && specThread(a.threadId) === specThread(b.threadId);
            if (!(direct(a.kind) && direct(b.kind)) && direct(a.kind) !== direct(b.kind)) {
              // A DM and a group never share a key, whatever the scope (`main` is not a group key).
              expect(key(a) === key(b)).toBe(false);
            } else expect(key(a) === key(b)).toBe(expected);
          },
        ),
        { numRuns: runs(2000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given random identity links, when two people with different normalised ids share a key under per-peer, then a link names one of them',
    () => {
      const pool = fc.constantFrom<string | number>(
        '111',
        'Alice',
        ' alice ',
        'bob:1',
        'x.y',
        'Ünï',
        42,
        '😀',
      );
      const listed = fc.array(
        fc.oneof(
          pool.map(String),
          pool.map((p) => `telegram:${p}`),
          hostile(4),
        ),
        { maxLength: 4 },
      );
      fc.assert(
        fc.property(
          fc.dictionary(fc.oneof(hostile(4), fc.constantFrom('__proto__', 'alice')), listed, { maxKeys: 3 }),
          pool,
          pool,
          (identityLinks, a, b) => {
            fc.pre(specPeer(a) !== specPeer(b));
            const key = (id: string | number) =>
              resolveSessionKey(
                { channel: 'telegram', peer: { kind: 'direct', id } },
                { dmScope: 'per-peer', identityLinks },
              );
            if (key(a) !== key(b)) return;
            const listedIds = Object.values(identityLinks)
              .flat()
              .map((x) => x.trim().toLowerCase());
            const named = (id: string | number) =>
              listedIds.includes(specPeer(id)) || listedIds.includes(`telegram:${specPeer(id)}`);
            expect(named(a) || named(b)).toBe(true);
          },
        ),
        { numRuns: runs(1000) },
      );
    },
    TIMEOUT,
  );

  it(
    'given scope main and any hostile route without an explicit key, when a direct peer writes, then the key is the main key (spec §1.2)',
    () => {
      fc.assert(
        fc.property(routeArb, linksArb, hostile(6), hostileId, (route, identityLinks, mainKey, id) => {
          const session: SessionConfig = { dmScope: 'main', identityLinks, mainKey };
          const dm: SessionRoute = { ...route, explicitKey: null, peer: { kind: 'direct', id } };
          const key = resolveSessionKey(dm, session);
          const main = resolveMainKey(route.agentId, session);
          const thread = specThread(route.threadId);
          // The thread suffix still applies, unless a parent peer says the peer already is the thread.
          expect(key).toBe(thread && route.parentPeer == null ? `${main}:thread:${thread}` : main);
        }),
        { numRuns: runs(1000) },
      );
    },
    TIMEOUT,
  );
});
