import { StreamNames, Subjects } from '@threadline/protocol';
import { describe, expect, it } from 'vitest';
import { compareStreamConfig } from './provisionStreams.js';
import { DUPLICATE_WINDOW_MS, SESSION_RECORD_MAX_BYTES, threadlineStreams } from './streams.js';

const NANOS_PER_MS = 1_000_000;
const DAY_NANOS = 24 * 3600 * 1000 * NANOS_PER_MS;

function byName(replicas = 1, extra = {}) {
  return Object.fromEntries(threadlineStreams({ replicas, ...extra }).map((c) => [c.name, c]));
}

describe('threadlineStreams', () => {
  it('defines the three streams on the protocol subjects, on file storage with the given replicas', () => {
    for (const replicas of [1, 3]) {
      const streams = byName(replicas);
      expect(Object.keys(streams)).toEqual([
        StreamNames.inbound,
        StreamNames.sessions,
        StreamNames.deadLetters,
      ]);
      expect(streams[StreamNames.inbound]?.subjects).toEqual([Subjects.inboundAll, Subjects.replyAll]);
      expect(streams[StreamNames.sessions]?.subjects).toEqual(['tl.session.*']);
      expect(streams[StreamNames.deadLetters]?.subjects).toEqual([Subjects.deadLetterAll]);
      for (const config of Object.values(streams)) {
        expect(config).toMatchObject({
          storage: 'file',
          num_replicas: replicas,
          retention: 'limits',
          allow_rollup_hdrs: false,
        });
        expect(config.duplicate_window).toBe(DUPLICATE_WINDOW_MS * NANOS_PER_MS);
        expect(config.max_msg_size).toBeGreaterThan(0);
      }
    }
  });

  it('never ages, counts or sizes out session history, and refuses new records rather than dropping old ones', () => {
    const sessions = byName()[StreamNames.sessions];
    expect(sessions).toMatchObject({
      max_age: 0,
      max_msgs: -1,
      max_bytes: -1,
      max_msgs_per_subject: -1,
      discard: 'new',
      max_msg_size: SESSION_RECORD_MAX_BYTES,
      allow_direct: true,
    });
  });

  it('keeps dead letters 30 days unless configured, and inbound events 7 days', () => {
    expect(byName()[StreamNames.deadLetters]?.max_age).toBe(30 * DAY_NANOS);
    expect(byName(1, { deadLetterMaxAgeMs: 3 * 86_400_000 })[StreamNames.deadLetters]?.max_age).toBe(
      3 * DAY_NANOS,
    );
    expect(byName()[StreamNames.inbound]?.max_age).toBe(7 * DAY_NANOS);
  });

  it.each([0, 2.5, 6, Number.NaN])('refuses %s replicas', (replicas) => {
    expect(() => threadlineStreams({ replicas })).toThrow(RangeError);
  });

  it('refuses a max age shorter than the duplicate window', () => {
    expect(() => threadlineStreams({ replicas: 1, deadLetterMaxAgeMs: 1000 })).toThrow(/duplicate window/);
  });
});

describe('compareStreamConfig', () => {
  const sessions = byName()[StreamNames.sessions];
  if (!sessions) throw new Error('no sessions stream');

  it('finds nothing to report when the server echoes the configuration, subjects in any order', () => {
    const inbound = byName()[StreamNames.inbound];
    if (!inbound) throw new Error('no inbound stream');
    expect(compareStreamConfig(inbound, { ...inbound, subjects: [...inbound.subjects].reverse() })).toEqual(
      [],
    );
  });

  it('reports each differing field with expected and actual', () => {
    const actual = { ...sessions, storage: 'memory' as const, subjects: ['tl.session.>'], max_age: 5 };
    expect(compareStreamConfig(sessions, actual)).toEqual([
      {
        stream: StreamNames.sessions,
        field: 'subjects',
        expected: ['tl.session.*'],
        actual: ['tl.session.>'],
      },
      { stream: StreamNames.sessions, field: 'storage', expected: 'file', actual: 'memory' },
      { stream: StreamNames.sessions, field: 'max_age', expected: 0, actual: 5 },
    ]);
  });

  it('reads a field the server left out as the server default', () => {
    const { allow_direct: _, ...withoutDirect } = sessions;
    expect(compareStreamConfig(sessions, withoutDirect)).toEqual([
      { stream: StreamNames.sessions, field: 'allow_direct', expected: true, actual: false },
    ]);
  });
});
