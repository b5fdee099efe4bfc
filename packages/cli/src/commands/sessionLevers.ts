/**
 * `threadline compact <key> [--instructions <text>]` and `threadline send-policy <key> on|off|inherit`:
 * what `/compact` and `/send` do in the chat, from outside it (control events `compaction.requested` and
 * `send-policy.set`). Neither answers in the chat; `threadline sessions show <key>` shows the effect.
 */
import { MAX_REASON_LENGTH } from '@threadline/protocol';
import { ExitCodes, usageError } from '../errors.js';
import type { Command } from './command.js';
import { oneKey, publishControl } from './control.js';

export const compactCommand: Command = {
  path: ['compact'],
  summary: 'compact a session now, as /compact would (needs a couple of turns to summarise)',
  usage: '<key> [--instructions <text>]',
  options: { instructions: { type: 'string' } },
  async run(ctx, { positionals, values }) {
    const { key } = oneKey('compact', positionals);
    const instructions = (values.instructions as string | undefined)?.trim();
    if (instructions !== undefined && (instructions === '' || [...instructions].length > MAX_REASON_LENGTH))
      throw usageError(`--instructions must be 1 to ${MAX_REASON_LENGTH} characters`);
    const result = await publishControl(ctx, key, {
      type: 'compaction.requested',
      ...(instructions === undefined ? {} : { instructions }),
    });
    ctx.result(result, () => [
      `compaction requested: ${result.id}`,
      `  ${key}: published to ${result.subject}, ${result.stream} seq ${result.seq}`,
      '  the session compacts if it has turns to summarise and is not compacting already (threadline sessions show)',
    ]);
    return ExitCodes.Ok;
  },
};

const OVERRIDES = { on: 'allow', off: 'deny', inherit: 'inherit' } as const;

export const sendPolicyCommand: Command = {
  path: ['send-policy'],
  summary: "set a session's send override, as /send would: on (allow), off (deny) or inherit the config",
  usage: '<key> on|off|inherit',
  async run(ctx, { positionals }) {
    const { key, rest } = oneKey('send-policy', positionals, 1);
    const mode = rest[0];
    if (mode === undefined || !(mode in OVERRIDES))
      throw usageError(
        `send-policy needs on, off or inherit after the key, got ${JSON.stringify(mode ?? '')}`,
      );
    const override = OVERRIDES[mode as keyof typeof OVERRIDES];
    const result = { ...(await publishControl(ctx, key, { type: 'send-policy.set', override })), override };
    ctx.result(result, () => [
      `send policy set: ${result.id}`,
      `  ${key}: replies ${override === 'inherit' ? 'follow the configured policy' : override === 'allow' ? 'allowed' : 'held back'} from now on (until the session ends)`,
    ]);
    return ExitCodes.Ok;
  },
};
