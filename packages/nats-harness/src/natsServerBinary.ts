import { binaryVersion, resolveNatsServer } from './resolveNatsServer.mjs';

export interface NatsServerBinary {
  readonly path: string;
  readonly version: string;
}

let cached: Promise<NatsServerBinary> | undefined;

/**
 * The nats-server binary for this process: $NATS_SERVER_BIN when set (the test command sets it), else the
 * project resolver (PATH, project cache, Debian download). Resolved once per process.
 */
export function natsServerBinary(): Promise<NatsServerBinary> {
  cached ??= resolveNatsServer({ log: (line) => console.error(line) }).then((found) => ({
    path: found.path,
    version: found.version,
  }));
  return cached;
}

/** `<bin> --version`, or undefined when it does not run. */
export function binaryVersionOf(bin: string): Promise<string | undefined> {
  return binaryVersion(bin);
}
