/**
 * What a subcommand runs with: its output (text or JSON), progress reporting, and the NATS connection,
 * opened on first use with errors an operator can act on.
 */
import { type NatsConnection, errors as natsErrors } from '@nats-io/transport-node';
import {
  connectToNats,
  credentialOptions,
  type NatsCredentials,
  natsServerList,
  redactCredentials,
} from '@threadline/nats';
import { CliError, ExitCodes, usageError } from './errors.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal: progress is drawn as a bar there, as plain lines otherwise. */
  readonly isTTY: boolean;
  readonly env: Record<string, string | undefined>;
  /** The current time in epoch ms (ages, `--active`, event times). Default `Date.now`; tests inject one. */
  readonly now?: () => number;
}

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export interface Progress {
  /** Reports `done` of `total` (total 0 or unknown: a count only). */
  update(done: number, total?: number): void;
  end(): void;
}

export class CliContext {
  #nc: NatsConnection | undefined;

  constructor(
    readonly io: CliIo,
    readonly json: boolean,
    readonly server: string,
    /**
     * Who to connect as (`--user`, `--password-file`, `--tls-ca` or the THREADLINE_NATS_* variables), and
     * what was wrong with them: reported when a command connects, so that commands which never connect
     * run whatever the environment says.
     */
    readonly auth: { credentials: NatsCredentials; problems: readonly string[] } = {
      credentials: {},
      problems: [],
    },
  ) {}

  /** The current time in epoch ms: the io's clock, else the system's. */
  now(): number {
    return this.io.now?.() ?? Date.now();
  }

  /** Writes a result: `value` as one JSON document with --json, else the readable lines. */
  result(value: unknown, lines: () => string[]): void {
    if (this.json) this.io.out(JSON.stringify(value, null, 2));
    else for (const line of lines()) this.io.out(line);
  }

  /** Writes one JSON line (JSONL output: replays) or one text line. */
  line(text: string): void {
    this.io.out(text);
  }

  /** A progress reporter on stderr: a bar on a terminal, a line every few seconds otherwise; silent with --json. */
  progress(label: string): Progress {
    const { io } = this;
    let lastLine = 0;
    let drawn = false;
    return {
      update: (done, total) => {
        if (this.json) return;
        const text = total ? `${label} ${bar(done / total)} ${done}/${total}` : `${label} ${done}`;
        if (io.isTTY) {
          io.err(`\r${text}`);
          drawn = true;
        } else if (Date.now() - lastLine >= 2_000) {
          io.err(`${text}\n`);
          lastLine = Date.now();
        }
      },
      end: () => {
        if (drawn) io.err('\n');
      },
    };
  }

  async connect(): Promise<NatsConnection> {
    if (this.#nc) return this.#nc;
    const servers = natsServerList(this.server);
    if (servers.length === 0)
      throw new CliError(
        ExitCodes.Usage,
        `no NATS server in ${JSON.stringify(this.server)}`,
        'give --server (or THREADLINE_NATS_URL) a URL such as nats://127.0.0.1:4222, or several separated by commas',
      );
    if (this.auth.problems.length > 0)
      throw usageError(
        this.auth.problems.join('\n'),
        'give a user and its password (--user and --password-file, or THREADLINE_NATS_USER and THREADLINE_NATS_PASSWORD[_FILE])',
      );
    const server = redactCredentials(this.server);
    try {
      this.#nc = await connectToNats({
        servers,
        name: 'threadline-cli',
        // Fail fast: no reconnects once connected. (Not `maxReconnectAttempts: 0`: with it the client
        // drops two servers of a list at each failed first connect, and gives up on a list whose first
        // entry is down; the first connect tries every server once either way.)
        reconnect: false,
        ...credentialOptions(this.auth.credentials),
      });
    } catch (error) {
      const reason = redactCredentials(error instanceof Error ? error.message : String(error));
      if (error instanceof natsErrors.AuthorizationError)
        throw new CliError(
          ExitCodes.Unreachable,
          `the NATS server at ${server} refused the credentials: ${reason}`,
          this.auth.credentials.user === undefined
            ? 'it wants a user: give --user and --password-file, or THREADLINE_NATS_USER and THREADLINE_NATS_PASSWORD (npm start writes them to <data dir>/credentials/<role>.env)'
            : `check the password of ${this.auth.credentials.user} (npm start writes new ones at every start, to <data dir>/credentials/<role>.env)`,
          { cause: error },
        );
      throw new CliError(
        ExitCodes.Unreachable,
        `cannot reach the NATS server at ${server}: ${reason}`,
        /certificate|self.signed|TLS|SSL/i.test(reason)
          ? 'for a server with a test or private CA, give the CA file: --tls-ca <file> or THREADLINE_NATS_TLS_CA'
          : 'is Threadline running (npm start)? Point at another server with --server <url> or THREADLINE_NATS_URL.',
        { cause: error },
      );
    }
    return this.#nc;
  }

  async close(): Promise<void> {
    await this.#nc?.close().catch(() => {});
    this.#nc = undefined;
  }
}

function bar(fraction: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(fraction * 100)}%`;
}
