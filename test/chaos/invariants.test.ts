import type { SessionRecord } from '@threadline/event-log';
import { describe, expect, it } from 'vitest';
import { type CheckedBody, checkHistories } from './invariants.js';

// The checker is what makes the chaos suite worth running: each rule is shown to fire on a history built
// to break it, and to stay quiet on the same history without the fault.

let seq = 0;
function record(sessionKey: string, body: Partial<CheckedBody> & Pick<CheckedBody, 'inputId'>) {
  seq += 1;
  return {
    seq,
    sessionKey,
    body: { input: { type: 'chat.message' }, ...body },
    prevHash: '',
    hash: '',
    at: 0,
    id: `r${seq}`,
    schemaVersion: 1,
  } satisfies SessionRecord<CheckedBody>;
}

const chat = (key: string, id: string, extra: Partial<CheckedBody> = {}) =>
  record(key, { inputId: `chat:${id}`, ...extra });
const arm = (timerId: string, dueAt: number) => ({
  timers: { schedule: [{ timerId, kind: 'expiry', dueAt }], cancel: [] },
});
const fired = (key: string, timerId: string, extra: Partial<CheckedBody> = {}) =>
  record(key, { inputId: `ctl:fire-${timerId}`, input: { type: 'timer.fired', timerId }, ...extra });

const kinds = (result: ReturnType<typeof checkHistories>) => result.violations.map((v) => v.kind).sort();

describe('the chaos invariant checker', () => {
  const sent = new Set(['a', 'b', 'c']);

  it('finds nothing wrong in a clean history', () => {
    const result = checkHistories({
      records: [chat('k1', 'a', arm('t1', 100)), chat('k2', 'b'), fired('k1', 't1')],
      acked: new Set(['a', 'b']),
      sent,
      dueBy: 1_000,
    });
    expect(result.violations).toEqual([]);
    expect(result.figures).toMatchObject({
      keys: 2,
      records: 3,
      chatRecords: 2,
      timersDue: 1,
      timersFired: 1,
    });
  });

  it('reports an acknowledged message that no history holds', () => {
    const result = checkHistories({ records: [chat('k1', 'a')], acked: new Set(['a', 'b']), sent, dueBy: 0 });
    expect(kinds(result)).toEqual(['acked-message-missing']);
    expect(result.violations[0]?.detail).toContain('b');
  });

  it('reports a message recorded twice in one history, and one recorded in two', () => {
    const twice = checkHistories({
      records: [chat('k1', 'a'), chat('k1', 'a')],
      acked: new Set(['a']),
      sent,
      dueBy: 0,
    });
    expect(kinds(twice)).toEqual(['message-recorded-twice']);
    const two = checkHistories({
      records: [chat('k1', 'a'), chat('k2', 'a')],
      acked: new Set(['a']),
      sent,
      dueBy: 0,
    });
    expect(kinds(two)).toEqual(['message-in-two-sessions']);
  });

  it('reports a recorded message nobody sent', () => {
    const result = checkHistories({ records: [chat('k1', 'zzz')], acked: new Set(), sent, dueBy: 0 });
    expect(kinds(result)).toEqual(['unknown-message-recorded']);
  });

  it('reports a due timer that never fired, but not one due after the end or cancelled before it fired', () => {
    const records = [
      chat('k1', 'a', arm('due', 500)),
      chat('k1', 'b', arm('later', 5_000)),
      chat('k2', 'c', arm('cancelled', 500)),
      record('k2', { inputId: 'reply:1', timers: { schedule: [], cancel: [{ timerId: 'cancelled' }] } }),
    ];
    const result = checkHistories({ records, acked: new Set(), sent, dueBy: 1_000 });
    expect(kinds(result)).toEqual(['due-timer-not-fired']);
    expect(result.violations[0]?.detail).toContain('k1: timer due');
  });

  it('reports a timer fired twice, and a firing of a timer the key never armed', () => {
    const twice = checkHistories({
      records: [chat('k1', 'a', arm('t1', 100)), fired('k1', 't1'), fired('k1', 't1')],
      acked: new Set(),
      sent,
      dueBy: 1_000,
    });
    expect(kinds(twice)).toEqual(['timer-fired-twice']);
    // Timer ids are per key: k2 firing k1's timer id is not k1's timer.
    const unarmed = checkHistories({
      records: [chat('k1', 'a', arm('t1', 100)), fired('k1', 't1'), fired('k2', 't1')],
      acked: new Set(),
      sent,
      dueBy: 1_000,
    });
    expect(kinds(unarmed)).toEqual(['timer-fired-unarmed']);
  });

  it('accepts a cancel that comes after the firing (the fired timer is dropped afterwards)', () => {
    const result = checkHistories({
      records: [
        chat('k1', 'a', arm('t1', 100)),
        fired('k1', 't1', { timers: { schedule: [], cancel: [{ timerId: 't1' }] } }),
      ],
      acked: new Set(['a']),
      sent,
      dueBy: 1_000,
    });
    expect(result.violations).toEqual([]);
  });
});
