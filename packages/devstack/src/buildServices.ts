import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root, from this file's place in it (src/ or dist/ alike). */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Builds the services the stacks run (`services/<name>/dist`), with turbo (cached: nothing to do when
 * nothing changed), for tests that start them as processes. `filter` is turbo's package filter; the
 * default is every service the local stack and cluster run (the devstack's dependencies).
 */
export function buildServices(filter = '@threadline/devstack^...'): void {
  execFileSync(
    join(repoRoot, 'node_modules/.bin/turbo'),
    ['run', 'build', `--filter=${filter}`, '--output-logs=errors-only'],
    {
      cwd: repoRoot,
      stdio: 'inherit',
      // turbo looks for the package manager's binary on PATH: the workspace's pinned pnpm.
      env: {
        ...process.env,
        PATH: `${join(repoRoot, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
        TURBO_TELEMETRY_DISABLED: '1',
      },
    },
  );
}
