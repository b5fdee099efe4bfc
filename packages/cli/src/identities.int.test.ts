import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { ensureThreadlineStreams } from '@threadline/event-log';
import { connectToNats, generateIdentities, type Identity, renderAuthorization } from '@threadline/nats';
import { createTestCertificates, type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { BucketNames } from '@threadline/protocol';
import { snapshotEntryName } from '@threadline/session-worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './commands/cli.support.js';
import { ExitCodes } from './errors.js';

// The CLI against a server with Threadline's identities (and TLS): who it connects as comes from
// --user/--password-file/--tls-ca or the THREADLINE_NATS_* variables; what it may do, from that user's role.
describe('the CLI as a Threadline identity', () => {
  let dir = '';
  let server: RunningNatsServer;
  let identities: Identity[];
  let ca = '';
  const password = (role: string) => identities.find((i) => i.role === role)?.password as string;
  const as = (role: string) => ({
    THREADLINE_NATS_USER: role,
    THREADLINE_NATS_PASSWORD: password(role),
    THREADLINE_NATS_TLS_CA: ca,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-cli-auth-'));
    identities = generateIdentities();
    const files = await createTestCertificates({ dir: join(dir, 'certs') });
    ca = files.caFile;
    server = await startNatsServer({
      extraConfig: `${renderAuthorization(identities)}\ntls {\n  cert_file: ${JSON.stringify(files.certFile)}\n  key_file: ${JSON.stringify(files.keyFile)}\n}\n`,
    });
    const nc = await connectToNats({
      servers: server.url,
      user: 'admin',
      pass: password('admin'),
      tls: { caFile: ca },
    });
    await ensureThreadlineStreams(nc);
    await nc.close();
  });
  afterAll(async () => {
    await server?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads as operator-readonly (from the variables, or --user and --password-file) and never prints the password', async () => {
    const status = await cli(['status', '--json'], { server: server.url, env: as('operator-readonly') });
    expect(status.code, status.err || status.text).toBe(ExitCodes.Ok);
    expect(status.json<{ streams: unknown[] }>().streams.length).toBeGreaterThan(0);
    const file = join(dir, 'operator.password');
    await writeFile(file, `${password('operator-readonly')}\n`, { mode: 0o600 });
    const listed = await cli(
      ['sessions', 'list', '--user', 'operator-readonly', '--password-file', file, '--tls-ca', ca],
      { server: server.url },
    );
    expect(listed.code, listed.err).toBe(ExitCodes.Ok);
    for (const run of [status, listed])
      expect(`${run.text}${run.err}`).not.toContain(password('operator-readonly'));
  });

  it('refuses a changing command to operator-readonly with a hint, and runs it as admin', async () => {
    // A key the session store knows (reset refuses unknown keys before it publishes anything).
    const nc = await connectToNats({
      servers: server.url,
      user: 'admin',
      pass: password('admin'),
      tls: { caFile: ca },
    });
    await (await new Kvm(nc).create(BucketNames.sessionStore)).put(
      snapshotEntryName('agent:main:main'),
      '{}',
    );
    await nc.close();
    const refused = await cli(['reset', 'agent:main:main'], {
      server: server.url,
      env: as('operator-readonly'),
    });
    expect(refused.code).toBe(ExitCodes.Failed);
    expect(refused.err).toMatch(/refused: .*Permissions Violation for Publish to "tl\.ctl\.v1\./);
    expect(refused.err).toMatch(/operator-readonly .*admin/);
    const reset = await cli(['reset', 'agent:main:main'], { server: server.url, env: as('admin') });
    expect(reset.code, reset.err).toBe(ExitCodes.Ok);
  });

  it('says what is wrong with the credentials: a wrong password, none, half a pair, no CA', async () => {
    const wrong = await cli(['status'], {
      server: server.url,
      env: { ...as('operator-readonly'), THREADLINE_NATS_PASSWORD: 'not-it' },
    });
    expect(wrong.code).toBe(ExitCodes.Unreachable);
    expect(wrong.err).toMatch(/refused the credentials/);
    expect(wrong.err).toMatch(/check the password of operator-readonly/);
    const none = await cli(['status'], { server: server.url, env: { THREADLINE_NATS_TLS_CA: ca } });
    expect(none.code).toBe(ExitCodes.Unreachable);
    expect(none.err).toMatch(/it wants a user/);
    const half = await cli(['status'], { server: server.url, env: { THREADLINE_NATS_PASSWORD: 'x' } });
    expect(half.code).toBe(ExitCodes.Usage);
    expect(half.err).toMatch(/THREADLINE_NATS_PASSWORD is set without THREADLINE_NATS_USER/);
    const noCa = await cli(['status'], {
      server: server.url,
      env: { THREADLINE_NATS_USER: 'admin', THREADLINE_NATS_PASSWORD: password('admin') },
    });
    expect(noCa.code).toBe(ExitCodes.Unreachable);
    expect(noCa.err).toMatch(/--tls-ca <file> or THREADLINE_NATS_TLS_CA/);
    const missingCa = await cli(['status', '--tls-ca', join(dir, 'nope.pem')], {
      server: server.url,
      env: as('admin'),
    });
    expect(missingCa.code).toBe(ExitCodes.Usage);
    expect(missingCa.err).toMatch(/--tls-ca=.*nope\.pem: no such file/);
  });
});
