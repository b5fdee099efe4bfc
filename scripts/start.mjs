#!/usr/bin/env node
// The README's start command (`npm start`): installs everything on a fresh machine — dependencies through
// the pinned pnpm, a nats-server >= 2.10 — builds, and runs the local stack in the foreground.
// Ctrl-C stops everything, the nats-server included. `--cluster` (`npm run cluster`) runs the local
// cluster instead: three NATS nodes and every service, more than one of each, streams at 3 replicas.
import { resolveNatsServer } from '../packages/nats-harness/src/resolveNatsServer.mjs';
import { check, run, runPnpm, step } from './lib.mjs';

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--cluster');
if (unknown.length > 0) {
  console.error(`unknown argument ${JSON.stringify(unknown[0])} (usage: node scripts/start.mjs [--cluster])`);
  process.exit(2);
}
const cluster = args.includes('--cluster');

step('dependencies (pnpm install --frozen-lockfile)');
check(await runPnpm(['install', '--frozen-lockfile']), 'pnpm install');

step('nats-server >= 2.10');
const server = await resolveNatsServer({ log: (line) => console.log(`  ${line}`) });
console.log(`  using ${server.path} (v${server.version}, ${server.source})`);

step('build');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' };
check(
  await run('turbo', ['run', 'build', '--filter=@threadline/devstack...', '--output-logs=errors-only'], {
    env,
  }),
  'build',
);

step(cluster ? 'start the local cluster' : 'start');
// The stack handles SIGINT/SIGTERM itself and stops everything; this script only waits for it.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {});
const code = await run(
  process.execPath,
  ['packages/devstack/dist/main.js', ...(cluster ? ['--cluster'] : [])],
  {
    env: { ...env, NATS_SERVER_BIN: server.path },
  },
);
process.exit(code);
