/**
 * `threadline reset <key> [--reason <text>]`: asks the worker to reset a session from outside the chat —
 * a `session.reset` control event on the key's control subject. The worker that owns the key applies it
 * like any input (ends the running session, starts a new one, records the trigger); the command only
 * publishes, after checking that the session store knows the key.
 */
import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import {
  BucketNames,
  type ControlEventV1,
  controlEventV1Schema,
  MAX_NAME_LENGTH,
  Subjects,
} from '@threadline/protocol';
import { snapshotEntryName } from '@threadline/session-worker';
import { ExitCodes, notFound, usageError } from '../errors.js';
import type { Command } from './command.js';
import { kvGet, manager } from './shared.js';

export interface ResetV1 {
  id: string;
  sessionKey: string;
  subject: string;
  trigger: string;
  at: number;
  /** Where the keyed stream stored it. */
  stream: string;
  seq: number;
  /** True when the stream already had an event with this id (it is applied once). */
  duplicate: boolean;
}

export const resetCommand: Command = {
  path: ['reset'],
  summary: 'reset a session: the worker ends it and starts a new one (a session.reset control event)',
  usage: '<key> [--reason <text>]',
  options: { reason: { type: 'string' } },
  async run(ctx, { positionals, values }) {
    const [key, ...extra] = positionals;
    if (key === undefined)
      throw usageError('reset needs a session key', 'threadline sessions list shows them');
    if (extra.length > 0) throw usageError(`unexpected argument: ${extra.join(' ')}`);
    const trigger = values.reason === undefined ? 'operator' : (values.reason as string).trim();
    if (trigger === '' || [...trigger].length > MAX_NAME_LENGTH)
      throw usageError(
        `--reason must be 1 to ${MAX_NAME_LENGTH} characters, got ${[...trigger].length}`,
        'it is recorded as the reset trigger; keep it short (e.g. "support-ticket-1234")',
      );
    const event = {
      v: 1,
      type: 'session.reset',
      id: `ops:reset:${randomUUID()}`,
      sessionKey: key,
      at: ctx.now(),
      trigger,
    } as const;
    const checked = controlEventV1Schema.safeParse(event);
    if (!checked.success)
      throw usageError(
        `cannot reset ${JSON.stringify(key)}: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );

    const nc = await ctx.connect();
    const stored = await kvGet(await manager(nc), BucketNames.sessionStore, snapshotEntryName(key));
    if (!stored)
      throw notFound(
        `no session ${JSON.stringify(key)} in the session store`,
        'threadline sessions list shows the keys (a key the projector has not seen yet cannot be reset)',
      );
    const subject = Subjects.control(key);
    const payload: ControlEventV1 = checked.data;
    const ack = await jetstream(nc).publish(subject, JSON.stringify(payload), { msgID: event.id });
    const result: ResetV1 = {
      id: event.id,
      sessionKey: key,
      subject,
      trigger,
      at: event.at,
      stream: ack.stream,
      seq: ack.seq,
      duplicate: ack.duplicate,
    };
    ctx.result(result, () => [
      `reset requested: ${result.id}`,
      `  ${key}: session.reset (trigger ${JSON.stringify(trigger)}) published to ${subject}, ${ack.stream} seq ${ack.seq}`,
      '  the worker that owns the key ends the running session and starts a new one (threadline sessions show shows it)',
    ]);
    return ExitCodes.Ok;
  },
};
