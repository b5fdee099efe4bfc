import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Every process the harness starts, so that nothing outlives the process that started it.
 *
 * Two layers: (1) an `exit` hook SIGKILLs whatever is still registered when this process ends normally
 * (a failed test, an uncaught error); (2) on Linux each child is started through util-linux `setpriv
 * --pdeathsig SIGKILL`, so the kernel kills it even when this process is itself SIGKILLed and no hook
 * can run. `setpriv` execs the target, so the child's pid is the server's pid.
 */
const live = new Set<ChildProcess>();
let hooked = false;

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find(
  (p) => process.platform === 'linux' && existsSync(p),
);

function killAllSync(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

export function spawnManaged(
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  if (!hooked) {
    process.once('exit', killAllSync);
    hooked = true;
  }
  const [cmd, argv] = SETPRIV
    ? [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args]]
    : [command, [...args]];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Resolves when the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Sends `signal`, waits up to `graceMs`, then SIGKILLs. */
export async function terminate(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/** Pids of the processes this module started that are still running. */
export function livePids(): number[] {
  return [...live].flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
}
