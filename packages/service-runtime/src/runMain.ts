import { SettingsError } from './settings.js';

/** What a started service offers its main: a graceful stop. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** The parts of `process` {@link runMain} uses (tests pass their own). */
export interface MainProcess {
  on(signal: 'SIGINT' | 'SIGTERM', handler: () => void): unknown;
  exit(code: number): void;
  error(...data: unknown[]): void;
}

const realProcess: MainProcess = {
  on: (signal, handler) => process.on(signal, handler),
  exit: (code) => process.exit(code),
  error: (...data) => console.error(...data),
};

/**
 * The body of every service's `main.ts`: starts the service, then on the first SIGINT or SIGTERM stops it
 * and exits 0 (1 if stopping fails). If starting fails it exits 2 for invalid settings (printing just the
 * list of problems) and 1 for anything else.
 */
export async function runMain(
  start: () => Stoppable | Promise<Stoppable>,
  io: MainProcess = realProcess,
): Promise<void> {
  let running: Stoppable;
  try {
    running = await start();
  } catch (error) {
    io.error(error instanceof SettingsError ? error.message : error);
    io.exit(error instanceof SettingsError ? 2 : 1);
    return;
  }
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    io.on(signal, () => {
      if (stopping) return;
      stopping = true;
      running.stop().then(
        () => io.exit(0),
        (error: unknown) => {
          io.error(error);
          io.exit(1);
        },
      );
    });
  }
}
