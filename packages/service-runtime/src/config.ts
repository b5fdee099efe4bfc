import { readFile } from 'node:fs/promises';
import { parseConfig, parseConfigText, type ThreadlineConfig } from '@threadline/session-core';

/**
 * The Threadline config from the JSON5 file at `path`, or the defaults when there is none. An invalid file
 * throws a `ConfigError` naming the file, the offending path and the problem.
 */
export async function loadConfig(path: string | undefined): Promise<ThreadlineConfig> {
  if (path === undefined) return parseConfig({}).config;
  return parseConfigText(await readFile(path, 'utf8'), path).config;
}
