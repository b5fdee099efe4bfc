import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { checkServerVersion, MIN_NATS_SERVER_VERSION } from '@threadline/protocol';
import { inboxPrefixOf, USER_NAME_PATTERN } from './permissions.js';

export const NatsErrorCodes = {
  ServerTooOld: 'NATS_SERVER_TOO_OLD',
} as const;
export type NatsErrorCode = (typeof NatsErrorCodes)[keyof typeof NatsErrorCodes];

/**
 * The server a component connected to is older than Threadline's floor. Not retryable: the same server
 * will give the same answer until an operator upgrades it.
 */
export class NatsServerVersionError extends Error {
  override readonly name = 'NatsServerVersionError';
  readonly code: NatsErrorCode = NatsErrorCodes.ServerTooOld;
  readonly retryable = false;
  readonly minimum = MIN_NATS_SERVER_VERSION;
  constructor(
    readonly server: string,
    readonly version: string,
    reason: string,
  ) {
    super(`refusing NATS server at ${server}: ${reason}`);
  }
}

export interface ConnectToNatsOptions extends NodeConnectionOptions {
  /** Called when a reconnect lands on a server below the floor; the connection is closed first. */
  readonly onVersionRefused?: (error: NatsServerVersionError) => void;
}

/**
 * Connects with the NATS v3 client and refuses servers older than {@link MIN_NATS_SERVER_VERSION}: the
 * connection is closed and a {@link NatsServerVersionError} thrown, naming the server, its version and why
 * the floor exists. Every Threadline component connects through this function.
 *
 * In a cluster a client may later reconnect to another node; if that node is below the floor the
 * connection is closed and `onVersionRefused` is told (a mixed-version cluster during an upgrade must not
 * silently weaken the single-writer guarantee).
 *
 * A connection as one of Threadline's users (`user` a name of letters, digits, `-` and `_`) gets the
 * private inbox prefix `_INBOX.<user>` unless `inboxPrefix` is given: its permissions let it read replies
 * there and nowhere else (`rolePermissions`).
 */
export async function connectToNats(options: ConnectToNatsOptions = {}): Promise<NatsConnection> {
  const { onVersionRefused, ...connectionOptions } = options;
  const { user } = connectionOptions;
  // No async traces unless asked for: with them the client builds two Error objects (a stack capture
  // each) for every request and JetStream publish, just in case it times out — about a tenth of each
  // service's CPU under load (docs/performance.md). Errors still say what failed; only the caller's
  // stack is missing from a timeout.
  const withDefaults = { noAsyncTraces: true, ...connectionOptions };
  const nc = await connect(
    withDefaults.inboxPrefix === undefined && user !== undefined && USER_NAME_PATTERN.test(user)
      ? { ...withDefaults, inboxPrefix: inboxPrefixOf(user) }
      : withDefaults,
  );
  const refusal = versionRefusal(nc);
  if (refusal) {
    await nc.close();
    throw refusal;
  }
  // Detached on purpose: it lives as long as the connection. It must never reject unhandled.
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type !== 'reconnect') continue;
      const error = versionRefusal(nc);
      if (error) {
        await nc.close();
        onVersionRefused?.(error);
        return;
      }
    }
  })().catch(() => {
    // The status stream only ends with the connection; nothing to report beyond what close() reports.
  });
  return nc;
}

function versionRefusal(nc: NatsConnection): NatsServerVersionError | undefined {
  const verdict = checkServerVersion(nc.info?.version);
  if (verdict.ok) return undefined;
  return new NatsServerVersionError(nc.getServer(), verdict.version, verdict.reason);
}
