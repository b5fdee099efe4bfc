import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectToNats, ROLES } from '@threadline/nats';
import { OpsService } from '@threadline/protocol';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildServices } from './buildServices.js';
import { readCredentialFile } from './identities.js';
import {
  describeService,
  type LocalStack,
  type RunningService,
  startLocalStack,
  startServiceProcess,
} from './localStack.js';

describe('startLocalStack', () => {
  const stacks: LocalStack[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(stacks.splice(0).map((s) => s.stop()));
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  const dataDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'threadline-stack-'));
    dirs.push(dir);
    return dir;
  };

  it('keeps the event log in the data folder across a stop and a start', async () => {
    const dir = await dataDir();
    const first = await startLocalStack({
      dataDir: dir,
      natsPort: 0,
      httpPort: 0,
      workers: 0,
      projectors: 0,
      schedulers: 0,
      ops: 0,
    });
    expect(first.nats.storeDir).toBe(join(dir, 'nats'));
    let nc = await connectToNats(first.connectOptions());
    await (await jetstreamManager(nc)).streams.add({ name: 'LOCAL', subjects: ['local.>'] });
    await jetstream(nc).publish('local.hello', 'world');
    await nc.close();
    await first.stop();

    const second = await startLocalStack({
      dataDir: dir,
      natsPort: 0,
      httpPort: 0,
      workers: 0,
      projectors: 0,
      schedulers: 0,
      ops: 0,
    });
    stacks.push(second);
    nc = await connectToNats(second.connectOptions());
    const info = await (await jetstreamManager(nc)).streams.info('LOCAL');
    expect(info.state.messages).toBe(1);
    await nc.close();
    expect(second.describe().join('\n')).toContain(second.nats.url);
  });

  it('runs with one NATS user per role: fresh passwords, files of mode 0600, nobody in without one', async () => {
    const dir = await dataDir();
    const stack = await startLocalStack({
      dataDir: dir,
      natsPort: 0,
      httpPort: 0,
      workers: 0,
      projectors: 0,
      schedulers: 0,
      ops: 0,
    });
    stacks.push(stack);
    expect(stack.identities.map((i) => i.role)).toEqual([...ROLES]);
    const mode = (path: string) => statSync(path).mode & 0o777;
    expect(mode(join(dir, 'nats-server.conf'))).toBe(0o600);
    expect(await readFile(join(dir, 'nats-server.conf'), 'utf8')).toContain('authorization {');
    expect(mode(join(dir, 'credentials'))).toBe(0o700);
    for (const role of ROLES) {
      expect(stack.credentialFiles[role]).toBe(join(dir, 'credentials', `${role}.env`));
      expect(mode(stack.credentialFiles[role])).toBe(0o600);
      const file = await readCredentialFile(stack.credentialFiles[role]);
      expect(file).toMatchObject({ natsUrl: stack.nats.url, user: role });
      const { password } = stack.identities.find((i) => i.role === role) as { password: string };
      expect(file.password).toBe(password);
      // The banner names the files and never shows a password.
      expect(stack.describe().join('\n')).not.toContain(password);
    }
    expect(stack.describe().join('\n')).toContain(stack.credentialFiles.publisher);
    // Without a user, or with another start's password, the server refuses.
    await expect(connectToNats({ servers: stack.nats.url })).rejects.toThrow(/Authorization/i);
    await expect(connectToNats({ ...stack.connectOptions('admin'), pass: 'old' })).rejects.toThrow(
      /Authorization/i,
    );
    // A publisher may publish a chat event, not a session record.
    const publisher = await connectToNats(
      (await readCredentialFile(stack.credentialFiles.publisher)).connectOptions(),
    );
    try {
      const refused = await publisher.request('tl.session.x', '', { timeout: 2_000 }).catch((e: Error) => e);
      expect(String(refused)).toMatch(/Permissions Violation for Publish to "tl\.session\.x"/);
    } finally {
      await publisher.close();
    }
  });

  describe('with the ops service (built first)', () => {
    beforeAll(() => {
      buildServices('@threadline/ops-service...');
    }, 240_000);

    it('runs the ops service: $SRV.PING finds it, tl.ops.v1.status answers, and it stops with the stack', async () => {
      const stack = await startLocalStack({
        dataDir: await dataDir(),
        natsPort: 0,
        httpPort: 0,
        workers: 0,
        projectors: 0,
        schedulers: 0,
      });
      stacks.push(stack);
      expect(stack.opsPids).toHaveLength(1);
      expect(stack.describe().join('\n')).toMatch(/Ops service ops-1 \(pid \d+\), log .*ops-1\.log/);
      // Asked as the operators' read-only user: the ops service answers it.
      const nc = await connectToNats(stack.connectOptions('operator-readonly'));
      try {
        const ping = await nc.request(`$SRV.PING.${OpsService.name}`, '', { timeout: 5_000 });
        expect(ping.json()).toMatchObject({
          type: 'io.nats.micro.v1.ping_response',
          name: 'threadline',
          metadata: { instance: 'local-ops-1' },
        });
        const status = await nc.request(OpsService.status, '{}', { timeout: 5_000 });
        expect(status.headers?.get('Nats-Service-Error-Code')).toBeUndefined();
        expect(status.json()).toMatchObject({ v: 1, server: { url: stack.nats.url, jetstream: true } });
      } finally {
        await nc.close();
      }
      const [ops] = stack.services;
      stacks.splice(stacks.indexOf(stack), 1);
      await stack.stop();
      expect(ops?.child.exitCode).toBe(0);
    });
  });

  it('fails clearly when the NATS port is taken', async () => {
    const running = await startLocalStack({
      dataDir: await dataDir(),
      natsPort: 0,
      httpPort: 0,
      workers: 0,
      projectors: 0,
      schedulers: 0,
      ops: 0,
    });
    stacks.push(running);
    await expect(
      startLocalStack({
        dataDir: await dataDir(),
        natsPort: running.nats.port,
        httpPort: 0,
        workers: 0,
        projectors: 0,
        schedulers: 0,
        ops: 0,
      }),
    ).rejects.toThrow(/exited during start[\s\S]*address already in use/);
  });
});

describe('startServiceProcess', () => {
  const dirs: string[] = [];
  const running: RunningService[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  /** A stand-in service: a script that runs `body`, in a fresh folder with its log file. */
  const fake = async (body: string) => {
    const dir = await mkdtemp(join(tmpdir(), 'threadline-service-'));
    dirs.push(dir);
    const main = join(dir, 'main.mjs');
    await writeFile(main, body);
    return {
      service: { kind: 'thing', main, idVariable: 'THREADLINE_THING_ID', label: 'Thing' },
      logFile: join(dir, 'thing-1.log'),
    };
  };

  it('given a service that logs "<kind> started", when started, then it resolves, logs to its file, and stops on SIGTERM', async () => {
    const { service, logFile } = await fake(`
      process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });
      console.log('booting');
      console.log(JSON.stringify({ msg: 'thing started', id: process.env.THREADLINE_THING_ID }));
      setInterval(() => {}, 1000);
    `);
    const thing = await startServiceProcess(
      service,
      'thing-1',
      { ...process.env, THREADLINE_THING_ID: 'a' },
      logFile,
    );
    running.push(thing);
    expect(thing.child.exitCode).toBeNull();
    await thing.stop();
    expect([thing.child.exitCode, thing.child.signalCode]).toEqual([0, null]);
    const log = await readFile(logFile, 'utf8');
    expect(log).toContain('booting');
    expect(log).toContain('{"msg":"thing started","id":"a"}');
    expect(log).toContain('bye');
  });

  it('given a metrics port in its environment, when started, then its banner lines list its metrics endpoint', async () => {
    const { service, logFile } = await fake(`
      process.on('SIGTERM', () => process.exit(0));
      console.log(JSON.stringify({ msg: 'thing started', port: process.env.THREADLINE_METRICS_PORT }));
      setInterval(() => {}, 1000);
    `);
    const thing = await startServiceProcess(
      service,
      'thing-1',
      { ...process.env, THREADLINE_METRICS_PORT: '45678', THREADLINE_METRICS_HOST: '127.0.0.1' },
      logFile,
    );
    running.push(thing);
    expect(thing.metricsUrl).toBe('http://127.0.0.1:45678/metrics');
    expect(describeService(thing)).toEqual([
      `Thing thing-1 (pid ${thing.child.pid}), log ${logFile}`,
      'Metrics        http://127.0.0.1:45678/metrics  (thing-1; also /healthz, /readyz)',
    ]);
    await thing.stop();
    expect(await readFile(logFile, 'utf8')).toContain('"port":"45678"');

    const quiet = await startServiceProcess(
      service,
      'thing-2',
      { ...process.env, THREADLINE_METRICS_PORT: '0' },
      logFile,
    );
    running.push(quiet);
    expect(quiet.metricsUrl).toBeUndefined();
    expect(describeService(quiet)).toHaveLength(1);
  });

  it('given a service that exits during start, when started, then it rejects with its output', async () => {
    const { service, logFile } = await fake(`console.error('invalid thing settings'); process.exit(2);`);
    await expect(startServiceProcess(service, 'thing-1', process.env, logFile)).rejects.toThrow(
      /thing-1 exited during start \(code 2\):\ninvalid thing settings/,
    );
  });

  it('given a service that never reports itself started, when the time is up, then it is stopped and rejects', async () => {
    const { service, logFile } = await fake(`
      console.log(JSON.stringify({ msg: 'other started' }));
      setInterval(() => {}, 1000);
    `);
    await expect(startServiceProcess(service, 'thing-1', process.env, logFile, 500)).rejects.toThrow(
      /thing-1 did not start within 500 ms/,
    );
  });

  it('given a service that is not built, when started, then it says so', async () => {
    const { service, logFile } = await fake('');
    await expect(
      startServiceProcess({ ...service, main: `${service.main}.missing` }, 'thing-1', process.env, logFile),
    ).rejects.toThrow(/does not exist; build it first/);
  });
});
