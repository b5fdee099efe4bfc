import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNatsServer, startNatsServer } from './natsServer.js';
import { createTestCertificates, natsTlsBlock, verifyTestCertificates } from './testCertificates.mjs';

describe('test certificates (no openssl, no npm package)', () => {
  let dir = '';
  let server: RunningNatsServer | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'threadline-certs-'));
  });
  afterAll(async () => {
    await server?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('makes a CA and a server certificate for 127.0.0.1 and localhost that nats-server serves and Node trusts', async () => {
    const files = await createTestCertificates({ dir: join(dir, 'certs') });
    expect(statSync(files.keyFile).mode & 0o777).toBe(0o600);
    const [ca, cert] = await Promise.all([readFile(files.caFile, 'utf8'), readFile(files.certFile, 'utf8')]);
    expect(() => verifyTestCertificates(ca, cert, ['127.0.0.1', 'localhost'])).not.toThrow();
    expect(() => verifyTestCertificates(ca, cert, ['example.com'])).toThrow(/does not name example\.com/);

    const configFile = join(dir, 'conf', 'nats-server.conf');
    server = await startNatsServer({ extraConfig: natsTlsBlock(files), configFile });
    // The generated config goes where it is asked, readable by its owner only.
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    const nc = await connect({ servers: server.url, tls: { caFile: files.caFile } });
    expect(nc.info?.tls_required).toBe(true);
    await nc.close();
  });
});
