#!/usr/bin/env node
// `pnpm verify`: exactly what CI checks, in order, stopping at the first failure:
//   1. biome ci     — formatting, lint, and the purity rule (pure packages cannot import node:* or NATS)
//   2. typecheck    — tsc --noEmit in every package (strict, noUncheckedIndexedAccess)
//   3. test         — vitest in every package, integration tests against a real nats-server
// Extra arguments (e.g. `--filter=@threadline/protocol`) narrow the turbo steps to some packages.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { check, repoRoot, run, step } from './lib.mjs';

/** Every workspace package folder (packages/*, services/*, test). */
function packageDirs() {
  const under = (group) =>
    existsSync(join(repoRoot, group))
      ? readdirSync(join(repoRoot, group)).map((d) => join(repoRoot, group, d))
      : [];
  return [...under('packages'), ...under('services'), join(repoRoot, 'test')].filter((dir) =>
    existsSync(join(dir, 'package.json')),
  );
}

/** Sums the JSON reports each package's vitest run leaves in test-results/ (see vitest.shared.ts). */
function testTotals() {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  for (const dir of packageDirs()) {
    const file = join(dir, 'test-results', 'vitest.json');
    if (!existsSync(file)) continue;
    const report = JSON.parse(readFileSync(file, 'utf8'));
    totals.passed += report.numPassedTests ?? 0;
    totals.failed += report.numFailedTests ?? 0;
    totals.skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  }
  return totals;
}

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
// Reports from an earlier run must not be counted; turbo restores the ones of cached tasks.
for (const dir of packageDirs()) rmSync(join(dir, 'test-results'), { recursive: true, force: true });
const code = await run('turbo', ['run', 'test', '--concurrency=1', '--output-logs=full', ...extra], { env });
const totals = testTotals();
// One plain closing line for the whole workspace (vitest prints one per package).
console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
check(code, 'tests');
console.log('✔ verify passed');
