import { readFile } from 'node:fs/promises';

/** Builds the services (turbo, cached) so that their `dist/main.js` can run as processes. */
export { buildServices } from '@threadline/devstack';

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
