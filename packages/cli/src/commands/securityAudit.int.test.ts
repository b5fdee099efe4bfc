/**
 * `threadline security audit` against a real nats-server: the configuration's findings, and the privacy
 * warning the real worker records when Alice and Bob share the main DM session.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProjector } from '@threadline/projector';
import { parseConfig } from '@threadline/session-core';
import { history, until, workerTestBed } from '@threadline/session-worker/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCodes } from '../errors.js';
import { cli, sendChat, UNREACHABLE } from './cli.support.js';
import type { SecurityAuditV1 } from './securityAudit.js';

describe('threadline security audit (real nats-server, worker and projector)', () => {
  const bed = workerTestBed({ config: parseConfig({}).config }); // dmScope main: all DMs share one session
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-audit-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('names the shared main DM session in the config and the session where Alice and Bob met', async () => {
    await bed.start();
    const projector = await startProjector({ nc: bed.nc, partitions: 4 });
    bed.cleanup(() => projector.stop());
    await sendChat(bed.nc, 'alice', 1, { sender: { id: 'alice' } });
    await sendChat(bed.nc, 'bob', 1, { sender: { id: 'bob' } }, 'whatsapp');
    await until(async () => (await history(bed.nc, 'agent:main:main')).length === 2, 20_000, 'both recorded');
    await until(
      () => projector.status().pending === 0 && projector.status().handled >= 2,
      20_000,
      'projected',
    );
    await projector.waitFor(projector.status().handled);

    const run = await cli(['security', 'audit', '--json'], { server: bed.url });
    expect(run.code).toBe(ExitCodes.Findings);
    const report = run.json<SecurityAuditV1>();
    expect(report.config).toBe('defaults');
    expect(report.findings.map((f) => f.id)).toContain('shared-dm-session');
    expect(report.privacyWarnings).toEqual([
      expect.objectContaining({ sessionKey: 'agent:main:main', senderIds: ['alice', 'bob'] }),
    ]);
    const text = await cli(['security', 'audit'], { server: bed.url });
    expect(text.text).toMatch(/WARN session\.dmScope: direct messages from everyone share one session/);
    expect(text.text).toMatch(/agent:main:main since .*: alice, bob/);
  });

  it('given an isolated production config and --config-only, then nothing to attend to (exit 0, no server needed)', async () => {
    const file = join(dir, 'safe.json5');
    await writeFile(file, "{ session: { dmScope: 'per-channel-peer' }, production: true }");
    const run = await cli(['security', 'audit', '--config', file, '--config-only', '--json'], {
      server: UNREACHABLE,
    });
    expect(run.code).toBe(ExitCodes.Ok);
    expect(run.json<SecurityAuditV1>()).toEqual({ config: file, findings: [], privacyWarnings: null });
  });

  it('refuses an invalid config file, naming the path and the problem (exit 2); an unreachable server is exit 3', async () => {
    const bad = join(dir, 'bad.json5');
    await writeFile(bad, "{ session: { dmScope: 'everyone' } }");
    const run = await cli(['security', 'audit', '--config', bad, '--config-only'], { server: UNREACHABLE });
    expect(run.code).toBe(ExitCodes.Usage);
    expect(run.err).toMatch(/session\.dmScope/);
    const unreachable = await cli(['security', 'audit'], { server: UNREACHABLE });
    expect(unreachable.code).toBe(ExitCodes.Unreachable);
  });
});
