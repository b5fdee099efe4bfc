import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectToNats } from '@threadline/nats';
import { type RunningNatsCluster, startNatsCluster } from '@threadline/nats-harness';
import { StreamNames } from '@threadline/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsSessionLog } from './natsSessionLog.js';
import { provisionStreams } from './provisionStreams.js';
import { collect, raceAppends, sessionLogContract } from './sessionLog.contract.js';
import { threadlineStreams } from './streams.js';
import { verifyChain } from './verifyChain.js';

// One 3-node cluster for the file. The property the 2.10 floor exists for (ADR 0001): on a replicated
// stream, writers racing with the same expected sequence — through different nodes — get exactly one
// winner per round.
let cluster: RunningNatsCluster;
const connections: NatsConnection[] = [];
let nextNode = 0;

/** A connection to one node only, round-robin, so writers really go through different servers. */
async function connectToNode(index = nextNode++ % 3): Promise<NatsConnection> {
  const nc = await connectToNats({ servers: [cluster.node(index).url] });
  connections.push(nc);
  return nc;
}

beforeAll(async () => {
  cluster = await startNatsCluster({ size: 3 });
}, 90_000);

afterAll(async () => {
  await Promise.all(connections.map((nc) => nc.close()));
  await cluster?.dispose();
});

describe('provisionStreams on a 3-node cluster', () => {
  let jsm: JetStreamManager;
  beforeAll(async () => {
    jsm = await jetstreamManager(await connectToNode(0));
  });

  it('given replicas 3, when provisioning, then every stream is R3 with two current followers, and a second run is ok', async () => {
    const configs = threadlineStreams({ replicas: 3 });
    expect(
      (await provisionStreams(jsm, configs, { mode: 'create-or-verify', onMismatch: 'throw' })).status,
    ).toBe('created');
    for (const name of [
      StreamNames.inbound,
      StreamNames.keyed,
      StreamNames.sessions,
      StreamNames.deadLetters,
      StreamNames.deliveries,
    ]) {
      const info = await jsm.streams.info(name);
      expect(info.config.num_replicas).toBe(3);
      expect(info.config.storage).toBe('file');
      expect(info.cluster?.replicas).toHaveLength(2);
    }
    expect((await provisionStreams(jsm, configs, { mode: 'create-or-verify' })).status).toBe('ok');
  });

  it('given R3 streams, when verified against a replicas-1 configuration, then num_replicas is reported', async () => {
    const report = await provisionStreams(jsm, threadlineStreams({ replicas: 1 }), { mode: 'verify-only' });
    // One mismatch per stream, and nothing else.
    expect(report.mismatches.map((m) => [m.stream, m.field, m.expected, m.actual])).toEqual(
      threadlineStreams({ replicas: 1 }).map((c) => [c.name, 'num_replicas', 1, 3]),
    );
  });

  it('given 6 writers on 3 different nodes racing on the R3 sessions stream, when repeated 200 times, then exactly one wins every round', async () => {
    const writers: NatsSessionLog[] = [];
    const servers = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const nc = await connectToNode(i % 3);
      servers.add(nc.info?.server_name ?? '');
      writers.push(new NatsSessionLog(nc));
    }
    expect(servers.size).toBe(3);

    const key = 'agent:main:telegram:direct:r3-race';
    const rounds = await raceAppends(writers, key, 200, 'r3');

    expect(rounds.flatMap((r) => r.otherErrors)).toEqual([]);
    expect(rounds.filter((r) => r.winners !== 1)).toHaveLength(0);
    expect(rounds.every((r) => r.conflicts === 5)).toBe(true);
    const records = await collect((writers[1] as NatsSessionLog).read(key));
    expect(records).toHaveLength(200);
    expect(verifyChain(records)).toEqual({ ok: true });
  });

  it('given a WhatsApp group key (it holds @), when read through each node, then every record arrives intact', async () => {
    const key = 'agent:main:whatsapp:group:120363@g.us';
    const writer = new NatsSessionLog(await connectToNode(0));
    let head = await writer.head(key);
    for (let i = 0; i < 3; i++) {
      const r = await writer.append({
        sessionKey: key,
        expectedLastSeq: head.seq,
        prevHash: head.hash,
        id: `wa-${i}`,
        body: { i },
        at: i,
      });
      head = { seq: r.seq, hash: r.hash };
    }
    for (const node of [0, 1, 2]) {
      const records = await collect(new NatsSessionLog(await connectToNode(node)).read<{ i: number }>(key));
      expect(records.map((r) => [r.sessionKey, r.body.i])).toEqual([0, 1, 2].map((i) => [key, i]));
      expect(records.at(-1)?.seq).toBe(head.seq);
      expect(verifyChain(records)).toEqual({ ok: true });
    }
  });
});

// The whole contract again on the replicated stream, every writer on the next node in turn.
sessionLogContract('NatsSessionLog on an R3 stream', async () => new NatsSessionLog(await connectToNode()));
