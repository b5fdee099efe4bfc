import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsSessionLog, type SessionRecord, verifyChain } from '@threadline/event-log';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsServer, startNatsServer } from '@threadline/nats-harness';
import { Subjects } from '@threadline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Captured, capture, repoRoot } from '../support/processes.js';
import { buildServices } from '../support/services.js';

// The worker as operators run it — its own process, built from the repository — killed with SIGKILL right
// after it appended a record and before it wrote its checkpoint, then started again.
const PARTITIONS = 2;
const PEERS = ['101', '202', '303'];
const PER_PEER = 8;

interface Body {
  source: { seq: number } | null;
}

function worker(url: string, id: string, extra: Record<string, string> = {}): Captured {
  return capture(process.execPath, [join(repoRoot, 'services/worker/dist/main.js')], {
    env: {
      ...process.env,
      THREADLINE_NATS_URL: url,
      THREADLINE_WORKER_ID: id,
      THREADLINE_PARTITIONS: String(PARTITIONS),
      THREADLINE_LEASE_TTL_MS: '1000',
      ...extra,
    },
  });
}

function exited(run: Captured): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (run.child.exitCode !== null || run.child.signalCode !== null)
      resolve({ code: run.child.exitCode, signal: run.child.signalCode });
    else run.child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

async function history(nc: NatsConnection, key: string): Promise<SessionRecord<Body>[]> {
  const out: SessionRecord<Body>[] = [];
  for await (const r of new NatsSessionLog(nc).read<Body>(key)) out.push(r);
  return out;
}

describe('a session worker killed with SIGKILL between append and checkpoint', () => {
  let server: RunningNatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    buildServices('@threadline/worker...');
    server = await startNatsServer();
    nc = await connectToNats({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.dispose();
  });

  it('loses nothing and duplicates nothing after a restart', async () => {
    const crashing = worker(server.url, 'crashing', { THREADLINE_FAULT: 'kill-after-append=5' });
    await crashing.waitFor(/"msg":"partition.acquired"/, 60_000);
    const js = jetstream(nc);
    for (let n = 1; n <= PER_PEER; n++)
      for (const peer of PEERS) {
        const id = `telegram:${peer}:${n}`;
        const event = {
          v: 1,
          type: 'chat.message',
          id,
          channel: 'telegram',
          chatType: 'direct',
          peer: { kind: 'direct', id: peer },
          sender: { id: peer },
          text: `message ${n}`,
          at: Date.UTC(2026, 10, 24, 9, 0, n),
        };
        await js.publish(Subjects.inbound('telegram', peer), JSON.stringify(event), { msgID: id });
      }
    const death = await exited(crashing);
    expect(death.signal).toBe('SIGKILL');
    expect(crashing.output()).toContain('fault: SIGKILL after append');

    // The crash left work past the checkpoint: some recorded input's keyed sequence is beyond it.
    // dmScope defaults to `main`: every DM, from all three conversations, is the one main session.
    const key = 'agent:main:main';
    const before = await history(nc, key);
    expect(before.length).toBe(5);
    const checkpoints = await new Kvm(nc).open('threadline-checkpoints');
    let highestCheckpoint = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const entry = await checkpoints.get(`apply.${p}`);
      if (entry?.operation === 'PUT') highestCheckpoint = Math.max(highestCheckpoint, Number(entry.string()));
    }
    const lastRecorded = Math.max(...before.map((r) => r.body.source?.seq ?? 0));
    expect(lastRecorded).toBeGreaterThan(highestCheckpoint);

    const restarted = worker(server.url, 'restarted');
    try {
      // The dead worker's leases expire (1 s), the new one takes over and catches up.
      const deadline = Date.now() + 60_000;
      while ((await history(nc, key)).length < PEERS.length * PER_PEER) {
        if (Date.now() > deadline) throw new Error(`not caught up:\n${restarted.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 500)); // anything doubled would have landed by now
      const records = await history(nc, key);
      expect(verifyChain(records).ok).toBe(true);
      const ids = records.map((r) => r.id);
      expect(ids).toHaveLength(PEERS.length * PER_PEER);
      expect(new Set(ids).size).toBe(ids.length);
      // Every conversation's messages in publish order.
      for (const peer of PEERS) {
        expect(ids.filter((id) => id.startsWith(`chat:telegram:${peer}:`))).toEqual(
          Array.from({ length: PER_PEER }, (_, i) => `chat:telegram:${peer}:${i + 1}`),
        );
      }
    } finally {
      restarted.child.kill('SIGTERM');
      const end = await exited(restarted);
      expect(end.code).toBe(0);
    }
  });
});
