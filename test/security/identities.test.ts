/**
 * The deployment side of the identities: infra/nats/single.conf with its identities include and its tls
 * block switched on (each one setting away), run by a real nats-server with the passwords in its
 * environment as an operator would give them, and the test certificates (scripts/test-certs.mjs): each
 * role is admitted with its password and held to its permissions, a real service process connects with
 * `THREADLINE_NATS_TLS_CA`, and one without it is refused.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { buildServices, IDENTITY_VARIABLES, SERVICES, startServiceProcess } from '@threadline/devstack';
import { ensureThreadlineStreams } from '@threadline/event-log';
import { connectToNats, passwordVariableOf, ROLES } from '@threadline/nats';
import {
  createTestCertificates,
  freePorts,
  natsServerBinary,
  waitForHealthz,
} from '@threadline/nats-harness';
import { StreamNames, Subjects } from '@threadline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/processes.js';
import { requestOutcome } from './permissions.support.js';

const passwords = Object.fromEntries(ROLES.map((role) => [role, `local-${role}-password`]));

describe('infra/nats/auth/identities.inc in a real server, TLS with the test certificates', () => {
  let dir = '';
  let server: ChildProcess | undefined;
  const saved: Record<string, string | undefined> = {};
  beforeAll(async () => {
    buildServices('@threadline/ops-service...');
    dir = await mkdtemp(join(tmpdir(), 'threadline-identities-'));
    // The server resolves $NATS_PASSWORD_<ROLE> from its environment, which it inherits from this process.
    for (const role of ROLES) {
      const name = passwordVariableOf(role);
      saved[name] = process.env[name];
      process.env[name] = passwords[role];
    }
  }, 240_000);
  afterAll(async () => {
    if (server && server.exitCode === null) {
      const gone = new Promise((resolve) => server?.once('exit', resolve));
      server.kill('SIGTERM');
      await gone;
    }
    for (const [name, value] of Object.entries(saved))
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('admits each role with its password, enforces its permissions, and serves it over TLS only to clients that trust the CA', async () => {
    const certs = await createTestCertificates({ dir: join(dir, 'tls') });
    // infra/nats/single.conf with its two settings switched on — the identities include and the tls block
    // — as an operator would, beside a copy of auth/identities.inc; its ports, store and certificate
    // paths moved to free ones and this test's folder.
    const [port, httpPort] = await freePorts(2);
    const text = (await readFile(join(repoRoot, 'infra', 'nats', 'single.conf'), 'utf8'))
      .replace(/^# (include "auth\/identities\.inc")$/m, '$1')
      .replace(
        /^# (tls \{)\n# (\s+cert_file: ).*\n# (\s+key_file: ).*\n/m,
        (_, tls: string, cert: string, key: string) =>
          [
            tls,
            `${cert}${JSON.stringify(certs.certFile)}`,
            `${key}${JSON.stringify(certs.keyFile)}`,
            '',
          ].join('\n'),
      )
      .replace(/^(#\s+# (ca_file|verify).*\n)+# \}$/m, '}')
      .replace(/^listen: 127\.0\.0\.1:4222$/m, `listen: 127.0.0.1:${port}`)
      .replace(/^http: 127\.0\.0\.1:8222$/m, `http: 127.0.0.1:${httpPort}`)
      .replace(/^(\s*store_dir:\s*).*$/m, `$1${JSON.stringify(join(dir, 'store'))}`);
    expect(text).toMatch(/^include "auth\/identities\.inc"$/m);
    expect(text).toMatch(/^tls \{$/m);
    expect(text).toContain(`listen: 127.0.0.1:${port}`); // never the real 4222
    expect(text).toContain(`http: 127.0.0.1:${httpPort}`);
    await mkdir(join(dir, 'conf', 'auth'), { recursive: true });
    await writeFile(
      join(dir, 'conf', 'auth', 'identities.inc'),
      await readFile(join(repoRoot, 'infra', 'nats', 'auth', 'identities.inc')),
    );
    const configFile = join(dir, 'conf', 'single.conf');
    await writeFile(configFile, text);
    const bin = process.env.NATS_SERVER_BIN ?? (await natsServerBinary()).path;
    server = spawn(bin, ['-c', configFile, '-l', join(dir, 'nats.log')], { stdio: 'ignore' });
    const url = `nats://127.0.0.1:${port}`;
    await waitForHealthz(`http://127.0.0.1:${httpPort}`, server, '?js-enabled-only=true');
    const as = (role: string) =>
      connectToNats({ servers: url, user: role, pass: passwords[role], tls: { caFile: certs.caFile } });

    const admin = await as('admin');
    await ensureThreadlineStreams(admin);
    await admin.close();
    const publisher = await as('publisher');
    try {
      const event = {
        v: 1,
        type: 'chat.message',
        id: 'tg:1',
        channel: 'telegram',
        chatType: 'direct',
        peer: { kind: 'direct', id: '42' },
        sender: { id: '42' },
        text: 'hello',
        at: Date.now(),
      };
      const ack = await jetstream(publisher).publish(
        Subjects.inbound('telegram', '42'),
        JSON.stringify(event),
      );
      expect(ack.stream).toBe(StreamNames.inbound);
      expect((await requestOutcome(publisher, Subjects.session('agent:main:main'), '{}')).refused).toBe(true);
    } finally {
      await publisher.close();
    }
    await expect(
      connectToNats({ servers: url, user: 'admin', pass: 'not-the-password', tls: { caFile: certs.caFile } }),
    ).rejects.toThrow(/Authorization/i);

    // A real service: with THREADLINE_NATS_TLS_CA it starts; without it the TLS handshake fails.
    const inherited: NodeJS.ProcessEnv = { ...process.env };
    for (const name of IDENTITY_VARIABLES) delete inherited[name];
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      THREADLINE_NATS_URL: url,
      THREADLINE_NATS_USER: 'ops',
      THREADLINE_NATS_PASSWORD: passwords.ops,
      THREADLINE_OPS_ID: 'tls-ops',
      THREADLINE_METRICS_PORT: '0',
    };
    const ops = await startServiceProcess(
      SERVICES.ops,
      'ops-tls',
      { ...env, THREADLINE_NATS_TLS_CA: certs.caFile },
      join(dir, 'ops-tls.log'),
    );
    await ops.stop();
    await expect(
      startServiceProcess(SERVICES.ops, 'ops-no-ca', env, join(dir, 'ops-no-ca.log'), 15_000),
    ).rejects.toThrow(/exited during start[\s\S]*certificate/i);
  });
});
