/**
 * The ops endpoints against a real nats-server, with a real worker writing the session records and a
 * real projector folding them into the session store: answers, refusals (and the service serving on),
 * and replays a page at a time. That each answer equals the CLI's `--json` is checked in services/ops.
 */
import { parseConfig } from '@threadline/session-core';
import { workerTestBed } from '@threadline/session-worker/testing';
import { describe, expect, it } from 'vitest';
import type { MicroService, StatsResponse } from './microService.js';
import { directKey, opsRequest, seedSessions } from './ops.support.js';
import { OPS_ENDPOINTS, startOpsService } from './opsService.js';
import { type ReplayPageV1, type ReplayRecordV1, replayPage, replayRecords } from './replay.js';
import type { SessionListV1, SessionShowV1 } from './sessions.js';
import type { StatusV1 } from './status.js';

const S = {
  status: 'tl.ops.v1.status',
  list: 'tl.ops.v1.sessions.list',
  show: 'tl.ops.v1.sessions.show',
  replay: 'tl.ops.v1.replay',
} as const;

describe('the ops service (real nats-server, worker and projector)', () => {
  const bed = workerTestBed({ config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config });

  const service = (now?: number): MicroService => {
    const running = startOpsService({ nc: bed.nc, ...(now === undefined ? {} : { now: () => now }) });
    bed.cleanup(() => running.stop());
    return running;
  };
  const collect = async (options: Parameters<typeof replayRecords>[1]) => {
    const out: ReplayRecordV1[] = [];
    for await (const r of replayRecords(bed.nc, options)) out.push(r);
    return out;
  };

  it('answers status, sessions list and sessions show with the store as the projector wrote it', async () => {
    const { now } = await seedSessions(bed);
    service(now);
    const status = await opsRequest<StatusV1>(bed.nc, S.status);
    expect(status.ok && status.json).toMatchObject({ v: 1, at: now, sessions: 3, deadLetters: 0 });

    const list = await opsRequest<SessionListV1>(bed.nc, S.list, { activeMinutes: 60, limit: 1 });
    expect(list.ok && list.json).toMatchObject({
      count: 1,
      activeMinutes: 60,
      totalCount: 2,
      limitApplied: 1,
      hasMore: true,
      sessions: [{ key: directKey('new'), agentId: 'main', ageMs: 2 * 60_000 }],
    });
    const ops = await opsRequest<SessionListV1>(bed.nc, S.list, { agentId: 'ops' });
    expect(ops.ok && ops.json.sessions.map((s) => s.key)).toEqual([directKey('opsy', 'ops')]);

    const shown = await opsRequest<SessionShowV1>(bed.nc, S.show, { sessionKey: directKey('new') });
    expect(shown.ok && shown.json).toMatchObject({
      key: directKey('new'),
      entry: { sessionKey: directKey('new'), messageCount: 1 },
      transcript: { turns: [{ role: 'user', text: 'message 1' }] },
    });
  });

  it('refuses bad requests with 400 naming the field, unknown keys with 404, and keeps serving; STATS counts them', async () => {
    await seedSessions(bed);
    const running = service();
    const refusals: [string, unknown, number, RegExp, string | undefined][] = [
      [S.list, '{not json', 400, /^the request is not JSON/, undefined],
      [S.list, '[]', 400, /must be a JSON object, got an array/, undefined],
      [
        S.list,
        { activeMinutes: -5 },
        400,
        /^activeMinutes must be a whole number from 1 up, got -5$/,
        'activeMinutes',
      ],
      [S.list, { activeMinutes: 'an hour' }, 400, /^activeMinutes must be a whole number/, 'activeMinutes'],
      [S.list, { limit: 5000 }, 400, /^limit must be a whole number from 1 to 1000/, 'limit'],
      [
        S.list,
        { agent: 'ops' },
        400,
        /^unknown field "agent" \(known: activeMinutes, agentId, limit\)$/,
        'agent',
      ],
      [S.status, { verbose: true }, 400, /^unknown field "verbose"/, 'verbose'],
      [S.show, {}, 400, /^sessionKey is required$/, 'sessionKey'],
      [S.show, { sessionKey: 42 }, 400, /^sessionKey must be a non-empty string, got 42$/, 'sessionKey'],
      [
        S.show,
        { sessionKey: directKey('nobody') },
        404,
        /^no session ".*nobody" in the session store$/,
        undefined,
      ],
      [S.replay, { since: 'yesterday' }, 400, /^since "yesterday" is not a time$/, 'since'],
      [S.replay, { since: '2026-01-02', until: '2026-01-01' }, 400, /^since .* is after until /, 'since'],
      [S.replay, { afterSeq: -1 }, 400, /^afterSeq must be a whole number from 0 up/, 'afterSeq'],
      [S.replay, { sessionKey: directKey('nobody') }, 404, /^no records for session key/, undefined],
    ];
    for (const [subject, body, code, message, field] of refusals) {
      const answer = await opsRequest(bed.nc, subject, body);
      const what = `${subject} ${JSON.stringify(body)}`;
      expect(answer.ok, what).toBe(false);
      if (answer.ok) continue;
      expect(answer.code, what).toBe(code);
      expect(answer.message, what).toMatch(message);
      expect(answer.json.error.message, what).toBe(answer.message);
      expect(answer.json.error.field, what).toBe(field);
      expect(answer.json.error.code, what).toBe(code === 404 ? 'NOT_FOUND' : 'BAD_REQUEST');
    }
    // Still serving.
    expect((await opsRequest(bed.nc, S.list, {})).ok).toBe(true);

    const stats = running.stats();
    const by = (name: string) =>
      stats.endpoints.find((e) => e.name === name) as StatsResponse['endpoints'][number];
    expect([by(OPS_ENDPOINTS.sessionsList).num_requests, by(OPS_ENDPOINTS.sessionsList).num_errors]).toEqual([
      7, 6,
    ]);
    expect([by(OPS_ENDPOINTS.status).num_requests, by(OPS_ENDPOINTS.status).num_errors]).toEqual([1, 1]);
    expect([by(OPS_ENDPOINTS.sessionsShow).num_requests, by(OPS_ENDPOINTS.sessionsShow).num_errors]).toEqual([
      3, 3,
    ]);
    expect(by(OPS_ENDPOINTS.replay)).toMatchObject({
      num_requests: 4,
      num_errors: 4,
      last_error: expect.stringMatching(/^404 no records for session key/),
    });
    expect(by(OPS_ENDPOINTS.sessionsShow).processing_time).toBeGreaterThan(0);
  });

  it('pages a replay: limit, hasMore and nextSeq cover every record once, for one key and for all', async () => {
    await seedSessions(bed, { count: 5 });
    service();
    const key = directKey('new');
    const pages = async (request: Record<string, unknown>) => {
      const records: ReplayRecordV1[] = [];
      const seen: ReplayPageV1[] = [];
      let afterSeq = 0;
      for (;;) {
        const answer = await opsRequest<ReplayPageV1>(bed.nc, S.replay, { ...request, afterSeq, limit: 2 });
        if (!answer.ok) throw new Error(answer.message);
        seen.push(answer.json);
        records.push(...answer.json.records);
        afterSeq = answer.json.nextSeq;
        if (!answer.json.hasMore) return { records, pages: seen };
      }
    };
    const one = await pages({ sessionKey: key });
    expect(one.records).toEqual(await collect({ sessionKey: key }));
    expect(one.records).toHaveLength(5);
    expect(one.pages.map((p) => [p.count, p.hasMore])).toEqual([
      [2, true],
      [2, true],
      [1, false],
    ]);
    expect(one.pages[0]?.nextSeq).toBe(one.records[1]?.seq);
    // The last page's cursor is its last record: asking again from there answers an empty page.
    const last = one.pages.at(-1) as ReplayPageV1;
    expect(last.nextSeq).toBe(one.records.at(-1)?.seq);
    const after = await opsRequest<ReplayPageV1>(bed.nc, S.replay, {
      sessionKey: key,
      afterSeq: last.nextSeq,
    });
    expect(after.ok && after.json).toEqual({
      records: [],
      count: 0,
      hasMore: false,
      nextSeq: last.nextSeq,
      unreadable: 0,
    });

    const all = await pages({});
    expect(all.records).toEqual(await collect({}));
    expect(all.records).toHaveLength(7);
    expect(new Set(all.records.map((r) => r.sessionKey)).size).toBe(3);
    // Without a limit: the default (100) takes all seven at once.
    const whole = await opsRequest<ReplayPageV1>(bed.nc, S.replay, {});
    expect(whole.ok && [whole.json.count, whole.json.hasMore]).toEqual([7, false]);
  });

  it('keeps a page within the bytes a reply may carry, and refuses a record that alone does not fit', async () => {
    await seedSessions(bed, { count: 4 });
    const key = directKey('new');
    const every = await collect({ sessionKey: key });
    const size = Math.max(...every.map((r) => Buffer.byteLength(JSON.stringify(r))));
    // Room for two records (and the envelope), whatever the limit.
    const maxBytes = 1024 + 2 * (size + 1);
    const first = await replayPage(bed.nc, { sessionKey: key, limit: 100, afterSeq: 0 }, { maxBytes });
    expect([first.count, first.hasMore]).toEqual([2, true]);
    const rest = await replayPage(
      bed.nc,
      { sessionKey: key, limit: 100, afterSeq: first.nextSeq },
      { maxBytes },
    );
    expect([rest.count, rest.hasMore]).toEqual([2, false]);
    expect([...first.records, ...rest.records]).toEqual(every);
    await expect(
      replayPage(bed.nc, { sessionKey: key, limit: 100, afterSeq: 0 }, { maxBytes: 1024 + 10 }),
    ).rejects.toMatchObject({
      code: 'TOO_LARGE',
      status: 413,
      message: expect.stringMatching(/alone is \d+ bytes/),
    });
  });
});
