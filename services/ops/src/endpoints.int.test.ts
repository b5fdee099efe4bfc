/**
 * Each ops endpoint answers what the matching `threadline … --json` command prints for the same data:
 * the real service process's composition (runOps) next to the real CLI (runCli), over a history a real
 * worker wrote and a real projector folded. The service runs on the shared test clock, set to the time
 * the CLI is given, so ages and `at` agree.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, type ExitCode, runCli } from '@threadline/cli';
import { driveSharedClock } from '@threadline/clock';
import type { ReplayPageV1, StatusV1 } from '@threadline/ops';
import { directKey, type OpsAnswer, opsRequest, seedSessions } from '@threadline/ops/testing';
import { OpsService } from '@threadline/protocol';
import { parseConfig } from '@threadline/session-core';
import { until, workerTestBed } from '@threadline/session-worker/testing';
import { describe, expect, it } from 'vitest';
import { runOps } from './run.js';
import { readSettings } from './settings.js';

describe('the ops endpoints and the CLI --json (real nats-server, worker, projector and service)', () => {
  const bed = workerTestBed({ config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config });

  it('answers status, sessions list, sessions show and replay as the CLI prints them, errors included', async () => {
    const { now, start } = await seedSessions(bed, { count: 3 });
    const dir = await mkdtemp(join(tmpdir(), 'threadline-ops-endpoints-'));
    bed.cleanup(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'test-clock.json5');
    await writeFile(file, "{ clock: { mode: 'test' } }");
    await (await driveSharedClock(bed.nc, { start: now })).set(now);
    const running = await runOps(
      readSettings({ THREADLINE_NATS_URL: bed.url, THREADLINE_CONFIG: file, THREADLINE_OPS_ID: 'ops-test' }),
      () => {},
    );
    bed.cleanup(() => running.stop());
    const ask = <T>(subject: string, body: unknown = {}) => opsRequest<T>(bed.nc, subject, body);
    await until(async () => {
      const status = await ask<StatusV1>(OpsService.status);
      return status.ok && status.json.at === now;
    });

    const cli = async (...argv: string[]): Promise<{ code: ExitCode; out: string[] }> => {
      const out: string[] = [];
      const code = await runCli(
        [...argv, '--json', '--server', bed.url],
        { out: (text) => out.push(text), err: () => {}, isTTY: false, env: {}, now: () => now },
        COMMANDS,
      );
      return { code, out };
    };
    const cliJson = async (...argv: string[]) => {
      const run = await cli(...argv);
      expect(run.code, argv.join(' ')).toBe(0);
      return JSON.parse(run.out.join('\n')) as unknown;
    };
    const answer = async (subject: string, body: unknown) => {
      const got = await ask(subject, body);
      if (!got.ok) throw new Error(`${subject}: ${got.code} ${got.message}`);
      return got.json;
    };
    /**
     * The endpoint's answer equals the CLI's, asked between two CLI runs that agree (a heartbeat between
     * them changes the status: then ask again).
     */
    const same = async (argv: string[], subject: string, body: unknown) => {
      for (let attempt = 0; attempt < 10; attempt++) {
        const before = await cliJson(...argv);
        const got = await answer(subject, body);
        const after = await cliJson(...argv);
        if (JSON.stringify(before) !== JSON.stringify(after)) continue;
        expect(got, argv.join(' ')).toEqual(before);
        return got;
      }
      throw new Error(`threadline ${argv.join(' ')} never answered the same twice`);
    };

    const status = (await same(['status'], OpsService.status, {})) as StatusV1;
    expect(status).toMatchObject({ at: now, sessions: 3, server: { url: bed.url } });
    await same(['sessions', 'list'], OpsService.sessionsList, {});
    await same(
      ['sessions', 'list', '--active', '60', '--agent', 'main', '--limit', '1'],
      OpsService.sessionsList,
      { activeMinutes: 60, agentId: 'main', limit: 1 },
    );
    await same(['sessions', 'show', directKey('new')], OpsService.sessionsShow, {
      sessionKey: directKey('new'),
    });

    // Replays: the CLI prints JSON lines; a page carries the same records.
    const lines = async (...argv: string[]) => (await cli(...argv)).out.map((line) => JSON.parse(line));
    const page = async (body: unknown) => (await answer(OpsService.replay, body)) as ReplayPageV1;
    const one = await page({ sessionKey: directKey('new') });
    expect(one.records).toEqual(await lines('replay', directKey('new')));
    expect(one.records).toHaveLength(3);
    const all = await page({});
    expect(all.records).toEqual(await lines('replay'));
    expect(all.records).toHaveLength(5);
    const since = new Date(start + 60 * 60_000).toISOString();
    const later = await page({ since });
    expect(later.records).toEqual(await lines('replay', '--since', since));
    expect(later.records.map((r) => r.sessionKey).sort()).toEqual([
      directKey('new'),
      directKey('new'),
      directKey('new'),
      directKey('opsy', 'ops'),
    ]);

    // The same failures: the CLI's exit 4 and 2 are the endpoint's 404 and 400, with the same message.
    const failures: [string[], string, unknown, ExitCode, number][] = [
      [
        ['sessions', 'show', directKey('nobody')],
        OpsService.sessionsShow,
        { sessionKey: directKey('nobody') },
        4,
        404,
      ],
      [['replay', directKey('nobody')], OpsService.replay, { sessionKey: directKey('nobody') }, 4, 404],
      [['replay', '--since', 'yesterday'], OpsService.replay, { since: 'yesterday' }, 2, 400],
    ];
    for (const [argv, subject, body, exitCode, code] of failures) {
      const run = await cli(...argv);
      const printed = JSON.parse(run.out.join('\n')) as { error: { message: string; exitCode: number } };
      const got = (await ask(subject, body)) as OpsAnswer<unknown>;
      expect([run.code, got.ok ? 200 : got.code], argv.join(' ')).toEqual([exitCode, code]);
      const expected = printed.error.message.replace('--since', 'since');
      expect(got.ok ? '' : got.message, argv.join(' ')).toBe(expected);
    }
  });
});
