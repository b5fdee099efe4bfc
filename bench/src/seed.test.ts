import { GENESIS_HASH, MemorySessionLog, type SessionRecord, verifyChain } from '@threadline/event-log';
import {
  emptyProjectedKey,
  emptyTranscriptView,
  type FoldProblem,
  foldIntoProjection,
} from '@threadline/projector';
import { describe, expect, it } from 'vitest';
import {
  HistoryTemplate,
  planKeys,
  SessionHistory,
  seedConfig,
  type TransitionBody,
  traceparentOf,
} from './seed.js';

describe('planKeys', () => {
  it('adds up to the records asked for, each key within its bounds, the last taking the rest', () => {
    const counts = planKeys(10_007, 5, 20);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(10_007);
    for (const n of counts.slice(0, -1)) expect(n).toBeGreaterThanOrEqual(5);
    for (const n of counts) expect(n).toBeLessThanOrEqual(20);
    expect(new Set(counts).size).toBeGreaterThan(10); // lengths vary
  });

  it('gives every key exactly min records when min equals max', () => {
    expect(planKeys(100, 20, 20)).toEqual([20, 20, 20, 20, 20]);
  });

  it('depends only on the key indexes (a later batch continues the same plan)', () => {
    const whole = planKeys(1_000, 5, 20);
    const head = planKeys(
      whole.slice(0, 10).reduce((a, b) => a + b, 0),
      5,
      20,
    );
    expect(head).toEqual(whole.slice(0, 10));
    expect(planKeys(whole[10] as number, 5, 20, 10)).toEqual([whole[10]]);
  });

  it('refuses bounds that cannot hold', () => {
    expect(() => planKeys(10, 0, 5)).toThrow(RangeError);
    expect(() => planKeys(10, 6, 5)).toThrow(RangeError);
  });
});

describe('SessionHistory', () => {
  /** Appends a history to the in-memory twin of the session log, as the seeder does to JetStream. */
  async function appendHistory(turns: number): Promise<SessionRecord<TransitionBody>[]> {
    const history = new SessionHistory(7, seedConfig());
    const log = new MemorySessionLog();
    let head = { seq: 0, hash: GENESIS_HASH };
    for (let i = 0; i < turns; i++) {
      const record = history.next();
      const appended = await log.append({
        sessionKey: history.sessionKey,
        expectedLastSeq: head.seq,
        id: record.id,
        body: record.body,
        at: record.at,
        correlationId: record.correlationId,
        causationId: record.causationId,
        prevHash: head.hash,
        schemaVersion: 1,
        trace: { traceparent: traceparentOf(i) },
      });
      head = { seq: appended.seq, hash: appended.hash };
    }
    const records: SessionRecord<TransitionBody>[] = [];
    for await (const r of log.read<TransitionBody>(history.sessionKey)) records.push(r);
    return records;
  }

  it('writes a Telegram DM key the way the bench config routes it', () => {
    expect(new SessionHistory(3, seedConfig()).sessionKey).toBe('agent:main:telegram:direct:seed000000003');
  });

  it('makes a history whose chain verifies', async () => {
    const records = await appendHistory(12);
    expect(records).toHaveLength(12);
    expect(verifyChain(records)).toEqual({ ok: true });
  });

  it('makes transition records the projector folds with no divergence, alternating messages and replies', async () => {
    const records = await appendHistory(12);
    const key = records[0]?.sessionKey as string;
    let projected = emptyProjectedKey(key);
    let transcript = emptyTranscriptView(key);
    const problems: FoldProblem[] = [];
    for (const record of records) {
      // The projector's own fold: it decides each recorded input again and compares the facts.
      const folded = foldIntoProjection(projected, transcript, record as never);
      problems.push(...folded.problems);
      projected = folded.key;
      transcript = folded.transcript;
    }
    expect(problems).toEqual([]);
    expect(records.map((r) => r.body.input.type)).toEqual(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? 'message.inbound' : 'reply.outbound')),
    );
    expect(projected.entry.state).toBe('active');
    expect(projected.entry.messageCount).toBe(12); // messages and replies alike
    expect(projected.seq).toBe(records.at(-1)?.seq);
    expect(transcript.turns.length).toBe(12);
  });

  it('records each reply with its delivery, as the worker does', async () => {
    const [, reply] = await appendHistory(2);
    expect(reply?.body.deliveries).toEqual([
      expect.objectContaining({ status: 'allowed', verdict: expect.objectContaining({ decision: 'allow' }) }),
    ]);
  });
});

describe('HistoryTemplate', () => {
  const template = new HistoryTemplate(20);

  it.each([0, 1, 9, 123_456, 999_999_999])(
    'gives key %i exactly the records the session core decides',
    (index) => {
      // decidedRecordsOf throws on any byte of difference (body, id, hash).
      const { records, stored } = template.decidedRecordsOf(index, 20);
      expect(stored).toHaveLength(20);
      expect(records[0]?.body.input.type).toBe('message.inbound');
      expect(new Set(stored.map((r) => r.hash)).size).toBe(20);
    },
  );

  it('chains each key from the genesis hash, and gives two keys different histories', () => {
    const a = template.recordsOf(5, 3);
    const b = template.recordsOf(6, 3);
    expect(a[0]?.prevHash).toBe(GENESIS_HASH);
    expect(a[1]?.prevHash).toBe(a[0]?.hash);
    expect(a[2]?.prevHash).toBe(a[1]?.hash);
    expect(a[0]?.hash).not.toBe(b[0]?.hash);
    expect(a[0]?.bodyJson).toContain('seed000000005');
    expect(a[0]?.bodyJson).not.toContain('seed000000000');
    expect(a[0]?.bodyJson).toContain('"source":{"seq":5001,');
  });

  it('refuses more records than it holds', () => {
    expect(() => template.recordsOf(1, 21)).toThrow(RangeError);
  });
});
