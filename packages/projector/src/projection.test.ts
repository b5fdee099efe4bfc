import { GENESIS_HASH, recordHash, type SessionRecord } from '@threadline/event-log';
import type { AgentReplyV1, ChatEventV1 } from '@threadline/protocol';
import { initialSessionSnapshot, parseConfig, type SessionFact } from '@threadline/session-core';
import {
  chatInput,
  controlInput,
  decideInput,
  deterministicUuid,
  emptyKeyState,
  type InputContext,
  type KeyState,
  replyInput,
  type TransitionRecordV1,
  transcriptOf,
  type WorkItem,
} from '@threadline/session-worker';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TRANSCRIPT_BUDGET_BYTES,
  emptyProjectedKey,
  emptyTranscriptView,
  entryOf,
  type FoldProblem,
  foldIntoProjection,
  type ProjectedKey,
  type TranscriptView,
} from './projection.js';

// Pure specs of the projection: records are made the way the worker makes them (its input builders and
// `decideInput`), chained by hash, with stream sequences that have gaps (the session stream is shared by
// every key), and folded one at a time as the projector does.

const KEY = 'agent:main:telegram:direct:42';
const MIN = 60_000;
/** 2026-11-24 09:00 UTC: far from the 04:00 daily boundary. */
const T0 = Date.UTC(2026, 10, 24, 9, 0, 0);
const ctx: InputContext = {
  config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config,
  hostTimeZone: 'UTC',
};

type Record = SessionRecord<TransitionRecordV1>;

/** One key's log as the worker would write it: decided inputs, appended as hash-chained records. */
function keyLog(sessionKey = KEY) {
  let state: KeyState = emptyKeyState(sessionKey);
  let keyedSeq = 0;
  let streamSeq = 0;
  let now = T0;
  let n = 0;
  const records: Record[] = [];
  const append = (item: WorkItem): Record => {
    keyedSeq += 1;
    const verdict = decideInput(state, item, { stream: 'THREADLINE_KEYED', seq: keyedSeq });
    if (verdict.kind !== 'record') throw new Error(`${item.inputId} records nothing (${verdict.kind})`);
    streamSeq += 1 + (keyedSeq % 3); // other keys' records in between
    const fields = {
      sessionKey,
      id: item.inputId,
      at: item.input.at,
      schemaVersion: 1,
      correlationId: item.correlationId,
      causationId: item.causationId,
      body: verdict.body,
      prevHash: state.head.hash,
    };
    const record: Record = { seq: streamSeq, ...fields, hash: recordHash(fields) };
    state = { ...verdict.next, head: { seq: record.seq, hash: record.hash } };
    records.push(record);
    return record;
  };
  const tick = (at?: number) => {
    now = at ?? now + MIN;
    return now;
  };
  return {
    records,
    get state() {
      return state;
    },
    /** A chat message from the peer (authorized owner, so commands are parsed). */
    message(text: string, extra: Partial<ChatEventV1> = {}, at?: number): Record {
      n += 1;
      const event: ChatEventV1 = {
        v: 1,
        type: 'chat.message',
        id: `telegram:42:${n}`,
        channel: 'telegram',
        chatType: 'direct',
        peer: { kind: 'direct', id: '42' },
        sender: { id: '42', displayName: 'Ada', isAuthorized: true, isOwner: true },
        text,
        at: now,
        ...extra,
      };
      return append(chatInput(sessionKey, event, tick(at), ctx));
    },
    reply(text: string, extra: Partial<AgentReplyV1> = {}, at?: number): Record {
      n += 1;
      const reply: AgentReplyV1 = {
        v: 1,
        type: 'agent.reply',
        id: `r${n}`,
        sessionKey,
        text,
        at: now,
        ...extra,
      };
      return append(replyInput(reply, tick(at), ctx, state.snapshot));
    },
    compactionCompleted(
      compactionId: string,
      fields: { summary: string; keptIds: string[]; tokensBefore?: number; tokensAfter?: number },
    ): Record {
      n += 1;
      const event = {
        v: 1 as const,
        type: 'compaction.completed' as const,
        id: `worker:compaction:${compactionId}`,
        sessionKey,
        compactionId,
        at: tick(),
        tokensBefore: fields.tokensBefore ?? 100,
        tokensAfter: fields.tokensAfter ?? 20,
        summary: fields.summary,
        keptIds: fields.keptIds,
      };
      return append(controlInput(event, state.snapshot, ctx));
    },
    operatorReset(): Record {
      n += 1;
      const event = {
        v: 1 as const,
        type: 'session.reset' as const,
        id: `ops:${n}`,
        sessionKey,
        at: tick(),
        trigger: 'operator',
      };
      return append(controlInput(event, state.snapshot, ctx));
    },
    /** An OpenClaw session moved in (`threadline import`): its own times, a summary and two turns. */
    imported(sessionId: string): Record {
      n += 1;
      const event = {
        v: 1 as const,
        type: 'session.imported' as const,
        id: `import:${n}`,
        sessionKey,
        at: tick(),
        source: 'openclaw',
        sessionId,
        startedAt: now - 90 * MIN,
        updatedAt: now - 5 * MIN,
        lastActivityAt: now - 5 * MIN,
        settings: { label: 'trip' },
        tokens: { input: 80, output: 20, total: 100, context: 25 },
        compactionCount: 2,
        origin: { channel: 'telegram', to: '42', chatType: 'direct' },
        lastRoute: { channel: 'telegram', to: '42', chatType: 'direct' },
        turns: [
          {
            id: 'oc-sum',
            role: 'summary' as const,
            text: 'Ada is planning a trip',
            at: now - 60 * MIN,
            tokens: 10,
          },
          {
            id: 'oc-u1',
            role: 'user' as const,
            text: 'which train?',
            at: now - 10 * MIN,
            tokens: 5,
            senderId: '42',
            senderName: 'Ada',
          },
          { id: 'oc-a1', role: 'assistant' as const, text: 'the 9:12', at: now - 5 * MIN, tokens: 10 },
        ],
      };
      return append(controlInput(event, state.snapshot, ctx));
    },
    quietTimerFires(): Record {
      const timer = state.snapshot.context.timers.quiet;
      if (!timer) throw new Error('no quiet timer armed');
      n += 1;
      const event = {
        v: 1 as const,
        type: 'timer.fired' as const,
        id: `sched:${n}`,
        sessionKey,
        timerId: timer.id,
        at: timer.dueAt,
      };
      return append(controlInput(event, state.snapshot, ctx));
    },
  };
}

interface Projection {
  key: ProjectedKey;
  transcript: TranscriptView;
  problems: FoldProblem[];
}

function project(
  records: Iterable<Record>,
  options: { transcriptBudgetBytes?: number } = {},
  from: Projection = { key: emptyProjectedKey(KEY), transcript: emptyTranscriptView(KEY), problems: [] },
): Projection {
  let { key, transcript } = from;
  const problems = [...from.problems];
  for (const record of records) {
    const folded = foldIntoProjection(key, transcript, record, options);
    key = folded.key;
    transcript = folded.transcript;
    problems.push(...folded.problems);
  }
  return { key, transcript, problems };
}

const bodies = (records: readonly Record[]) => records.map((r) => r.body);
const bytesOf = (view: TranscriptView) => Buffer.byteLength(JSON.stringify(view));
const startedIn = (record: Record | undefined) =>
  record?.body.facts.find(
    (f): f is Extract<SessionFact, { type: 'SessionStarted' }> => f.type === 'SessionStarted',
  );
/** The turn id a record's input brings: its message or reply id. */
const turnIdOf = (record: Record) => {
  const input = record.body.input;
  if (input.type === 'message.inbound') return input.messageId;
  if (input.type === 'reply.outbound') return input.replyId;
  throw new Error(`record ${record.seq} brings no turn`);
};
const compactionIdOf = (record: Record) => {
  const id = record.body.compactions[0]?.compactionId;
  if (!id) throw new Error(`record ${record.seq} started no compaction`);
  return id;
};

describe('the session entry', () => {
  it('given messages and replies with usage, when folded, then the entry has the spec §4 fields of the session', () => {
    const log = keyLog();
    const first = log.message('Wie wird das Wetter?', { tokens: 10, accountId: 'bot1' });
    log.reply('Sonnig.', { tokens: 5, usage: { inputTokens: 120, outputTokens: 30, contextTokens: 400 } });
    log.message('Und morgen?', { tokens: 12, accountId: 'bot2', threadId: '7' });
    const last = log.reply('Regen.', { tokens: 25, usage: { inputTokens: 200, outputTokens: 50 } });

    const { key, problems } = project(log.records);

    expect(problems).toEqual([]);
    const sessionId = deterministicUuid(`${KEY}\n${first.id}`);
    expect(startedIn(first)?.sessionId).toBe(sessionId);
    expect(key).toMatchObject({ v: 1, sessionKey: KEY, seq: last.seq, hash: last.hash });
    expect(key.entry).toMatchObject({
      sessionKey: KEY,
      agentId: 'main',
      sessionId,
      previousSessionId: null,
      state: 'active',
      endReason: null,
      startedAt: first.at,
      lastActivityAt: last.at,
      updatedAt: last.at,
      chatType: 'direct',
      channel: 'telegram',
      origin: { channel: 'telegram', to: '42', chatType: 'direct', accountId: 'bot1' },
      lastChannel: 'telegram',
      lastTo: '42',
      lastAccountId: 'bot2',
      lastThreadId: '7',
      inputTokens: 320,
      outputTokens: 80,
      // messages' tokens plus the runs' input and output
      totalTokens: 10 + 12 + 320 + 80,
      // the first run reported 400 in context; the next message and reply added theirs
      contextTokens: 400 + 12 + 25,
      compactionCount: 0,
      sendPolicy: null,
      messageCount: 4,
      privacyWarning: null,
    });
    // The same machine the worker ran: the projected snapshot is the worker's own.
    expect(key.snapshot).toEqual(log.state.snapshot);
    expect(key.entry).toEqual(entryOf(KEY, log.state.snapshot));
  });

  it('given a key of another agent, when folded, then the agent comes from the key', () => {
    const log = keyLog('agent:ops:telegram:direct:42');
    log.message('hi');
    const { key } = project(
      log.records,
      {},
      {
        key: emptyProjectedKey('agent:ops:telegram:direct:42'),
        transcript: emptyTranscriptView('agent:ops:telegram:direct:42'),
        problems: [],
      },
    );
    expect(key.entry).toMatchObject({ agentId: 'ops', messageCount: 1, state: 'active' });
  });

  it('given the initial snapshot, when its entry is made, then nothing has happened yet and the key says what it can', () => {
    const snapshot = initialSessionSnapshot();
    expect(entryOf(KEY, snapshot)).toEqual({
      sessionKey: KEY,
      agentId: 'main',
      sessionId: null,
      previousSessionId: null,
      state: 'new',
      endReason: null,
      updatedAt: null,
      startedAt: null,
      lastActivityAt: null,
      chatType: 'direct',
      channel: null,
      origin: null,
      lastChannel: null,
      lastTo: null,
      lastAccountId: null,
      lastThreadId: null,
      inputTokens: 0,
      outputTokens: 0,
      totalTokens: 0,
      contextTokens: 0,
      compactionCount: 0,
      sendPolicy: null,
      messageCount: 0,
      privacyWarning: null,
    });
    expect(entryOf('cron:nightly', snapshot)).toMatchObject({ agentId: null, chatType: 'unknown' });
    expect(entryOf('agent:ops:discord:group:g1', snapshot)).toMatchObject({
      agentId: 'ops',
      chatType: 'group',
    });
    expect(emptyProjectedKey(KEY)).toEqual({
      v: 1,
      sessionKey: KEY,
      seq: 0,
      hash: GENESIS_HASH,
      entry: entryOf(KEY, snapshot),
      snapshot,
    });
    expect(emptyTranscriptView(KEY)).toEqual({
      v: 1,
      sessionKey: KEY,
      sessionId: null,
      seq: 0,
      turns: [],
      omitted: 0,
    });
  });
});

describe('idempotency by stream sequence', () => {
  it('given a projected key, when a record at or below its sequence comes again, then it is not applied and the same objects come back', () => {
    const log = keyLog();
    log.message('one', { tokens: 3 });
    log.reply('two', { usage: { inputTokens: 7, outputTokens: 2 } });
    log.message('three');
    const projected = project(log.records);
    for (const record of log.records) {
      const again = foldIntoProjection(projected.key, projected.transcript, record);
      expect(again.applied).toBe(false);
      expect(again.problems).toEqual([]);
      expect(again.key).toBe(projected.key);
      expect(again.transcript).toBe(projected.transcript);
    }
  });

  type Op =
    | { kind: 'message'; tokens: number }
    | { kind: 'reply'; tokens: number; input: number; output: number; context: number | null }
    | { kind: 'new' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('message' as const), tokens: fc.nat(400) }) },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('reply' as const),
        tokens: fc.nat(400),
        input: fc.nat(2_000),
        output: fc.nat(2_000),
        context: fc.option(fc.nat(10_000)),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'new' as const }) },
  );
  const logOf = (ops: Op[]) => {
    const log = keyLog();
    ops.forEach((o, i) => {
      if (o.kind === 'message') log.message(`message ${i}`, { tokens: o.tokens });
      else if (o.kind === 'new') log.message('/new');
      else
        log.reply(`reply ${i}`, {
          tokens: o.tokens,
          usage: {
            inputTokens: o.input,
            outputTokens: o.output,
            ...(o.context === null ? {} : { contextTokens: o.context }),
          },
        });
    });
    return log;
  };

  it('given any message and reply sequence, when everything is folded and then a prefix again, then nothing changes', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 12 }), fc.nat(), (ops, cut) => {
        const log = logOf(ops);
        const all = project(log.records);
        expect(all.problems).toEqual([]);
        expect(all.key.snapshot).toEqual(log.state.snapshot);
        const prefix = log.records.slice(0, cut % (log.records.length + 1));
        for (const record of prefix) {
          const again = foldIntoProjection(all.key, all.transcript, record);
          expect(again.applied).toBe(false);
          expect(again.key).toBe(all.key);
          expect(again.transcript).toBe(all.transcript);
        }
        // and refolding the prefix through `project` gives the very same projection
        const refolded = project(prefix, {}, all);
        expect(refolded.key).toBe(all.key);
        expect(refolded.transcript).toBe(all.transcript);
      }),
      { numRuns: 60 },
    );
  });

  it('given any message and reply sequence, when each record is folded twice, then the result equals folding it once', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 12 }), (ops) => {
        const log = logOf(ops);
        const once = project(log.records);
        const twice = project(log.records.flatMap((r) => [r, r]));
        expect(twice).toEqual(once);
        expect(project(log.records)).toEqual(once);
        expect({ sessionId: once.transcript.sessionId, turns: once.transcript.turns }).toEqual(
          transcriptOf(bodies(log.records)),
        );
      }),
      { numRuns: 60 },
    );
  });
});

describe('the transcript view', () => {
  it('given messages and replies, when folded one by one, then the view is always the transcript of the records so far', () => {
    const log = keyLog();
    log.message('first question', { tokens: 4 });
    log.reply('first answer', { tokens: 3, toolCallIds: ['call-1'] });
    log.reply('tool result', { toolResultOf: 'call-1', noDelivery: true });
    log.message('heartbeat', { provider: 'heartbeat' }); // a system turn: history, not conversation
    log.message('second question');
    let projected = project([]);
    for (let i = 0; i < log.records.length; i++) {
      projected = project([log.records[i] as Record], {}, projected);
      const expected = transcriptOf(bodies(log.records.slice(0, i + 1)));
      expect({ sessionId: projected.transcript.sessionId, turns: projected.transcript.turns }).toEqual(
        expected,
      );
      expect(projected.transcript.omitted).toBe(0);
    }
    expect(projected.transcript.turns.map((t) => t.text)).toEqual([
      'first question',
      'first answer',
      'tool result',
      'second question',
    ]);
    expect(projected.transcript.seq).toBe(log.records.at(-1)?.seq);
  });

  it('given an imported session, then messages and a compaction that keeps an imported turn, when folded, then entry and view carry the import on', () => {
    const log = keyLog();
    const imported = log.imported('oc-session');
    const first = project(log.records);
    expect(first.key.entry).toMatchObject({
      sessionId: 'oc-session',
      startedAt: imported.at - 90 * MIN,
      lastActivityAt: imported.at - 5 * MIN,
      updatedAt: imported.at - 5 * MIN,
      label: 'trip',
      inputTokens: 80,
      contextTokens: 25,
      compactionCount: 2,
      messageCount: 2,
      channel: 'telegram',
      lastTo: '42',
      chatType: 'direct',
    });
    expect(first.transcript.turns.map((t) => [t.role, t.text, t.tokens])).toEqual([
      ['summary', 'Ada is planning a trip', 10],
      ['user', 'which train?', 5],
      ['assistant', 'the 9:12', 10],
    ]);
    expect(first.transcript.turns[1]).toMatchObject({ senderId: '42', senderName: 'Ada' });
    log.message('and back?', { tokens: 4 });
    const compact = log.message('/compact');
    const done = log.compactionCompleted(compactionIdOf(compact), {
      summary: 'A trip, trains chosen',
      keptIds: ['oc-a1', turnIdOf(compact)],
    });
    const projected = project([...log.records.slice(1)], {}, first);
    expect({ sessionId: projected.transcript.sessionId, turns: projected.transcript.turns }).toEqual(
      transcriptOf(bodies(log.records)),
    );
    expect(projected.transcript.turns.map((t) => t.text)).toEqual([
      'A trip, trains chosen',
      'the 9:12',
      '/compact',
    ]);
    expect(projected.key.entry).toMatchObject({ sessionId: 'oc-session', compactionCount: 3 });
    expect(done.seq).toBe(projected.key.seq);
    expect(projected.problems).toEqual([]);
  });

  it('given a record that adds no turn, when folded, then the view is the same object (nothing to write)', () => {
    const log = keyLog();
    log.message('hello');
    const before = project(log.records);
    const idled = log.quietTimerFires();
    expect(idled.body.facts.map((f) => f.type)).toEqual(['SessionIdled']);
    const folded = foldIntoProjection(before.key, before.transcript, idled);
    expect(folded.applied).toBe(true);
    expect(folded.key.entry.state).toBe('idle');
    expect(folded.key.seq).toBe(idled.seq);
    expect(folded.transcript).toBe(before.transcript);
  });

  it('given /compact, a message queued meanwhile and the completed compaction, when folded, then the view is the summary, the kept turns and the queued message', () => {
    const log = keyLog();
    log.message('question one', { tokens: 40 });
    log.reply('answer one', { tokens: 30 });
    log.message('question two', { tokens: 40 });
    const keptReply = log.reply('answer two', { tokens: 30 });
    const compact = log.message('/compact keep the numbers');
    expect(log.state.snapshot.state).toBe('compacting');
    const whileCompacting = project(log.records);

    const queued = log.message('sent while compacting', { tokens: 9 });
    expect(queued.body.facts.map((f) => f.type)).toEqual(['MessageQueued']);
    const afterQueued = project([queued], {}, whileCompacting);
    expect(afterQueued.transcript).toBe(whileCompacting.transcript); // queued: not a turn yet

    const done = log.compactionCompleted(compactionIdOf(compact), {
      summary: 'Ada asked about the weather; it will be sunny.',
      keptIds: [turnIdOf(keptReply), turnIdOf(compact)],
      tokensBefore: 140,
      tokensAfter: 45,
    });
    expect(done.body.facts.map((f) => f.type)).toEqual(['CompactionCompleted', 'MessageRecorded']);
    const projected = project([done], {}, afterQueued);

    const expected = transcriptOf(bodies(log.records));
    expect({ sessionId: projected.transcript.sessionId, turns: projected.transcript.turns }).toEqual(
      expected,
    );
    expect(projected.transcript.turns.map((t) => [t.role, t.text])).toEqual([
      ['summary', 'Ada asked about the weather; it will be sunny.'],
      ['assistant', 'answer two'],
      ['user', '/compact keep the numbers'],
      ['user', 'sent while compacting'],
    ]);
    expect(projected.transcript.omitted).toBe(0);
    expect(projected.key.entry).toMatchObject({ state: 'active', compactionCount: 1, messageCount: 6 });
    expect(projected).toEqual(project(log.records));
  });

  it('given a running session, when /new resets it, then the view restarts with the new session and nothing omitted', () => {
    const log = keyLog();
    const first = log.message('an old topic with quite a few words in it', { tokens: 9 });
    for (let i = 0; i < 6; i++) log.reply(`old answer ${i} with quite a few words in it too`);
    const budget = 700;
    const beforeReset = project(log.records, { transcriptBudgetBytes: budget });
    expect(beforeReset.transcript.omitted).toBeGreaterThan(0);

    const reset = log.message('/new let us talk about something else');
    const started = startedIn(reset);
    expect(started).toMatchObject({ reason: 'reset', previousSessionId: startedIn(first)?.sessionId });
    const projected = project([reset], { transcriptBudgetBytes: budget }, beforeReset);

    expect(projected.transcript.sessionId).toBe(started?.sessionId);
    expect(projected.transcript.omitted).toBe(0);
    expect({ sessionId: projected.transcript.sessionId, turns: projected.transcript.turns }).toEqual(
      transcriptOf(bodies(log.records)),
    );
    expect(projected.transcript.turns.map((t) => t.text)).toEqual(['let us talk about something else']);
    expect(projected.key.entry).toMatchObject({
      sessionId: started?.sessionId,
      previousSessionId: startedIn(first)?.sessionId,
      messageCount: 1,
      startedAt: reset.at,
    });

    // An operator reset from outside the chat restarts it too.
    log.reply('sure');
    const operator = log.operatorReset();
    const afterOperator = project(log.records.slice(-2), { transcriptBudgetBytes: budget }, projected);
    expect(afterOperator.transcript).toMatchObject({
      sessionId: startedIn(operator)?.sessionId,
      turns: [],
      omitted: 0,
    });
  });
});

describe('the byte budget of the view', () => {
  /** The view is the full transcript's summary (if any) and then its newest turns; `omitted` counts the rest. */
  function expectBoundedTranscript(view: TranscriptView, records: readonly Record[]) {
    const full = transcriptOf(bodies(records));
    const summary = full.turns[0]?.role === 'summary' ? full.turns.slice(0, 1) : [];
    const rest = full.turns.slice(summary.length);
    expect(view.sessionId).toBe(full.sessionId);
    expect(view.turns).toEqual([...summary, ...rest.slice(view.omitted)]);
  }

  it('given a tiny budget, when many turns are folded, then the oldest are dropped, counted, and the view fits', () => {
    const log = keyLog();
    for (let i = 0; i < 12; i++) {
      if (i % 2 === 0) log.message(`question ${i}: what about topic ${i}?`, { tokens: 8 });
      else log.reply(`answer ${i}: topic ${i - 1} is fine.`, { tokens: 6 });
    }
    const budget = 800;
    const { transcript } = project(log.records, { transcriptBudgetBytes: budget });
    const full = transcriptOf(bodies(log.records));

    expect(transcript.omitted).toBeGreaterThan(0);
    expect(transcript.omitted + transcript.turns.length).toBe(full.turns.length);
    expectBoundedTranscript(transcript, log.records);
    expect(bytesOf(transcript)).toBeLessThanOrEqual(budget);
    // only as many as needed: one more turn would not fit
    const oneMore = {
      ...transcript,
      turns: full.turns.slice(transcript.omitted - 1),
      omitted: transcript.omitted - 1,
    };
    expect(bytesOf(oneMore)).toBeGreaterThan(budget);
    // the unbounded default keeps them all
    expect(project(log.records).transcript.turns).toEqual(full.turns);
    expect(DEFAULT_TRANSCRIPT_BUDGET_BYTES).toBe(256 * 1024);
  });

  it('given a kept turn the view had dropped for its budget, when the compaction completes, then it stays counted in omitted', () => {
    const log = keyLog();
    log.message('m1');
    log.reply('r1');
    log.message('m2');
    const r2 = log.reply('r2');
    const compact = log.message(`/compact ${'x'.repeat(400)}`);
    const done = log.compactionCompleted(compactionIdOf(compact), {
      summary: 'sum',
      keptIds: [turnIdOf(r2)],
    });
    const { transcript } = project(log.records, { transcriptBudgetBytes: 600 });
    const full = transcriptOf(bodies(log.records));
    expect(full.turns.map((t) => t.id)).toEqual(
      [compactionIdOf(compact), turnIdOf(r2), turnIdOf(compact)].slice(0, full.turns.length),
    );
    // r2 is kept by the compaction but was no longer in the 600-byte view: it is missing, and counted.
    expect(transcript.turns.some((t) => t.id === turnIdOf(r2))).toBe(false);
    expect(transcript.omitted).toBe(1);
    expect(transcript.omitted + transcript.turns.length).toBe(full.turns.length);
    expect(done.body.facts[0]?.type).toBe('CompactionCompleted');
  });

  it('given any turns and budget, when bounded, then the view fits (omitted gaining a digit included)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 5, maxLength: 40 }),
        fc.integer({ min: 300, max: 3000 }),
        (lengths, budget) => {
          const log = keyLog();
          lengths.forEach((length, i) => {
            if (i % 2 === 0) log.message('a'.repeat(length));
            else log.reply('b'.repeat(length));
          });
          const { transcript } = project(log.records, { transcriptBudgetBytes: budget });
          if (transcript.turns.length > 0) expect(bytesOf(transcript)).toBeLessThanOrEqual(budget);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('given a summary larger than the budget, when folded, then the summary stays and only turns are dropped', () => {
    const log = keyLog();
    log.message('question one', { tokens: 40 });
    log.reply('answer one', { tokens: 30 });
    log.message('question two', { tokens: 40 });
    const kept = log.reply('answer two', { tokens: 30 });
    const compact = log.message('/compact');
    const budget = 600;
    const summary = `Summary: ${'the weather and the numbers, '.repeat(30)}`;
    log.compactionCompleted(compactionIdOf(compact), { summary, keptIds: [turnIdOf(kept)] });
    for (let i = 0; i < 3; i++) log.message(`after the compaction ${i}`);

    const projected = project(log.records, { transcriptBudgetBytes: budget });
    const full = transcriptOf(bodies(log.records));
    expect(full.turns.map((t) => t.role)).toEqual(['summary', 'assistant', 'user', 'user', 'user']);
    expect(projected.transcript.turns).toEqual([full.turns[0]]);
    expect(projected.transcript.turns[0]).toMatchObject({ role: 'summary', text: summary });
    expect(projected.transcript.omitted).toBe(4);
    expectBoundedTranscript(projected.transcript, log.records);
  });

  it('given a budget that holds the summary and a few turns, when the session goes on, then the newest turns follow the summary', () => {
    const log = keyLog();
    log.message('question one', { tokens: 40 });
    log.reply('answer one', { tokens: 30 });
    log.message('question two', { tokens: 40 });
    const kept = log.reply('answer two', { tokens: 30 });
    const compact = log.message('/compact');
    log.compactionCompleted(compactionIdOf(compact), {
      summary: 'Short summary.',
      keptIds: [turnIdOf(kept)],
    });
    const budget = 700;
    let projected = project(log.records, { transcriptBudgetBytes: budget });
    for (let i = 0; i < 8; i++) {
      const record = i % 2 ? log.reply(`answer after ${i}`) : log.message(`question after ${i}`);
      projected = project([record], { transcriptBudgetBytes: budget }, projected);
      expect(projected.transcript.turns[0]?.role).toBe('summary');
      expect(bytesOf(projected.transcript)).toBeLessThanOrEqual(budget);
      expectBoundedTranscript(projected.transcript, log.records);
    }
    expect(projected.transcript.omitted).toBeGreaterThan(0);
    expect(projected.transcript.turns.length).toBeGreaterThan(1);
  });
});

describe('checking the log while folding', () => {
  it('given a record that does not chain to the projected head, when folded, then a chain break is reported and the fold goes on', () => {
    const log = keyLog();
    for (let i = 0; i < 4; i++) log.message(`message ${i}`);
    const [a, b, c, d] = log.records as [Record, Record, Record, Record];
    const clean = project(log.records);

    const broken: Record = { ...c, prevHash: 'f'.repeat(64) };
    const projected = project([a, b, broken, d]);
    expect(projected.problems).toEqual([
      { kind: 'chain-break', sessionKey: KEY, seq: c.seq, detail: expect.stringContaining('ffffffffffff') },
    ]);
    expect(projected.key).toEqual(clean.key);
    expect(projected.transcript).toEqual(clean.transcript);

    // A missing record is a break as well: the next one links to the record the projection never saw.
    const gap = project([a, c, d]);
    expect(gap.problems.map((p) => [p.kind, p.seq])).toEqual([['chain-break', c.seq]]);
    expect(gap.key.seq).toBe(d.seq);
    expect(gap.key.entry.messageCount).toBe(3);
  });

  it('given a record whose facts are not what its input decides, when folded, then a divergence is reported and the fold goes on', () => {
    const log = keyLog();
    log.message('one', { tokens: 5 });
    const tampered = log.message('two', { tokens: 5 });
    log.message('three', { tokens: 5 });
    const clean = project(log.records);

    const changed: Record = {
      ...tampered,
      body: {
        ...tampered.body,
        facts: tampered.body.facts.map((f) => (f.type === 'MessageRecorded' ? { ...f, tokens: 999 } : f)),
      },
    };
    const records = log.records.map((r) => (r === tampered ? changed : r));
    const projected = project(records);

    expect(projected.problems).toEqual([
      {
        kind: 'divergence',
        sessionKey: KEY,
        seq: tampered.seq,
        detail: expect.stringContaining(tampered.body.inputId),
      },
    ]);
    // The entry is what the machine decides from the inputs; the next records fold normally.
    expect(projected.key).toEqual(clean.key);
    expect(projected.key.entry.totalTokens).toBe(15);
    // The view shows what was recorded, like the worker's own transcript of the log.
    expect({ sessionId: projected.transcript.sessionId, turns: projected.transcript.turns }).toEqual(
      transcriptOf(bodies(records)),
    );
    expect(projected.transcript.turns[1]?.tokens).toBe(999);
  });
});
