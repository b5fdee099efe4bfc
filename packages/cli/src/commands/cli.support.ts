/**
 * Shared by the CLI's integration tests: the CLI run in-process (`runCli` with every command) against a
 * test bed's server, its output captured, and small helpers to feed the real worker.
 */
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Subjects } from '@threadline/protocol';
import { runCli } from '../cli.js';
import type { ExitCode } from '../errors.js';
import { COMMANDS } from './index.js';

export interface CliRun {
  code: ExitCode;
  /** Each `io.out` call. */
  out: string[];
  /** Everything written to stderr. */
  err: string;
  /** stdout as one text. */
  text: string;
  /** stdout parsed as one JSON document (a `--json` run). */
  json<T = Record<string, unknown>>(): T;
}

/** Runs `threadline <argv…>` in-process; `server` is added as `--server` unless argv names one. */
export async function cli(
  argv: string[],
  options: { server?: string; now?: number; env?: Record<string, string> } = {},
): Promise<CliRun> {
  const out: string[] = [];
  let err = '';
  const args = options.server && !argv.includes('--server') ? [...argv, '--server', options.server] : argv;
  const code = await runCli(
    args,
    {
      out: (text) => out.push(text),
      err: (text) => {
        err += text;
      },
      isTTY: false,
      env: options.env ?? {},
      ...(options.now === undefined ? {} : { now: () => options.now as number }),
    },
    COMMANDS,
  );
  const text = out.join('\n');
  return { code, out, err, text, json: <T>() => JSON.parse(text) as T };
}

/** Publishes a chat event as an adapter would (shared with the worker's test bed). */
export { sendChat } from '@threadline/session-worker/testing';

/** Publishes an agent reply for `sessionKey`. */
export async function sendReply(
  nc: NatsConnection,
  sessionKey: string,
  id: string,
  text: string,
  at: number,
) {
  const reply = { v: 1, type: 'agent.reply', id, sessionKey, text, at };
  await jetstream(nc).publish(Subjects.reply(sessionKey), JSON.stringify(reply), { msgID: id });
}

/** An address nothing listens on. */
export const UNREACHABLE = 'nats://127.0.0.1:1';
