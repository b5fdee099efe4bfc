#!/usr/bin/env node
// `threadline-devstack`: runs the local stack in the foreground until Ctrl-C (SIGINT) or SIGTERM, then
// stops everything it started, the nats-server included. The server admits one NATS user per role, with
// new passwords at every start; each service runs as its own, and <data dir>/credentials/<role>.env
// (mode 0600) tells anyone else how to connect (ADR 0022). Settings come from the environment:
//   THREADLINE_DATA_DIR   data and logs (default: ./.threadline in the current folder)
//   THREADLINE_NATS_PORT  NATS client port (default 4222; 0 picks a free one)
//   THREADLINE_HTTP_PORT  NATS monitoring port (default 8222; 0 picks a free one)
//
// `threadline-devstack --cluster` (`npm run cluster`) runs a local cluster instead: three NATS nodes, two
// workers, the projector, two schedulers and the ops service, streams and buckets at 3 replicas:
//   THREADLINE_DATA_DIR   data and logs (default: ./.threadline/cluster)
//   THREADLINE_NATS_PORT  the first node's client port (default 4222; the others 4223, 4224; 0: free ports)
//   THREADLINE_HTTP_PORT  the first node's monitoring port (default 8222, 8223, 8224; 0: free ports)
//   THREADLINE_WORKERS    session workers (default 2)
//   THREADLINE_SCHEDULERS schedulers (default 2)
import { DevstackSettingsError, readLocalClusterEnv, readLocalStackEnv } from './env.js';
import { type LocalCluster, startLocalCluster } from './localCluster.js';
import { type LocalStack, startLocalStack } from './localStack.js';

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--cluster');
if (unknown.length > 0) {
  console.error(`unknown argument ${JSON.stringify(unknown[0])} (usage: threadline-devstack [--cluster])`);
  process.exit(2);
}
const clustered = args.includes('--cluster');

function settingsOrExit<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof DevstackSettingsError)) throw error;
    for (const problem of error.problems) console.error(problem);
    process.exit(2);
  }
}

const starting: Promise<LocalStack | LocalCluster> = clustered
  ? startLocalCluster(settingsOrExit(() => readLocalClusterEnv(process.env)))
  : startLocalStack(settingsOrExit(() => readLocalStackEnv(process.env)));
const running = await starting.catch((error: unknown) => {
  console.error(`Threadline could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

const streamsLines = [
  'Adapters publish chat events to tl.in.v1.<channel>.<peer> and agents their replies to',
  'tl.reply.v1.<sessionKey> (docs/protocol.md); each session history is the subject',
  'tl.session.<sessionKey> of the THREADLINE_SESSIONS stream, and the projector keeps each',
  "key's session entry in the KV bucket threadline-sessions.",
];

/** How to act as one of the stack's NATS users from a shell: the CLI, the nats CLI, any client. */
function identityLines(files: LocalStack['credentialFiles'], opsRunning: boolean): string[] {
  const source = (role: keyof typeof files) => `set -a; . ${files[role]}; set +a;`;
  const reading = `(${source('operator-readonly')} pnpm threadline status)`;
  const changing = `(${source('admin')} pnpm threadline reset <key>)`;
  const width = Math.max(reading.length, changing.length);
  return [
    'Connect as one of its NATS users (each may do only what its role needs; ADR 0022):',
    `  ${reading.padEnd(width)}  # reading commands`,
    `  ${changing.padEnd(width)}  # changing ones`,
    ...(opsRunning
      ? [
          `  (${source('operator-readonly')} nats --server "$THREADLINE_NATS_URL" --user "$THREADLINE_NATS_USER" --password "$THREADLINE_NATS_PASSWORD" --inbox-prefix "_INBOX.$THREADLINE_NATS_USER" req tl.ops.v1.status '{}')`,
        ]
      : []),
    `Adapters and agents connect as publisher (${files.publisher}): THREADLINE_NATS_URL, THREADLINE_NATS_USER`,
    'and THREADLINE_NATS_PASSWORD; NATS clients in other languages also set the inbox prefix _INBOX.publisher.',
  ];
}

function stackBanner(stack: LocalStack): string[] {
  return [
    'Threadline is running locally.',
    '',
    ...stack.describe().map((line) => `  ${line}`),
    '',
    ...streamsLines,
    '',
    'Look at it:',
    `  curl -s '${stack.nats.monitorUrl}/healthz?js-enabled-only=true'    # {"status":"ok"} when JetStream is ready`,
    `  curl -s '${stack.nats.monitorUrl}/jsz'                              # streams, messages, bytes`,
    ...stack.services
      .filter((s) => s.metricsUrl !== undefined)
      .slice(0, 1)
      .map(
        (s) =>
          `  curl -s '${s.metricsUrl}'    # ${s.name}'s Prometheus metrics (every service has its own, above)`,
      ),
    '',
    ...identityLines(stack.credentialFiles, stack.opsPids.length > 0),
  ];
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function clusterBanner(local: LocalCluster): string[] {
  const first = local.cluster.node(0);
  return [
    `Threadline is running as a local cluster: ${[
      `${local.cluster.nodes.length} NATS nodes`,
      plural(local.workers.length, 'session worker'),
      plural(local.projectors.length, 'projector'),
      plural(local.schedulers.length, 'scheduler'),
      plural(local.opsServices.length, 'ops service'),
    ].join(', ')}.`,
    '',
    ...local.describe().map((line) => `  ${line}`),
    '',
    ...streamsLines,
    '',
    'Look at it:',
    `  curl -s '${first.monitorUrl}/jsz?streams=true'    # the meta leader, streams and their replicas`,
    `  curl -s '${first.monitorUrl}/routez'              # the routes between the nodes`,
    ...local.services
      .filter((s) => s.metricsUrl !== undefined)
      .slice(0, 1)
      .map(
        (s) =>
          `  curl -s '${s.metricsUrl}'    # ${s.name}'s Prometheus metrics (every service has its own, above)`,
      ),
    '',
    ...identityLines(local.credentialFiles, local.opsServices.length > 0),
    '',
    'Point a producer, a client or the CLI at every node (it fails over between them; the credentials files do):',
    `  THREADLINE_NATS_URL=${local.natsUrl}`,
  ];
}

console.log(
  [
    '',
    ...('cluster' in running ? clusterBanner(running) : stackBanner(running)),
    '',
    'Press Ctrl-C to stop everything.',
    '',
  ].join('\n'),
);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping Threadline…`);
  await running.stop();
  console.log('stopped.');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
