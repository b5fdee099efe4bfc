#!/usr/bin/env node
// `pnpm bench` (or `npm run bench`): installs what is missing, builds the services and the benchmark
// harness, and runs the benchmarks (bench/src/main.ts) — each against a raw JetStream baseline measured in
// the same run on the same server. Arguments go to the harness: `--quick` for small sizes (what CI runs,
// to prove the harness works), `--only ingest,audit`, `--set ingest.events=20000`, `--out DIR`, `--keep`.
import { resolveNatsServer } from '../packages/nats-harness/src/resolveNatsServer.mjs';
import { check, run, runPnpm, step } from './lib.mjs';

step('dependencies (pnpm install --frozen-lockfile)');
check(await runPnpm(['install', '--frozen-lockfile']), 'pnpm install');

step('nats-server >= 2.10');
const server = await resolveNatsServer({ log: (line) => console.log(`  ${line}`) });
console.log(`  using ${server.path} (v${server.version}, ${server.source})`);

step('build');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' };
check(
  await run('turbo', ['run', 'build', '--filter=@threadline/bench...', '--output-logs=errors-only'], { env }),
  'build',
);

step('benchmarks');
const code = await run(process.execPath, ['bench/dist/main.js', ...process.argv.slice(2)], {
  env: { ...env, NATS_SERVER_BIN: server.path },
});
process.exit(code);
