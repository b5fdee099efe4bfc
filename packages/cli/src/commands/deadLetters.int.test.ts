/**
 * `threadline dead-letters list` and `dead-letters replay` against a real nats-server: the real worker
 * dead-letters a malformed chat event; the CLI lists it and replays it fixed, and the worker records it.
 */
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { StreamNames, Subjects } from '@threadline/protocol';
import { parseConfig } from '@threadline/session-core';
import { chat, deadLetters, history, until, workerTestBed } from '@threadline/session-worker/testing';
import { describe, expect, it } from 'vitest';
import { ExitCodes } from '../errors.js';
import { cli, sendChat, UNREACHABLE } from './cli.support.js';
import type { DeadLetterListV1, ReplayV1 } from './deadLetters.js';

const keyOf = (peer: string) => `agent:main:telegram:direct:${peer}`;

describe('threadline dead-letters (real nats-server and worker)', () => {
  const bed = workerTestBed({ config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config });

  /** A chat event without its sender, published as an adapter with a bug would: the worker refuses it. */
  const malformed = async (peer: string) => {
    const { sender: _dropped, ...event } = chat('telegram', peer, 1);
    await jetstream(bed.nc).publish(Subjects.inbound('telegram', peer), JSON.stringify(event), {
      msgID: event.id,
    });
    return event;
  };

  it('lists dead letters newest first (exit 1), and replays one with fixed bytes that become a session record', async () => {
    await bed.start();
    await sendChat(bed.nc, 'fine', 1);
    await malformed('zed');
    await jetstream(bed.nc).publish(Subjects.inbound('telegram', 'junk'), 'not json at all');
    await until(async () => (await deadLetters(bed.nc)).length === 2, 20_000, 'two dead letters');

    const text = await cli(['dead-letters', 'list'], { server: bed.url });
    expect(text.code).toBe(ExitCodes.Findings);
    expect(text.out[0]).toMatch(/^2 dead letters/);
    expect(text.out[1]).toMatch(/^SEQ\s+RECEIVED\s+CODE\s+SUBJECT\s+REASON\s+ORIGINAL$/);
    const rows = text.out.slice(2);
    expect(rows).toHaveLength(2);
    const junkFirst = rows[0]?.includes('tl.in.v1.telegram.junk') === true;
    const [zedRow, junkRow] = junkFirst ? [rows[1], rows[0]] : [rows[0], rows[1]];
    expect(zedRow).toMatch(/schema_violation\s+tl\.in\.v1\.telegram\.zed\s+.*sender/);
    expect(junkRow).toMatch(/invalid_json\s+tl\.in\.v1\.telegram\.junk\s+.*not json at all/);

    const json = await cli(['dead-letters', 'list', '--json'], { server: bed.url });
    expect(json.code).toBe(ExitCodes.Findings);
    const list = json.json<DeadLetterListV1>();
    expect(list).toMatchObject({ count: 2, totalCount: 2, limitApplied: 20, hasMore: false });
    expect(list.deadLetters[0]?.seq).toBeGreaterThan(list.deadLetters[1]?.seq ?? Infinity); // newest first
    const zed = list.deadLetters.find((d) => d.publishedSubject === Subjects.inbound('telegram', 'zed'));
    expect(zed?.letter).toMatchObject({
      v: 1,
      code: 'schema_violation',
      subject: Subjects.inbound('telegram', 'zed'),
      truncated: false,
    });
    expect(zed?.letter?.reason).toContain('sender');
    const limited = (
      await cli(['dead-letters', 'list', '--limit', '1', '--json'], { server: bed.url })
    ).json<DeadLetterListV1>();
    expect(limited).toMatchObject({ count: 1, totalCount: 2, hasMore: true });

    // Replayed unchanged it would only be refused again: the CLI says so and publishes nothing.
    const seq = zed?.seq as number;
    const unchanged = await cli(['dead-letters', 'replay', String(seq)], { server: bed.url });
    expect(unchanged.code).toBe(ExitCodes.Failed);
    expect(unchanged.err).toMatch(/would be dead-lettered again unchanged \(schema_violation/);

    // Fixed: the same event (same producer id) with its sender.
    const file = join(tmpdir(), `threadline-cli-fixed-${process.pid}-${Date.now()}.json`);
    bed.cleanup(() => rm(file, { force: true }));
    await writeFile(file, JSON.stringify(chat('telegram', 'zed', 1, { text: 'fixed message' })));
    const replay = await cli(['dead-letters', 'replay', String(seq), '--file', file, '--json'], {
      server: bed.url,
    });
    expect(replay.code).toBe(ExitCodes.Ok);
    const replayed = replay.json<ReplayV1>();
    expect(replayed).toMatchObject({
      seq,
      code: 'schema_violation',
      subject: Subjects.inbound('telegram', 'zed'),
      source: file,
      stream: StreamNames.inbound,
    });
    expect(replayed.msgId).toMatch(new RegExp(`^ops:replay:${seq}:`));
    await until(async () => (await history(bed.nc, keyOf('zed'))).length === 1, 20_000, 'zed recorded');
    const [record] = await history(bed.nc, keyOf('zed'));
    expect(record?.body.input).toMatchObject({ type: 'message.inbound', text: 'fixed message' });
    expect((await deadLetters(bed.nc)).length).toBe(2); // not refused again

    // Text output says what it did.
    const again = await cli(['dead-letters', 'replay', String(seq), '--file', file], { server: bed.url });
    expect(again.code).toBe(ExitCodes.Ok);
    expect(again.out[0]).toMatch(
      new RegExp(
        `^replayed dead letter ${seq} \\(schema_violation\\): \\d+ bytes from .+ to tl\\.in\\.v1\\.telegram\\.zed$`,
      ),
    );
  });

  it('refuses a sequence that holds no dead letter (exit 4), a bad file (exit 2) and an unreachable server (exit 3)', async () => {
    const none = await cli(['dead-letters', 'list', '--json'], { server: bed.url });
    expect(none.code).toBe(ExitCodes.Ok);
    expect(none.json()).toMatchObject({ count: 0, totalCount: 0, deadLetters: [] });

    await bed.start();
    await malformed('ann');
    await until(async () => (await deadLetters(bed.nc)).length === 1, 20_000, 'dead letter');
    const missing = await cli(['dead-letters', 'replay', '999'], { server: bed.url });
    expect(missing.code).toBe(ExitCodes.NotFound);
    expect(missing.err).toContain(`no dead letter at seq 999 in ${StreamNames.deadLetters}`);
    expect((await cli(['dead-letters', 'replay', 'abc'], { server: bed.url })).code).toBe(ExitCodes.Usage);
    const noFile = await cli(['dead-letters', 'replay', '1', '--file', '/nonexistent/fixed.json'], {
      server: bed.url,
    });
    expect(noFile.code).toBe(ExitCodes.Usage);
    expect(noFile.err).toContain('/nonexistent/fixed.json');
    const stillBad = join(tmpdir(), `threadline-cli-bad-${process.pid}-${Date.now()}.json`);
    bed.cleanup(() => rm(stillBad, { force: true }));
    await writeFile(stillBad, '{"v":1}');
    const bad = await cli(['dead-letters', 'replay', '1', '--file', stillBad], { server: bed.url });
    expect(bad.code).toBe(ExitCodes.Usage);
    expect(bad.err).toMatch(/would be dead-lettered again/);

    const away = await cli(['dead-letters', 'list'], { server: UNREACHABLE });
    expect(away.code).toBe(ExitCodes.Unreachable);
    expect(away.err).toContain(UNREACHABLE);
  });
});
