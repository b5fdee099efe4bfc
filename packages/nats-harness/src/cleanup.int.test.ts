import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (existsSync('/proc')) {
    if (!existsSync(stat)) return false;
    return !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'));
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(predicate: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !predicate()) await new Promise((r) => setTimeout(r, 50));
  return predicate();
}

/** Runs the abandoned-server fixture in a child vitest; returns the pids it reported and its exit. */
async function runFixture(mode: 'fail' | 'hang') {
  const dir = await mkdtemp(join(tmpdir(), 'threadline-cleanup-'));
  const pidFile = join(dir, 'pids.json');
  const child = spawn(
    join(packageDir, 'node_modules', '.bin', 'vitest'),
    ['run', '--config', 'vitest.fixtures.config.ts'],
    {
      cwd: packageDir,
      env: { ...process.env, FIXTURE_MODE: mode, FIXTURE_PID_FILE: pidFile },
      stdio: 'ignore',
    },
  );
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (!(await until(() => existsSync(pidFile), 60_000))) throw new Error('fixture never started its server');
  const pids = JSON.parse(readFileSync(pidFile, 'utf8')) as { worker: number; server: number };
  return { pids, exit, child, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

describe('no orphan nats-server processes', () => {
  it('when a test fails without disposing its server', async () => {
    const run = await runFixture('fail');
    try {
      expect(await run.exit).not.toBe(0); // the fixture test really failed
      expect(await until(() => !alive(run.pids.server), 10_000)).toBe(true);
    } finally {
      if (alive(run.pids.server)) process.kill(run.pids.server, 'SIGKILL');
      await run.cleanup();
    }
  });

  it('when the test process itself is killed with SIGKILL (no exit hook can run)', async () => {
    const run = await runFixture('hang');
    try {
      expect(alive(run.pids.server)).toBe(true);
      process.kill(run.pids.worker, 'SIGKILL');
      expect(await until(() => !alive(run.pids.server), 10_000)).toBe(true);
      run.child.kill('SIGKILL');
      await run.exit;
    } finally {
      if (alive(run.pids.server)) process.kill(run.pids.server, 'SIGKILL');
      await run.cleanup();
    }
  });
});
