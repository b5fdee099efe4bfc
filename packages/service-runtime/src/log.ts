/**
 * Logs are JSON lines on stdout, one object per event, written by pino: each line carries `level` (its
 * name: debug, info, warn, error), `time` (ISO 8601), the service's name and instance id, the event's own
 * fields, and `msg` (written as `"msg":"…"`, which the local stack waits for: `"msg":"worker started"`).
 * Errors under `err` (or `error`) are serialised by pino's error serialiser (type, message, stack, cause).
 */
import { type DestinationStream, type Logger, pino, stdSerializers } from 'pino';
import { LOG_LEVELS, type LogLevel } from './settings.js';

/** One log line: its message, an optional level (default info), and any fields. */
export type LogLine = Record<string, unknown> & { msg: string; level?: LogLevel };
export type Log = (line: LogLine) => void;

export interface ServiceLoggerOptions {
  /** `worker`, `projector`, …: the `service` field of every line. */
  service?: string;
  /** This process's id among its service's instances: the `instanceId` field of every line. */
  instanceId?: string;
  /** The least severe level written. Default info. */
  level?: LogLevel;
  /**
   * Where the lines go. Default stdout, written synchronously: a line logged right before the process
   * exits or is killed (the worker's crash hook) is not lost.
   */
  destination?: DestinationStream;
}

/** A pino logger writing a service's JSON lines (see the file's comment for their shape). */
export function serviceLogger(options: ServiceLoggerOptions = {}): Logger {
  const base: Record<string, string> = {};
  if (options.service !== undefined) base.service = options.service;
  if (options.instanceId !== undefined) base.instanceId = options.instanceId;
  return pino(
    {
      level: options.level ?? 'info',
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: stdSerializers.err, error: stdSerializers.err },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** The {@link Log} function of a pino logger: `line.level` picks the method, `line.msg` is the message. */
export function logTo(logger: Logger): Log {
  return ({ msg, level, ...fields }) => {
    const method: LogLevel = LOG_LEVELS.includes(level as LogLevel) ? (level as LogLevel) : 'info';
    logger[method](fields, msg);
  };
}

/** A service's {@link Log}: {@link serviceLogger} with these options, as a function of one line. */
export function serviceLog(options: ServiceLoggerOptions = {}): Log {
  return logTo(serviceLogger(options));
}

let plainLog: Log | undefined;
/** Info and above to stdout, without a service name or instance id (created on first use). */
export const jsonLog: Log = (line) => {
  plainLog ??= serviceLog();
  plainLog(line);
};

/**
 * An error as plain log fields: its message, and its stack when it has one. (A pino {@link Log} serialises
 * an error passed as `err` by itself; this is for lines built as plain data.)
 */
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
