#!/usr/bin/env node
// `pnpm verify`: exactly what CI checks, in order, stopping at the first failure:
//   1. biome ci     — formatting, lint, and the purity rule (pure packages cannot import node:* or NATS)
//   2. typecheck    — tsc --noEmit in every package (strict, noUncheckedIndexedAccess)
//   3. test         — vitest in every package, integration tests against a real nats-server
// Extra arguments (e.g. `--filter=@threadline/protocol`) narrow the turbo steps to some packages.
import { check, run, step } from './lib.mjs';

const extra = process.argv.slice(2);
const env = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  DO_NOT_TRACK: '1',
};

step('lint and format (biome ci)');
check(await run('biome', ['ci', '--error-on-warnings', '.'], { env }), 'lint');

step('typecheck (tsc --noEmit, every package)');
check(await run('turbo', ['run', 'typecheck', '--output-logs=errors-only', ...extra], { env }), 'typecheck');

step('tests (vitest, every package; integration tests start their own nats-server)');
check(
  await run('turbo', ['run', 'test', '--concurrency=1', '--output-logs=full', ...extra], { env }),
  'tests',
);

console.log('\n✔ verify passed');
