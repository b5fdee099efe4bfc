#!/usr/bin/env node
// `threadline-devstack`: runs the local stack in the foreground until Ctrl-C (SIGINT) or SIGTERM, then
// stops everything it started, the nats-server included. Settings come from the environment:
//   THREADLINE_DATA_DIR   data and logs (default: ./.threadline in the current folder)
//   THREADLINE_NATS_PORT  NATS client port (default 4222; 0 picks a free one)
//   THREADLINE_HTTP_PORT  NATS monitoring port (default 8222; 0 picks a free one)
import { startLocalStack } from './localStack.js';

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`${name}: expected a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return port;
}

const stack = await startLocalStack({
  dataDir: process.env.THREADLINE_DATA_DIR || '.threadline',
  natsPort: portFromEnv('THREADLINE_NATS_PORT', 4222),
  httpPort: portFromEnv('THREADLINE_HTTP_PORT', 8222),
}).catch((error: unknown) => {
  console.error(`Threadline could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

const url = stack.nats.url;
console.log(
  [
    '',
    'Threadline is running locally.',
    '',
    ...stack.describe().map((line) => `  ${line}`),
    '',
    'Adapters publish chat events to tl.in.v1.<channel>.<peer> and agents their replies to',
    'tl.reply.v1.<sessionKey> (docs/protocol.md); each session history is the subject',
    'tl.session.<sessionKey> of the THREADLINE_SESSIONS stream, and the projector keeps each',
    "key's session entry in the KV bucket threadline-sessions.",
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
    ...(stack.opsPids.length > 0
      ? [
          `  nats --server ${url} req tl.ops.v1.status '{}'    # the ops service (status, sessions, replay; nats micro ls)`,
        ]
      : []),
    `Connect a producer or a client with NATS_URL=${url}`,
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
  await stack.stop();
  console.log('stopped.');
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
