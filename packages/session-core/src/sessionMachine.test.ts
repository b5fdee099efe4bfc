import { describe, expect, it } from 'vitest';
import type { ChatCommand } from './chatCommands.js';
import { type Decision, decide, replay, type SessionSnapshot, serializeSnapshot } from './sessionDecider.js';
import type {
  InboundMessage,
  LifecycleRules,
  OutboundReply,
  SessionImported,
  SessionInput,
} from './sessionMachine.js';

// Given/when/then specs for the lifecycle (spec §2, §2.5, §2.6, §5): given the inputs so far, when one
// more arrives, then these facts, timers and answers come out and the machine is in this state.

const MIN = 60_000;
const HOUR = 60 * MIN;
/** 2026-01-15 10:00 UTC; the next daily boundary (04:00 UTC) is 18 hours later. */
const T0 = Date.UTC(2026, 0, 15, 10, 0, 0);
const NEXT_4AM = Date.UTC(2026, 0, 16, 4, 0, 0);

const daily: LifecycleRules = {
  policy: { mode: 'daily', atHour: 4 },
  timeZone: 'UTC',
  quietMs: 5 * MIN,
  compactionTimeoutMs: 2 * MIN,
};
const idle2h: LifecycleRules = { ...daily, policy: { mode: 'idle', atHour: 4, idleMinutes: 120 } };

let counter = 0;
function msg(at: number, text = 'hello', extra: Partial<InboundMessage> = {}): InboundMessage {
  counter += 1;
  return {
    type: 'message.inbound',
    messageId: `m${counter}`,
    at,
    text,
    sender: { id: 'alice', authorized: true, owner: true },
    rules: daily,
    newSessionId: `s${counter}`,
    ...extra,
  };
}
function cmd(at: number, command: ChatCommand, extra: Partial<InboundMessage> = {}): InboundMessage {
  return msg(at, `/${command.kind}`, { command, ...extra });
}
function reply(at: number, extra: Partial<OutboundReply> = {}): OutboundReply {
  counter += 1;
  return { type: 'reply.outbound', replyId: `r${counter}`, at, text: 'sure', ...extra };
}

function given(...inputs: SessionInput[]) {
  const snapshot = replay(inputs);
  return {
    snapshot,
    when: (input: SessionInput | ((s: SessionSnapshot) => SessionInput)): Decision =>
      decide(snapshot, typeof input === 'function' ? input(snapshot) : input),
  };
}
const factTypes = (d: Decision) => d.facts.map((f) => f.type);
const timerOf = (s: SessionSnapshot, kind: 'expiry' | 'quiet' | 'compaction') => {
  const t = s.context.timers[kind];
  if (!t) throw new Error(`no ${kind} timer armed`);
  return t;
};
const fire = (s: SessionSnapshot, kind: 'expiry' | 'quiet' | 'compaction', lateBy = 0): SessionInput => {
  const t = timerOf(s, kind);
  return { type: 'timer.fired', timerId: t.id, at: t.dueAt + lateBy };
};

describe('a first message', () => {
  it('starts a session with the id it carries, records the message, and arms expiry and quiet timers', () => {
    const first = msg(T0);
    const d = given().when(first);
    expect(d.snapshot.state).toBe('active');
    expect(d.facts).toEqual([
      expect.objectContaining({
        type: 'SessionStarted',
        sessionId: first.newSessionId,
        reason: 'first',
        previousSessionId: null,
      }),
      expect.objectContaining({ type: 'MessageRecorded', messageId: first.messageId, system: false }),
    ]);
    expect(d.timers.cancel).toEqual([]);
    expect(d.timers.schedule.map((t) => [t.kind, t.dueAt]).sort()).toEqual([
      ['expiry', NEXT_4AM],
      ['quiet', T0 + 5 * MIN],
    ]);
  });
});

describe('quiet and idle', () => {
  it('goes idle when the quiet timer fires, and back to active on the next message, same session', () => {
    const g = given(msg(T0));
    const idled = g.when((s) => fire(s, 'quiet', 1234));
    expect(idled.snapshot.state).toBe('idle');
    expect(idled.facts).toEqual([
      { type: 'SessionIdled', at: T0 + 5 * MIN, sessionId: g.snapshot.context.sessionId },
    ]);
    const back = decide(idled.snapshot, msg(T0 + 30 * MIN));
    expect(back.snapshot.state).toBe('active');
    expect(back.snapshot.context.sessionId).toBe(g.snapshot.context.sessionId);
    expect(factTypes(back)).toEqual(['MessageRecorded']);
  });

  it('ignores a quiet timer that activity has superseded', () => {
    const g = given(msg(T0));
    const staleQuiet = fire(g.snapshot, 'quiet');
    const later = decide(g.snapshot, msg(T0 + 2 * MIN)).snapshot;
    const d = decide(later, staleQuiet);
    expect(d.snapshot.state).toBe('active');
    expect(d.facts).toEqual([]);
  });
});

describe('expiry on the clock (Beyond: sessions end at the deadline, not at the next message)', () => {
  it('expires with reason daily at the 04:00 boundary when the timer fires, even if it fires late', () => {
    const g = given(msg(T0));
    const d = g.when((s) => fire(s, 'expiry', 5_000));
    expect(d.snapshot.state).toBe('expired');
    expect(d.facts).toEqual([
      { type: 'SessionExpired', at: NEXT_4AM, sessionId: g.snapshot.context.sessionId, reason: 'daily' },
    ]);
    expect(d.timers.cancel.map((t) => t.kind)).toEqual(['quiet']);
  });

  it('expires with reason idle one millisecond after last activity + idleMinutes', () => {
    const g = given(msg(T0, 'hi', { rules: idle2h }));
    expect(timerOf(g.snapshot, 'expiry').dueAt).toBe(T0 + 120 * MIN + 1);
    const d = g.when((s) => fire(s, 'expiry'));
    expect(d.facts).toEqual([
      {
        type: 'SessionExpired',
        at: T0 + 120 * MIN + 1,
        sessionId: g.snapshot.context.sessionId,
        reason: 'idle',
      },
    ]);
  });

  it('starts a new session with a new id on the next message, naming the previous one and the reason', () => {
    const g = given(msg(T0));
    const expired = g.when((s) => fire(s, 'expiry')).snapshot;
    const next = msg(NEXT_4AM + HOUR);
    const d = decide(expired, next);
    expect(d.snapshot.state).toBe('active');
    expect(d.facts[0]).toMatchObject({
      type: 'SessionStarted',
      sessionId: next.newSessionId,
      reason: 'daily',
      previousSessionId: g.snapshot.context.sessionId,
    });
    expect(d.snapshot.context.sessionId).not.toBe(g.snapshot.context.sessionId);
  });

  it('answers a message that arrives after the deadline but before the timer was processed exactly as the rule says', () => {
    const g = given(msg(T0));
    const late = msg(NEXT_4AM + 10 * MIN);
    const lazy = g.when(late);
    // The timer path, for comparison: the timer fires, then the same message arrives.
    const viaTimer = decide(decide(g.snapshot, fire(g.snapshot, 'expiry')).snapshot, late);
    const timerFacts = [...decide(g.snapshot, fire(g.snapshot, 'expiry')).facts, ...viaTimer.facts];
    expect(lazy.facts).toEqual(timerFacts);
    expect(serializeSnapshot(lazy.snapshot)).toBe(serializeSnapshot(viaTimer.snapshot));
    expect(lazy.facts[0]).toEqual({
      type: 'SessionExpired',
      at: NEXT_4AM,
      sessionId: g.snapshot.context.sessionId,
      reason: 'daily',
    });
  });

  it('keeps a session fresh when activity moves the deadline; the superseded expiry timer is ignored', () => {
    const g = given(msg(T0, 'a', { rules: idle2h }));
    const oldTimer = fire(g.snapshot, 'expiry');
    const renewed = decide(g.snapshot, msg(T0 + 60 * MIN, 'b', { rules: idle2h }));
    expect(renewed.timers.cancel.map((t) => t.kind).sort()).toEqual(['expiry', 'quiet']);
    // A cancel names the due time it was armed for (a time-indexed timer store finds it by that).
    expect(renewed.timers.cancel.find((t) => t.kind === 'expiry')).toEqual({
      timerId: (oldTimer as { timerId: string }).timerId,
      kind: 'expiry',
      dueAt: timerOf(g.snapshot, 'expiry').dueAt,
    });
    const d = decide(renewed.snapshot, oldTimer);
    expect(d.snapshot.state).toBe('active');
    expect(d.facts).toEqual([]);
  });

  it('counts agent replies as activity, but not replies to system turns', () => {
    const g = given(msg(T0, 'a', { rules: idle2h }));
    const r = decide(g.snapshot, reply(T0 + 30 * MIN));
    expect(timerOf(r.snapshot, 'expiry').dueAt).toBe(T0 + 150 * MIN + 1);
    const sys = decide(g.snapshot, reply(T0 + 30 * MIN, { system: true }));
    expect(timerOf(sys.snapshot, 'expiry').dueAt).toBe(T0 + 120 * MIN + 1);
  });
});

describe('system turns (heartbeat, cron-event, exec-event) never reset a session and never count as activity', () => {
  it.each(['heartbeat', 'cron-event', 'exec-event'])(
    '%s is recorded without moving the deadline',
    (provider) => {
      const g = given(msg(T0, 'a', { rules: idle2h }));
      const d = g.when(msg(T0 + 60 * MIN, 'tick', { provider, rules: idle2h }));
      expect(d.facts).toEqual([expect.objectContaining({ type: 'MessageRecorded', system: true })]);
      expect(d.timers).toEqual({ schedule: [], cancel: [] });
      expect(d.snapshot.context.lastActivityAt).toBe(T0);
    },
  );

  it('a system turn after the deadline starts nothing, and the old session still ends at its deadline', () => {
    const g = given(msg(T0));
    const d = g.when(msg(NEXT_4AM + HOUR, 'tick', { provider: 'heartbeat' }));
    expect(d.snapshot.state).toBe('expired');
    expect(factTypes(d)).toEqual(['SessionExpired', 'MessageRecorded']);
    expect(d.facts[0]).toMatchObject({ at: NEXT_4AM, reason: 'daily' });
    expect(d.facts[1]).toMatchObject({ system: true, sessionId: g.snapshot.context.sessionId });
  });

  it('a system turn on an expired session does not start a new one', () => {
    const expired = given(msg(T0)).when((s) => fire(s, 'expiry')).snapshot;
    const d = decide(expired, msg(NEXT_4AM + HOUR, 'tick', { provider: 'cron-event' }));
    expect(d.snapshot.state).toBe('expired');
    expect(d.facts).toEqual([
      expect.objectContaining({
        type: 'MessageRecorded',
        system: true,
        sessionId: expired.context.sessionId,
      }),
    ]);
  });

  it('a system turn on a brand-new key starts nothing', () => {
    const d = given().when(msg(T0, 'tick', { provider: 'heartbeat' }));
    expect(d.snapshot.state).toBe('new');
    expect(d.facts).toEqual([
      expect.objectContaining({ type: 'MessageRecorded', system: true, sessionId: null }),
    ]);
  });
});

describe('manual reset (spec §2.5, §2.6)', () => {
  const reset = (rest = '', extra: Partial<Extract<ChatCommand, { kind: 'reset' }>> = {}): ChatCommand => ({
    kind: 'reset',
    trigger: '/new',
    rest,
    ...extra,
  });

  it('starts a new session from active, carrying the person settings over and clearing counters and the send override', () => {
    const g = given(
      msg(T0),
      {
        type: 'settings.updated',
        at: T0 + 1,
        patch: { thinkingLevel: 'high', label: 'work', modelOverride: 'opus' },
      },
      cmd(T0 + 2, { kind: 'send', mode: 'deny' }),
      msg(T0 + 3, 'more', { tokens: 500 }),
    );
    expect(g.snapshot.context.sendOverride).toBe('deny');
    const r = cmd(T0 + 10, reset());
    const d = g.when(r);
    expect(factTypes(d)).toEqual(['SessionReset', 'SessionStarted']);
    expect(d.facts[0]).toMatchObject({ sessionId: g.snapshot.context.sessionId, trigger: '/new' });
    expect(d.facts[1]).toMatchObject({
      reason: 'reset',
      sessionId: r.newSessionId,
      previousSessionId: g.snapshot.context.sessionId,
    });
    const ctx = d.snapshot.context;
    expect(ctx.settings).toEqual({ thinkingLevel: 'high', label: 'work', modelOverride: 'opus' });
    expect(ctx.sendOverride).toBeNull();
    expect(ctx.tokens).toEqual({ input: 0, output: 0, total: 0, context: 0 });
    expect(ctx.compactionCount).toBe(0);
  });

  it('makes the rest of the text the first message of the new session, with its case kept', () => {
    const r = cmd(T0 + 10, reset('Plan My Week'));
    const d = given(msg(T0)).when(r);
    expect(factTypes(d)).toEqual(['SessionReset', 'SessionStarted', 'MessageRecorded']);
    expect(d.facts[2]).toMatchObject({ sessionId: r.newSessionId, messageId: r.messageId });
  });

  it('records the model override of `/new <model>` in the new session', () => {
    const d = given(msg(T0)).when(
      cmd(
        T0 + 10,
        reset('', { model: { provider: 'anthropic', model: 'claude-opus-4', raw: 'opus', alias: 'opus' } }),
      ),
    );
    expect(d.snapshot.context.settings).toMatchObject({
      providerOverride: 'anthropic',
      modelOverride: 'claude-opus-4',
    });
  });

  it('works from idle, expired and a brand-new key', () => {
    const idle = given(msg(T0)).when((s) => fire(s, 'quiet')).snapshot;
    const expired = given(msg(T0)).when((s) => fire(s, 'expiry')).snapshot;
    const fromIdle = decide(idle, cmd(T0 + HOUR, reset()));
    expect(fromIdle.snapshot.state).toBe('active');
    expect(factTypes(fromIdle)).toEqual(['SessionReset', 'SessionStarted']);
    // An expired session has already ended: nothing to reset, a new one starts (settings carried over).
    const fromExpired = decide(expired, cmd(NEXT_4AM + HOUR, reset()));
    expect(fromExpired.snapshot.state).toBe('active');
    expect(factTypes(fromExpired)).toEqual(['SessionStarted']);
    expect(fromExpired.facts[0]).toMatchObject({
      reason: 'reset',
      previousSessionId: expired.context.sessionId,
    });
    // A reset that arrives after the deadline, before the expiry was processed: the same as via the timer.
    const late = cmd(NEXT_4AM + HOUR, reset());
    const live = given(msg(T0)).snapshot;
    expect(factTypes(decide(live, late))).toEqual(['SessionExpired', 'SessionStarted']);
    const fresh = given().when(cmd(T0, reset()));
    expect(factTypes(fresh)).toEqual(['SessionStarted']);
    expect(fresh.facts[0]).toMatchObject({ reason: 'reset', previousSessionId: null });
  });

  it('an automatic ending carries nothing over', () => {
    const g = given(msg(T0), { type: 'settings.updated', at: T0 + 1, patch: { thinkingLevel: 'high' } });
    const expired = decide(g.snapshot, fire(g.snapshot, 'expiry')).snapshot;
    const d = decide(expired, msg(NEXT_4AM + HOUR));
    expect(d.snapshot.context.settings).toEqual({});
  });

  it('an operator reset behaves like /reset', () => {
    const d = given(msg(T0)).when({
      type: 'session.reset',
      at: T0 + 5,
      trigger: 'operator',
      newSessionId: 'op-1',
      rules: daily,
    });
    expect(factTypes(d)).toEqual(['SessionReset', 'SessionStarted']);
    expect(d.snapshot.context.sessionId).toBe('op-1');
  });
});

describe('the reset answer and the agent health marks', () => {
  it('given an active session, when /new opus arrives, then the answer names the new session and the chosen model', () => {
    const g = given(msg(T0));
    const r = cmd(T0 + 10, {
      kind: 'reset',
      trigger: '/new',
      rest: '',
      model: { provider: 'anthropic', model: 'claude-opus-4', alias: 'opus', raw: 'opus' },
    });
    const d = g.when(r);
    expect(d.answers).toEqual([
      {
        sessionId: r.newSessionId,
        inReplyTo: r.messageId,
        answer: {
          kind: 'reset',
          trigger: '/new',
          sessionId: r.newSessionId,
          model: { provider: 'anthropic', model: 'claude-opus-4' },
        },
      },
    ]);
  });

  it('given an operator reset, when applied, then nobody in the chat asked, so nothing is answered', () => {
    const d = given(msg(T0)).when({
      type: 'session.reset',
      at: T0 + 10,
      trigger: 'operator',
      newSessionId: 's-op',
      rules: daily,
    });
    expect(d.answers).toEqual([]);
  });

  it('given messages and replies, then the last message and the last reply are kept apart, replies included after the session ended', () => {
    const g = given(msg(T0), reply(T0 + 5_000), msg(T0 + 9_000));
    expect(g.snapshot.context).toMatchObject({ lastMessageAt: T0 + 9_000, lastReplyAt: T0 + 5_000 });
    const late = decide(decide(g.snapshot, fire(g.snapshot, 'expiry')).snapshot, reply(NEXT_4AM + 1));
    expect(late.snapshot.context).toMatchObject({ lastMessageAt: T0 + 9_000, lastReplyAt: NEXT_4AM + 1 });
  });

  it('given a reply to the last message, when /status arrives, then the command does not count as a message awaiting the agent', () => {
    const g = given(msg(T0), reply(T0 + 5_000));
    const d = g.when(cmd(T0 + 9_000, { kind: 'status' }));
    expect(d.snapshot.context).toMatchObject({ lastMessageAt: T0, lastReplyAt: T0 + 5_000 });
  });
});

describe('commands answered in the session', () => {
  it('/status and /context are recorded as activity and answered', () => {
    const g = given(msg(T0));
    const status = cmd(T0 + 1, { kind: 'status' });
    expect(g.when(status).answers).toEqual([
      { sessionId: g.snapshot.context.sessionId, inReplyTo: status.messageId, answer: { kind: 'status' } },
    ]);
    expect(g.when(cmd(T0 + 1, { kind: 'context', mode: 'json' })).answers[0]?.answer).toEqual({
      kind: 'context',
      mode: 'json',
    });
  });

  it('/send sets and clears the per-session override', () => {
    const g = given(msg(T0));
    const off = g.when(cmd(T0 + 1, { kind: 'send', mode: 'deny' }));
    expect(off.snapshot.context.sendOverride).toBe('deny');
    expect(off.facts).toContainEqual(
      expect.objectContaining({ type: 'SendPolicyChanged', override: 'deny' }),
    );
    const inherit = decide(off.snapshot, cmd(T0 + 2, { kind: 'send', mode: 'inherit' }));
    expect(inherit.snapshot.context.sendOverride).toBeNull();
  });
});

describe('compaction', () => {
  const compact = (instructions?: string): ChatCommand =>
    instructions ? { kind: 'compact', instructions } : { kind: 'compact' };
  const history = () => [
    msg(T0, 'a', { tokens: 100 }),
    reply(T0 + 1, { tokens: 50 }),
    msg(T0 + 2, 'b', { tokens: 100 }),
  ];

  it('/compact with too little history is skipped with a reason and stays active', () => {
    const d = given(msg(T0)).when(cmd(T0 + 1, compact()));
    expect(d.snapshot.state).toBe('active');
    expect(d.answers[0]?.answer).toEqual({ kind: 'compact-skipped', reason: 'nothing to compact yet' });
    expect(d.compactions).toEqual([]);
  });

  it('/compact enters compacting, asks the host to summarise with the instructions, and arms a time limit', () => {
    const d = given(...history()).when(cmd(T0 + 10, compact('keep the numbers')));
    expect(d.snapshot.state).toBe('compacting');
    expect(d.compactions).toEqual([
      expect.objectContaining({ instructions: 'keep the numbers', deadlineAt: T0 + 10 + 2 * MIN }),
    ]);
    expect(d.facts).toContainEqual(
      expect.objectContaining({ type: 'CompactionStarted', trigger: 'manual', tokensBefore: 250 }),
    );
    expect(timerOf(d.snapshot, 'compaction').dueAt).toBe(T0 + 10 + 2 * MIN);
  });

  it('queues messages that arrive while compacting and applies them in order afterwards, none lost', () => {
    const g = given(...history(), cmd(T0 + 10, compact()));
    const id = g.snapshot.context.compaction?.id as string;
    const during = [msg(T0 + 20, 'x'), reply(T0 + 21), msg(T0 + 22, 'y')];
    let s = g.snapshot;
    for (const input of during) {
      const d = decide(s, input);
      expect(d.snapshot.state).toBe('compacting');
      expect(factTypes(d)).toEqual([input.type === 'message.inbound' ? 'MessageQueued' : 'ReplyQueued']);
      s = d.snapshot;
    }
    const done = decide(s, {
      type: 'compaction.completed',
      compactionId: id,
      at: T0 + 30,
      tokensBefore: 250,
      tokensAfter: 40,
      summary: 'the earlier turns, summarised',
      keptIds: [],
    });
    expect(done.snapshot.state).toBe('active');
    expect(factTypes(done)).toEqual([
      'CompactionCompleted',
      'MessageRecorded',
      'ReplyRecorded',
      'MessageRecorded',
    ]);
    expect(
      done.facts.slice(1).map((f) => ('messageId' in f ? f.messageId : 'replyId' in f ? f.replyId : '')),
    ).toEqual(during.map((i) => (i.type === 'message.inbound' ? i.messageId : i.replyId)));
    expect(done.snapshot.context).toMatchObject({ compactionCount: 1, pending: [] });
    expect(done.answers.map((a) => a.answer)).toEqual([
      { kind: 'compact-done', tokensBefore: 250, tokensAfter: 40 },
    ]);
  });

  it('a failing summariser leaves the session active, answers with the reason, and loses nothing', () => {
    const g = given(...history(), cmd(T0 + 10, compact()));
    const queued = decide(g.snapshot, msg(T0 + 20, 'x')).snapshot;
    const id = g.snapshot.context.compaction?.id as string;
    const d = decide(queued, {
      type: 'compaction.failed',
      compactionId: id,
      at: T0 + 25,
      reason: 'endpoint returned 503',
    });
    expect(d.snapshot.state).toBe('active');
    expect(d.snapshot.context.compactionCount).toBe(0);
    expect(d.answers.map((a) => a.answer)).toEqual([
      { kind: 'compact-failed', reason: 'endpoint returned 503' },
    ]);
    expect(factTypes(d)).toEqual(['CompactionFailed', 'MessageRecorded']);
  });

  it('a summariser that does not finish in time fails at its deadline', () => {
    const g = given(...history(), cmd(T0 + 10, compact()));
    const d = g.when((s) => fire(s, 'compaction', 50));
    expect(d.snapshot.state).toBe('active');
    expect(d.facts).toEqual([expect.objectContaining({ type: 'CompactionFailed', at: T0 + 10 + 2 * MIN })]);
    // Its late result is ignored.
    const id = g.snapshot.context.compaction?.id as string;
    const late = decide(d.snapshot, {
      type: 'compaction.completed',
      compactionId: id,
      at: T0 + 5 * MIN,
      tokensBefore: 1,
      tokensAfter: 1,
      summary: 'the earlier turns, summarised',
      keptIds: [],
    });
    expect(late.facts).toEqual([]);
    expect(late.snapshot.context.compactionCount).toBe(0);
  });

  it('starts by itself when the context passes the threshold', () => {
    const rules = { ...daily, compactAtTokens: 1000 };
    const g = given(msg(T0, 'a', { tokens: 600, rules }));
    const d = g.when(msg(T0 + 1, 'b', { tokens: 500, rules }));
    expect(d.snapshot.state).toBe('compacting');
    expect(factTypes(d)).toEqual(['MessageRecorded', 'CompactionStarted']);
    expect(d.facts[1]).toMatchObject({ trigger: 'auto', tokensBefore: 1100 });
  });

  it('a queued heartbeat applied after a failed compaction does not move time back: the next automatic compaction is timed from now', () => {
    const rules = { ...daily, compactAtTokens: 1000 };
    const g = given(
      msg(T0, 'a', { tokens: 400, rules }),
      msg(T0 + MIN, 'b', { tokens: 400, rules }),
      msg(T0 + 2 * MIN, 'c', { tokens: 400, rules }),
    );
    expect(g.snapshot.state).toBe('compacting');
    const id = g.snapshot.context.compaction?.id as string;
    let s = decide(g.snapshot, msg(T0 + 3 * MIN, 'tick', { provider: 'heartbeat', rules })).snapshot;
    s = decide(s, msg(T0 + 4 * MIN, 'd', { tokens: 400, rules })).snapshot;
    const failedAt = T0 + 6 * MIN;
    const d = decide(s, { type: 'compaction.failed', compactionId: id, at: failedAt, reason: 'boom' });
    // The queued turn pushes the context past the threshold again: a new compaction starts, at failedAt.
    expect(d.facts.find((f) => f.type === 'CompactionStarted')).toMatchObject({
      at: failedAt,
      deadlineAt: failedAt + 2 * MIN,
    });
    expect(d.snapshot.context.updatedAt).toBe(failedAt);
  });

  it('a reset while compacting cancels it, applies what was queued to the old session, then starts the new one', () => {
    const g = given(...history(), cmd(T0 + 10, compact()));
    const queued = decide(g.snapshot, msg(T0 + 20, 'x')).snapshot;
    const r = cmd(T0 + 30, { kind: 'reset', trigger: '/reset', rest: '' });
    const d = decide(queued, r);
    expect(d.snapshot.state).toBe('active');
    expect(factTypes(d)).toEqual(['CompactionFailed', 'MessageRecorded', 'SessionReset', 'SessionStarted']);
    expect(d.facts[1]).toMatchObject({ sessionId: g.snapshot.context.sessionId });
    expect(d.snapshot.context.sessionId).toBe(r.newSessionId);
  });

  it('an expiry that falls due while compacting is applied when compaction ends', () => {
    const g = given(
      msg(T0, 'a', { rules: idle2h }),
      reply(T0 + 1),
      msg(T0 + 2, 'b', { rules: idle2h }),
      cmd(T0 + 10, compact(), { rules: idle2h }),
    );
    const expiryDue = timerOf(g.snapshot, 'expiry');
    const ignored = decide(g.snapshot, { type: 'timer.fired', timerId: expiryDue.id, at: expiryDue.dueAt });
    expect(ignored.snapshot.state).toBe('compacting');
    const id = g.snapshot.context.compaction?.id as string;
    const d = decide(ignored.snapshot, {
      type: 'compaction.completed',
      compactionId: id,
      at: expiryDue.dueAt + 10,
      tokensBefore: 1,
      tokensAfter: 1,
      summary: 'the earlier turns, summarised',
      keptIds: [],
    });
    expect(d.snapshot.state).toBe('expired');
    expect(factTypes(d)).toEqual(['CompactionCompleted', 'SessionExpired']);
    expect(d.facts[1]).toMatchObject({ at: expiryDue.dueAt, reason: 'idle' });
  });
});

describe('snapshots', () => {
  it('are plain JSON stamped with the machine version and restore to the same behaviour', () => {
    const inputs = [msg(T0), reply(T0 + 1), msg(T0 + 2, 'x', { tokens: 30 })];
    const snapshot = replay(inputs);
    const json = serializeSnapshot(snapshot);
    const restored = JSON.parse(json) as SessionSnapshot;
    expect(restored.machineVersion).toBe(snapshot.machineVersion);
    const next = msg(T0 + HOUR);
    expect(serializeSnapshot(decide(restored, next).snapshot)).toBe(
      serializeSnapshot(decide(snapshot, next).snapshot),
    );
  });

  it('refuses a snapshot from another machine version', () => {
    const snapshot = replay([msg(T0)]);
    expect(() => decide({ ...snapshot, machineVersion: 999 }, msg(T0 + 1))).toThrow(/machine version 999/);
  });
});

describe('privacy: a shared DM session (spec §6, Beyond)', () => {
  const alice = { id: 'telegram:alice', authorized: true };
  const bob = { id: 'whatsapp:bob', authorized: true };
  const dm = (at: number, sender: InboundMessage['sender'], extra: Partial<InboundMessage> = {}) =>
    msg(at, 'hi', { sender, sharedDm: true, ...extra });

  it('given Alice in the shared session, when Bob writes, then one warning names both and is kept on the session', () => {
    const d = given(dm(T0, alice), dm(T0 + MIN, alice)).when(dm(T0 + 2 * MIN, bob));
    expect(factTypes(d)).toEqual(['MessageRecorded', 'PrivacyWarning']);
    expect(d.facts[1]).toMatchObject({
      kind: 'shared-dm',
      senderIds: ['telegram:alice', 'whatsapp:bob'],
      recommendation: 'per-channel-peer',
      at: T0 + 2 * MIN,
    });
    expect(d.snapshot.context.privacyWarning).toEqual({
      at: T0 + 2 * MIN,
      senderIds: ['telegram:alice', 'whatsapp:bob'],
    });
  });

  it('given the warning, when a third person or the same people write again, then no second warning', () => {
    const carol = { id: 'discord:carol' };
    const d = given(dm(T0, alice), dm(T0 + MIN, bob)).when(dm(T0 + 2 * MIN, carol));
    expect(factTypes(d)).toEqual(['MessageRecorded']);
    expect(d.snapshot.context.dmSenders).toEqual(['telegram:alice', 'whatsapp:bob', 'discord:carol']);
  });

  it('given one person only, or messages not in a shared DM, or system turns, then no warning', () => {
    expect(factTypes(given(dm(T0, alice)).when(dm(T0 + MIN, alice)))).toEqual(['MessageRecorded']);
    expect(
      factTypes(given(msg(T0, 'x', { sender: alice })).when(msg(T0 + MIN, 'y', { sender: bob }))),
    ).toEqual(['MessageRecorded']);
    const heartbeat = dm(T0 + MIN, { id: 'system' }, { provider: 'heartbeat' });
    expect(factTypes(given(dm(T0, alice)).when(heartbeat))).not.toContain('PrivacyWarning');
  });

  it('given a warned session, when it is reset, then the new session starts without senders or warning', () => {
    const reset = cmd(
      T0 + 3 * MIN,
      { kind: 'reset', trigger: '/new', rest: '' },
      { sender: alice, sharedDm: true },
    );
    const d = given(dm(T0, alice), dm(T0 + MIN, bob)).when(reset);
    expect(d.snapshot.context.privacyWarning).toBeNull();
    expect(d.snapshot.context.dmSenders.length).toBeLessThanOrEqual(1);
    // The reset turn itself is not a message of the new session: Bob is its first person, Alice its second.
    const after = given(dm(T0, alice), dm(T0 + MIN, bob), reset, dm(T0 + 4 * MIN, bob));
    expect(factTypes(after.when(dm(T0 + 5 * MIN, bob)))).toEqual(['MessageRecorded']);
    expect(factTypes(after.when(dm(T0 + 5 * MIN, alice)))).toEqual(['MessageRecorded', 'PrivacyWarning']);
  });
});

describe('origin and delivery route (spec §4)', () => {
  const telegram = { channel: 'telegram', to: '111', chatType: 'direct', accountId: 'default' };
  const discord = { channel: 'discord', to: 'alice#1', chatType: 'direct' };

  it('given a first message, then it is both the origin and the delivery route', () => {
    const d = given().when(msg(T0, 'hi', { route: telegram }));
    expect(d.snapshot.context.origin).toEqual(telegram);
    expect(d.snapshot.context.lastRoute).toEqual(telegram);
  });

  it('given a session, when the same person writes from another channel, then replies follow them but the origin stays', () => {
    const d = given(msg(T0, 'hi', { route: telegram })).when(msg(T0 + MIN, 'here now', { route: discord }));
    expect(d.snapshot.context.origin).toEqual(telegram);
    expect(d.snapshot.context.lastRoute).toEqual(discord);
  });

  it('given a system turn, then neither changes', () => {
    const d = given(msg(T0, 'hi', { route: telegram })).when(
      msg(T0 + MIN, 'tick', { provider: 'heartbeat', route: discord }),
    );
    expect(d.snapshot.context.lastRoute).toEqual(telegram);
  });

  it('given a session that ends, when the next one starts from another channel, then it has its own origin', () => {
    const d = given(msg(T0, 'hi', { route: telegram })).when(
      msg(NEXT_4AM + MIN, 'morning', { route: discord }),
    );
    expect(factTypes(d)).toContain('SessionStarted');
    expect(d.snapshot.context.origin).toEqual(discord);
    expect(d.snapshot.context.lastRoute).toEqual(discord);
  });
});

describe('the delivery gate (spec §3)', () => {
  it('given a reply the policy allows, then it is recorded with its verdict and nothing is blocked', () => {
    const d = given(msg(T0)).when(reply(T0 + MIN, { delivery: { decision: 'allow', source: 'default' } }));
    expect(factTypes(d)).toEqual(['ReplyRecorded']);
    expect(d.facts[0]).toMatchObject({ delivery: { decision: 'allow', source: 'default' } });
  });

  it('given a reply the policy denies, then it is still recorded, and blocked with the rule that denied it', () => {
    const d = given(msg(T0)).when(
      reply(T0 + MIN, { delivery: { decision: 'deny', source: 'rule', rule: 2 } }),
    );
    expect(factTypes(d)).toEqual(['ReplyRecorded', 'DeliveryBlocked']);
    expect(d.facts[1]).toMatchObject({
      source: 'rule',
      rule: 2,
      replyId: d.facts[0]?.type === 'ReplyRecorded' ? d.facts[0].replyId : '',
    });
    expect(d.snapshot.context.messageCount).toBe(2);
  });

  it('given a reply after its session ended, then the gate still applies to it', () => {
    const s = given(msg(T0, 'hi', { rules: idle2h }));
    const ended = decide(s.snapshot, fire(s.snapshot, 'expiry')).snapshot;
    const d = decide(ended, reply(T0 + 3 * HOUR, { delivery: { decision: 'deny', source: 'override' } }));
    expect(factTypes(d)).toEqual(['ReplyRecorded', 'DeliveryBlocked']);
  });
});

describe('operator controls (outside the chat)', () => {
  it('sets the send override of the running session, recorded, with no answer and no activity', () => {
    const g = given(msg(T0, 'hi'));
    const d = g.when({ type: 'send-policy.set', at: T0 + 5 * MIN, override: 'deny' });
    expect(d.facts).toEqual([
      {
        type: 'SendPolicyChanged',
        at: T0 + 5 * MIN,
        sessionId: g.snapshot.context.sessionId,
        override: 'deny',
      },
    ]);
    expect(d.snapshot.context.sendOverride).toBe('deny');
    expect(d.snapshot.context.lastActivityAt).toBe(T0);
    expect(d.answers).toEqual([]);
    expect(d.timers).toEqual({ schedule: [], cancel: [] });
    const back = decide(d.snapshot, { type: 'send-policy.set', at: T0 + 6 * MIN, override: null });
    expect(back.snapshot.context.sendOverride).toBeNull();
  });

  it('changes nothing when no session runs (the override belongs to a session)', () => {
    const d = given().when({ type: 'send-policy.set', at: T0, override: 'deny' });
    expect(d.facts).toEqual([]);
    expect(d.snapshot.context.sendOverride).toBeNull();
  });

  it('starts a manual compaction with history to summarise, answering nobody; without it, does nothing', () => {
    const g = given(msg(T0, 'one'), reply(T0 + 1), msg(T0 + 2, 'two'));
    const d = g.when({ type: 'compaction.requested', at: T0 + 3, instructions: 'keep numbers' });
    expect(d.snapshot.state).toBe('compacting');
    expect(d.facts).toEqual([
      expect.objectContaining({ type: 'CompactionStarted', trigger: 'manual', instructions: 'keep numbers' }),
    ]);
    expect(d.compactions).toHaveLength(1);
    expect(d.answers).toEqual([]);
    expect(d.snapshot.context.compaction?.requestedBy).toBeNull();
    // A second request while compacting changes nothing.
    expect(decide(d.snapshot, { type: 'compaction.requested', at: T0 + 4 }).facts).toEqual([]);
    // Its end — done or failed — answers nobody either.
    const compactionId = d.compactions[0]?.compactionId as string;
    const done = decide(d.snapshot, {
      type: 'compaction.completed',
      compactionId,
      at: T0 + 5,
      tokensBefore: 30,
      tokensAfter: 10,
      summary: 'sum',
      keptIds: [],
    });
    expect(done.facts.map((f) => f.type)).toContain('CompactionCompleted');
    expect(done.answers).toEqual([]);
    const failed = decide(d.snapshot, { type: 'compaction.failed', compactionId, at: T0 + 5, reason: 'no' });
    expect(failed.facts.map((f) => f.type)).toContain('CompactionFailed');
    expect(failed.answers).toEqual([]);
    // Too little history: nothing.
    const short = given(msg(T0, 'only')).when({ type: 'compaction.requested', at: T0 + 1 });
    expect(short.facts).toEqual([]);
    expect(short.snapshot.state).toBe('active');
  });
});

describe('an imported session (threadline import --openclaw)', () => {
  const imported = (extra: Partial<SessionImported> = {}): SessionImported => ({
    type: 'session.imported',
    at: T0 + HOUR,
    source: 'openclaw',
    sessionId: 'oc-1',
    startedAt: T0 - 2 * HOUR,
    updatedAt: T0 - 10 * MIN,
    lastActivityAt: T0 - 10 * MIN,
    settings: { label: 'travel', modelOverride: 'gpt-x' },
    sendOverride: 'deny',
    tokens: { input: 100, output: 50, total: 150, context: 70 },
    compactionCount: 1,
    origin: { channel: 'telegram', to: '111', chatType: 'direct' },
    lastRoute: { channel: 'telegram', to: '111', chatType: 'direct', accountId: 'bot1' },
    turns: [
      { id: 'c1', role: 'summary', text: 'earlier: flights', at: T0 - HOUR, tokens: 30 },
      { id: 'u1', role: 'user', text: 'and hotels?', at: T0 - 30 * MIN, tokens: 20, senderId: '111' },
      { id: 'a1', role: 'assistant', text: 'two options', at: T0 - 10 * MIN, tokens: 20 },
    ],
    rules: idle2h,
    ...extra,
  });

  it('given a key that never had a session, it runs from its own times, counters, settings and routes', () => {
    const d = given().when(imported());
    expect(d.snapshot.state).toBe('active');
    const c = d.snapshot.context;
    expect(c).toMatchObject({
      sessionId: 'oc-1',
      previousSessionId: null,
      startedAt: T0 - 2 * HOUR,
      updatedAt: T0 - 10 * MIN,
      lastActivityAt: T0 - 10 * MIN,
      settings: { label: 'travel', modelOverride: 'gpt-x' },
      sendOverride: 'deny',
      tokens: { input: 100, output: 50, total: 150, context: 70 },
      compactionCount: 1,
      messageCount: 2,
      turnsSinceCompaction: 2,
      lastMessageAt: T0 - 30 * MIN,
      lastReplyAt: T0 - 10 * MIN,
      origin: { channel: 'telegram', to: '111', chatType: 'direct' },
      lastRoute: { channel: 'telegram', to: '111', chatType: 'direct', accountId: 'bot1' },
    });
    expect(d.facts).toEqual([
      {
        type: 'SessionImported',
        at: T0 + HOUR,
        sessionId: 'oc-1',
        source: 'openclaw',
        startedAt: T0 - 2 * HOUR,
        policy: idle2h.policy,
        timeZone: 'UTC',
        turns: [
          { id: 'c1', role: 'summary', at: T0 - HOUR, tokens: 30 },
          { id: 'u1', role: 'user', at: T0 - 30 * MIN, tokens: 20 },
          { id: 'a1', role: 'assistant', at: T0 - 10 * MIN, tokens: 20 },
        ],
      },
    ]);
    // The clock is measured from its last activity, not from the import (stale from the next millisecond).
    expect(d.timers.schedule.map((t) => [t.kind, t.dueAt]).sort()).toEqual([
      ['expiry', T0 - 10 * MIN + 2 * HOUR + 1],
      ['quiet', T0 - 10 * MIN + 5 * MIN],
    ]);
  });

  it('then a message continues the same session, and the idle deadline moves with it', () => {
    const g = given(imported());
    const d = g.when(msg(T0 + HOUR + MIN, 'book the second', { rules: idle2h }));
    expect(factTypes(d)).toEqual(['MessageRecorded']);
    expect(d.snapshot.context.sessionId).toBe('oc-1');
    expect(d.snapshot.context.messageCount).toBe(3);
  });

  it('an imported session already past its deadline ends at that deadline when its timer is delivered', () => {
    const old = imported({ lastActivityAt: T0 - 5 * HOUR, updatedAt: T0 - 5 * HOUR });
    const g = given(old);
    const d = g.when(fire(g.snapshot, 'expiry', 3 * HOUR));
    expect(d.facts).toEqual([
      { type: 'SessionExpired', at: T0 - 3 * HOUR + 1, sessionId: 'oc-1', reason: 'idle' },
    ]);
  });

  it.each([
    ['running', [msg(T0)]],
    [
      'expired',
      [msg(T0, 'hi', { rules: idle2h }), { type: 'timer.fired', timerId: 'x', at: T0 } as SessionInput],
    ],
    ['imported already', [imported()]],
  ])('given a key whose session is %s, it changes nothing (importing twice is harmless)', (_, inputs) => {
    const g = given(...(inputs as SessionInput[]));
    const d = g.when(imported({ sessionId: 'oc-2' }));
    expect(d.facts).toEqual([]);
    expect(d.timers).toEqual({ schedule: [], cancel: [] });
    expect(serializeSnapshot(d.snapshot)).toBe(serializeSnapshot(g.snapshot));
  });

  it('replaying the import gives the same snapshot, byte for byte', () => {
    const input = imported();
    expect(serializeSnapshot(replay([input]))).toBe(serializeSnapshot(replay([input])));
  });
});
