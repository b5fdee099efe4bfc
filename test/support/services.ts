import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './processes.js';

/** Builds every service (turbo, cached) so that their `dist/main.js` can run as processes. */
export function buildServices(): void {
  execFileSync(
    join(repoRoot, 'node_modules/.bin/turbo'),
    ['run', 'build', '--filter=@threadline/devstack...', '--output-logs=errors-only'],
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

/** Every JSON line a service has logged to `logFile` (all its runs; a line cut by SIGKILL is skipped). */
export async function logLines(logFile: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  const lines: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // cut short
    }
  }
  return lines;
}
