#!/usr/bin/env node
// The README's test command (`npm test`, also what .ci/run executes): installs everything the suite needs
// on a fresh machine — dependencies through the pinned pnpm, a nats-server >= 2.10 — and runs `verify`.
import {
  resolveLegacyNatsServer,
  resolveNatsServer,
} from '../packages/nats-harness/src/resolveNatsServer.mjs';
import { check, run, runPnpm, step } from './lib.mjs';

step('dependencies (pnpm install --frozen-lockfile)');
check(await runPnpm(['install', '--frozen-lockfile']), 'pnpm install');

step('nats-server >= 2.10');
const server = await resolveNatsServer({ log: (line) => console.log(`  ${line}`) });
console.log(`  using ${server.path} (v${server.version}, ${server.source})`);
const env = { ...process.env, NATS_SERVER_BIN: server.path };

// The version-floor test runs a real 2.9.x server to prove Threadline refuses it. It is optional: where
// Debian's archive is unreachable that one test reports itself skipped with the reason.
if (!process.env.NATS_SERVER_LEGACY_BIN) {
  const legacy = await resolveLegacyNatsServer({ log: (line) => console.log(`  ${line}`) }).catch((error) => {
    console.log(`  no legacy 2.9.x server for the version-floor test: ${error.message}`);
    return undefined;
  });
  if (legacy) env.NATS_SERVER_LEGACY_BIN = legacy.path;
}

check(await run(process.execPath, ['scripts/verify.mjs', ...process.argv.slice(2)], { env }), 'verify');
