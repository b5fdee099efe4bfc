// The resident cap on a real nats-server: N new sessions through one worker (router, applier, session
// log, KV snapshots) with a cap far below N; samples the resident count every 5 ms and reports it with
// the time and RSS. Run after a build: `npx pnpm@10 --filter @threadline/session-worker bench [N] [CAP]`.
// A figure, not a test: the suite's bounded-memory tests are sessionActors.test.ts and worker.int.test.ts.
import { jetstream } from '@nats-io/jetstream';
import { SystemClock } from '@threadline/clock';
import { connectToNats } from '@threadline/nats';
import { startNatsServer } from '@threadline/nats-harness';
import { Subjects } from '@threadline/protocol';
import { parseConfig } from '@threadline/session-core';
import { startSessionWorker } from '@threadline/session-worker';

const N = Number(process.argv[2] ?? 20_000);
const CAP = Number(process.argv[3] ?? 500);
const server = await startNatsServer();
const nc = await connectToNats({ servers: server.url });
const js = jetstream(nc);
const body = (i) =>
  JSON.stringify({
    v: 1,
    type: 'chat.message',
    id: `tg:${i}`,
    channel: 'telegram',
    chatType: 'direct',
    peer: { kind: 'direct', id: `p${i}` },
    sender: { id: 'x' },
    text: 'hello there',
    at: Date.now(),
  });
const worker = await startSessionWorker({
  nc,
  config: parseConfig({ session: { dmScope: 'per-channel-peer' } }).config,
  clock: new SystemClock(),
  workerId: 'w',
  partitions: 16,
  replicas: 1,
  maxResident: CAP,
  maxInboundBytes: 65536,
});
while (worker.owned().length < 16) await new Promise((r) => setTimeout(r, 50));
const t = performance.now();
let maxResident = 0;
const sampler = setInterval(() => {
  maxResident = Math.max(maxResident, worker.actors.residentCount);
}, 5);
for (let i = 0; i < N; i += 200)
  await Promise.all(
    Array.from({ length: 200 }, (_, j) =>
      js.publish(Subjects.inbound('telegram', `p${i + j}`), body(i + j), { msgID: `tg:${i + j}` }),
    ),
  );
while (worker.actors.metrics.recorded < N) await new Promise((r) => setTimeout(r, 200));
clearInterval(sampler);
const m = worker.metrics().actors;
console.log(
  JSON.stringify({
    sessions: N,
    cap: CAP,
    recorded: m.recorded,
    maxResidentSampled: maxResident,
    maxResidentSeen: m.maxResidentSeen,
    passivations: m.passivations,
    snapshotFailures: m.snapshotFailures,
    seconds: +((performance.now() - t) / 1000).toFixed(1),
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
  }),
);
await worker.stop();
await nc.close();
await server.dispose();
