import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runWorker } from './run.js';
import { readSettings } from './settings.js';

describe('runWorker', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  const configFile = async (text: string) => {
    const dir = await mkdtemp(join(tmpdir(), 'threadline-worker-'));
    dirs.push(dir);
    const file = join(dir, 'threadline.json5');
    await writeFile(file, text);
    return file;
  };

  it('given a production config, when the crash hook is set, then it refuses to start (before connecting)', async () => {
    const settings = readSettings({
      THREADLINE_CONFIG: await configFile('{ production: true }'),
      THREADLINE_FAULT: 'kill-after-append=1',
      THREADLINE_NATS_URL: 'nats://127.0.0.1:1', // never reached
    });
    await expect(runWorker(settings, () => {})).rejects.toThrow(/THREADLINE_FAULT is a test hook/);
  });

  it('given an invalid config file, when starting, then the error names the file, the path and the problem', async () => {
    const file = await configFile('{ session: { dmScope: "everyone" } }');
    const settings = readSettings({ THREADLINE_CONFIG: file, THREADLINE_NATS_URL: 'nats://127.0.0.1:1' });
    await expect(runWorker(settings, () => {})).rejects.toThrow(/session\.dmScope/);
  });
});
