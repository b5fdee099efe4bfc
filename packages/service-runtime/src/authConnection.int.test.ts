import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentities, type Identity, renderAuthorization } from '@threadline/nats';
import { createTestCertificates, type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectService } from './connection.js';
import { type LogLine, serviceLog } from './log.js';
import { runService } from './service.js';
import { natsCredentialsOf, readCommonSettings, SettingsReader } from './settings.js';

// A service as it runs against a server with Threadline's identities: it connects as its role's user,
// over TLS when given the CA, gets its private inbox, and never writes its password to its log.
describe('connecting as a Threadline identity', () => {
  let dir = '';
  let server: RunningNatsServer;
  let identities: Identity[];
  let caFile = '';
  const password = (role: string) => identities.find((i) => i.role === role)?.password as string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-auth-conn-'));
    identities = generateIdentities();
    const files = await createTestCertificates({ dir: join(dir, 'certs') });
    caFile = files.caFile;
    server = await startNatsServer({
      extraConfig: `${renderAuthorization(identities)}\ntls {\n  cert_file: ${JSON.stringify(files.certFile)}\n  key_file: ${JSON.stringify(files.keyFile)}\n}\n`,
    });
  });
  afterAll(async () => {
    await server?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('given the settings of a role, then connectService connects as it over TLS, with the inbox _INBOX.<user>', async () => {
    const reader = new SettingsReader({
      THREADLINE_NATS_URL: server.url,
      THREADLINE_NATS_USER: 'ops',
      THREADLINE_NATS_PASSWORD: password('ops'),
      THREADLINE_NATS_TLS_CA: caFile,
    });
    const settings = readCommonSettings(reader, { idVariable: 'THREADLINE_OPS_ID' });
    reader.done();
    const nc = await connectService({
      natsUrl: settings.natsUrl,
      service: 'ops',
      instanceId: 'a',
      credentials: natsCredentialsOf(settings),
    });
    try {
      expect(nc.info?.tls_required).toBe(true);
      // The answer comes back through the private inbox: ops may not subscribe to any other.
      const reply = await nc.request('$JS.API.INFO', '', { timeout: 5_000 });
      expect(reply.json<{ type: string }>().type).toMatch(/account_info_response/);
    } finally {
      await nc.close();
    }
  });

  it('given a wrong password, no password, or no CA, then the connection is refused', async () => {
    const attempt = (credentials: Parameters<typeof connectService>[0]['credentials']) =>
      connectService({ natsUrl: server.url, service: 'ops', instanceId: 'b', credentials }).then(
        async (nc) => {
          await nc.close();
          return 'connected';
        },
        (error: Error) => error.message,
      );
    expect(await attempt({ user: 'ops', password: 'wrong', tlsCaFile: caFile })).toMatch(/Authorization/i);
    expect(await attempt({ tlsCaFile: caFile })).toMatch(/Authorization/i);
    expect(await attempt({ user: 'ops', password: password('ops') })).toMatch(/certificate/i);
  });

  it('given a service run with credentials, then it starts as its user and its log never holds the password', async () => {
    const lines: string[] = [];
    const log = (line: LogLine) => {
      lines.push(JSON.stringify(line));
      serviceLog({ level: 'error' })(line);
    };
    const running = await runService({
      service: 'thing',
      instanceId: 'c',
      idField: 'thingId',
      settings: {
        natsUrl: server.url,
        natsUser: 'scheduler',
        natsPassword: password('scheduler'),
        natsTlsCa: caFile,
        partitions: 1,
        replicas: 1,
        metricsPort: 0,
        metricsHost: '127.0.0.1',
      },
      log,
      start: async ({ nc }) => {
        await nc.request('$JS.API.INFO', '', { timeout: 5_000 });
        return { stop: async () => {} };
      },
      metrics: () => [],
    });
    await running.stop();
    expect(lines.some((l) => l.includes('thing started'))).toBe(true);
    for (const line of lines) expect(line).not.toContain(password('scheduler'));
  });
});
