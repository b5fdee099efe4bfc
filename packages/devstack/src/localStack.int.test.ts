import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectToNats } from '@threadline/nats';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from './localStack.js';

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
    const first = await startLocalStack({ dataDir: dir, natsPort: 0, httpPort: 0, workers: 0 });
    expect(first.nats.storeDir).toBe(join(dir, 'nats'));
    let nc = await connectToNats({ servers: first.nats.url });
    await (await jetstreamManager(nc)).streams.add({ name: 'LOCAL', subjects: ['local.>'] });
    await jetstream(nc).publish('local.hello', 'world');
    await nc.close();
    await first.stop();

    const second = await startLocalStack({ dataDir: dir, natsPort: 0, httpPort: 0, workers: 0 });
    stacks.push(second);
    nc = await connectToNats({ servers: second.nats.url });
    const info = await (await jetstreamManager(nc)).streams.info('LOCAL');
    expect(info.state.messages).toBe(1);
    await nc.close();
    expect(second.describe().join('\n')).toContain(second.nats.url);
  });

  it('fails clearly when the NATS port is taken', async () => {
    const running = await startLocalStack({ dataDir: await dataDir(), natsPort: 0, httpPort: 0, workers: 0 });
    stacks.push(running);
    await expect(
      startLocalStack({ dataDir: await dataDir(), natsPort: running.nats.port, httpPort: 0, workers: 0 }),
    ).rejects.toThrow(/exited during start[\s\S]*address already in use/);
  });
});
