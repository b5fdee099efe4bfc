/**
 * Logs are JSON lines on stdout, one object per event, until the observability issue brings pino.
 */
export type LogLine = Record<string, unknown> & { msg: string };
export type Log = (line: LogLine) => void;

export const jsonLog: Log = (line) => console.log(JSON.stringify(line));

/** An error as log fields: its message, and its stack when it has one. */
export function errorFields(error: unknown): { error: string; stack?: string } {
  if (error instanceof Error)
    return error.stack === undefined
      ? { error: error.message }
      : { error: error.message, stack: error.stack };
  return { error: String(error) };
}

/**
 * Calls `line()` every `intervalMs` and logs what it returns (a service's periodic status line). The timer
 * does not keep the process alive. Returns the function that stops it.
 */
export function logEvery(log: Log, intervalMs: number, line: () => LogLine): () => void {
  const timer = setInterval(() => log(line()), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
