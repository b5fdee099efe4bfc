import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Captured {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the first match of `pattern` in the combined output, or rejects on timeout/exit. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns a command capturing stdout and stderr together. */
export function capture(cmd: string, args: string[], options: SpawnOptions = {}): Captured {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    text += d.toString();
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => text,
    exit,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = text.match(pattern);
          if (m) {
            done();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${pattern}; output:\n${text.slice(-3000)}`,
            ),
          );
        }, timeoutMs);
        const onExit = () => {
          setImmediate(() => {
            check();
            done();
            reject(new Error(`process exited before ${pattern}; output:\n${text.slice(-3000)}`));
          });
        };
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
  };
}

/** True while any process of process group `pgid` is alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitUntil(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return predicate();
}

/** The pids of the nats-server processes in process group `pgid`. */
export function natsServerPidsIn(pgid: number): number[] {
  return execFileSync('ps', ['-o', 'pid=,comm=', '-g', String(pgid)], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes('nats-server'))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/**
 * Ctrl-C, as a terminal delivers it, to `npm start` running as the foreground job `pgid`: it says it
 * stopped, exits, and leaves no process behind — its one nats-server included.
 */
export async function expectCtrlCStopsEverything(run: Captured, pgid: number): Promise<void> {
  const serverPids = natsServerPidsIn(pgid);
  expect(serverPids).toHaveLength(1);
  process.kill(-pgid, 'SIGINT');
  const exit = await run.exit;
  expect(run.output()).toMatch(/stopped\./);
  expect(exit.code === 0 || exit.signal === 'SIGINT').toBe(true);
  expect(await waitUntil(() => !groupAlive(pgid), 10_000)).toBe(true);
  expect(pidAlive(serverPids[0] as number)).toBe(false);
}
