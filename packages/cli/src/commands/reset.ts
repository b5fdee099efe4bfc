/**
 * `threadline reset <key> [--reason <text>]`: asks the worker to reset a session from outside the chat —
 * a `session.reset` control event on the key's control subject. The worker that owns the key applies it
 * like any input (ends the running session, starts a new one, records the trigger); the command only
 * publishes, after checking that the session store knows the key.
 */
import { MAX_NAME_LENGTH } from '@threadline/protocol';
import { ExitCodes, usageError } from '../errors.js';
import type { Command } from './command.js';
import { oneKey, type PublishedControlV1, publishControl } from './control.js';

export interface ResetV1 extends PublishedControlV1 {
  trigger: string;
}

export const resetCommand: Command = {
  path: ['reset'],
  summary: 'reset a session: the worker ends it and starts a new one (a session.reset control event)',
  usage: '<key> [--reason <text>]',
  options: { reason: { type: 'string' } },
  async run(ctx, { positionals, values }) {
    const { key } = oneKey('reset', positionals);
    const trigger = values.reason === undefined ? 'operator' : (values.reason as string).trim();
    if (trigger === '' || [...trigger].length > MAX_NAME_LENGTH)
      throw usageError(
        `--reason must be 1 to ${MAX_NAME_LENGTH} characters, got ${[...trigger].length}`,
        'it is recorded as the reset trigger; keep it short (e.g. "support-ticket-1234")',
      );
    const result: ResetV1 = {
      ...(await publishControl(ctx, key, { type: 'session.reset', trigger })),
      trigger,
    };
    ctx.result(result, () => [
      `reset requested: ${result.id}`,
      `  ${key}: session.reset (trigger ${JSON.stringify(trigger)}) published to ${result.subject}, ${result.stream} seq ${result.seq}`,
      '  the worker that owns the key ends the running session and starts a new one (threadline sessions show shows it)',
    ]);
    return ExitCodes.Ok;
  },
};
