/**
 * The operator's levers on one session — `reset`, `compact`, `send-policy` — are control events on the
 * key's control subject (docs/protocol.md). The worker that owns the key applies them like any input; a
 * command only checks the key is known to the session store, validates the event against the public
 * schema, and publishes it with its id as the message id (so a retry is applied once).
 */
import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { readKvEntry } from '@threadline/event-log';
import { BucketNames, type ControlEventV1, controlEventV1Schema, Subjects } from '@threadline/protocol';
import { snapshotEntryName } from '@threadline/session-worker';
import type { CliContext } from '../context.js';
import { notFound, usageError } from '../errors.js';
import { manager } from './shared.js';

export interface PublishedControlV1 {
  id: string;
  type: ControlEventV1['type'];
  sessionKey: string;
  subject: string;
  at: number;
  /** Where the keyed stream stored it. */
  stream: string;
  seq: number;
  /** True when the stream already had an event with this id (it is applied once). */
  duplicate: boolean;
}

type OperatorFields =
  | { type: 'session.reset'; trigger: string }
  | { type: 'compaction.requested'; instructions?: string }
  | { type: 'send-policy.set'; override: 'allow' | 'deny' | 'inherit' };

/** The key from the positionals: exactly one, or a usage error naming the command. */
export function oneKey(command: string, positionals: string[], rest = 0): { key: string; rest: string[] } {
  const [key, ...others] = positionals;
  if (key === undefined)
    throw usageError(`${command} needs a session key`, 'threadline sessions list shows them');
  if (others.length > rest) throw usageError(`unexpected argument: ${others.slice(rest).join(' ')}`);
  return { key, rest: others };
}

export async function publishControl(
  ctx: CliContext,
  sessionKey: string,
  fields: OperatorFields,
): Promise<PublishedControlV1> {
  const verb =
    fields.type === 'session.reset'
      ? 'reset'
      : fields.type === 'compaction.requested'
        ? 'compact'
        : 'send-policy';
  const event = { v: 1, id: `ops:${verb}:${randomUUID()}`, sessionKey, at: ctx.now(), ...fields };
  const checked = controlEventV1Schema.safeParse(event);
  if (!checked.success)
    throw usageError(
      `cannot ${verb} ${JSON.stringify(sessionKey)}: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const nc = await ctx.connect();
  const stored = await readKvEntry(
    await manager(nc),
    BucketNames.sessionStore,
    snapshotEntryName(sessionKey),
  );
  if (!stored)
    throw notFound(
      `no session ${JSON.stringify(sessionKey)} in the session store`,
      'threadline sessions list shows the keys (a key the projector has not seen yet cannot be changed)',
    );
  const subject = Subjects.control(sessionKey);
  const ack = await jetstream(nc).publish(subject, JSON.stringify(checked.data), { msgID: event.id });
  return {
    id: event.id,
    type: fields.type,
    sessionKey,
    subject,
    at: event.at,
    stream: ack.stream,
    seq: ack.seq,
    duplicate: ack.duplicate,
  };
}
