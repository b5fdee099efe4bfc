/**
 * An agent on Threadline, in miniature: it asks the ops service which sessions are active, reads each
 * one's transcript, and answers every session whose latest turn is a user's. The reply id comes from
 * `replyId` with the answered message's id as the turn, so answering the same message twice (a restart,
 * two replicas) publishes one reply: the second is acknowledged as a duplicate. The "model" here echoes.
 *
 *   npx pnpm@10 --filter @threadline/client... build
 *   THREADLINE_NATS_URL=nats://127.0.0.1:4222 node packages/client/dist/examples/agent.js
 *
 * answers once and exits; it needs the ops service (`npm start` runs one) and the projector.
 */
import { pathToFileURL } from 'node:url';
import { type PublishResult, replyId, type SessionView, ThreadlineClient } from '@threadline/client';

export interface AgentOptions {
  servers: string | string[];
  /** The reply producer's name, unique among agents publishing replies. */
  producer?: string;
  /** Only sessions updated in the last this many minutes (default 60). */
  activeMinutes?: number;
  /** The model: the reply to a user's message. */
  respond?: (text: string, session: SessionView) => Promise<string> | string;
  /** The reply's time, epoch ms (default Date.now). */
  now?: () => number;
}

export interface AgentAnswer {
  sessionKey: string;
  inReplyTo: string;
  result: PublishResult<unknown>;
}

/** The user turn a session waits for an answer to, if its latest turn is one. */
export function pendingTurn(view: SessionView) {
  const last = view.transcript?.turns.at(-1);
  return last?.role === 'user' ? last : undefined;
}

/** One pass: answer every active session waiting for an answer. */
export async function runAgent(options: AgentOptions): Promise<AgentAnswer[]> {
  const producer = options.producer ?? 'echo-agent';
  const respond = options.respond ?? ((text: string) => `You said: ${text}`);
  const now = options.now ?? Date.now;
  const client = await ThreadlineClient.connect({ servers: options.servers, name: producer });
  try {
    const answers: AgentAnswer[] = [];
    const { sessions } = await client.listSessions({ activeMinutes: options.activeMinutes ?? 60 });
    for (const row of sessions) {
      const view = await client.session(row.key);
      const turn = view && pendingTurn(view);
      if (!view || !turn) continue;
      const result = await client.publishReply({
        id: replyId({ producer, sessionKey: view.key, turnId: turn.id }),
        sessionKey: view.key,
        text: await respond(turn.text, view),
        inReplyTo: turn.id,
        at: now(),
      });
      answers.push({ sessionKey: view.key, inReplyTo: turn.id, result });
    }
    return answers;
  } finally {
    await client.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runAgent({ servers: process.env.THREADLINE_NATS_URL ?? 'nats://127.0.0.1:4222' }).then(
    (answers) => {
      for (const a of answers)
        console.log(
          `answered ${a.inReplyTo} in ${a.sessionKey}: ${a.result.id}${a.result.duplicate ? ' (already answered)' : ''} (trace ${a.result.trace.traceId})`,
        );
      if (answers.length === 0) console.log('no session is waiting for an answer');
    },
    (error: unknown) => {
      console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
      process.exitCode = 1;
    },
  );
}
