// Scenarios recorded as golden histories (../histories/*.json). Each is a list of inputs; recording runs
// them through the current decider and stores every decision's facts, timers and answers plus the final
// snapshot. The replay test then requires today's code to reproduce them exactly — Temporal's
// "history files": a change to the machine that would alter stored sessions cannot pass unnoticed.
import type { InboundMessage, LifecycleRules, OutboundReply, SessionInput } from '../src/index.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 9, 24, 21, 30, 0); // 23:30 in Berlin, the night before the fall-back day

const daily: LifecycleRules = {
  policy: { mode: 'daily', atHour: 4, idleMinutes: 240 },
  timeZone: 'Europe/Berlin',
  quietMs: 5 * MIN,
  compactAtTokens: 2000,
  compactionTimeoutMs: 2 * MIN,
};

const dailyOnly: LifecycleRules = { ...daily, policy: { mode: 'daily', atHour: 4 } };

let n = 0;
const msg = (at: number, text: string, extra: Partial<InboundMessage> = {}): InboundMessage => {
  n += 1;
  return {
    type: 'message.inbound',
    messageId: `msg-${n}`,
    at,
    text,
    sender: { id: 'telegram:111', displayName: 'Alice', owner: true, authorized: true },
    tokens: 120,
    rules: daily,
    newSessionId: `sess-${n}`,
    ...extra,
  };
};
const reply = (at: number, text: string, extra: Partial<OutboundReply> = {}): OutboundReply => {
  n += 1;
  return { type: 'reply.outbound', replyId: `rep-${n}`, at, text, tokens: 200, ...extra };
};

export interface Scenario {
  name: string;
  description: string;
  /** Inputs; a function receives the snapshot so far (to fire whatever timer is armed). */
  steps: (
    | SessionInput
    | ((s: { context: { timers: Record<string, { id: string; dueAt: number } | null> } }) => SessionInput)
  )[];
}

const fire =
  (kind: 'expiry' | 'quiet' | 'compaction', lateBy = 0) =>
  (s: { context: { timers: Record<string, { id: string; dueAt: number } | null> } }): SessionInput => {
    const t = s.context.timers[kind];
    if (!t) throw new Error(`scenario expects a ${kind} timer`);
    return { type: 'timer.fired', timerId: t.id, at: t.dueAt + lateBy };
  };

export const scenarios: Scenario[] = [
  {
    name: 'daily-expiry-across-fall-back',
    description:
      'A conversation late at night, idle, expired on the clock at 04:00 Berlin on the fall-back day, then a new session',
    steps: [
      msg(T0, 'hi', { rules: dailyOnly }),
      reply(T0 + 20_000, 'hello!'),
      msg(T0 + 2 * MIN, 'what is on tomorrow?', { rules: dailyOnly }),
      fire('quiet', 15),
      // 04:00 in Berlin on 2026-10-25 is after the 03:00 CEST → 02:00 CET change: 03:00 UTC.
      fire('expiry', 250),
      msg(T0 + 9 * HOUR, 'good morning', { rules: dailyOnly }),
      { type: 'clock.tick', at: T0 + 10 * HOUR },
    ],
  },
  {
    name: 'compaction-with-queued-turns',
    description:
      'Automatic compaction past the threshold; turns arriving meanwhile are queued and applied afterwards',
    steps: [
      msg(T0, 'a', { tokens: 900 }),
      reply(T0 + MIN, 'b', { tokens: 900 }),
      msg(T0 + 2 * MIN, 'c', { tokens: 400 }),
      msg(T0 + 2 * MIN + 10_000, 'd'),
      reply(T0 + 2 * MIN + 20_000, 'e'),
      (s) => ({
        type: 'compaction.completed',
        compactionId: (s.context as unknown as { compaction: { id: string } }).compaction.id,
        at: T0 + 3 * MIN,
        tokensBefore: 2200,
        tokensAfter: 300,
        summary: 'the earlier turns, summarised',
        keptIds: [],
      }),
      msg(T0 + 4 * MIN, '/compact', { command: { kind: 'compact', instructions: 'keep names' } }),
      fire('compaction', 1000),
    ],
  },
  {
    name: 'reset-carry-over-and-send-override',
    description:
      'Settings and /send, then /new with a model and text: settings carried, override and counters cleared',
    steps: [
      msg(T0, 'hello'),
      { type: 'settings.updated', at: T0 + 1000, patch: { thinkingLevel: 'high', label: 'planning' } },
      msg(T0 + 2000, '/send off', { command: { kind: 'send', mode: 'deny' } }),
      msg(T0 + 3000, '/status', { command: { kind: 'status' } }),
      msg(T0 + 4000, '/new opus Plan my week', {
        command: {
          kind: 'reset',
          trigger: '/new',
          rest: 'Plan my week',
          model: { provider: 'anthropic', model: 'claude-opus-4', alias: 'opus', raw: 'opus' },
        },
      }),
      msg(T0 + 5000, 'heartbeat', { provider: 'heartbeat' }),
    ],
  },
  {
    name: 'late-message-after-idle-deadline',
    description:
      'A message after the idle deadline whose timer was never delivered: expired at the deadline, then restarted',
    steps: [
      msg(T0, 'one', { rules: { ...daily, policy: { mode: 'idle', atHour: 4, idleMinutes: 30 } } }),
      msg(T0 + 45 * MIN, 'two', {
        rules: { ...daily, policy: { mode: 'idle', atHour: 4, idleMinutes: 30 } },
      }),
    ],
  },
];
