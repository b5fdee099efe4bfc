#!/usr/bin/env node
// `pnpm threadline …` from the repository root: builds the CLI if needed (turbo, cached: quiet and quick
// when nothing changed) and runs it with the given arguments. The installed bin is `threadline`
// (packages/cli/dist/main.js).
import { join } from 'node:path';
import { repoRoot, run } from './lib.mjs';

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' };
const built = await run(
  'turbo',
  ['run', 'build', '--filter=@threadline/cli...', '--output-logs=errors-only', '--log-prefix=none'],
  {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
if (built !== 0) {
  console.error('threadline: building the CLI failed (see above)');
  process.exit(5);
}
// Relative paths in the arguments (export and import folders) are the caller's: pnpm runs root scripts
// from the root and says where it was called from in INIT_CWD.
// biome-ignore lint/suspicious/noUndeclaredEnvVars: a launcher pnpm runs, not a turbo task (no cache to invalidate)
const cwd = process.env.INIT_CWD ?? process.cwd();
process.exit(
  await run(process.execPath, [join(repoRoot, 'packages/cli/dist/main.js'), ...process.argv.slice(2)], {
    env,
    cwd,
  }),
);
