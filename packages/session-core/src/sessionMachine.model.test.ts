import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getShortestPaths } from 'xstate/graph';
import { nextExpiryAt } from './freshness.js';
import {
  type Decision,
  decide,
  parseSnapshot,
  replay,
  type SessionSnapshot,
  serializeSnapshot,
} from './sessionDecider.js';
import {
  type LifecycleRules,
  type SessionFact,
  type SessionInput,
  sessionMachine,
} from './sessionMachine.js';

// Model-based and property tests: invariants that must hold in every reachable state and for any
// sequence of inputs, not only the hand-picked ones of the specs.

const MIN = 60_000;
/** 03:50 in Berlin: walks cross the 04:00 daily boundary as well as idle limits. */
const T0 = Date.UTC(2026, 2, 1, 2, 50, 0);
const rules: LifecycleRules = {
  policy: { mode: 'daily', atHour: 4, idleMinutes: 90 },
  timeZone: 'Europe/Berlin',
  quietMs: 5 * MIN,
  compactAtTokens: 1000,
  compactionTimeoutMs: 2 * MIN,
};

type Machine = typeof sessionMachine;
type MachineState = ReturnType<Machine['transition']>;

/** Every input that makes sense in `state`, with times after everything it has seen. */
function inputsFor(state: MachineState): SessionInput[] {
  const ctx = state.context;
  const now = (ctx.updatedAt ?? T0) + MIN;
  const base = { rules, sender: { id: 'bob', authorized: true, owner: true }, text: 'hi' };
  const out: SessionInput[] = [
    { type: 'message.inbound', messageId: `m${now}`, at: now, newSessionId: `s${now}`, tokens: 400, ...base },
    {
      type: 'message.inbound',
      messageId: `h${now}`,
      at: now,
      newSessionId: `x${now}`,
      provider: 'heartbeat',
      ...base,
    },
    {
      type: 'message.inbound',
      messageId: `n${now}`,
      at: now,
      newSessionId: `r${now}`,
      command: { kind: 'reset', trigger: '/new', rest: 'again' },
      ...base,
    },
    {
      type: 'message.inbound',
      messageId: `c${now}`,
      at: now,
      newSessionId: `y${now}`,
      command: { kind: 'compact' },
      ...base,
    },
    { type: 'reply.outbound', replyId: `a${now}`, at: now, text: 'ok', tokens: 300 },
  ];
  if (ctx.timers.expiry) {
    const late = ctx.timers.expiry.dueAt + 1;
    out.push({ type: 'message.inbound', messageId: `l${late}`, at: late, newSessionId: `z${late}`, ...base });
  }
  for (const timer of Object.values(ctx.timers)) {
    if (timer) out.push({ type: 'timer.fired', timerId: timer.id, at: timer.dueAt });
  }
  if (ctx.compaction) {
    out.push({
      type: 'compaction.completed',
      compactionId: ctx.compaction.id,
      at: now,
      tokensBefore: 900,
      tokensAfter: 100,
      summary: 'the earlier turns, summarised',
      keptIds: [],
    });
    out.push({ type: 'compaction.failed', compactionId: ctx.compaction.id, at: now, reason: 'boom' });
  }
  return out;
}

/** The abstract state the traversal distinguishes: lifecycle state and what is armed or queued. */
function abstractState(state: MachineState): string {
  const ctx = state.context;
  const armed = (['expiry', 'quiet', 'compaction'] as const).filter((k) => ctx.timers[k]).join(',');
  return [
    String(state.value),
    ctx.sessionId ? 'session' : 'none',
    `armed:${armed}`,
    `pending:${Math.min(ctx.pending.length, 2)}`,
    `history:${Math.min(ctx.turnsSinceCompaction, 2)}`,
    `overThreshold:${ctx.tokens.context > 1000}`,
  ].join('|');
}

interface Ledger {
  accepted: Set<string>;
  recorded: Set<string>;
}

/** Checks one decision against the invariants; returns the facts for the ledger. */
function checkStep(before: SessionSnapshot, input: SessionInput, d: Decision, ledger: Ledger): void {
  const started = d.facts.filter(
    (f): f is Extract<SessionFact, { type: 'SessionStarted' }> => f.type === 'SessionStarted',
  );
  // A new session id only after `expired` (or on a brand-new key) or an explicit reset.
  const isReset =
    input.type === 'session.reset' || (input.type === 'message.inbound' && input.command?.kind === 'reset');
  for (const fact of started) {
    const index = d.facts.indexOf(fact);
    const expiredFirst = d.facts.slice(0, index).some((f) => f.type === 'SessionExpired');
    const allowed = before.state === 'new' || before.state === 'expired' || isReset || expiredFirst;
    expect(allowed, `SessionStarted from ${before.state} on ${input.type}`).toBe(true);
  }
  if (d.snapshot.context.sessionId !== before.context.sessionId) expect(started.length).toBeGreaterThan(0);
  // No message is lost: every non-system message the machine accepted is recorded or still queued.
  if (input.type === 'message.inbound' && input.provider !== 'heartbeat') {
    const consumedByReset = input.command?.kind === 'reset' && input.command.rest === '';
    if (!consumedByReset) ledger.accepted.add(input.messageId);
  }
  for (const fact of d.facts) if (fact.type === 'MessageRecorded') ledger.recorded.add(fact.messageId);
  const pending = new Set(
    d.snapshot.context.pending.flatMap((p) => (p.type === 'message.inbound' ? [p.messageId] : [])),
  );
  for (const id of ledger.accepted) {
    expect(ledger.recorded.has(id) || pending.has(id), `message ${id} lost`).toBe(true);
  }
  // Facts and timers always belong to the state they describe.
  if (d.snapshot.state === 'compacting') expect(d.snapshot.context.compaction).not.toBeNull();
  if (d.snapshot.state === 'expired' || d.snapshot.state === 'new') {
    expect(d.snapshot.context.timers).toEqual({ expiry: null, quiet: null, compaction: null });
  }
  if (d.snapshot.state !== 'compacting') expect(d.snapshot.context.pending).toEqual([]);
}

describe('model-based paths through the machine (xstate/graph)', () => {
  const paths = getShortestPaths(sessionMachine, {
    input: {},
    events: inputsFor,
    serializeState: (state) => abstractState(state as MachineState),
    limit: 5000,
  });

  it('reaches every lifecycle state', () => {
    const reached = new Set(paths.map((p) => String(p.state.value)));
    expect([...reached].sort()).toEqual(['active', 'compacting', 'expired', 'idle', 'new']);
    // The interesting corners are reached too: turns queued behind a compaction, an expiry while compacting.
    const abstract = new Set(paths.map((p) => abstractState(p.state as MachineState)));
    expect([...abstract].some((a) => a.startsWith('compacting') && a.includes('pending:1'))).toBe(true);
    expect([...abstract].some((a) => a.startsWith('compacting') && a.includes('pending:2'))).toBe(true);
  });

  it('holds the invariants at every step of every path', () => {
    let steps = 0;
    for (const path of paths) {
      let snapshot = replay([]);
      const ledger: Ledger = { accepted: new Set(), recorded: new Set() };
      for (const step of path.steps) {
        if (step.event.type.startsWith('xstate.')) continue; // the initial step
        const input = step.event as SessionInput;
        const d = decide(snapshot, input);
        checkStep(snapshot, input, d, ledger);
        expect(d.snapshot.state).toBe(step.state.value);
        snapshot = d.snapshot;
        steps++;
      }
    }
    expect(steps).toBeGreaterThanOrEqual(paths.length - 1);
  });
});

describe('properties over random input sequences (fast-check)', () => {
  /** Random walks: at each step pick one of the inputs that make sense in the current state. */
  const walk = fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 40 });
  function run(choices: number[]): { inputs: SessionInput[]; decisions: Decision[] } {
    const inputs: SessionInput[] = [];
    const decisions: Decision[] = [];
    let snapshot = replay([]);
    for (const choice of choices) {
      const options = inputsFor(
        sessionMachine.resolveState({ value: snapshot.state, context: snapshot.context }),
      );
      const input = options[choice % options.length] as SessionInput;
      const d = decide(snapshot, input);
      inputs.push(input);
      decisions.push(d);
      snapshot = d.snapshot;
    }
    return { inputs, decisions };
  }

  it('replaying the same inputs twice gives identical snapshots and facts, byte for byte', () => {
    fc.assert(
      fc.property(walk, (choices) => {
        const { inputs, decisions } = run(choices);
        const again = inputs.reduce<{ s: SessionSnapshot; facts: SessionFact[] }>(
          (acc, input) => {
            const d = decide(acc.s, input);
            return { s: d.snapshot, facts: [...acc.facts, ...d.facts] };
          },
          { s: replay([]), facts: [] },
        );
        const last = decisions.at(-1) as Decision;
        expect(serializeSnapshot(again.s)).toBe(serializeSnapshot(last.snapshot));
        expect(again.facts).toEqual(decisions.flatMap((d) => d.facts));
      }),
      { numRuns: 300 },
    );
  });

  it('a snapshot persisted at any point and restored continues exactly like the uninterrupted actor', () => {
    fc.assert(
      fc.property(walk, fc.nat(), (choices, cutSeed) => {
        const { inputs, decisions } = run(choices);
        const cut = cutSeed % inputs.length;
        const persisted = serializeSnapshot((decisions[cut] as Decision).snapshot);
        const resumed = replay(inputs.slice(cut + 1), parseSnapshot(persisted));
        expect(serializeSnapshot(resumed)).toBe(serializeSnapshot((decisions.at(-1) as Decision).snapshot));
      }),
      { numRuns: 300 },
    );
  });

  it('never loses a message and never starts a session outside expiry or reset', () => {
    fc.assert(
      fc.property(walk, (choices) => {
        const { inputs, decisions } = run(choices);
        const ledger: Ledger = { accepted: new Set(), recorded: new Set() };
        let before = replay([]);
        inputs.forEach((input, i) => {
          const d = decisions[i] as Decision;
          checkStep(before, input, d, ledger);
          before = d.snapshot;
        });
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the armed timers consistent with the rules: expiry at nextExpiryAt, quiet after the last activity, compaction limits ahead', () => {
    fc.assert(
      fc.property(walk, (choices) => {
        const { inputs, decisions } = run(choices);
        decisions.forEach((d, i) => {
          const ctx = d.snapshot.context;
          const input = inputs[i] as SessionInput;
          if (ctx.timers.expiry && ctx.lastActivityAt !== null && ctx.rules) {
            expect(ctx.timers.expiry.dueAt).toBe(
              nextExpiryAt({
                lastActivityAt: ctx.lastActivityAt,
                policy: ctx.rules.policy,
                timeZone: rules.timeZone as string,
              }),
            );
            // Nothing live is left past its deadline at the end of a decision (it would have expired).
            if (d.snapshot.state !== 'compacting') expect(ctx.timers.expiry.dueAt).toBeGreaterThan(input.at);
          }
          if (ctx.timers.quiet && ctx.lastActivityAt !== null) {
            expect(ctx.timers.quiet.dueAt).toBeGreaterThan(ctx.lastActivityAt);
          }
          for (const t of d.timers.schedule.filter((x) => x.kind === 'compaction')) {
            expect(t.dueAt).toBeGreaterThan(input.at);
          }
        });
      }),
      { numRuns: 300 },
    );
  });
});
