import { StreamNames, Subjects } from '@threadline/protocol';
import { describe, expect, it } from 'vitest';
import { compareStreamConfig } from './provisionStreams.js';
import {
  DEFAULT_RETENTION,
  DUPLICATE_WINDOW_MS,
  inboundPartitionFilter,
  keyedPartitionFilter,
  parseStoredSubject,
  SESSION_RECORD_MAX_BYTES,
  threadlineStreams,
} from './streams.js';

const NANOS_PER_MS = 1_000_000;
const DAY_NANOS = 24 * 3600 * 1000 * NANOS_PER_MS;

function byName(replicas = 1, extra = {}) {
  return Object.fromEntries(threadlineStreams({ replicas, ...extra }).map((c) => [c.name, c]));
}

describe('threadlineStreams', () => {
  it('defines the six streams on the protocol subjects, on file storage with the given replicas', () => {
    for (const replicas of [1, 3]) {
      const streams = byName(replicas);
      expect(Object.keys(streams)).toEqual([
        StreamNames.inbound,
        StreamNames.keyed,
        StreamNames.sessions,
        StreamNames.deadLetters,
        StreamNames.deliveries,
        StreamNames.ticks,
      ]);
      expect(streams[StreamNames.inbound]?.subjects).toEqual([Subjects.inboundAll]);
      expect(streams[StreamNames.keyed]?.subjects).toEqual([
        Subjects.routedAll,
        Subjects.replyAll,
        Subjects.controlAll,
      ]);
      expect(streams[StreamNames.sessions]?.subjects).toEqual(['tl.session.*']);
      expect(streams[StreamNames.deadLetters]?.subjects).toEqual([Subjects.deadLetterAll]);
      expect(streams[StreamNames.deliveries]?.subjects).toEqual([Subjects.deliveryAll]);
      expect(streams[StreamNames.ticks]?.subjects).toEqual(['tl.tick.v1.*.*']);
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

  it('keeps by default the buffers and deliveries 7 days, dead letters 30, sessions and ticks for ever, with no size limit', () => {
    const streams = byName();
    const limits = Object.fromEntries(
      Object.values(streams).map((c) => [c.name, [c.max_age, c.max_bytes, c.discard]]),
    );
    expect(limits).toEqual({
      [StreamNames.inbound]: [7 * DAY_NANOS, -1, 'old'],
      [StreamNames.keyed]: [7 * DAY_NANOS, -1, 'old'],
      [StreamNames.sessions]: [0, -1, 'new'],
      [StreamNames.deadLetters]: [30 * DAY_NANOS, -1, 'old'],
      [StreamNames.deliveries]: [7 * DAY_NANOS, -1, 'old'],
      [StreamNames.ticks]: [0, -1, 'old'],
    });
    // The defaults spelled out are the same streams.
    expect(threadlineStreams({ replicas: 1, retention: DEFAULT_RETENTION })).toEqual(
      threadlineStreams({ replicas: 1 }),
    );
  });

  it("takes each stream's maximum age and size from retention, null for no limit, the rest as default", () => {
    const streams = byName(1, {
      retention: {
        sessions: { maxAgeMs: 400 * 86_400_000, maxBytes: 50 * 1024 ** 3 },
        inbound: { maxBytes: 10 * 1024 ** 3 },
        deadLetters: { maxAgeMs: null },
        ticks: { maxAgeMs: 3 * 86_400_000 },
      },
    });
    expect(streams[StreamNames.sessions]).toMatchObject({
      max_age: 400 * DAY_NANOS,
      max_bytes: 50 * 1024 ** 3,
      // A size limit on the session log refuses new records; it never deletes old ones.
      discard: 'new',
    });
    expect(streams[StreamNames.inbound]).toMatchObject({ max_age: 7 * DAY_NANOS, max_bytes: 10 * 1024 ** 3 });
    expect(streams[StreamNames.keyed]).toMatchObject({ max_age: 7 * DAY_NANOS, max_bytes: -1 });
    expect(streams[StreamNames.deadLetters]).toMatchObject({ max_age: 0, max_bytes: -1 });
    expect(streams[StreamNames.ticks]).toMatchObject({ max_age: 3 * DAY_NANOS, max_bytes: -1 });
    // 400 days in nanoseconds is past 2^53 and still exact: whole seconds are multiples of 2^9 ns.
    expect(Number.isInteger(streams[StreamNames.sessions]?.max_age)).toBe(true);
    expect(JSON.stringify(streams[StreamNames.sessions]?.max_age)).toBe('34560000000000000');
  });

  it.each([0, 2.5, 6, Number.NaN])('refuses %s replicas', (replicas) => {
    expect(() => threadlineStreams({ replicas })).toThrow(RangeError);
  });

  it('stores inbound by conversation partition and keyed inputs by key partition, with the count in the config', () => {
    const streams = byName(1, { partitions: 8 });
    expect(streams[StreamNames.inbound]?.subject_transform).toEqual({
      src: 'tl.in.v1.*.*',
      dest: 'tl.in.{{partition(8,1,2)}}.v1.{{wildcard(1)}}.{{wildcard(2)}}',
    });
    expect(streams[StreamNames.keyed]?.subject_transform).toEqual({
      src: 'tl.*.v1.*',
      dest: 'tl.{{wildcard(1)}}.{{partition(8,2)}}.v1.{{wildcard(2)}}',
    });
    expect(byName()[StreamNames.keyed]?.subject_transform?.dest).toContain('partition(16,2)');
  });

  it.each([0, 1.5, 1025])('refuses %s partitions', (partitions) => {
    expect(() => threadlineStreams({ replicas: 1, partitions })).toThrow(/partitions/);
  });

  it('maps stored subjects back to published ones, and partition filters match only their partition', () => {
    expect(parseStoredSubject('tl.in.3.v1.telegram.42')).toEqual({
      published: 'tl.in.v1.telegram.42',
      partition: 3,
    });
    expect(parseStoredSubject('tl.reply.15.v1.agent:main:main')).toEqual({
      published: 'tl.reply.v1.agent:main:main',
      partition: 15,
    });
    for (const bad of ['tl.in.v1.telegram.42', 'tl.in.03.v1.a.b', 'tl.session.x', 'x.in.3.v1.a.b'])
      expect(parseStoredSubject(bad)).toBeUndefined();
    expect(inboundPartitionFilter(3)).toBe('tl.in.3.v1.*.*');
    expect(keyedPartitionFilter(3)).toBe('tl.*.3.v1.*');
  });

  it.each([
    [{ deadLetters: { maxAgeMs: 1000 } }, /retention\.deadLetters\.maxAgeMs .* from 120000/],
    [{ inbound: { maxAgeMs: 1.5 * 86_400_000 + 0.5 } }, /retention\.inbound\.maxAgeMs/],
    [{ sessions: { maxAgeMs: 3_600_000 } }, /retention\.sessions\.maxAgeMs .* from 86400000/],
    [{ keyed: { maxAgeMs: 101 * 365 * 86_400_000 } }, /retention\.keyed\.maxAgeMs/],
    [{ sessions: { maxBytes: 1000 } }, /retention\.sessions\.maxBytes .* at least 1048576/],
    [{ ticks: { maxBytes: Number.NaN } }, /retention\.ticks\.maxBytes/],
    [{ outbox: { maxAgeMs: 86_400_000 } }, /unknown stream "outbox"/],
  ])('refuses the retention %j', (retention, message) => {
    expect(() => threadlineStreams({ replicas: 1, retention } as never)).toThrow(RangeError);
    expect(() => threadlineStreams({ replicas: 1, retention } as never)).toThrow(message);
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
